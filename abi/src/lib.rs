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
pub mod limits;
pub mod message;
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
