//! Every size and depth limit of the wire contract, one named constant each.
//!
//! These numbers are normative: `spec/CBOR-PROFILE.md` ("Limits") states the same values and the
//! `spec_limits_match` test compares the two. A decoder rejects anything past a limit with
//! [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) or
//! [`ErrorKind::TooDeep`](crate::ErrorKind::TooDeep); an encoder refuses to produce it.

/// Largest encoded message (a frame payload) in bytes: 16 MiB.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Largest request or response body in bytes: 8 MiB.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Most header fields in one request or response.
pub const MAX_HEADER_COUNT: usize = 256;

/// Longest header name in bytes.
pub const MAX_HEADER_NAME_BYTES: usize = 256;

/// Longest header value in bytes: 16 KiB.
pub const MAX_HEADER_VALUE_BYTES: usize = 16 * 1024;

/// Longest text field other than header names (method, path, query, context fields, error
/// code and message) in bytes: 16 KiB.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Deepest nesting of arrays and maps, counting the message's own map as level 1.
pub const MAX_NESTING_DEPTH: usize = 16;

/// Most entries in any one map, unknown keys included.
pub const MAX_MAP_ENTRIES: usize = 64;

/// Most chunks in one indefinite-length byte or text string.
pub const MAX_STRING_CHUNKS: usize = 4096;

/// Bytes in a frame header (magic, kind, reserved byte, length).
pub const FRAME_HEADER_BYTES: usize = 8;

/// Most bytes of a runner's stderr that a host keeps for its log per call: 64 KiB.
pub const MAX_STDERR_BYTES: usize = 64 * 1024;

/// A decoder given `n` bytes never has more than `DECODE_ALLOCATION_FACTOR * n +
/// DECODE_ALLOCATION_SLACK` bytes allocated at once.
pub const DECODE_ALLOCATION_FACTOR: usize = 2;

/// See [`DECODE_ALLOCATION_FACTOR`]: the constant part of the decoder's allocation bound, 64 KiB.
pub const DECODE_ALLOCATION_SLACK: usize = 64 * 1024;
