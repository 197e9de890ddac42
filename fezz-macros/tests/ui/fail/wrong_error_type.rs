use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
pub fn hello(_request: Request) -> Result<Response, String> {
    Err("nope".to_owned())
}

fn main() {}
