//! Step 2: the rules of a fezz function's signature, checked on the syntax. Every broken rule
//! is one error spanned at the offending tokens; all of them are reported together.
//!
//! What syntax cannot tell (that a path type really is `fezz_abi::Request`, that a return type
//! implements `fezz_abi::boundary::IntoCallResult`) is left to the type checker, with spans and
//! a `#[diagnostic::on_unimplemented]` message arranged by [`crate::expand`].

use syn::{FnArg, Ident, ReturnType, Type};

use crate::parse::Input;

/// The shape of the function's signature, once it is known to be a fezz function.
pub(crate) struct Valid<'a> {
    /// The function's name.
    pub(crate) name: &'a Ident,
    /// The type of its one argument (a path; the type checker compares it with `Request`).
    pub(crate) argument: &'a Type,
    /// Its return type (a path; the type checker asks for `IntoCallResult`).
    pub(crate) output: &'a Type,
}

const SIGNATURE: &str = "`fn name(request: Request) -> Response`";

/// Checks every rule; returns the signature's parts or all the errors, combined.
pub(crate) fn validate(input: &Input) -> syn::Result<Valid<'_>> {
    let mut errors = Errors::default();
    let signature = &input.item.sig;
    if !input.args.is_empty() {
        errors.push(
            &input.args,
            "#[fezz_function] takes no arguments: write `#[fezz_function]`",
        );
    }
    if let Some(token) = &signature.asyncness {
        errors.push(
            token,
            "a fezz function cannot be `async`: the runner calls it synchronously; \
             block on async work inside it (for example with a runtime's `block_on`)",
        );
    }
    if let Some(token) = &signature.unsafety {
        errors.push(
            token,
            "a fezz function cannot be `unsafe`: the runner has no safety contract to uphold; \
             use `unsafe` blocks inside it",
        );
    }
    if let Some(abi) = &signature.abi {
        errors.push(
            abi,
            "a fezz function cannot be `extern`: #[fezz_function] writes the `extern \"C\"` \
             exports itself; remove the `extern`",
        );
    }
    if !signature.generics.params.is_empty() {
        errors.push(
            &signature.generics,
            "a fezz function cannot be generic: the exports call one concrete function",
        );
    }
    if let Some(clause) = &signature.generics.where_clause {
        errors.push(clause, "a fezz function cannot have a `where` clause");
    }
    if let Some(variadic) = &signature.variadic {
        errors.push(variadic, "a fezz function cannot be variadic");
    }
    let argument = argument(
        &signature.inputs,
        signature.paren_token.span.join(),
        &mut errors,
    );
    let output = output(signature, &mut errors);
    errors.finish()?;
    match (argument, output) {
        (Some(argument), Some(output)) => Ok(Valid {
            name: &signature.ident,
            argument,
            output,
        }),
        _ => unreachable!("an argument or return type that failed to validate recorded an error"),
    }
}

/// The type of the one argument, or an error about the argument list.
fn argument<'a>(
    inputs: &'a syn::punctuated::Punctuated<FnArg, syn::Token![,]>,
    parens: proc_macro2::Span,
    errors: &mut Errors,
) -> Option<&'a Type> {
    if let Some(receiver) = inputs
        .iter()
        .find(|input| matches!(input, FnArg::Receiver(_)))
    {
        errors.push(
            receiver,
            format!("a fezz function cannot take `self`: it is a free function, {SIGNATURE}"),
        );
        return None;
    }
    let mut typed = inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    });
    let (Some(first), None) = (typed.next(), typed.next()) else {
        let message = format!(
            "a fezz function takes exactly one argument, the request: {SIGNATURE} (found {})",
            inputs.len()
        );
        if inputs.is_empty() {
            errors.push_at(parens, message);
        } else {
            errors.push(inputs, message);
        }
        return None;
    };
    let problem = match &*first.ty {
        Type::Path(path) if path.qself.is_none() => return Some(&first.ty),
        Type::Reference(_) => "takes the request by value, not by reference: `request: Request`",
        Type::ImplTrait(_) => "takes a `Request`, not an `impl Trait`",
        _ => "takes one `fezz_abi::Request`: `request: Request`",
    };
    errors.push(&first.ty, format!("a fezz function {problem}"));
    None
}

/// The return type, or an error about it.
fn output<'a>(signature: &'a syn::Signature, errors: &mut Errors) -> Option<&'a Type> {
    const RETURNS: &str =
        "a fezz function returns `Response`, or `Result<Response, WireError>` to fail the call";
    match &signature.output {
        ReturnType::Default => {
            errors.push_at(
                signature.paren_token.span.close(),
                format!("{RETURNS}: add `-> Response`"),
            );
            None
        }
        ReturnType::Type(_, ty) => match &**ty {
            Type::Path(path) if path.qself.is_none() => Some(ty),
            Type::ImplTrait(_) => {
                errors.push(ty, format!("{RETURNS}, not an `impl Trait`"));
                None
            }
            _ => {
                errors.push(ty, RETURNS);
                None
            }
        },
    }
}

/// All the errors found so far, combined into one `syn::Error`.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    /// An error underlining all of `tokens` (first to last, also on stable Rust, where a
    /// multi-token `Span` cannot be joined).
    fn push(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    /// An error at `span`.
    fn push_at(&mut self, span: proc_macro2::Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
