use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
pub fn hello(_request: Request) -> Response
where
    Response: Clone,
{
    Response::new(200)
}

fn main() {}
