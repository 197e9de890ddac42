//! `#[fezz_function]`: turns a plain Rust function from a request to a response into a fezz
//! function library, by writing the three C exports the runner looks for
//! (`spec/ABI.md`, "The exported symbols").
//!
//! Authors depend on `fezz-abi` only, which re-exports the attribute as
//! `fezz_abi::fezz_function`; see that crate's docs for how to write a function.
//!
//! The macro works in three steps, each in its own module:
//!
//! 1. [`parse`]: the attribute's arguments and the item, as syn sees them;
//! 2. [`validate`]: every rule a fezz function's signature must follow, each broken rule a
//!    spanned error (all of them reported at once);
//! 3. [`expand`]: the original function plus three `extern "C"` exports that each call one
//!    helper of `fezz_abi::boundary`, where the panic boundary, decoding and encoding live.
//!
//! On error the original item is emitted unchanged next to the `compile_error!`s, so the rest
//! of the crate still type-checks and the author sees only the errors that matter.
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod expand;
mod parse;
mod validate;

/// Writes a function library's exports (`fezz_abi_version`, `fezz_handle_v2`, `fezz_free_v2`)
/// for a plain function.
///
/// The function takes one `fezz_abi::Request` by value and returns a `fezz_abi::Response`, or a
/// `Result<fezz_abi::Response, fezz_abi::WireError>` whose `Err` fails the call. It may not be
/// `async`, `unsafe`, `extern`, generic or a method, and the attribute takes no arguments. A
/// crate (one library) has exactly one such function.
///
/// ```no_run
/// use fezz_abi::{fezz_function, Request, Response, WireError};
///
/// #[fezz_function]
/// fn hello(request: Request) -> Result<Response, WireError> {
///     if request.path == "/private" {
///         // Fails the call: the runner exits `function-failed`, the host answers 500.
///         return Err(WireError::new("forbidden", "no private paths here"));
///     }
///     Ok(Response::text(200, format!("hello from {}", request.path)))
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn fezz_function(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = proc_macro2::TokenStream::from(attr);
    let item = proc_macro2::TokenStream::from(item);
    let input = match parse::parse(attr, item.clone()) {
        Ok(input) => input,
        Err(error) => return expand::fallback(item, error).into(),
    };
    match validate::validate(&input) {
        Ok(valid) => expand::expand(&input.item, &valid).into(),
        Err(error) => expand::fallback(item, error).into(),
    }
}
