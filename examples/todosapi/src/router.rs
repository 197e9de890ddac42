//! Path and method to [`Route`]: the function's whole URL space in one table.
//!
//! The function sees the same path whether it is called as `/rpc/todos@latest/<rest>` (path
//! `/<rest>`) or through a manifest route mounted at the server root, so one table serves both.
//! Matching, `HEAD` for `GET` and the `Allow` list are `fezz_abi::routing`'s; this module adds
//! the todo ids (positive decimal integers, or the path is a 404).

use std::sync::LazyLock;

use fezz_abi::routing::{Miss, Router};

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

/// Which endpoint a route serves, before its `:id` is parsed: the value the
/// [`fezz_abi::routing::Router`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Index,
    Hello,
    List,
    Create,
    Get,
    Replace,
    Patch,
    Delete,
}

/// Every route of the function as (method, pattern), in the order the router gets them: the
/// order of each path's `Allow` header (`HEAD` follows `GET`). The index documents exactly
/// these (a test in `api` checks it).
pub const ROUTES: [(&str, &str); 8] = [
    ("GET", "/"),
    ("GET", "/hello"),
    ("GET", "/todos"),
    ("POST", "/todos"),
    ("GET", "/todos/:id"),
    ("PUT", "/todos/:id"),
    ("PATCH", "/todos/:id"),
    ("DELETE", "/todos/:id"),
];

const ENDPOINTS: [Endpoint; 8] = [
    Endpoint::Index,
    Endpoint::Hello,
    Endpoint::List,
    Endpoint::Create,
    Endpoint::Get,
    Endpoint::Replace,
    Endpoint::Patch,
    Endpoint::Delete,
];

/// The router, built once per process: in today's fresh runner that is once per call; a warm
/// runner would reuse it.
static ROUTER: LazyLock<Router<Endpoint>> = LazyLock::new(|| {
    ROUTES
        .iter()
        .zip(ENDPOINTS)
        .fold(Router::new(), |router, (&(method, pattern), endpoint)| {
            router.route(method, pattern, endpoint)
        })
});

/// Resolves `method` and `path` (the path without its query) to a [`Route`]: unknown paths
/// and malformed ids are [`ApiError::NotFound`] (whatever the method: `/todos/abc` names no
/// resource), a known path with the wrong method is [`ApiError::MethodNotAllowed`].
pub fn resolve(method: &str, path: &str) -> Result<Route, ApiError> {
    // hhrf sends the query separately, but a caller building a Request by hand may not.
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let found = match ROUTER.find(method, path) {
        Ok(found) => found,
        Err(Miss::NotFound) => return Err(ApiError::NotFound(format!("no such path: {path}"))),
        Err(miss @ Miss::MethodNotAllowed { .. }) => {
            if let Miss::MethodNotAllowed { params, .. } = &miss {
                params.get("id").map(todo_id).transpose()?;
            }
            return Err(ApiError::MethodNotAllowed {
                allow: miss.allow_header().unwrap_or_default(),
            });
        }
    };
    let id = || todo_id(found.params.get("id").unwrap_or_default());
    Ok(match found.value {
        Endpoint::Index => Route::Index,
        Endpoint::Hello => Route::Hello,
        Endpoint::List => Route::List,
        Endpoint::Create => Route::Create,
        Endpoint::Get => Route::Get(id()?),
        Endpoint::Replace => Route::Replace(id()?),
        Endpoint::Patch => Route::Patch(id()?),
        Endpoint::Delete => Route::Delete(id()?),
    })
}

/// The id of `/todos/:id`: a 404 unless it is canonical.
fn todo_id(text: &str) -> Result<i64, ApiError> {
    parse_id(text).ok_or_else(|| ApiError::NotFound(format!("no todo {text:?}")))
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
            Err(ApiError::MethodNotAllowed { allow }) => allow,
            other => panic!("{method} {path}: {other:?}"),
        };
        assert_eq!(allow("POST", "/"), "GET, HEAD");
        assert_eq!(allow("DELETE", "/hello"), "GET, HEAD");
        assert_eq!(allow("DELETE", "/todos"), "GET, HEAD, POST");
        assert_eq!(allow("POST", "/todos/1"), "GET, HEAD, PUT, PATCH, DELETE");
        // Methods are case-sensitive, as in HTTP.
        assert_eq!(allow("get", "/todos"), "GET, HEAD, POST");
        // A malformed id names no todo, whatever the method.
        assert!(matches!(
            resolve("POST", "/todos/abc"),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn only_the_index_and_hello_work_without_the_database() {
        assert!(!Route::Index.needs_store());
        assert!(!Route::Hello.needs_store());
        assert!(Route::List.needs_store());
        assert!(Route::Delete(1).needs_store());
    }
}
