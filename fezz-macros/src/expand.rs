//! Step 3: the output. A valid function becomes itself plus the three exports; an invalid one
//! becomes itself plus its errors ([`fallback`]).
//!
//! The exports are thin on purpose: each calls one helper of `fezz_abi::boundary`, which holds
//! the panic boundary, the decoding and encoding, and the buffer's ownership. They live in an
//! anonymous `const _: () = { … };` block, so they add no names to the author's module (the
//! linker sees them through `#[unsafe(no_mangle)]`, which works in every edition).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::ItemFn;

use crate::validate::Valid;

/// The name of the item that makes a second `#[fezz_function]` in one crate a compile error.
/// It is what the compiler's error message shows, so it says what is wrong.
const ONCE_PER_CRATE: &str = "fezz_function_is_used_more_than_once_in_this_crate";

/// The function, unchanged, and its exports.
pub(crate) fn expand(item: &ItemFn, valid: &Valid<'_>) -> TokenStream {
    let name = valid.name;
    // The author's return type keeps its own spans, so an unsupported one is reported there
    // (by `IntoCallResult`'s `on_unimplemented`); the request is spanned at the author's
    // argument type, so a type mismatch points at it.
    let returns = valid.output;
    let request = quote_spanned!(valid.argument.span()=> request);
    let once = syn::Ident::new(ONCE_PER_CRATE, name.span());
    quote! {
        #item

        // A `#[macro_export]` macro lives at the crate root whatever module defines it, so two
        // `#[fezz_function]`s in one crate define it twice: a compile error naming the
        // problem, before the linker would report the duplicate `no_mangle` symbols.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #once {
            () => {};
        }

        const _: () = {
            /// The ABI version this library implements (`fezz_abi_version` in `spec/ABI.md`).
            #[unsafe(no_mangle)]
            extern "C" fn fezz_abi_version() -> u32 {
                ::fezz_abi::boundary::abi_version()
            }

            /// Handles one encoded request (`fezz_handle_v2` in `spec/ABI.md`).
            ///
            /// # Safety
            /// As `fezz_abi::boundary::handle_v2`.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn fezz_handle_v2(
                request: *const u8,
                request_len: usize,
                response: *mut ::fezz_abi::ffi::FezzBuffer,
            ) -> ::fezz_abi::ffi::FezzResult {
                // SAFETY: the caller (the runner) upholds `handle_v2`'s contract, which is
                // this export's.
                unsafe {
                    ::fezz_abi::boundary::handle_v2::<#returns>(
                        request,
                        request_len,
                        response,
                        |request: ::fezz_abi::Request| -> #returns { #name(#request) },
                    )
                }
            }

            /// Releases a buffer `fezz_handle_v2` wrote (`fezz_free_v2` in `spec/ABI.md`).
            ///
            /// # Safety
            /// As `fezz_abi::boundary::free_v2`.
            #[unsafe(no_mangle)]
            unsafe extern "C" fn fezz_free_v2(response: ::fezz_abi::ffi::FezzBuffer) {
                // SAFETY: the caller (the runner) upholds `free_v2`'s contract, which is this
                // export's.
                unsafe { ::fezz_abi::boundary::free_v2(response) }
            }
        };
    }
}

/// The item, unchanged, and the errors: the author sees what is wrong with the signature and
/// nothing that follows from the exports missing.
pub(crate) fn fallback(item: TokenStream, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote! {
        #item
        #errors
    }
}
