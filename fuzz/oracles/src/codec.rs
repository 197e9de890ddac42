//! Oracles for the CBOR codec (`fezz_abi::decode`, `fezz_abi::encode`).
//!
//! - [`decode_request`] / [`decode_response`]: arbitrary bytes. Decoding never panics; an
//!   error names a spec error kind and an offset inside the input; an accepted message
//!   re-encodes, the re-encoding is deterministic CBOR ([`crate::canonical`]), no longer than
//!   the input allows, decodes to the same value and re-encodes to the same bytes (a fixed
//!   point).
//! - [`roundtrip`]: an arbitrary message value. The encoder accepts it exactly when the spec's
//!   value rules ([`crate::rules`]) hold; then encoding is deterministic, the bytes are
//!   deterministic CBOR and decode to the same value.

use std::fmt::Debug;

use arbitrary::Arbitrary;
use fezz_abi::limits::MAX_MESSAGE_BYTES;
use fezz_abi::{DecodeError, EncodeError, ErrorKind, Request, Response, WireError};

use crate::{canonical, rules};

/// One of the three wire messages, seen through the codec.
trait Message: Sized + PartialEq + Debug {
    const NAME: &'static str;
    /// How many bytes the canonical encoding may exceed the input it was decoded from. Only
    /// two things grow: a header list of exactly `MAX_HEADER_COUNT` (256) entries sent with
    /// indefinite length (`9f … ff`, 2 bytes) needs the 3-byte head `99 01 00` (1 byte more),
    /// and a response's encoder always writes `2: []` and `3: h''`, which the input may omit
    /// (4 bytes more).
    const GROWTH: usize;
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
    fn encode(&self) -> Result<Vec<u8>, EncodeError>;
    fn follows_rules(&self) -> bool;
}

impl Message for Request {
    const NAME: &'static str = "request";
    const GROWTH: usize = 1;
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fezz_abi::decode_request(bytes)
    }
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        fezz_abi::encode_request(self)
    }
    fn follows_rules(&self) -> bool {
        rules::request_ok(self)
    }
}

impl Message for Response {
    const NAME: &'static str = "response";
    const GROWTH: usize = 1 + 4;
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fezz_abi::decode_response(bytes)
    }
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        fezz_abi::encode_response(self)
    }
    fn follows_rules(&self) -> bool {
        rules::response_ok(self)
    }
}

impl Message for WireError {
    const NAME: &'static str = "error";
    const GROWTH: usize = 0;
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        fezz_abi::decode_error(bytes)
    }
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        fezz_abi::encode_error(self)
    }
    fn follows_rules(&self) -> bool {
        rules::error_ok(self)
    }
}

/// Oracle of the `decode_request` target: `data` as a `fezz-request`.
pub fn decode_request(data: &[u8]) {
    check_decode::<Request>(data);
}

/// Oracle of the `decode_response` target: `data` as a `fezz-response`, and as a
/// `fezz-error` (what error frames carry).
pub fn decode_response(data: &[u8]) {
    check_decode::<Response>(data);
    check_decode::<WireError>(data);
}

fn check_decode<M: Message>(data: &[u8]) {
    let name = M::NAME;
    let value = match M::decode(data) {
        Ok(value) => value,
        Err(error) => return check_decode_error(&error, data.len()),
    };
    assert!(
        value.follows_rules(),
        "the decoder accepted a {name} that breaks a value rule: {value:?}"
    );
    let bytes = value
        .encode()
        .unwrap_or_else(|error| panic!("a decoded {name} does not re-encode: {error}\n{value:?}"));
    if let Err(why) = canonical::check(&bytes) {
        panic!("the re-encoded {name} is not deterministic CBOR: {why}\n{bytes:02x?}");
    }
    assert!(
        bytes.len() <= data.len() + M::GROWTH,
        "the canonical {name} ({} bytes) is longer than the input ({} bytes) allows",
        bytes.len(),
        data.len()
    );
    let again = M::decode(&bytes).unwrap_or_else(|error| {
        panic!("the re-encoded {name} does not decode: {error}\n{bytes:02x?}")
    });
    assert_eq!(
        again, value,
        "the re-encoded {name} decodes to a different value"
    );
    let fixed = again.encode().expect("encoded once already");
    assert_eq!(fixed, bytes, "re-encoding the {name} is not a fixed point");
    check_truncated_and_extended::<M>(data);
}

/// `data` is a valid message: cut short, it is `truncated` at its end (everything before the
/// cut is as valid as it was); with a byte appended, it is `trailing-bytes` at the old end (or
/// `too-large` at 0, if that makes it longer than `MAX_MESSAGE_BYTES`).
fn check_truncated_and_extended<M: Message>(data: &[u8]) {
    let name = M::NAME;
    for cut in [data.len() - 1, data.len() / 2, 1.min(data.len() - 1), 0] {
        let error = M::decode(&data[..cut])
            .map(|value| {
                panic!(
                    "a {name} cut to {cut} of {} bytes decodes: {value:?}",
                    data.len()
                )
            })
            .unwrap_err();
        assert_eq!(
            (error.kind(), error.offset()),
            (ErrorKind::Truncated, cut),
            "a {name} cut to {cut} of {} bytes: {error}",
            data.len()
        );
    }
    let mut extended = data.to_vec();
    extended.push(0);
    let error = M::decode(&extended)
        .map(|value| panic!("a {name} with a byte appended decodes: {value:?}"))
        .unwrap_err();
    let expected = if extended.len() > MAX_MESSAGE_BYTES {
        (ErrorKind::TooLarge, 0)
    } else {
        (ErrorKind::TrailingBytes, data.len())
    };
    assert_eq!(
        (error.kind(), error.offset()),
        expected,
        "a {name} with a byte appended: {error}"
    );
}

fn check_decode_error(error: &DecodeError, input_len: usize) {
    let kind = error.kind();
    assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
    assert!(
        error.offset() <= input_len,
        "error offset {} past the input's {input_len} bytes: {error}",
        error.offset()
    );
    assert!(
        !error.message().is_empty(),
        "error without a message: {error:?}"
    );
    let display = error.to_string();
    assert!(
        display.starts_with(kind.name()),
        "Display must start with the error's name: {display}"
    );
}

/// An arbitrary message for the `roundtrip` target. With `repair`, the message is first made
/// to follow the value rules so the fuzzer spends its time past the encoder's checks.
#[derive(Debug, Clone, Arbitrary)]
pub struct RoundtripInput {
    /// Repair the message before encoding it.
    pub repair: bool,
    /// The message.
    pub message: AnyMessage,
}

/// One of the three wire messages.
#[derive(Debug, Clone, Arbitrary)]
pub enum AnyMessage {
    /// A `fezz-request`.
    Request(Request),
    /// A `fezz-response`.
    Response(Response),
    /// A `fezz-error`.
    Error(WireError),
}

/// Oracle of the `roundtrip` target.
pub fn roundtrip(input: RoundtripInput) {
    match input.message {
        AnyMessage::Request(mut request) => {
            if input.repair {
                rules::repair_request(&mut request);
            }
            check_roundtrip(&request, input.repair);
        }
        AnyMessage::Response(mut response) => {
            if input.repair {
                rules::repair_response(&mut response);
            }
            check_roundtrip(&response, input.repair);
        }
        AnyMessage::Error(mut error) => {
            if input.repair {
                rules::repair_error(&mut error);
            }
            check_roundtrip(&error, input.repair);
        }
    }
}

fn check_roundtrip<M: Message>(value: &M, repaired: bool) {
    let name = M::NAME;
    let bytes = match value.encode() {
        Ok(bytes) => bytes,
        Err(error) => {
            assert!(
                matches!(error.kind(), ErrorKind::InvalidValue | ErrorKind::TooLarge),
                "the encoder refused a {name} with {}, which is not a value error: {error}",
                error.kind()
            );
            // A message past MAX_MESSAGE_BYTES as a whole can follow every rule.
            let whole_too_large = error.kind() == ErrorKind::TooLarge && error.field() == "message";
            assert!(
                whole_too_large || !value.follows_rules(),
                "the encoder refused a {name} that follows the value rules (repaired: {repaired}): {error}\n{value:?}"
            );
            return;
        }
    };
    assert!(
        value.follows_rules(),
        "the encoder accepted a {name} that breaks a value rule\n{value:?}"
    );
    assert!(bytes.len() <= MAX_MESSAGE_BYTES);
    assert_eq!(
        value.encode().expect("encoded once already"),
        bytes,
        "encoding the {name} is not deterministic"
    );
    if let Err(why) = canonical::check(&bytes) {
        panic!("the encoded {name} is not deterministic CBOR: {why}\n{bytes:02x?}");
    }
    let decoded = M::decode(&bytes).unwrap_or_else(|error| {
        panic!("the encoded {name} does not decode: {error}\n{bytes:02x?}")
    });
    assert_eq!(
        &decoded, value,
        "the {name} does not survive encode and decode"
    );
}
