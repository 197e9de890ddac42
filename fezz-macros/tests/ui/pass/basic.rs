use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
fn hello(request: Request) -> Response {
    Response::text(200, format!("hello from {}", request.path))
}

fn main() {}
