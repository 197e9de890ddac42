use fezz_abi::{fezz_function, Request, Response};

#[fezz_function]
pub fn hello<T: Default>(_request: Request) -> Response {
    let _ = T::default();
    Response::new(200)
}

fn main() {}
