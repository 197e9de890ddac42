use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
pub fn hello(_request: Request, _extra: u32) -> Response {
    Response::new(200)
}

fn main() {}
