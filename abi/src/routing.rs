//! Method-and-path routing inside a function: [`Router`] maps `GET /todos/:id` style routes to
//! values (handlers, or an enum of the function's endpoints), and answers 404 and 405 with
//! `Allow` for the rest.
//!
//! Patterns use the syntax of a manifest's routes (`spec/HTTP.md`, "Routes"), so one pattern
//! means the same thing in `fezz.json` and in the function:
//!
//! | segment | matches |
//! |---|---|
//! | a literal, e.g. `todos` | exactly those bytes of the raw (still percent-encoded) segment |
//! | `:name` (`[A-Za-z_][A-Za-z0-9_]*`, unique in the pattern) | any one non-empty segment |
//! | `...`, as the last segment only | the rest of the path: zero or more segments |
//!
//! `/todos/:id` matches `/todos/7` but not `/todos`, `/todos/` or `/todos/7/x`; `/` matches
//! only `/`; a path that does not start with `/` (`*`) matches nothing. When several routes
//! match, the most specific wins as in the spec: compared segment by segment from the left, a
//! literal beats a parameter, which beats the end of the pattern, which beats `...`; for equal
//! patterns a route for the exact method beats a `GET` route answering `HEAD`, which beats a
//! route for any method.
//!
//! A `GET` route also answers `HEAD` (hhrf drops the body of a `HEAD` answer). When the path
//! matches but no route answers the method, [`Router::find`] gives
//! [`Miss::MethodNotAllowed`] with the methods of the matching routes, in the order they were
//! added (`HEAD` right after `GET`), for the `Allow` header.
//!
//! Parameter values are the raw segments: decode them with [`Params::decoded`] (percent
//! escapes, `+` stays `+`) when a value may hold escapes. Why not an existing router crate:
//! `matchit` (the router behind axum) matches paths only, with its own syntax (`{id}`,
//! `{*rest}`); the methods, `HEAD`, 405 with `Allow` and the manifest's pattern syntax would
//! still be ours, so this module is the whole thing in a few hundred lines without a
//! dependency.
//!
//! ```
//! use fezz_abi::routing::{Handler, Params, Router};
//! use fezz_abi::{Request, Response};
//!
//! fn show(_: &Request, params: &Params<'_>) -> Response {
//!     Response::text(200, format!("todo {}", params.get("id").unwrap_or("?")))
//! }
//! fn create(_: &Request, _: &Params<'_>) -> Response {
//!     Response::created("/todos/1")
//! }
//!
//! let router = Router::<Handler>::new()
//!     .get("/todos/:id", show)
//!     .post("/todos", create);
//! assert_eq!(router.handle(&Request::new("GET", "/todos/7")).body, b"todo 7");
//! assert_eq!(router.handle(&Request::new("POST", "/todos")).status, 201);
//! assert_eq!(router.handle(&Request::new("GET", "/nope")).status, 404);
//! let wrong = router.handle(&Request::new("DELETE", "/todos/7"));
//! assert_eq!((wrong.status, wrong.header("allow")), (405, Some(&b"GET, HEAD"[..])));
//! ```

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::message::{Request, Response};
use crate::query::percent_decode;

/// The handler type for [`Router::handle`]: a plain function from the request and the path's
/// parameters to a response. (Closures that capture nothing coerce to it.)
///
/// ```
/// use fezz_abi::routing::{Handler, Params};
/// use fezz_abi::{Request, Response};
///
/// fn health(_: &Request, _: &Params<'_>) -> Response {
///     Response::text(200, "ok")
/// }
/// let handlers: [Handler; 2] = [health, |_, _| Response::no_content()];
/// assert_eq!(handlers[1](&Request::new("GET", "/"), &Params::default()).status, 204);
/// ```
pub type Handler = fn(&Request, &Params<'_>) -> Response;

/// A route that cannot be added: the pattern or method is malformed, or it conflicts with a
/// route already in the router.
///
/// ```
/// use fezz_abi::routing::{RouteError, Router};
/// let error = Router::new().try_route("GET", "/a/.../b", ()).unwrap_err();
/// assert!(matches!(error, RouteError::Pattern { .. }));
/// assert_eq!(error.to_string(), "route pattern \"/a/.../b\": `...` is not the last segment");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The pattern breaks the syntax (see the module docs); the message says where.
    #[error("route pattern {pattern:?}: {problem}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The method is not an HTTP token (`GET`, `PURGE`; case-sensitive).
    #[error("route method {0:?} is not an HTTP token")]
    Method(String),
    /// A route with the same shape (the same literals at the same positions, parameters at
    /// the same positions whatever their names, `...` at the end or not) already answers this
    /// method, so one of them could never be reached.
    #[error("route {method} {pattern} conflicts with {existing}, added before")]
    Conflict {
        /// The new route's method (`*` for any).
        method: String,
        /// The new route's pattern.
        pattern: String,
        /// The earlier route it conflicts with, as `METHOD PATTERN`.
        existing: String,
    },
}

/// One segment of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A parsed pattern: its segments and whether it ends in `...`.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    segments: Vec<Segment>,
    rest: bool,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, RouteError> {
        let problem = |problem: &str| RouteError::Pattern {
            pattern: text.to_owned(),
            problem: problem.to_owned(),
        };
        let Some(body) = text.strip_prefix('/') else {
            return Err(problem("does not start with '/'"));
        };
        let mut pattern = Pattern {
            text: text.to_owned(),
            segments: Vec::new(),
            rest: false,
        };
        if body.is_empty() {
            return Ok(pattern);
        }
        let pieces: Vec<&str> = body.split('/').collect();
        for (index, piece) in pieces.iter().enumerate() {
            if pattern.rest {
                return Err(problem("`...` is not the last segment"));
            }
            if piece.is_empty() {
                return Err(problem("has an empty segment (`//` or a trailing `/`)"));
            }
            if *piece == "..." {
                pattern.rest = true;
            } else if let Some(name) = piece.strip_prefix(':') {
                if !is_param_name(name) {
                    return Err(problem(&format!(
                        "parameter name {name:?} is not [A-Za-z_][A-Za-z0-9_]*"
                    )));
                }
                if pattern.segments[..index]
                    .iter()
                    .any(|segment| *segment == Segment::Param(name.to_owned()))
                {
                    return Err(problem(&format!("parameter :{name} appears twice")));
                }
                pattern.segments.push(Segment::Param(name.to_owned()));
            } else {
                pattern.segments.push(Segment::Literal((*piece).to_owned()));
            }
        }
        Ok(pattern)
    }

    /// The specificity key of the spec's rule: per position, literal 3, parameter 2, then the
    /// end 1 or `...` 0. A greater key is more specific; equal keys are the same shape when
    /// the literals are the same too.
    fn rank(&self) -> Vec<u8> {
        let mut rank: Vec<u8> = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => 3,
                Segment::Param(_) => 2,
            })
            .collect();
        rank.push(if self.rest { 0 } else { 1 });
        rank
    }

    fn same_shape(&self, other: &Pattern) -> bool {
        self.rest == other.rest
            && self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// The parameters if `path` matches.
    fn matches<'a>(&'a self, path: &'a str) -> Option<Params<'a>> {
        let body = path.strip_prefix('/')?;
        let mut pieces = (!body.is_empty()).then(|| body.split('/'));
        let mut params = Params::default();
        let mut consumed = 0;
        for segment in &self.segments {
            let piece = pieces.as_mut()?.next()?;
            match segment {
                Segment::Literal(literal) if literal == piece => {}
                Segment::Param(name) if !piece.is_empty() => params.pairs.push((name, piece)),
                _ => return None,
            }
            consumed += 1 + piece.len();
        }
        if self.rest {
            params.rest = Some(&path[consumed..]);
            return Some(params);
        }
        match pieces.as_mut().and_then(Iterator::next) {
            None => Some(params),
            Some(_) => None,
        }
    }
}

fn is_param_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

fn is_token(method: &str) -> bool {
    !method.is_empty()
        && method
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// The parameters of a matched pattern: `:name` values (raw, as in the path) and, for a
/// pattern ending in `...`, the rest of the path.
///
/// ```
/// # use fezz_abi::routing::Router;
/// let router = Router::new().get("/:user/files/...", ());
/// let params = router.find("GET", "/ada/files/a/b").unwrap().params;
/// assert_eq!((params.get("user"), params.rest()), (Some("ada"), Some("/a/b")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a> {
    pairs: Vec<(&'a str, &'a str)>,
    rest: Option<&'a str>,
}

impl<'a> Params<'a> {
    /// The raw value of `:name`, still percent-encoded.
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/files/:name", ());
    /// let found = router.find("GET", "/files/a%20b").unwrap();
    /// assert_eq!(found.params.get("name"), Some("a%20b"));
    /// assert_eq!(found.params.get("other"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .map(|(_, value)| *value)
    }

    /// The value of `:name` with percent escapes decoded (`+` stays `+`, as in paths).
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/files/:name", ());
    /// let found = router.find("GET", "/files/a%20b+c").unwrap();
    /// assert_eq!(found.params.decoded("name").as_deref(), Some("a b+c"));
    /// ```
    pub fn decoded(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name).map(percent_decode)
    }

    /// What `...` matched: the rest of the path from the `/` after the literal and parameter
    /// segments (`""` when nothing follows them); `None` for a pattern without `...`.
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/static/...", ());
    /// assert_eq!(router.find("GET", "/static/css/site.css").unwrap().params.rest(), Some("/css/site.css"));
    /// assert_eq!(router.find("GET", "/static").unwrap().params.rest(), Some(""));
    /// ```
    pub fn rest(&self) -> Option<&'a str> {
        self.rest
    }

    /// Every `(name, raw value)` pair, in pattern order.
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/users/:user/posts/:post", ());
    /// let found = router.find("GET", "/users/ada/posts/3").unwrap();
    /// assert_eq!(found.params.iter().collect::<Vec<_>>(), [("user", "ada"), ("post", "3")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.pairs.iter().copied()
    }
}

/// A route that serves the request: its value, the path's parameters and the pattern.
///
/// ```
/// # use fezz_abi::routing::Router;
/// let router = Router::new().get("/users/:id", "user");
/// let found = router.find("GET", "/users/42").unwrap();
/// assert_eq!((*found.value, found.pattern, found.params.get("id")), ("user", "/users/:id", Some("42")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a, T> {
    /// The value the route was added with.
    pub value: &'a T,
    /// The parameters of the path.
    pub params: Params<'a>,
    /// The route's pattern, as added.
    pub pattern: &'a str,
}

/// Why no route serves a request.
///
/// ```
/// # use fezz_abi::routing::{Miss, Router};
/// let router = Router::new().get("/a", ());
/// assert_eq!(router.find("GET", "/b").unwrap_err(), Miss::NotFound);
/// assert!(matches!(router.find("PUT", "/a"), Err(Miss::MethodNotAllowed { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss<'a> {
    /// No pattern matches the path: 404.
    NotFound,
    /// Some patterns match the path, none with this method: 405 with `Allow`.
    MethodNotAllowed {
        /// The methods of the matching routes, in the order added, `HEAD` after `GET`.
        allow: Vec<&'a str>,
        /// The parameters of the most specific matching pattern (to tell, for instance, a
        /// malformed id, which is a 404, from a wrong method).
        params: Params<'a>,
    },
}

impl Miss<'_> {
    /// The HTTP status: 404 or 405.
    ///
    /// ```
    /// # use fezz_abi::routing::Miss;
    /// assert_eq!(Miss::NotFound.status(), 404);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            Miss::NotFound => 404,
            Miss::MethodNotAllowed { .. } => 405,
        }
    }

    /// The `Allow` header's value (`GET, HEAD, POST`) for a 405; `None` for a 404.
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/a", ()).post("/a", ());
    /// let miss = router.find("PUT", "/a").unwrap_err();
    /// assert_eq!(miss.allow_header().as_deref(), Some("GET, HEAD, POST"));
    /// ```
    pub fn allow_header(&self) -> Option<String> {
        match self {
            Miss::NotFound => None,
            Miss::MethodNotAllowed { allow, .. } => Some(allow.join(", ")),
        }
    }

    /// A plain-text answer: [`Response::not_found`], or [`Response::method_not_allowed`] with
    /// `Allow`. Build your own from [`Miss::status`] and [`Miss::allow_header`] for another
    /// body (JSON, say).
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().delete("/a", ());
    /// let response = router.find("GET", "/a").unwrap_err().into_response();
    /// assert_eq!((response.status, response.header("allow")), (405, Some(&b"DELETE"[..])));
    /// ```
    pub fn into_response(self) -> Response {
        match self {
            Miss::NotFound => Response::not_found(),
            Miss::MethodNotAllowed { allow, .. } => Response::method_not_allowed(&allow),
        }
    }
}

/// One added route.
#[derive(Debug, Clone)]
struct Route<T> {
    /// `None`: every method.
    method: Option<String>,
    pattern: Pattern,
    rank: Vec<u8>,
    value: T,
}

impl<T> Route<T> {
    fn describe(&self) -> String {
        format!(
            "{} {}",
            self.method.as_deref().unwrap_or("*"),
            self.pattern.text
        )
    }
}

/// How well a route's method answers a request's: exact beats `GET` for `HEAD` beats any.
fn method_fit(route: Option<&str>, method: &str) -> Option<u8> {
    match route {
        Some(route) if route == method => Some(2),
        Some("GET") if method == "HEAD" => Some(1),
        Some(_) => None,
        None => Some(0),
    }
}

/// Routes from method and path pattern to values of type `T` (see the module docs). Build it
/// once per call, or once per process in a `static` `LazyLock` (a warm runner then reuses it).
///
/// ```
/// use std::sync::LazyLock;
/// use fezz_abi::routing::Router;
///
/// static ROUTER: LazyLock<Router<&'static str>> =
///     LazyLock::new(|| Router::new().get("/", "index").post("/items", "create"));
/// assert_eq!(*ROUTER.find("POST", "/items").unwrap().value, "create");
/// ```
#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: Vec<Route<T>>,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Router { routes: Vec::new() }
    }
}

impl<T> Router<T> {
    /// A router without routes: every path is [`Miss::NotFound`].
    ///
    /// ```
    /// # use fezz_abi::routing::{Miss, Router};
    /// let router: Router<()> = Router::new();
    /// assert_eq!(router.find("GET", "/").unwrap_err(), Miss::NotFound);
    /// ```
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a route for `method` (case-sensitive, as in HTTP), or returns why it cannot be
    /// added: a malformed pattern or method, or a conflict with an earlier route.
    ///
    /// ```
    /// # use fezz_abi::routing::{RouteError, Router};
    /// let router = Router::new().try_route("GET", "/todos/:id", 1).unwrap();
    /// let conflict = router.try_route("GET", "/todos/:key", 2).unwrap_err();
    /// assert!(matches!(conflict, RouteError::Conflict { .. }));
    /// assert!(Router::new().try_route("GET", "todos", 1).is_err());
    /// ```
    pub fn try_route(self, method: &str, pattern: &str, value: T) -> Result<Self, RouteError> {
        if !is_token(method) {
            return Err(RouteError::Method(method.to_owned()));
        }
        self.add(Some(method.to_owned()), pattern, value)
    }

    /// Adds a route that answers every method, or returns why it cannot be added. A path
    /// matched by such a route is never a 405.
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().try_any("/proxy/...", ()).unwrap();
    /// assert!(router.find("BREW", "/proxy/pot").is_ok());
    /// ```
    pub fn try_any(self, pattern: &str, value: T) -> Result<Self, RouteError> {
        self.add(None, pattern, value)
    }

    fn add(mut self, method: Option<String>, pattern: &str, value: T) -> Result<Self, RouteError> {
        let pattern = Pattern::parse(pattern)?;
        if let Some(existing) = self
            .routes
            .iter()
            .find(|route| route.method == method && route.pattern.same_shape(&pattern))
        {
            return Err(RouteError::Conflict {
                method: method.as_deref().unwrap_or("*").to_owned(),
                pattern: pattern.text,
                existing: existing.describe(),
            });
        }
        let rank = pattern.rank();
        self.routes.push(Route {
            method,
            pattern,
            rank,
            value,
        });
        Ok(self)
    }

    /// Adds a route for `method`, as [`Router::try_route`].
    ///
    /// # Panics
    /// If [`Router::try_route`] would fail: routes are written in the source, so a bad one is a
    /// bug that the first test of the function finds.
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().route("PURGE", "/cache/...", "purge");
    /// assert_eq!(*router.find("PURGE", "/cache/a").unwrap().value, "purge");
    /// ```
    pub fn route(self, method: &str, pattern: &str, value: T) -> Self {
        self.try_route(method, pattern, value)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Adds a route for every method, as [`Router::try_any`].
    ///
    /// # Panics
    /// As [`Router::route`].
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/a", 1).any("/...", 2);
    /// assert_eq!(*router.find("GET", "/a").unwrap().value, 1);
    /// assert_eq!(*router.find("POST", "/a").unwrap().value, 2);
    /// ```
    pub fn any(self, pattern: &str, value: T) -> Self {
        self.try_any(pattern, value)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Adds a `GET` route (it also answers `HEAD`). Panics as [`Router::route`].
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// let router = Router::new().get("/", "index");
    /// assert_eq!(*router.find("HEAD", "/").unwrap().value, "index");
    /// ```
    pub fn get(self, pattern: &str, value: T) -> Self {
        self.route("GET", pattern, value)
    }

    /// Adds a `POST` route. Panics as [`Router::route`].
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// assert!(Router::new().post("/a", ()).find("POST", "/a").is_ok());
    /// ```
    pub fn post(self, pattern: &str, value: T) -> Self {
        self.route("POST", pattern, value)
    }

    /// Adds a `PUT` route. Panics as [`Router::route`].
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// assert!(Router::new().put("/a", ()).find("PUT", "/a").is_ok());
    /// ```
    pub fn put(self, pattern: &str, value: T) -> Self {
        self.route("PUT", pattern, value)
    }

    /// Adds a `PATCH` route. Panics as [`Router::route`].
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// assert!(Router::new().patch("/a", ()).find("PATCH", "/a").is_ok());
    /// ```
    pub fn patch(self, pattern: &str, value: T) -> Self {
        self.route("PATCH", pattern, value)
    }

    /// Adds a `DELETE` route. Panics as [`Router::route`].
    ///
    /// ```
    /// # use fezz_abi::routing::Router;
    /// assert!(Router::new().delete("/a", ()).find("DELETE", "/a").is_ok());
    /// ```
    pub fn delete(self, pattern: &str, value: T) -> Self {
        self.route("DELETE", pattern, value)
    }

    /// The route that serves `method` and `path` (the raw path, without the query), or why
    /// there is none.
    ///
    /// ```
    /// # use fezz_abi::routing::{Miss, Router};
    /// let router = Router::new().get("/todos/:id", "one").get("/todos/new", "form");
    /// assert_eq!(*router.find("GET", "/todos/new").unwrap().value, "form");
    /// let found = router.find("GET", "/todos/7").unwrap();
    /// assert_eq!((*found.value, found.params.get("id"), found.pattern), ("one", Some("7"), "/todos/:id"));
    /// assert_eq!(router.find("GET", "/todos/7/x").unwrap_err(), Miss::NotFound);
    /// ```
    pub fn find<'a>(&'a self, method: &str, path: &'a str) -> Result<Found<'a, T>, Miss<'a>> {
        let mut best: Option<(&Route<T>, u8, Params<'a>)> = None;
        let mut allow: Vec<&'a str> = Vec::new();
        let mut closest: Option<(&Route<T>, Params<'a>)> = None;
        for route in &self.routes {
            let Some(params) = route.pattern.matches(path) else {
                continue;
            };
            if let Some(route_method) = route.method.as_deref() {
                if !allow.contains(&route_method) {
                    allow.push(route_method);
                }
                if route_method == "GET" && !allow.contains(&"HEAD") {
                    allow.push("HEAD");
                }
            }
            if closest
                .as_ref()
                .is_none_or(|(other, _)| route.rank > other.rank)
            {
                closest = Some((route, params.clone()));
            }
            let Some(fit) = method_fit(route.method.as_deref(), method) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((other, other_fit, _)) => match route.rank.cmp(&other.rank) {
                    Ordering::Greater => true,
                    Ordering::Equal => fit > *other_fit,
                    Ordering::Less => false,
                },
            };
            if better {
                best = Some((route, fit, params));
            }
        }
        match (best, closest) {
            (Some((route, _, params)), _) => Ok(Found {
                value: &route.value,
                params,
                pattern: &route.pattern.text,
            }),
            (None, Some((_, params))) => Err(Miss::MethodNotAllowed { allow, params }),
            (None, None) => Err(Miss::NotFound),
        }
    }
}

impl Router<Handler> {
    /// Serves `request` with the handler of its route, or with [`Miss::into_response`] (a
    /// plain-text 404, or 405 with `Allow`).
    ///
    /// ```
    /// use fezz_abi::routing::{Handler, Router};
    /// use fezz_abi::{Request, Response};
    ///
    /// let router = Router::<Handler>::new().get("/hello/:name", |_, params| {
    ///     Response::text(200, format!("hello {}", params.get("name").unwrap_or("you")))
    /// });
    /// assert_eq!(router.handle(&Request::new("GET", "/hello/ada")).body, b"hello ada");
    /// assert_eq!(router.handle(&Request::new("POST", "/hello/ada")).status, 405);
    /// ```
    pub fn handle(&self, request: &Request) -> Response {
        match self.find(&request.method, &request.path) {
            Ok(found) => (found.value)(request, &found.params),
            Err(miss) => miss.into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(router: &Router<&'static str>, method: &str, path: &str) -> Option<&'static str> {
        router.find(method, path).ok().map(|found| *found.value)
    }

    fn allow(router: &Router<&'static str>, method: &str, path: &str) -> String {
        match router.find(method, path) {
            Err(miss @ Miss::MethodNotAllowed { .. }) => miss.allow_header().unwrap(),
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn patterns_match_as_in_the_manifest_spec() {
        let router = Router::new()
            .get("/", "root")
            .get("/todos/:id", "todo")
            .get("/static/...", "static");
        for (path, expected) in [
            ("/", Some("root")),
            ("/todos/7", Some("todo")),
            ("/todos", None),
            ("/todos/", None),
            ("/todos/7/x", None),
            ("//", None),
            ("/static", Some("static")),
            ("/static/", Some("static")),
            ("/static/a/b", Some("static")),
            ("/staticx", None),
            ("*", None),
            ("", None),
        ] {
            assert_eq!(value(&router, "GET", path), expected, "{path}");
        }
        let everything = Router::new().get("/...", "all");
        assert_eq!(value(&everything, "GET", "/"), Some("all"));
        assert_eq!(value(&everything, "GET", "/a//b/"), Some("all"));
        assert_eq!(value(&everything, "GET", "*"), None);
    }

    #[test]
    fn literals_match_the_raw_segment_bytes() {
        let router = Router::new().get("/a%20b", "escaped");
        assert_eq!(value(&router, "GET", "/a%20b"), Some("escaped"));
        assert_eq!(value(&router, "GET", "/a b"), None);
        assert_eq!(value(&router, "GET", "/A%20B"), None);
    }

    #[test]
    fn the_most_specific_pattern_wins_whatever_the_order() {
        let routes = [
            ("/a/...", "rest"),
            ("/a/:x", "param"),
            ("/a/b", "literal"),
            ("/a", "end"),
            ("/:x/b", "param-first"),
        ];
        // Added in both orders, the answers are the same.
        for reversed in [false, true] {
            let mut router = Router::new();
            let mut ordered = routes.to_vec();
            if reversed {
                ordered.reverse();
            }
            for (pattern, name) in ordered {
                router = router.get(pattern, name);
            }
            assert_eq!(value(&router, "GET", "/a/b"), Some("literal"));
            assert_eq!(value(&router, "GET", "/a/c"), Some("param"));
            assert_eq!(value(&router, "GET", "/a"), Some("end"));
            assert_eq!(value(&router, "GET", "/a/c/d"), Some("rest"));
            assert_eq!(value(&router, "GET", "/a/"), Some("rest"));
            assert_eq!(value(&router, "GET", "/z/b"), Some("param-first"));
        }
    }

    #[test]
    fn methods_head_and_any() {
        let router = Router::new()
            .get("/r", "get")
            .route("HEAD", "/h", "head")
            .get("/h", "get-h")
            .any("/r", "any")
            .post("/p", "post");
        assert_eq!(value(&router, "GET", "/r"), Some("get"));
        assert_eq!(
            value(&router, "HEAD", "/r"),
            Some("get"),
            "GET answers HEAD"
        );
        assert_eq!(value(&router, "DELETE", "/r"), Some("any"));
        assert_eq!(
            value(&router, "HEAD", "/h"),
            Some("head"),
            "exact beats GET"
        );
        assert_eq!(value(&router, "GET", "/h"), Some("get-h"));
        assert_eq!(value(&router, "HEAD", "/p"), None);
        // Methods are case-sensitive.
        assert_eq!(value(&router, "post", "/p"), None);
    }

    #[test]
    fn a_wrong_method_is_405_listing_methods_in_order_with_head_after_get() {
        let router = Router::new()
            .put("/t/:id", "put")
            .get("/t/:id", "get")
            .patch("/t/:id", "patch")
            .delete("/t/:id", "delete")
            .get("/t/...", "rest")
            .route("HEAD", "/h", "head")
            .get("/h", "get");
        assert_eq!(
            allow(&router, "POST", "/t/1"),
            "PUT, GET, HEAD, PATCH, DELETE"
        );
        assert_eq!(allow(&router, "POST", "/t/1/2"), "GET, HEAD");
        assert_eq!(allow(&router, "POST", "/h"), "HEAD, GET");
        assert_eq!(router.find("POST", "/x").unwrap_err(), Miss::NotFound);
        let response = router.find("POST", "/t/1").unwrap_err().into_response();
        assert_eq!(response.status, 405);
        assert_eq!(
            response.header("allow"),
            Some(&b"PUT, GET, HEAD, PATCH, DELETE"[..])
        );
        assert_eq!(
            router
                .find("POST", "/x")
                .unwrap_err()
                .into_response()
                .status,
            404
        );
    }

    #[test]
    fn a_405_carries_the_closest_patterns_params() {
        let router = Router::new().get("/t/:id", "get").get("/t/...", "rest");
        match router.find("DELETE", "/t/abc") {
            Err(Miss::MethodNotAllowed { params, .. }) => {
                assert_eq!(params.get("id"), Some("abc"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn params_and_rest() {
        let router = Router::new()
            .get("/u/:user/p/:post", "post")
            .get("/files/:dir/...", "files");
        let found = router.find("GET", "/u/ada/p/3").unwrap();
        assert_eq!(found.params.get("user"), Some("ada"));
        assert_eq!(found.params.get("post"), Some("3"));
        assert_eq!(found.params.rest(), None);
        let found = router.find("GET", "/files/d/x/y%2Fz").unwrap();
        assert_eq!(found.params.get("dir"), Some("d"));
        assert_eq!(found.params.rest(), Some("/x/y%2Fz"));
        assert_eq!(
            router.find("GET", "/files/d").unwrap().params.rest(),
            Some("")
        );
        assert_eq!(
            router.find("GET", "/files/d/").unwrap().params.rest(),
            Some("/")
        );
        // `:dir` needs a non-empty segment even before `...`.
        assert!(router.find("GET", "/files//x").is_err());
    }

    #[test]
    fn malformed_routes_are_refused() {
        for pattern in [
            "", "todos", "/todos/", "/a//b", "/.../a", "/:", "/:1x", "/:a-b", "/:id/:id",
        ] {
            assert!(
                matches!(
                    Router::new().try_route("GET", pattern, ()),
                    Err(RouteError::Pattern { .. })
                ),
                "{pattern:?}"
            );
        }
        for method in ["", "G T", "GET\n", "(GET)"] {
            assert_eq!(
                Router::new().try_route(method, "/", ()).unwrap_err(),
                RouteError::Method(method.to_owned())
            );
        }
    }

    #[test]
    fn conflicts_are_refused_and_other_shapes_are_not() {
        let router = Router::new()
            .get("/a/:x", 1)
            .get("/a/...", 2)
            .any("/a/:x", 3);
        let error = router.clone().try_route("GET", "/a/:y", 4).unwrap_err();
        assert_eq!(
            error.to_string(),
            "route GET /a/:y conflicts with GET /a/:x, added before"
        );
        assert!(router.clone().try_any("/a/:z", 4).is_err());
        assert!(router.clone().try_route("POST", "/a/:y", 4).is_ok());
        assert!(router.clone().try_route("GET", "/a/b", 4).is_ok());
        assert!(router.try_route("GET", "/b/:x", 4).is_ok());
    }

    #[test]
    #[should_panic(expected = "does not start with '/'")]
    fn route_panics_on_a_malformed_pattern() {
        let _ = Router::new().get("nope", ());
    }

    #[test]
    fn handle_calls_the_handler_or_answers_the_miss() {
        fn echo(request: &Request, params: &Params<'_>) -> Response {
            Response::text(200, format!("{} {:?}", request.method, params.get("id")))
        }
        let router = Router::<Handler>::new().get("/t/:id", echo);
        assert_eq!(
            router.handle(&Request::new("HEAD", "/t/9")).body,
            b"HEAD Some(\"9\")"
        );
        let missing = router.handle(&Request::new("GET", "/x"));
        assert_eq!(
            (missing.status, &missing.body[..]),
            (404, &b"not found\n"[..])
        );
        assert_eq!(router.handle(&Request::new("PUT", "/t/9")).status, 405);
    }
}
