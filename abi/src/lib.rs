//! The fezz wire contract in Rust: message types, the CBOR codec, the runner framing, and the
//! C ABI that function libraries export and C authors link against.
//!
//! `spec/` is normative; this crate is its reference implementation, and every constant here
//! that the spec also states is compared with it by a test.
//!
//! # Writing a function in Rust
//!
//! 1. Add `fezz-abi` as the only dependency and set `crate-type = ["cdylib"]`.
//! 2. Write a plain function from [`Request`] to [`Response`] under [`fezz_function`].
//! 3. Build it and deploy the library with a `fezz.json` (see the README).
//!
//! ```no_run
//! use fezz_abi::{fezz_function, Request, Response};
//!
//! #[fezz_function]
//! fn hello(request: Request) -> Response {
//!     Response::text(200, format!("hello from {}", request.path))
//! }
//! ```
//!
//! # What requests and responses offer
//!
//! - Headers: [`Request::header`] (first value, case-insensitive), [`Request::header_str`],
//!   [`Request::headers_all`], [`Request::content_type`], [`Request::has_json_body`].
//! - The query: [`Request::query`] (first decoded value of a name) and
//!   [`Request::query_pairs`]; the decoding rules (`+` is a space, as forms send it) are in
//!   [`query`].
//! - Responses: [`Response::text`], [`Response::json_text`], [`Response::ok`],
//!   [`Response::created`], [`Response::no_content`], [`Response::redirect`],
//!   [`Response::bad_request`], [`Response::not_found`], [`Response::method_not_allowed`],
//!   the builders [`Response::with_status`], [`Response::with_header`],
//!   [`Response::with_body`], the predicates [`Response::is_success`] and friends, and the
//!   checked forms [`Response::try_new`], [`Response::try_with_header`],
//!   [`Response::validate`].
//! - JSON through serde, with the `json` feature: `Request::json::<T>()`,
//!   `Response::json(status, &value)`, `Response::json_pretty` (module `json`).
//! - Routing by method and path pattern (`/todos/:id`), with 404 and 405 + `Allow`:
//!   [`routing::Router`].
//!
//! ```
//! use fezz_abi::routing::{Miss, Router};
//! use fezz_abi::{Request, Response};
//!
//! #[derive(Clone, Copy)]
//! enum Endpoint { List, Show }
//!
//! fn handle(request: Request) -> Response {
//!     let router = Router::new().get("/todos", Endpoint::List).get("/todos/:id", Endpoint::Show);
//!     match router.find(&request.method, &request.path) {
//!         Ok(found) => match found.value {
//!             Endpoint::List => {
//!                 let page = request.query("page").and_then(|page| page.parse().ok()).unwrap_or(1);
//!                 Response::text(200, format!("page {page}"))
//!             }
//!             Endpoint::Show => Response::text(200, format!("todo {}", found.params.get("id").unwrap())),
//!         },
//!         Err(miss) => miss.into_response(),
//!     }
//! }
//!
//! let mut request = Request::new("GET", "/todos");
//! request.query = Some("page=2".into());
//! assert_eq!(handle(request).body, b"page 2");
//! assert_eq!(handle(Request::new("DELETE", "/todos/1")).status, 405);
//! ```
//!
//! # Per-process state: fresh, prefork and warm
//!
//! A function may keep state in globals (`static` with `OnceLock`, `LazyLock`, `Mutex`):
//! a database connection, a parsed configuration, a compiled router. What survives depends on
//! how the runner executes calls; write the function so that it is right in all three modes,
//! and treat globals as caches, never as the only copy of data (that lives in a database or
//! a file).
//!
//! | mode | what a call gets | what to know |
//! |---|---|---|
//! | **fresh** (today's only mode) | a new runner process that loads the library for this one call, then exits | globals start empty on every call: a cache costs its set-up on every call and never helps; nothing of one call is visible to the next; the process exits without running destructors of `static`s, so flush and commit before returning |
//! | **prefork** (coming) | a child forked from a template process that already loaded the library (and may have run its initializers): copy-on-write memory, one child per call | what the template set up is shared read-only and changes in a call are lost with the child; anything that must be unique per call must be made in the call, not in the template: random seeds and RNG state (seed from the OS in the call, e.g. `getrandom`), request ids, temporary file names; file descriptors and sockets opened by the template are shared by every child: open connections in the call, or reopen them after the fork; threads of the template do not exist in the child |
//! | **warm** (coming) | one process serves many calls, one after another | globals persist between calls: a connection or cache is reused (the reason to keep one), but so is anything left behind: reset per-call state at the start of each call, never keep one request's data (user, headers, body) in a global, bound caches so memory does not grow without end, and expect a panic in one call to leave a `Mutex` poisoned for the next (recover with `into_inner`, as `examples/todosapi` does) |
//!
//! The environment (manifest `env`) and the working directory (the function folder) are the
//! same in every mode. In all modes a call may be killed at its deadline
//! ([`RequestContext::deadline_unix_ms`]) without warning.
//!
//! # Using the codec
//!
//! [`decode_request`] / [`encode_response`] and friends convert between bytes and values;
//! [`frame`] reads and writes the runner protocol's frames.
#![deny(missing_docs)]

pub mod boundary;
pub mod capi;
pub mod decode;
pub mod encode;
pub mod error;
pub mod ffi;
pub mod frame;
#[cfg(feature = "json")]
pub mod json;
pub mod limits;
pub mod message;
pub mod query;
pub mod routing;
pub mod runner_protocol;
pub mod sandbox;
mod validate;

pub use decode::{decode_error, decode_request, decode_response};
pub use encode::{encode_error, encode_request, encode_response};
pub use error::{DecodeError, EncodeError, ErrorKind};
pub use message::{Header, Request, RequestContext, Response, WireError};

/// Writes a function library's exports (`fezz_abi_version`, `fezz_handle_v2`, `fezz_free_v2`)
/// for a plain `fn(Request) -> Response`. See the `fezz-macros` crate.
pub use fezz_macros::fezz_function;

/// The protocol version carried in every request and response (key 0).
pub const WIRE_VERSION: u32 = 2;
