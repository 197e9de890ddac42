use fezz_abi::{fezz_function, Request};

#[fezz_function]
pub fn hello(request: Request) -> String {
    request.path
}

fn main() {}
