//! Root-mounted routes: the path patterns manifests declare, and the table that maps a
//! request's method and path to the one function that serves it.
//!
//! What lives here: [`RoutePattern`] (parsing and matching one pattern), [`RouteTable`]
//! (conflict detection on insert, lookup with 404/405 answers). What does not: `/rpc/`
//! direct invocation (`dispatch`), and which manifest a route came from (`registry`).
//!
//! Patterns (`spec/HTTP.md`, "Routing"): `/` followed by `/`-separated segments; a segment is
//! a literal (matched byte for byte against the raw, still percent-encoded request path), a
//! parameter `:name` (any one non-empty segment), or, as the last segment only, `...`
//! (zero or more further segments). When several routes match, the most specific wins:
//! segments compare left to right, literal before parameter before the end of the pattern
//! before `...`.

use std::cmp::Ordering;
use std::fmt;

use http::Method;
use serde::Deserialize;

use crate::manifest::Route;

/// Longest route pattern, in bytes.
pub const MAX_ROUTE_BYTES: usize = 1024;

/// First path segments that belong to hhrf, not to manifest routes.
pub const RESERVED_PREFIXES: [&str; 2] = ["rpc", "_fezz"];

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Matches exactly these bytes.
    Literal(String),
    /// `:name`: matches one non-empty segment.
    Param(String),
    /// `...`: matches the rest of the path, zero or more segments.
    Rest,
}

impl Segment {
    /// Specificity rank: literal > parameter > (end of pattern, see `rank_at`) > rest.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 3,
            Segment::Param(_) => 2,
            Segment::Rest => 0,
        }
    }
}

/// A validated route pattern such as `/hello`, `/todos/:id` or `/static/...`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RoutePattern {
    raw: String,
    segments: Vec<Segment>,
}

impl TryFrom<String> for RoutePattern {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        RoutePattern::parse(&value)
    }
}

/// Characters a literal segment may hold: RFC 3986 `pchar` (with `%XX` checked separately).
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%".contains(c)
}

impl RoutePattern {
    /// Parses and validates a pattern; the error is a readable rule.
    pub fn parse(raw: &str) -> Result<RoutePattern, String> {
        if raw.len() > MAX_ROUTE_BYTES {
            return Err(format!(
                "the route has {} bytes, more than the limit of {MAX_ROUTE_BYTES}",
                raw.len()
            ));
        }
        let Some(rest) = raw.strip_prefix('/') else {
            return Err(format!("route {raw:?} must start with '/'"));
        };
        if rest.is_empty() {
            return Ok(RoutePattern {
                raw: raw.to_owned(),
                segments: vec![Segment::Literal(String::new())],
            });
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let mut segments = Vec::with_capacity(parts.len());
        let mut names: Vec<&str> = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let last = index + 1 == parts.len();
            if part.is_empty() {
                return Err(format!(
                    "route {raw:?} has an empty segment (\"//\" or a trailing '/'); use \"/...\" to match below a path"
                ));
            }
            if *part == "..." {
                if !last {
                    return Err(format!(
                        "route {raw:?} has \"...\" before its last segment; it may only end a route"
                    ));
                }
                segments.push(Segment::Rest);
            } else if let Some(name) = part.strip_prefix(':') {
                let mut chars = name.chars();
                let valid = chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(format!(
                        "route {raw:?} has parameter {part:?}; names must match [A-Za-z_][A-Za-z0-9_]*"
                    ));
                }
                if names.contains(&name) {
                    return Err(format!("route {raw:?} names parameter {part:?} twice"));
                }
                names.push(name);
                segments.push(Segment::Param(name.to_owned()));
            } else {
                if *part == "." || *part == ".." {
                    return Err(format!("route {raw:?} has a {part:?} segment"));
                }
                if let Some(bad) = part.chars().find(|c| !is_literal_char(*c)) {
                    return Err(format!(
                        "route {raw:?} has {bad:?}, which cannot appear in a path segment (write it percent-encoded)"
                    ));
                }
                if !percent_escapes_valid(part) {
                    return Err(format!(
                        "route {raw:?} has a '%' that is not followed by two hex digits"
                    ));
                }
                if index == 0 && RESERVED_PREFIXES.contains(part) {
                    return Err(format!(
                        "route {raw:?} is under /{part}, which is reserved for hhrf"
                    ));
                }
                segments.push(Segment::Literal((*part).to_owned()));
            }
        }
        Ok(RoutePattern {
            raw: raw.to_owned(),
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the raw request path `path` matches. Paths not starting with `/` (`*`) never
    /// match.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut parts = rest.split('/');
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::Literal(literal) => match parts.next() {
                    Some(part) if part == literal => {}
                    _ => return false,
                },
                Segment::Param(_) => match parts.next() {
                    Some(part) if !part.is_empty() => {}
                    _ => return false,
                },
            }
        }
        parts.next().is_none()
    }

    /// Whether both patterns match exactly the same paths (same literals and parameter
    /// positions; parameter names do not matter).
    pub fn same_shape(&self, other: &RoutePattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) | (Segment::Rest, Segment::Rest) => true,
                    _ => false,
                })
    }

    fn rank_at(&self, index: usize) -> u8 {
        // The end of a pattern ranks between a parameter and `...`: `/a` beats `/a/...`.
        self.segments.get(index).map_or(1, Segment::rank)
    }

    /// Orders patterns by specificity: `Greater` means `self` is more specific.
    pub fn specificity(&self, other: &RoutePattern) -> Ordering {
        let longest = self.segments.len().max(other.segments.len());
        (0..longest)
            .map(|index| self.rank_at(index).cmp(&other.rank_at(index)))
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

fn percent_escapes_valid(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3);
            if !hex.is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            index += 3;
        } else {
            index += 1;
        }
    }
    true
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A route that could not be mounted because an earlier one already answers the same paths
/// and methods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route {pattern:?} conflicts with route {existing_pattern:?} of {existing_owner}")]
pub struct RouteConflict {
    /// The pattern that was not mounted.
    pub pattern: String,
    /// The pattern already mounted.
    pub existing_pattern: String,
    /// Who mounted the existing route (the registry uses the manifest path).
    pub existing_owner: String,
}

struct TableEntry<T> {
    route: Route,
    owner: String,
    target: T,
}

/// The answer of [`RouteTable::lookup`].
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a, T> {
    /// The most specific route that matches the path and answers the method.
    Found(&'a T),
    /// Routes match the path but none answers the method; the `Allow` header value.
    MethodNotAllowed(String),
    /// No route matches the path.
    NotFound,
}

/// Every mounted route, each pointing at a target `T` (a function, for the server).
pub struct RouteTable<T> {
    entries: Vec<TableEntry<T>>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable {
            entries: Vec::new(),
        }
    }
}

impl<T> RouteTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many routes are mounted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no route is mounted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every mounted route with its target, in mounting order.
    pub fn routes(&self) -> impl Iterator<Item = (&Route, &T)> {
        self.entries
            .iter()
            .map(|entry| (&entry.route, &entry.target))
    }

    /// Mounts `route` for `target`, unless a mounted route has the same shape and a method in
    /// common; then nothing changes and the conflict names the earlier route's owner.
    pub fn insert(
        &mut self,
        route: Route,
        owner: impl Into<String>,
        target: T,
    ) -> Result<(), RouteConflict> {
        if let Some(existing) = self.entries.iter().find(|entry| {
            entry.route.path.same_shape(&route.path) && entry.route.methods_overlap(&route)
        }) {
            return Err(RouteConflict {
                pattern: route.path.as_str().to_owned(),
                existing_pattern: existing.route.path.as_str().to_owned(),
                existing_owner: existing.owner.clone(),
            });
        }
        self.entries.push(TableEntry {
            route,
            owner: owner.into(),
            target,
        });
        Ok(())
    }

    /// The conflict `route` would have with a mounted route, if any ([`RouteTable::insert`]).
    pub fn conflict(&self, route: &Route) -> Option<RouteConflict> {
        self.entries
            .iter()
            .find(|entry| {
                entry.route.path.same_shape(&route.path) && entry.route.methods_overlap(route)
            })
            .map(|existing| RouteConflict {
                pattern: route.path.as_str().to_owned(),
                existing_pattern: existing.route.path.as_str().to_owned(),
                existing_owner: existing.owner.clone(),
            })
    }

    /// Finds the route for a request. Among the routes whose pattern matches `path` and that
    /// answer `method`, the most specific wins; if patterns match but none answers the
    /// method, the answer lists the methods that would (`GET` implies `HEAD`).
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_, T> {
        let mut matched = false;
        let mut best: Option<&TableEntry<T>> = None;
        for entry in &self.entries {
            if !entry.route.path.matches(path) {
                continue;
            }
            matched = true;
            if !entry.route.allows(method) {
                continue;
            }
            let better = best.is_none_or(|current| {
                entry.route.path.specificity(&current.route.path) == Ordering::Greater
            });
            if better {
                best = Some(entry);
            }
        }
        match best {
            Some(entry) => Lookup::Found(&entry.target),
            None if matched => Lookup::MethodNotAllowed(self.allow(path)),
            None => Lookup::NotFound,
        }
    }

    fn allow(&self, path: &str) -> String {
        let mut methods: Vec<&str> = Vec::new();
        for entry in self.entries.iter().filter(|e| e.route.path.matches(path)) {
            if let Some(method) = &entry.route.method {
                methods.push(method.as_str());
                if method == Method::GET {
                    methods.push("HEAD");
                }
            }
        }
        methods.sort_unstable();
        methods.dedup();
        methods.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(raw: &str) -> RoutePattern {
        RoutePattern::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn route(raw: &str, method: Option<Method>) -> Route {
        Route {
            path: pattern(raw),
            method,
        }
    }

    #[test]
    fn valid_patterns_parse() {
        for raw in [
            "/",
            "/hello",
            "/todos/:id",
            "/a/:x/b/:y",
            "/static/...",
            "/...",
            "/caf%C3%A9",
            "/a:b/@c",
            "/rpcx",
            "/v1.2/x-y_z~",
        ] {
            pattern(raw);
        }
    }

    #[test]
    fn invalid_patterns_say_why() {
        for (raw, why) in [
            ("", "start with '/'"),
            ("hello", "start with '/'"),
            ("//", "empty segment"),
            ("/a/", "empty segment"),
            ("/a//b", "empty segment"),
            ("/.../a", "last segment"),
            ("/:", "parameter"),
            ("/:1x", "parameter"),
            ("/:a-b", "parameter"),
            ("/:a/:a", "twice"),
            ("/a b", "percent-encoded"),
            ("/a?b", "percent-encoded"),
            ("/a#b", "percent-encoded"),
            ("/\u{e9}", "percent-encoded"),
            ("/%zz", "hex"),
            ("/%4", "hex"),
            ("/..", "segment"),
            ("/a/./b", "segment"),
            ("/rpc", "reserved"),
            ("/rpc/...", "reserved"),
            ("/_fezz/health", "reserved"),
        ] {
            let error = RoutePattern::parse(raw).expect_err(raw);
            assert!(error.contains(why), "{raw:?}: {error}");
        }
        let long = format!("/{}", "a".repeat(MAX_ROUTE_BYTES));
        assert!(RoutePattern::parse(&long).unwrap_err().contains("limit"));
    }

    #[test]
    fn matching_follows_the_segment_rules() {
        let cases: &[(&str, &str, bool)] = &[
            ("/", "/", true),
            ("/", "/a", false),
            ("/hello", "/hello", true),
            ("/hello", "/hello/", false),
            ("/hello", "/Hello", false),
            ("/hello", "/hello/x", false),
            ("/hello", "hello", false),
            ("/hello", "*", false),
            ("/todos/:id", "/todos/7", true),
            ("/todos/:id", "/todos/", false),
            ("/todos/:id", "/todos", false),
            ("/todos/:id", "/todos/7/x", false),
            ("/todos/:id", "/todos/a%2Fb", true),
            ("/static/...", "/static", true),
            ("/static/...", "/static/", true),
            ("/static/...", "/static/a/b/c", true),
            ("/static/...", "/staticx", false),
            ("/...", "/", true),
            ("/...", "/anything/at/all", true),
            ("/caf%C3%A9", "/caf%C3%A9", true),
            ("/caf%C3%A9", "/caf%c3%a9", false),
        ];
        for (raw, path, expected) in cases {
            assert_eq!(pattern(raw).matches(path), *expected, "{raw} vs {path}");
        }
    }

    #[test]
    fn specificity_orders_literal_param_end_rest() {
        let order = |a: &str, b: &str| pattern(a).specificity(&pattern(b));
        assert_eq!(order("/a/b", "/a/:x"), Ordering::Greater);
        assert_eq!(order("/a/:x", "/a/..."), Ordering::Greater);
        assert_eq!(order("/a", "/a/..."), Ordering::Greater);
        assert_eq!(order("/a/...", "/..."), Ordering::Greater);
        assert_eq!(order("/:x/b", "/a/:y"), Ordering::Less);
        assert_eq!(order("/a/:x", "/a/:y"), Ordering::Equal);
    }

    #[test]
    fn shapes_ignore_parameter_names() {
        assert!(pattern("/a/:x").same_shape(&pattern("/a/:y")));
        assert!(!pattern("/a/:x").same_shape(&pattern("/a/b")));
        assert!(!pattern("/a").same_shape(&pattern("/a/...")));
        assert!(pattern("/a/...").same_shape(&pattern("/a/...")));
    }

    #[test]
    fn lookup_picks_the_most_specific_route_that_answers_the_method() {
        let mut table = RouteTable::new();
        table
            .insert(route("/...", None), "m1", "catch-all")
            .unwrap();
        table
            .insert(route("/todos/:id", Some(Method::GET)), "m2", "get-todo")
            .unwrap();
        table
            .insert(route("/todos/special", Some(Method::POST)), "m3", "special")
            .unwrap();
        table
            .insert(route("/hello", Some(Method::GET)), "m2", "hello")
            .unwrap();
        assert_eq!(table.len(), 4);
        assert_eq!(
            table.lookup(&Method::GET, "/todos/1"),
            Lookup::Found(&"get-todo")
        );
        assert_eq!(
            table.lookup(&Method::GET, "/todos/special"),
            Lookup::Found(&"get-todo")
        );
        assert_eq!(
            table.lookup(&Method::POST, "/todos/special"),
            Lookup::Found(&"special")
        );
        assert_eq!(
            table.lookup(&Method::HEAD, "/hello"),
            Lookup::Found(&"hello")
        );
        // The catch-all answers every method, so nothing is 405 here.
        assert_eq!(
            table.lookup(&Method::DELETE, "/hello"),
            Lookup::Found(&"catch-all")
        );
    }

    #[test]
    fn lookup_answers_405_with_allow_and_404() {
        let mut table = RouteTable::new();
        table
            .insert(route("/hello", Some(Method::GET)), "m", 1)
            .unwrap();
        table
            .insert(route("/hello", Some(Method::POST)), "m", 2)
            .unwrap();
        table
            .insert(route("/:any", Some(Method::PUT)), "m", 3)
            .unwrap();
        assert_eq!(
            table.lookup(&Method::DELETE, "/hello"),
            Lookup::MethodNotAllowed("GET, HEAD, POST, PUT".to_owned())
        );
        assert_eq!(
            table.lookup(&Method::GET, "/nothing/here"),
            Lookup::NotFound
        );
        assert_eq!(table.lookup(&Method::GET, "*"), Lookup::NotFound);
        assert_eq!(
            RouteTable::<u8>::new().lookup(&Method::GET, "/"),
            Lookup::NotFound
        );
    }

    #[test]
    fn conflicts_name_the_earlier_owner() {
        let mut table = RouteTable::new();
        table
            .insert(route("/a/:x", Some(Method::GET)), "first/fezz.json", 1)
            .unwrap();
        table
            .insert(route("/a/:y", Some(Method::POST)), "second/fezz.json", 2)
            .unwrap();
        let conflict = table
            .insert(route("/a/:z", Some(Method::HEAD)), "third/fezz.json", 3)
            .unwrap_err();
        assert_eq!(conflict.existing_owner, "first/fezz.json");
        assert_eq!(conflict.existing_pattern, "/a/:x");
        let conflict = table
            .insert(route("/a/:z", None), "third/fezz.json", 3)
            .unwrap_err();
        assert_eq!(conflict.existing_owner, "first/fezz.json");
        assert_eq!(table.len(), 2);
        table
            .insert(route("/a/b", None), "third/fezz.json", 3)
            .unwrap();
    }
}
