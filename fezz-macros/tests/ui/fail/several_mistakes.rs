// Every broken rule is reported at once, each at its own tokens.
use fezz_abi::{fezz_function, Request, Response};

#[fezz_function(verbose)]
pub async unsafe fn hello<T>(_request: &Request) -> impl Into<Response> {
    Response::new(200)
}

fn main() {}
