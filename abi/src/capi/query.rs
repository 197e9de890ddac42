//! Query parameters for C: the request's raw query split into `name=value` pairs and
//! percent-decoded once, when the request is made, and read through views like every other
//! field.
//!
//! The rules are those of `application/x-www-form-urlencoded` parsing (WHATWG URL): the query
//! is split at `&`; empty pieces are skipped; each piece is split at its first `=` (a piece
//! without one is a name with an empty value); in both halves `+` becomes a space and `%XY`
//! (two hex digits) becomes the byte 0xXY, while a `%` not followed by two hex digits stays as
//! it is. Decoded names and values are bytes (they need not be UTF-8); names compare exactly.

use std::os::raw::c_char;

use super::{slice, FezzRequest};
use crate::boundary::ffi_boundary;
use crate::ffi::{
    FezzBytes, FezzResult, FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK, FEZZ_RESULT_OUT_OF_RANGE,
};

/// One decoded `name=value` pair of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryParam {
    /// The decoded name.
    pub(crate) name: Vec<u8>,
    /// The decoded value (empty for a piece without `=`).
    pub(crate) value: Vec<u8>,
}

/// Splits and decodes a raw query (without the `?`) by the rules of the module header.
pub(crate) fn parse(query: &str) -> Vec<QueryParam> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            QueryParam {
                name: percent_decode(name.as_bytes()),
                value: percent_decode(value.as_bytes()),
            }
        })
        .collect()
}

/// `+` to a space and `%XY` to its byte; anything else, including a malformed `%`, unchanged.
fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let escaped = match text.get(at..at + 3) {
            Some([b'%', high, low]) => hex(*high).zip(hex(*low)),
            _ => None,
        };
        match (escaped, text[at]) {
            (Some((high, low)), _) => {
                decoded.push(high << 4 | low);
                at += 3;
                continue;
            }
            (None, b'+') => decoded.push(b' '),
            (None, byte) => decoded.push(byte),
        }
        at += 1;
    }
    decoded
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// The number of parameters in the request's query (0 without a query or for a NULL request).
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_query_param_count(request: *const FezzRequest) -> usize {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| unsafe { request.as_ref() }.map_or(0, |request| request.query.len()))
}

/// The query parameter at `index` (in the query's order; repeated names are separate
/// parameters): writes its decoded name to `*name` and decoded value to `*value`. Returns
/// `FEZZ_RESULT_OUT_OF_RANGE` if `index >= fezz_request_query_param_count(request)` and
/// `FEZZ_RESULT_NULL_ARGUMENT` if a pointer is NULL; then nothing is written.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` and `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_query_param_at(
    request: *const FezzRequest,
    index: usize,
    name: *mut FezzBytes,
    value: *mut FezzBytes,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(request) = (unsafe { request.as_ref() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if name.is_null() || value.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        let Some(param) = request.query.get(index) else {
            return FEZZ_RESULT_OUT_OF_RANGE;
        };
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe {
            name.write(FezzBytes::from_slice(&param.name));
            value.write(FezzBytes::from_slice(&param.value));
        }
        FEZZ_RESULT_OK
    })
}

/// The decoded value of the first query parameter whose decoded name is exactly the
/// `name_len` bytes at `name` (so `?q=a%20b` gives `a b` for `q`). Returns true and writes
/// `*value` if there is one; false, writing nothing, if not or if an argument is NULL.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` must point at `name_len` readable
/// bytes; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_query_param_find(
    request: *const FezzRequest,
    name: *const c_char,
    name_len: usize,
    value: *mut FezzBytes,
) -> bool {
    let mut cursor = 0;
    // SAFETY: guaranteed by the caller; `cursor` is a local.
    unsafe { fezz_request_query_param_next(request, name, name_len, &mut cursor, value) }
}

/// Iterates over every query parameter named `name` (the `name_len` bytes at `name`, compared
/// with the decoded names exactly), in the query's order, as `fezz_request_header_next` does
/// for headers: from index `*cursor` on, returns true, writes the decoded value to `*value` and
/// sets `*cursor` past the match; returns false and writes nothing when there are no more.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` must point at `name_len` readable
/// bytes; `cursor` must be NULL or readable and writable; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_query_param_next(
    request: *const FezzRequest,
    name: *const c_char,
    name_len: usize,
    cursor: *mut usize,
    value: *mut FezzBytes,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let request = unsafe { request.as_ref() };
        // SAFETY: guaranteed by the caller.
        let name = unsafe { slice(name.cast(), name_len) };
        let (Some(request), Some(name)) = (request, name) else {
            return false;
        };
        if cursor.is_null() || value.is_null() {
            return false;
        }
        // SAFETY: checked non-null; readable by the caller's guarantee.
        let from = unsafe { cursor.read() };
        let found = request.query.get(from..).and_then(|rest| {
            rest.iter()
                .position(|param| param.name == name)
                .map(|at| from + at)
        });
        let Some(at) = found else {
            return false;
        };
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe {
            value.write(FezzBytes::from_slice(&request.query[at].value));
            cursor.write(at + 1);
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, QueryParam};

    fn pairs(query: &str) -> Vec<(String, String)> {
        parse(query)
            .into_iter()
            .map(|QueryParam { name, value }| {
                (
                    String::from_utf8_lossy(&name).into_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn splits_pairs_and_keeps_order_and_repeats() {
        assert_eq!(
            pairs("a=1&b=2&a=3"),
            [("a", "1"), ("b", "2"), ("a", "3")].map(|(n, v)| (n.into(), v.into()))
        );
    }

    #[test]
    fn skips_empty_pieces_and_reads_bare_names() {
        assert_eq!(
            pairs("&&flag&x=&=v&"),
            [("flag", ""), ("x", ""), ("", "v")].map(|(n, v)| (n.into(), v.into()))
        );
        assert!(parse("").is_empty());
    }

    #[test]
    fn decodes_percent_and_plus_and_splits_at_the_first_equals() {
        assert_eq!(
            pairs("q=a%20b+c&k%3D=x=y&e=%e2%82%ac"),
            [("q", "a b c"), ("k=", "x=y"), ("e", "€")].map(|(n, v)| (n.into(), v.into()))
        );
    }

    #[test]
    fn keeps_malformed_escapes_and_decodes_to_bytes() {
        assert_eq!(
            pairs("a=%&b=%4&c=%zz&d=100%"),
            [("a", "%"), ("b", "%4"), ("c", "%zz"), ("d", "100%")]
                .map(|(n, v)| (n.into(), v.into()))
        );
        assert_eq!(parse("v=%ff%00")[0].value, vec![0xff, 0]);
    }
}
