//! Step 1: the attribute's arguments and the item, parsed. Only what syn can tell from the
//! tokens' grammar is checked here; the rules of a fezz function are [`crate::validate`]'s.

use proc_macro2::TokenStream;
use syn::ItemFn;

/// The parsed input of one `#[fezz_function]`.
pub(crate) struct Input {
    /// The attribute's arguments (`#[fezz_function(these)]`); there must be none.
    pub(crate) args: TokenStream,
    /// The function the attribute is on.
    pub(crate) item: ItemFn,
}

/// Parses the attribute's arguments and the item; fails if the item is not a function.
pub(crate) fn parse(args: TokenStream, item: TokenStream) -> syn::Result<Input> {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(item) => Ok(Input { args, item }),
        Err(_) => match syn::parse2::<syn::Item>(item) {
            Ok(item) => Err(syn::Error::new_spanned(
                item,
                "#[fezz_function] goes on a function: `fn name(request: Request) -> Response`",
            )),
            Err(error) => Err(error),
        },
    }
}
