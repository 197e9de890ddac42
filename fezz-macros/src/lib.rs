//! `#[fezz_function]` (work in progress).
#![deny(missing_docs)]
use proc_macro::TokenStream;

/// Generates the fezz exports for a `fn(Request) -> Response`.
#[proc_macro_attribute]
pub fn fezz_function(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
