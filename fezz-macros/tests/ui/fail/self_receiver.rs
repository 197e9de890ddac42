use fezz_abi::{fezz_function, Request, Response};

pub struct Service;

impl Service {
    #[fezz_function]
    pub fn handle(&self, _request: Request) -> Response {
        Response::new(200)
    }
}

fn main() {}
