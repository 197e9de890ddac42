// The function may live in any module; the exports are still the library's.
mod api {
    use fezz_abi::{fezz_function, Request, Response};

    #[fezz_function]
    fn route(fezz_abi::Request { path, .. }: Request) -> Response {
        Response::text(200, path)
    }
}

fn main() {}
