//! Building requests in C, the other direction from `fezz_request_decode`: a C unit test makes
//! the request a host would send (`fezz_request_new`, then setters for the query, headers,
//! body and context) and either encodes it for its own `fezz_handle_v2`
//! (`fezz_request_encode`) or calls the handler with it in one step (`fezz_invoke_v2`).
//!
//! Values are checked when they go in, by the rules the encoder applies, so a request the
//! builders accepted always encodes. Every setter works on any live `FezzRequest`, decoded or
//! built, and replaces the field it sets.

use std::os::raw::c_char;

use super::{push_header, slice, text, violation_result, write_encoded, FezzRequest};
use crate::boundary::ffi_boundary;
use crate::encode_request;
use crate::ffi::{FezzBuffer, FezzResult, FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK};
use crate::message::Request;
use crate::validate;

/// Checks and copies UTF-8 text of at most `MAX_TEXT_BYTES`.
///
/// # Safety
/// `data` must point at `len` readable bytes.
unsafe fn checked_text(what: &str, data: *const c_char, len: usize) -> Result<String, FezzResult> {
    // SAFETY: guaranteed by the caller.
    let value = unsafe { text(data, len) }?;
    validate::text(what, value).map_err(|(kind, _)| violation_result(kind))?;
    Ok(value.to_owned())
}

/// Runs `set` on the request behind `request` with the checked text at `data`:
/// `FEZZ_RESULT_NULL_ARGUMENT` for a NULL request, the text's error, or `FEZZ_RESULT_OK`.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `data` must point at `len` readable bytes.
unsafe fn set_text(
    request: *mut FezzRequest,
    what: &str,
    data: *const c_char,
    len: usize,
    set: impl FnOnce(&mut FezzRequest, String),
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(request) = (unsafe { request.as_mut() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        // SAFETY: guaranteed by the caller.
        match unsafe { checked_text(what, data, len) } {
            Ok(value) => {
                set(request, value);
                FEZZ_RESULT_OK
            }
            Err(result) => result,
        }
    })
}

/// Starts a request with `method` (an HTTP token, e.g. `GET`) and `path` (starting with `/`,
/// or exactly `*`; percent-encoding is kept as given), no query, no headers, an empty body and
/// an empty context, and stores it in `*out`. Returns `FEZZ_RESULT_INVALID_VALUE` or
/// `FEZZ_RESULT_TOO_LARGE` for a method or path the rules forbid and
/// `FEZZ_RESULT_NULL_ARGUMENT` for a NULL `out` (or a NULL string with a non-zero length);
/// `*out` is written only on `FEZZ_RESULT_OK`. Release it with `fezz_request_free`.
///
/// # Safety
/// `method` and `path` must point at `method_len` and `path_len` readable bytes; `out` must be
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_new(
    method: *const c_char,
    method_len: usize,
    path: *const c_char,
    path_len: usize,
    out: *mut *mut FezzRequest,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let (method, path) = unsafe { (text(method, method_len), text(path, path_len)) };
        let (method, path) = match (method, path) {
            (Err(FEZZ_RESULT_NULL_ARGUMENT), _) | (_, Err(FEZZ_RESULT_NULL_ARGUMENT)) => {
                return FEZZ_RESULT_NULL_ARGUMENT
            }
            (Ok(method), Ok(path)) => (method, path),
            (Err(result), _) | (_, Err(result)) => return result,
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        let checks = validate::method(method).and_then(|()| validate::path(path));
        if let Err((kind, _)) = checks {
            return violation_result(kind);
        }
        let request = FezzRequest::into_raw(Request::new(method, path));
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe { out.write(request) };
        FEZZ_RESULT_OK
    })
}

/// Sets the raw query (what follows `?`, without it; percent-encoded as a client sends it) to
/// a copy of the `len` bytes at `query`: UTF-8, at most 16 KiB. A query of length 0 is present
/// and empty, as for a target ending in `?`; a new request has none. The query parameters
/// (`fezz_request_query_param_*`) follow it.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `query` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_query(
    request: *mut FezzRequest,
    query: *const c_char,
    len: usize,
) -> FezzResult {
    // SAFETY: guaranteed by the caller.
    unsafe {
        set_text(request, "query", query, len, |request, query| {
            request.query = super::query::parse(&query);
            request.request.query = Some(query);
        })
    }
}

/// Appends a header field to a request, with the rules and results of
/// `fezz_response_add_header` (a token name of at most 256 bytes, a value of at most 16 KiB
/// without a control byte other than HTAB, at most 256 fields). Names are kept as given; hhrf sends them
/// lowercased.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` and `value` must point at `name_len`
/// and `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_add_header(
    request: *mut FezzRequest,
    name: *const c_char,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let headers = unsafe { request.as_mut() }.map(|request| &mut request.request.headers);
        // SAFETY: guaranteed by the caller.
        unsafe { push_header(headers, name, name_len, value, value_len) }
    })
}

/// Sets the request body to a copy of the `len` bytes at `data` (at most 8 MiB, else
/// `FEZZ_RESULT_TOO_LARGE` and the body is unchanged).
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `data` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_body(
    request: *mut FezzRequest,
    data: *const u8,
    len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let request = unsafe { request.as_mut() };
        // SAFETY: guaranteed by the caller.
        let body = unsafe { slice(data, len) };
        let (Some(request), Some(body)) = (request, body) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if let Err((kind, _)) = validate::body(body) {
            return violation_result(kind);
        }
        request.request.body = body.to_vec();
        FEZZ_RESULT_OK
    })
}

/// Sets the context's function id and version (what hhrf takes from the manifest), each UTF-8
/// of at most 16 KiB; neither changes unless both are valid.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `id` and `version` must point at `id_len`
/// and `version_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_function(
    request: *mut FezzRequest,
    id: *const c_char,
    id_len: usize,
    version: *const c_char,
    version_len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(request) = (unsafe { request.as_mut() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        // SAFETY: guaranteed by the caller.
        let id = unsafe { checked_text("function id", id, id_len) };
        // SAFETY: guaranteed by the caller.
        let version = unsafe { checked_text("function version", version, version_len) };
        match (id, version) {
            (Ok(id), Ok(version)) => {
                request.request.context.function_id = id;
                request.request.context.function_version = version;
                FEZZ_RESULT_OK
            }
            (Err(FEZZ_RESULT_NULL_ARGUMENT), _) | (_, Err(FEZZ_RESULT_NULL_ARGUMENT)) => {
                FEZZ_RESULT_NULL_ARGUMENT
            }
            (Err(result), _) | (_, Err(result)) => result,
        }
    })
}

/// Sets the context's request id (UTF-8, at most 16 KiB).
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `id` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_id(
    request: *mut FezzRequest,
    id: *const c_char,
    len: usize,
) -> FezzResult {
    // SAFETY: guaranteed by the caller.
    unsafe {
        set_text(request, "request id", id, len, |request, id| {
            request.request.context.request_id = id;
        })
    }
}

/// Sets the context's deadline, in milliseconds since the Unix epoch.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_deadline_unix_ms(
    request: *mut FezzRequest,
    deadline_unix_ms: u64,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(request) = (unsafe { request.as_mut() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        request.request.context.deadline_unix_ms = Some(deadline_unix_ms);
        FEZZ_RESULT_OK
    })
}

/// Sets the context's client address (`ip:port`; UTF-8, at most 16 KiB; not parsed).
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `address` must point at `len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_client_address(
    request: *mut FezzRequest,
    address: *const c_char,
    len: usize,
) -> FezzResult {
    // SAFETY: guaranteed by the caller.
    unsafe {
        set_text(
            request,
            "client address",
            address,
            len,
            |request, address| {
                request.request.context.client_address = Some(address);
            },
        )
    }
}

/// Sets the context's scheme (`http` or `https` as hhrf sends it; UTF-8, at most 16 KiB).
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `scheme` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_scheme(
    request: *mut FezzRequest,
    scheme: *const c_char,
    len: usize,
) -> FezzResult {
    // SAFETY: guaranteed by the caller.
    unsafe {
        set_text(request, "scheme", scheme, len, |request, scheme| {
            request.request.context.scheme = Some(scheme);
        })
    }
}

/// Sets the context's host, the authority the client asked for (UTF-8, at most 16 KiB).
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `host` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_set_host(
    request: *mut FezzRequest,
    host: *const c_char,
    len: usize,
) -> FezzResult {
    // SAFETY: guaranteed by the caller.
    unsafe {
        set_text(request, "host", host, len, |request, host| {
            request.request.context.host = Some(host);
        })
    }
}

/// Encodes the request as deterministic CBOR into `*out`: the bytes a runner passes to
/// `fezz_handle_v2`. Release them with `fezz_buffer_free`. Returns `FEZZ_RESULT_TOO_LARGE` if
/// the whole message would pass 16 MiB; `*out` is written only on `FEZZ_RESULT_OK`, and the
/// request is unchanged.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_encode(
    request: *const FezzRequest,
    out: *mut FezzBuffer,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(request) = (unsafe { request.as_ref() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe { write_encoded(encode_request(&request.request), out) }
    })
}
