use fezz_abi::{fezz_function, Response};

#[fezz_function]
pub fn hello(_request: String) -> Response {
    Response::new(200)
}

fn main() {}
