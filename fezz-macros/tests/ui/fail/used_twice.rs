// One library has one fezz function: a second one, even in another module, is an error.
use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
pub fn first(_request: Request) -> Response {
    Response::new(200)
}

pub mod other {
    use fezz_abi::{fezz_function, Request, Response};

    #[fezz_function]
    pub fn second(_request: Request) -> Response {
        Response::new(201)
    }
}

fn main() {}
