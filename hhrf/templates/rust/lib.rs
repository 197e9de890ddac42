//! A fezz function: GET answers `hello from Rust at <path>`; any other method gets 405.
//!
//! `cargo test` runs the tests below in-process; `./build.sh` builds the library hhrf loads;
//! `hhrf invoke ./lib*.so /some/path` calls it once through the runner; `./deploy.sh`
//! installs it into `$HHRF_ROOT/functions/` (see README.md).

use fezz_abi::{fezz_function, Request, Response};

/// The function's entry point: one request in, one response out.
#[fezz_function]
pub fn handle(request: Request) -> Response {
    // What a function writes to stderr goes to hhrf's log; `hhrf invoke` shows it.
    eprintln!("handling {} {}", request.method, request.path);
    if request.method != "GET" {
        return Response::text(405, "only GET here\n").with_header("allow", "GET");
    }
    Response::text(200, format!("hello from Rust at {}\n", request.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_says_hello_with_the_path() {
        let response = handle(Request::new("GET", "/hello/world"));
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello from Rust at /hello/world\n");
        assert_eq!(
            response.header("content-type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
    }

    #[test]
    fn other_methods_get_405_with_allow() {
        let response = handle(Request::new("POST", "/"));
        assert_eq!(response.status, 405);
        assert_eq!(response.header("allow"), Some(&b"GET"[..]));
    }
}
