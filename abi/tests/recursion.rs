//! Nesting is bounded: deeply nested arrays, maps and tags end in `too-deep` (never a stack
//! overflow), exactly [`MAX_NESTING_DEPTH`] levels are accepted and one more is rejected.
//!
//! Levels count the message's own map as level 1 (`abi/src/limits.rs`); a tag counts as a
//! level like an array or a map, because skipping it recurses like them. Modelled on
//! ciborium's `tests/recursion.rs`.

use fezz_abi::limits::MAX_NESTING_DEPTH;
use fezz_abi::{
    decode_error, decode_request, decode_response, encode_error, encode_request, encode_response,
    DecodeError, ErrorKind, Request, Response, WireError,
};

/// Far past any limit and far past what an unbounded recursive decoder survives on a test
/// thread's stack.
const DEEP: usize = 100_000;

/// Unknown unsigned key used to smuggle nested values into messages (ignored when shallow).
const UNKNOWN_KEY: u8 = 0x18; // head of uint 99, followed by 99
const UNKNOWN_KEY_VALUE: u8 = 99;

#[derive(Clone, Copy, Debug)]
enum Nest {
    /// `[[[...]]]`, definite length 1.
    Array,
    /// `[_ [_ [_ ...]]]`, indefinite length (each closed by a break).
    IndefiniteArray,
    /// `{0: {0: ...}}`.
    Map,
    /// `{_ 0: {_ 0: ...}}`, indefinite length.
    IndefiniteMap,
    /// `1(1(1(...)))`.
    Tag,
}

const ALL_NESTS: [Nest; 5] = [
    Nest::Array,
    Nest::IndefiniteArray,
    Nest::Map,
    Nest::IndefiniteMap,
    Nest::Tag,
];

/// One CBOR item: `depth` nested containers of `nest` around a `0`. Well-formed for any depth.
fn nested(nest: Nest, depth: usize) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = match nest {
        Nest::Array => (&[0x81], &[]),
        Nest::IndefiniteArray => (&[0x9f], &[0xff]),
        Nest::Map => (&[0xa1, 0x00], &[]),
        Nest::IndefiniteMap => (&[0xbf, 0x00], &[0xff]),
        Nest::Tag => (&[0xc1], &[]),
    };
    let mut bytes = Vec::with_capacity(depth * (open.len() + close.len()) + 1);
    for _ in 0..depth {
        bytes.extend_from_slice(open);
    }
    bytes.push(0x00);
    for _ in 0..depth {
        bytes.extend_from_slice(close);
    }
    bytes
}

fn valid_request() -> Request {
    let mut request = Request::new("GET", "/");
    request.context.function_id = "f".into();
    request.context.function_version = "1".into();
    request.context.request_id = "r".into();
    request
}

fn valid_response() -> Response {
    let mut response = Response::new(200);
    response.error = Some(WireError::new("c", "m"));
    response
}

/// `message` (a canonical encoding of a map with fewer than 23 entries) with one more entry,
/// `99: value`, appended.
fn with_unknown_entry(message: &[u8], value: &[u8]) -> Vec<u8> {
    let head = message[0];
    assert!((0xa0..0xb7).contains(&head), "a small definite map");
    let mut bytes = vec![head + 1];
    bytes.extend_from_slice(&message[1..]);
    bytes.extend_from_slice(&[UNKNOWN_KEY, UNKNOWN_KEY_VALUE]);
    bytes.extend_from_slice(value);
    bytes
}

/// The canonical request with `99: value` added to its context map (level 2), so `value`'s
/// outermost container is at level 3.
fn request_with_unknown_context_entry(value: &[u8]) -> Vec<u8> {
    // The context map `{0: "f", 1: "1", 2: "r"}` is the last item of the canonical request.
    const CONTEXT: [u8; 10] = [0xa3, 0x00, 0x61, b'f', 0x01, 0x61, b'1', 0x02, 0x61, b'r'];
    let canonical = encode_request(&valid_request()).unwrap();
    assert!(canonical.ends_with(&CONTEXT));
    let mut bytes = canonical[..canonical.len() - CONTEXT.len()].to_vec();
    bytes.extend_from_slice(&with_unknown_entry(&CONTEXT, value));
    bytes
}

/// The canonical response with `99: value` added to its error map (level 2).
fn response_with_unknown_error_entry(value: &[u8]) -> Vec<u8> {
    const ERROR: [u8; 7] = [0xa2, 0x00, 0x61, b'c', 0x01, 0x61, b'm'];
    let canonical = encode_response(&valid_response()).unwrap();
    assert!(canonical.ends_with(&ERROR));
    let mut bytes = canonical[..canonical.len() - ERROR.len()].to_vec();
    bytes.extend_from_slice(&with_unknown_entry(&ERROR, value));
    bytes
}

fn assert_too_deep(result: Result<impl std::fmt::Debug, DecodeError>, what: &str) {
    match result {
        Err(error) => assert_eq!(error.kind(), ErrorKind::TooDeep, "{what}: {error}"),
        Ok(value) => panic!("{what}: accepted {value:?}"),
    }
}

/// The three decoders, each on its canonical message with `99: value` added at level 1, so
/// `value`'s outermost container is at level 2.
fn top_level_cases(value: &[u8]) -> [(&'static str, Result<(), DecodeError>); 3] {
    let request = with_unknown_entry(&encode_request(&valid_request()).unwrap(), value);
    let response = with_unknown_entry(&encode_response(&valid_response()).unwrap(), value);
    let error = with_unknown_entry(&encode_error(&WireError::new("c", "m")).unwrap(), value);
    [
        ("request", decode_request(&request).map(drop)),
        ("response", decode_response(&response).map(drop)),
        ("error", decode_error(&error).map(drop)),
    ]
}

#[test]
fn deep_unknown_values_are_too_deep() {
    for nest in ALL_NESTS {
        let value = nested(nest, DEEP);
        for (what, result) in top_level_cases(&value) {
            assert_too_deep(
                result,
                &format!("{what} with {DEEP} nested {nest:?} under key 99"),
            );
        }
        assert_too_deep(
            decode_request(&request_with_unknown_context_entry(&value)),
            &format!("request context with {DEEP} nested {nest:?}"),
        );
        assert_too_deep(
            decode_response(&response_with_unknown_error_entry(&value)),
            &format!("response error with {DEEP} nested {nest:?}"),
        );
    }
}

#[test]
fn deep_mixed_nesting_is_too_deep() {
    // [ {0: 1( [ {0: 1( ... ) } ] ) } ] repeated: every kind of level in one chain.
    let mut value = Vec::new();
    for _ in 0..DEEP / 3 {
        value.extend_from_slice(&[0x81, 0xa1, 0x00, 0xc1]);
    }
    value.push(0x00);
    for (what, result) in top_level_cases(&value) {
        assert_too_deep(result, &format!("{what} with mixed nesting"));
    }
}

/// The whole input nested: `{99: {99: ...}}` is a request/response/error map whose unknown
/// key's value is again such a map, so the decoder descends and must stop at the limit.
#[test]
fn deep_whole_input_maps_are_too_deep() {
    for indefinite in [false, true] {
        let (open, close): (&[u8], &[u8]) = if indefinite {
            (&[0xbf, UNKNOWN_KEY, UNKNOWN_KEY_VALUE], &[0xff])
        } else {
            (&[0xa1, UNKNOWN_KEY, UNKNOWN_KEY_VALUE], &[])
        };
        let mut input = open.repeat(DEEP);
        input.push(0x00);
        input.extend_from_slice(&close.repeat(DEEP));
        let what = format!("whole input of {DEEP} nested maps (indefinite: {indefinite})");
        assert_too_deep(decode_request(&input), &what);
        assert_too_deep(decode_response(&input), &what);
        assert_too_deep(decode_error(&input), &what);
    }
}

/// A whole input of nested arrays or tags is rejected at its first byte: a message must be a
/// map, and the decoder checks the type before it looks inside (so it never descends).
#[test]
fn deep_whole_input_arrays_and_tags_are_rejected_at_the_top() {
    for nest in [Nest::Array, Nest::IndefiniteArray, Nest::Tag] {
        let input = nested(nest, DEEP);
        for (what, result) in [
            ("request", decode_request(&input).map(drop)),
            ("response", decode_response(&input).map(drop)),
            ("error", decode_error(&input).map(drop)),
        ] {
            let error = result.expect_err(what);
            assert_eq!(
                error.kind(),
                ErrorKind::WrongType,
                "{what} {nest:?}: {error}"
            );
            assert_eq!(error.offset(), 0, "{what} {nest:?}: {error}");
        }
    }
}

/// `value` nests `levels` containers; under key 99 of a message map (level 1) its outermost
/// container is level 2, so the deepest level reached is `levels + 1`.
#[test]
fn exactly_max_nesting_depth_is_accepted_and_one_more_is_not() {
    let at_limit = MAX_NESTING_DEPTH - 1;
    for nest in ALL_NESTS {
        for (what, result) in top_level_cases(&nested(nest, at_limit)) {
            result.unwrap_or_else(|error| {
                panic!("{what}: {MAX_NESTING_DEPTH} levels of {nest:?} rejected: {error}")
            });
        }
        for (what, result) in top_level_cases(&nested(nest, at_limit + 1)) {
            assert_too_deep(
                result,
                &format!("{what}: {} levels of {nest:?}", MAX_NESTING_DEPTH + 1),
            );
        }
        // Under the context map (level 2) the value starts at level 3.
        decode_request(&request_with_unknown_context_entry(&nested(
            nest,
            at_limit - 1,
        )))
        .unwrap_or_else(|error| panic!("context, {MAX_NESTING_DEPTH} levels of {nest:?}: {error}"));
        assert_too_deep(
            decode_request(&request_with_unknown_context_entry(&nested(nest, at_limit))),
            &format!("context, {} levels of {nest:?}", MAX_NESTING_DEPTH + 1),
        );
        decode_response(&response_with_unknown_error_entry(&nested(
            nest,
            at_limit - 1,
        )))
        .unwrap_or_else(|error| {
            panic!("error map, {MAX_NESTING_DEPTH} levels of {nest:?}: {error}")
        });
        assert_too_deep(
            decode_response(&response_with_unknown_error_entry(&nested(nest, at_limit))),
            &format!("error map, {} levels of {nest:?}", MAX_NESTING_DEPTH + 1),
        );
    }
}

/// The whole input as nested maps: exactly the limit is a valid (if odd) error message, one
/// more is too deep.
#[test]
fn whole_input_maps_at_the_limit() {
    // {0: "c", 1: "m", 99: {99: ... {99: 0}}} with `levels` maps in total.
    let message = |levels: usize| {
        let mut input = vec![
            0xa3,
            0x00,
            0x61,
            b'c',
            0x01,
            0x61,
            b'm',
            UNKNOWN_KEY,
            UNKNOWN_KEY_VALUE,
        ];
        input.extend_from_slice(&[0xa1, UNKNOWN_KEY, UNKNOWN_KEY_VALUE].repeat(levels - 2));
        input.push(0xa0);
        input
    };
    let accepted = decode_error(&message(MAX_NESTING_DEPTH)).expect("MAX_NESTING_DEPTH levels");
    assert_eq!(accepted, WireError::new("c", "m"));
    assert_too_deep(
        decode_error(&message(MAX_NESTING_DEPTH + 1)),
        "one level past the limit",
    );
}
