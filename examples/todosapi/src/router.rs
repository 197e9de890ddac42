//! Path and method to [`Route`]: the function's whole URL space in one table.
//!
//! The function sees the same path whether it is called as `/rpc/todos@latest/<rest>` (path
//! `/<rest>`) or through a manifest route mounted at the server root, so one table serves both.

use crate::error::ApiError;

/// What a request asks for, once its path and method are known to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the JSON index describing the function.
    Index,
    /// `GET /hello`: the original demo's greeting.
    Hello,
    /// `GET /todos`: every todo (optionally `?done=true|false`).
    List,
    /// `POST /todos`: create one.
    Create,
    /// `GET /todos/:id`.
    Get(i64),
    /// `PUT /todos/:id`: replace title and done.
    Replace(i64),
    /// `PATCH /todos/:id`: change only the fields given.
    Patch(i64),
    /// `DELETE /todos/:id`.
    Delete(i64),
}

impl Route {
    /// Whether serving this route needs the database (the index and `/hello` do not, so they
    /// work even when the database cannot be opened).
    pub fn needs_store(self) -> bool {
        !matches!(self, Route::Index | Route::Hello)
    }
}

/// One path pattern of the function: `"/todos/:id"` style, with the methods it accepts.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The pattern as documented.
    pub path: &'static str,
    /// The methods accepted, as sent in `Allow` (`HEAD` is served wherever `GET` is).
    pub allow: &'static [&'static str],
}

/// The endpoints in the order the index lists them.
pub const ENDPOINTS: [Endpoint; 4] = [
    Endpoint {
        path: "/",
        allow: &["GET", "HEAD"],
    },
    Endpoint {
        path: "/hello",
        allow: &["GET", "HEAD"],
    },
    Endpoint {
        path: "/todos",
        allow: &["GET", "HEAD", "POST"],
    },
    Endpoint {
        path: "/todos/:id",
        allow: &["GET", "HEAD", "PUT", "PATCH", "DELETE"],
    },
];

/// Resolves `method` and `path` (the path without its query) to a [`Route`]: unknown paths
/// and malformed ids are [`ApiError::NotFound`], a known path with the wrong method is
/// [`ApiError::MethodNotAllowed`].
pub fn resolve(method: &str, path: &str) -> Result<Route, ApiError> {
    // hhrf sends the query separately, but a caller building a Request by hand may not.
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    // HEAD is GET without a body; the HTTP server drops the body.
    let method = if method == "HEAD" { "GET" } else { method };
    let (endpoint, route) = match segments.as_slice() {
        [""] => (&ENDPOINTS[0], (method == "GET").then_some(Route::Index)),
        ["hello"] => (&ENDPOINTS[1], (method == "GET").then_some(Route::Hello)),
        ["todos"] => (
            &ENDPOINTS[2],
            match method {
                "GET" => Some(Route::List),
                "POST" => Some(Route::Create),
                _ => None,
            },
        ),
        ["todos", id] => {
            let id = parse_id(id).ok_or_else(|| ApiError::NotFound(format!("no todo {id:?}")))?;
            (
                &ENDPOINTS[3],
                match method {
                    "GET" => Some(Route::Get(id)),
                    "PUT" => Some(Route::Replace(id)),
                    "PATCH" => Some(Route::Patch(id)),
                    "DELETE" => Some(Route::Delete(id)),
                    _ => None,
                },
            )
        }
        _ => return Err(ApiError::NotFound(format!("no such path: {path}"))),
    };
    route.ok_or(ApiError::MethodNotAllowed {
        allow: endpoint.allow,
    })
}

/// A todo id: a positive decimal integer that fits in an `i64`, no sign, no leading zeros.
fn parse_id(text: &str) -> Option<i64> {
    let canonical = !text.is_empty()
        && !text.starts_with('0')
        && text.bytes().all(|byte| byte.is_ascii_digit());
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_routes() {
        assert_eq!(resolve("GET", "/"), Ok(Route::Index));
        assert_eq!(resolve("HEAD", "/"), Ok(Route::Index));
        assert_eq!(resolve("GET", "/hello"), Ok(Route::Hello));
        assert_eq!(resolve("GET", "/todos"), Ok(Route::List));
        assert_eq!(resolve("GET", "/todos?done=true"), Ok(Route::List));
        assert_eq!(resolve("POST", "/todos"), Ok(Route::Create));
        assert_eq!(resolve("GET", "/todos/7"), Ok(Route::Get(7)));
        assert_eq!(resolve("PUT", "/todos/7"), Ok(Route::Replace(7)));
        assert_eq!(resolve("PATCH", "/todos/7"), Ok(Route::Patch(7)));
        assert_eq!(resolve("DELETE", "/todos/7"), Ok(Route::Delete(7)));
    }

    #[test]
    fn unknown_paths_and_bad_ids_are_not_found() {
        for path in [
            "/nope",
            "/todos/",
            "/todos/1/x",
            "/hello/",
            "//",
            "/todos/0",
            "/todos/01",
            "/todos/-1",
            "/todos/+1",
            "/todos/abc",
            "/todos/99999999999999999999",
            "*",
        ] {
            assert!(
                matches!(resolve("GET", path), Err(ApiError::NotFound(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn wrong_methods_name_the_allowed_ones() {
        let allow = |method, path| match resolve(method, path) {
            Err(ApiError::MethodNotAllowed { allow }) => allow.join(", "),
            other => panic!("{method} {path}: {other:?}"),
        };
        assert_eq!(allow("POST", "/"), "GET, HEAD");
        assert_eq!(allow("DELETE", "/hello"), "GET, HEAD");
        assert_eq!(allow("DELETE", "/todos"), "GET, HEAD, POST");
        assert_eq!(allow("POST", "/todos/1"), "GET, HEAD, PUT, PATCH, DELETE");
        // Methods are case-sensitive, as in HTTP.
        assert_eq!(allow("get", "/todos"), "GET, HEAD, POST");
    }

    #[test]
    fn only_the_index_and_hello_work_without_the_database() {
        assert!(!Route::Index.needs_store());
        assert!(!Route::Hello.needs_store());
        assert!(Route::List.needs_store());
        assert!(Route::Delete(1).needs_store());
    }
}
