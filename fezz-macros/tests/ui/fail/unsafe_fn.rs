use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
pub unsafe fn hello(_request: Request) -> Response {
    Response::new(200)
}

fn main() {}
