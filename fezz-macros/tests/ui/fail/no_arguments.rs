use fezz_abi::{fezz_function, Response};

#[fezz_function]
pub fn hello() -> Response {
    Response::new(200)
}

fn main() {}
