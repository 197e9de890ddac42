//! The codec as a C API, for functions written in C, Zig or anything that links C: decode a
//! request into an opaque [`FezzRequest`] and read it through accessors; build a
//! [`FezzResponse`] and encode it into a [`FezzBuffer`]; encode a structured error for a
//! failed call. C authors never write CBOR by hand.
//!
//! Conventions (`spec/ABI.md`, "API conventions"): every function goes through
//! [`ffi_boundary`]; views returned by accessors borrow from the object and live until it is
//! freed; out-parameters are written only on `FEZZ_RESULT_OK` (or when a `bool` function
//! returns true); every `*_free` accepts NULL (or an all-zero buffer).
//!
//! Every export is a plain function, not a macro expansion: cbindgen reads this file as source
//! and does not expand macros, so a macro-made export would be missing from `spec/fezz.h`.
//!
//! The submodules add what C authors would otherwise write themselves: [`cstr`] (forms that
//! take NUL-terminated strings), [`query`] (query parameters, percent-decoded),
//! [`request_builder`] and [`response_reader`] (the other direction, for tests that call a
//! handler in-process) and [`invoke`] (such a call, made the way a runner makes it).

pub mod cstr;
pub mod invoke;
pub mod query;
pub mod request_builder;
pub mod response_reader;

use std::os::raw::c_char;

use crate::boundary::ffi_boundary;
use crate::error::ErrorKind;
use crate::ffi::{
    FezzBuffer, FezzBytes, FezzResult, FezzStr, FEZZ_RESULT_INVALID_VALUE,
    FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK, FEZZ_RESULT_OUT_OF_RANGE,
    FEZZ_RESULT_REQUEST_INVALID, FEZZ_RESULT_TOO_LARGE, RESULT_CODES,
};
use crate::message::{Header, Request, Response, WireError};
use crate::{decode_request, encode_error, encode_response, validate};

/// A request (opaque). Made by `fezz_request_decode` or `fezz_request_new`, released by
/// `fezz_request_free`. It owns copies of everything it holds, so it does not borrow the bytes
/// it was decoded from.
pub struct FezzRequest {
    request: Request,
    /// The query's parameters, percent-decoded; kept in step with `request.query`.
    query: Vec<query::QueryParam>,
}

impl FezzRequest {
    /// Wraps `request`, parsing its query once.
    fn new(request: Request) -> FezzRequest {
        let query = query::parse(request.query.as_deref().unwrap_or(""));
        FezzRequest { request, query }
    }

    /// Heap-allocates `request` for C.
    fn into_raw(request: Request) -> *mut FezzRequest {
        Box::into_raw(Box::new(FezzRequest::new(request)))
    }
}

/// A response (opaque), being built or decoded. Made by `fezz_response_new`,
/// `fezz_response_decode` or `fezz_invoke_v2`, released by `fezz_response_free`.
pub struct FezzResponse {
    response: Response,
}

/// Borrows `len` bytes at `data`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// `data` must point at `len` readable bytes that outlive the result.
unsafe fn slice<'a>(data: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        Some(&[])
    } else if data.is_null() {
        None
    } else {
        // SAFETY: non-null and, by the caller's guarantee, `len` readable bytes.
        Some(unsafe { std::slice::from_raw_parts(data, len) })
    }
}

/// Borrows `len` bytes at `data` as UTF-8 text. `Err` carries the result code to return:
/// `FEZZ_RESULT_NULL_ARGUMENT` for NULL with a non-zero length, `FEZZ_RESULT_INVALID_VALUE` for
/// bytes that are not UTF-8.
///
/// # Safety
/// As for [`slice`].
unsafe fn text<'a>(data: *const c_char, len: usize) -> Result<&'a str, FezzResult> {
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { slice(data.cast(), len) }.ok_or(FEZZ_RESULT_NULL_ARGUMENT)?;
    std::str::from_utf8(bytes).map_err(|_| FEZZ_RESULT_INVALID_VALUE)
}

fn violation_result(kind: ErrorKind) -> FezzResult {
    match kind {
        ErrorKind::TooLarge => FEZZ_RESULT_TOO_LARGE,
        _ => FEZZ_RESULT_INVALID_VALUE,
    }
}

/// Hands `bytes` to the caller through `out`, or reports the encoder's refusal.
///
/// # Safety
/// `out` must be non-null and writable.
unsafe fn write_encoded(
    encoded: Result<Vec<u8>, crate::EncodeError>,
    out: *mut FezzBuffer,
) -> FezzResult {
    match encoded {
        Ok(bytes) => {
            // SAFETY: guaranteed by the caller.
            unsafe { out.write(FezzBuffer::from_vec(bytes)) };
            FEZZ_RESULT_OK
        }
        Err(error) => violation_result(error.kind()),
    }
}

/// Decodes `len` bytes at `data` as a `fezz-request` and stores a new `FezzRequest` in `*out`.
/// Returns `FEZZ_RESULT_REQUEST_INVALID` if the bytes are not a valid request, and
/// `FEZZ_RESULT_NULL_ARGUMENT` if `out` is NULL or `data` is NULL with `len` > 0; `*out` is
/// written only on `FEZZ_RESULT_OK`. Release the request with `fezz_request_free`.
///
/// # Safety
/// `data` must point at `len` readable bytes; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut FezzRequest,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `len` readable bytes.
        let Some(bytes) = (unsafe { slice(data, len) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        match decode_request(bytes) {
            Ok(request) => {
                let request = FezzRequest::into_raw(request);
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(request) };
                FEZZ_RESULT_OK
            }
            Err(_) => FEZZ_RESULT_REQUEST_INVALID,
        }
    })
}

/// Releases a request from `fezz_request_decode` or `fezz_request_new`, and with it every view
/// read from it. NULL is ignored.
///
/// # Safety
/// `request` must be NULL or come from `fezz_request_decode` or `fezz_request_new` and not
/// have been freed.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_free(request: *mut FezzRequest) {
    ffi_boundary(|| {
        if !request.is_null() {
            // SAFETY: made by FezzRequest::into_raw (decode or new), freed once.
            drop(unsafe { Box::from_raw(request) });
        }
    })
}

/// Borrows the request behind a C pointer.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
unsafe fn request_ref<'a>(request: *const FezzRequest) -> Option<&'a Request> {
    // SAFETY: guaranteed by the caller.
    unsafe { request.as_ref() }.map(|request| &request.request)
}

/// The body of every accessor for a required text field: the field, or an empty string for a
/// NULL request.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
unsafe fn required_text(
    request: *const FezzRequest,
    field: impl FnOnce(&Request) -> &String,
) -> FezzStr {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        match unsafe { request_ref(request) } {
            Some(request) => FezzStr::from_str(field(request)),
            None => FezzStr::from_str(""),
        }
    })
}

/// The body of every accessor for an optional text field: true and `*out` written if the
/// field is present; false and `*out` untouched if it is absent or an argument is NULL.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
unsafe fn optional_text(
    request: *const FezzRequest,
    out: *mut FezzStr,
    field: impl FnOnce(&Request) -> Option<&String>,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let value = unsafe { request_ref(request) }.and_then(field);
        match (value, out.is_null()) {
            (Some(value), false) => {
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(FezzStr::from_str(value)) };
                true
            }
            _ => false,
        }
    })
}

/// The request method, e.g. `GET`. A NULL request gives an empty string.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_method(request: *const FezzRequest) -> FezzStr {
    // SAFETY: guaranteed by the caller.
    unsafe { required_text(request, |request| &request.method) }
}

/// The request path as received, percent-encoding preserved: starts with `/`, or is exactly
/// `*`. A NULL request gives an empty string.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_path(request: *const FezzRequest) -> FezzStr {
    // SAFETY: guaranteed by the caller.
    unsafe { required_text(request, |request| &request.path) }
}

/// The raw query (after `?`, without it). Returns true and writes `*out` if the request target
/// had a `?` (an empty query, as in `/path?`, is present and empty); returns false and leaves
/// `*out` alone if it had none or an argument is NULL.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_query(
    request: *const FezzRequest,
    out: *mut FezzStr,
) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { optional_text(request, out, |request| request.query.as_ref()) }
}

/// The number of header fields. A NULL request gives 0.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_count(request: *const FezzRequest) -> usize {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| unsafe { request_ref(request) }.map_or(0, |r| r.headers.len()))
}

/// The header field at `index` (in received order; repeated names are separate fields):
/// writes its name to `*name` and its value to `*value`. Returns `FEZZ_RESULT_OUT_OF_RANGE` if
/// `index >= fezz_request_header_count(request)` and `FEZZ_RESULT_NULL_ARGUMENT` if a pointer
/// is NULL; then nothing is written.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` and `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_at(
    request: *const FezzRequest,
    index: usize,
    name: *mut FezzStr,
    value: *mut FezzBytes,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(request) = (unsafe { request_ref(request) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if name.is_null() || value.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        let Some(header) = request.headers.get(index) else {
            return FEZZ_RESULT_OUT_OF_RANGE;
        };
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe {
            name.write(FezzStr::from_str(&header.name));
            value.write(FezzBytes::from_slice(&header.value));
        }
        FEZZ_RESULT_OK
    })
}

/// The index of the first header at or after `from` whose name equals `name`, ASCII
/// case-insensitively.
fn find_header(headers: &[Header], name: &[u8], from: usize) -> Option<usize> {
    headers
        .get(from..)?
        .iter()
        .position(|header| header.name.as_bytes().eq_ignore_ascii_case(name))
        .map(|at| from + at)
}

/// The value of the first header whose name equals the `name_len` bytes at `name`, compared
/// ASCII case-insensitively. Returns true and writes `*value` if found; returns false and
/// leaves `*value` alone if not found or an argument is NULL.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` must point at `name_len` readable
/// bytes; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_find(
    request: *const FezzRequest,
    name: *const c_char,
    name_len: usize,
    value: *mut FezzBytes,
) -> bool {
    let mut cursor = 0;
    // SAFETY: guaranteed by the caller; `cursor` is a local.
    unsafe { fezz_request_header_next(request, name, name_len, &mut cursor, value) }
}

/// Iterates over every header named like the `name_len` bytes at `name` (ASCII
/// case-insensitively), in received order. Looks from index `*cursor` on: returns true, writes
/// the value to `*value` and sets `*cursor` to the index after the match if there is one;
/// returns false and writes nothing when there are no more (or an argument is NULL). Start
/// with `*cursor` = 0:
/// `size_t at = 0; while (fezz_request_header_next(req, "accept", 6, &at, &value)) { … }`.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` must point at `name_len` readable
/// bytes; `cursor` must be NULL or readable and writable; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_next(
    request: *const FezzRequest,
    name: *const c_char,
    name_len: usize,
    cursor: *mut usize,
    value: *mut FezzBytes,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let request = unsafe { request_ref(request) };
        // SAFETY: guaranteed by the caller.
        let name = unsafe { slice(name.cast(), name_len) };
        let (Some(request), Some(name)) = (request, name) else {
            return false;
        };
        if value.is_null() || cursor.is_null() {
            return false;
        }
        // SAFETY: checked non-null; readable by the caller's guarantee.
        let from = unsafe { cursor.read() };
        let Some(at) = find_header(&request.headers, name, from) else {
            return false;
        };
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe {
            value.write(FezzBytes::from_slice(&request.headers[at].value));
            cursor.write(at + 1);
        }
        true
    })
}

/// The request body (empty if there is none). A NULL request gives empty bytes.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_body(request: *const FezzRequest) -> FezzBytes {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        match unsafe { request_ref(request) } {
            Some(request) => FezzBytes::from_slice(&request.body),
            None => FezzBytes::from_slice(&[]),
        }
    })
}

/// The function id from the request context (the `id` of the function's manifest). A NULL
/// request gives an empty string.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_function_id(request: *const FezzRequest) -> FezzStr {
    // SAFETY: guaranteed by the caller.
    unsafe { required_text(request, |request| &request.context.function_id) }
}

/// The function version from the request context (the `version` of the function's
/// manifest). A NULL request gives an empty string.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_function_version(request: *const FezzRequest) -> FezzStr {
    // SAFETY: guaranteed by the caller.
    unsafe { required_text(request, |request| &request.context.function_version) }
}

/// The host's id for this call, from the request context; the host logs it and sends it to
/// the client. A NULL request gives an empty string.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_id(request: *const FezzRequest) -> FezzStr {
    // SAFETY: guaranteed by the caller.
    unsafe { required_text(request, |request| &request.context.request_id) }
}

/// The call's deadline in milliseconds since the Unix epoch: the host kills the call then.
/// Returns true and writes `*out` if the host set one; returns false and leaves `*out` alone if
/// not or if an argument is NULL.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_deadline_unix_ms(
    request: *const FezzRequest,
    out: *mut u64,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let deadline = unsafe { request_ref(request) }.and_then(|r| r.context.deadline_unix_ms);
        match (deadline, out.is_null()) {
            (Some(deadline), false) => {
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(deadline) };
                true
            }
            _ => false,
        }
    })
}

/// The client's address, `ip:port` (`[ip]:port` for IPv6). Returns true and writes `*out` if
/// the host sent it; false otherwise, leaving `*out` alone.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_client_address(
    request: *const FezzRequest,
    out: *mut FezzStr,
) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe {
        optional_text(request, out, |request| {
            request.context.client_address.as_ref()
        })
    }
}

/// The scheme the client used, `http` or `https`. Returns true and writes `*out` if the host
/// sent it; false otherwise, leaving `*out` alone.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_scheme(
    request: *const FezzRequest,
    out: *mut FezzStr,
) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { optional_text(request, out, |request| request.context.scheme.as_ref()) }
}

/// The host (authority) the client asked for. Returns true and writes `*out` if the host sent
/// it; false otherwise, leaving `*out` alone.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_host(request: *const FezzRequest, out: *mut FezzStr) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { optional_text(request, out, |request| request.context.host.as_ref()) }
}

/// Starts a response with `status` (a final status, 200 to 599), no headers and an empty body, and stores it
/// in `*out`. Returns `FEZZ_RESULT_INVALID_VALUE` for a status outside that range and
/// `FEZZ_RESULT_NULL_ARGUMENT` if `out` is NULL; `*out` is written only on `FEZZ_RESULT_OK`.
/// Release the response with `fezz_response_free`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_new(status: u16, out: *mut *mut FezzResponse) -> FezzResult {
    ffi_boundary(|| {
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        if let Err((kind, _)) = validate::status(status.into()) {
            return violation_result(kind);
        }
        let response = Box::into_raw(Box::new(FezzResponse {
            response: Response::new(status),
        }));
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe { out.write(response) };
        FEZZ_RESULT_OK
    })
}

/// Releases a response from `fezz_response_new`, `fezz_response_decode` or `fezz_invoke_v2`,
/// and with it every view read from it. NULL is ignored. Buffers already encoded from it stay
/// valid.
///
/// # Safety
/// `response` must be NULL or come from one of those and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_free(response: *mut FezzResponse) {
    ffi_boundary(|| {
        if !response.is_null() {
            // SAFETY: made by Box::into_raw (new, decode or invoke), freed once.
            drop(unsafe { Box::from_raw(response) });
        }
    })
}

/// Replaces the status of a response (200 to 599), so a function can create the response first
/// and decide the status later. Returns `FEZZ_RESULT_INVALID_VALUE` for a status outside that
/// range (the status is then unchanged) and `FEZZ_RESULT_NULL_ARGUMENT` for a NULL response.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_set_status(
    response: *mut FezzResponse,
    status: u16,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(response) = (unsafe { response.as_mut() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if let Err((kind, _)) = validate::status(status.into()) {
            return violation_result(kind);
        }
        response.response.status = status;
        FEZZ_RESULT_OK
    })
}

/// Appends a header field; the bytes are copied. The name must be an HTTP token (RFC 9110
/// `tchar`s) of 1 to 256 bytes; the value at most 16 KiB of tab, space, visible ASCII and
/// bytes 0x80-0xff (no other control byte: 0x00-0x08, 0x0a-0x1f and 0x7f); a response
/// holds at most 256 fields. Otherwise returns `FEZZ_RESULT_INVALID_VALUE` or
/// `FEZZ_RESULT_TOO_LARGE` and adds nothing.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `name` and `value` must point at
/// `name_len` and `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_add_header(
    response: *mut FezzResponse,
    name: *const c_char,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let response = unsafe { response.as_mut() }.map(|response| &mut response.response.headers);
        // SAFETY: guaranteed by the caller.
        unsafe { push_header(response, name, name_len, value, value_len) }
    })
}

/// Checks a header field and appends a copy of it to `headers` (of a response or of a request
/// being built): the body of every `*_add_header`.
///
/// # Safety
/// `name` and `value` must point at `name_len` and `value_len` readable bytes.
unsafe fn push_header(
    headers: Option<&mut Vec<Header>>,
    name: *const c_char,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> FezzResult {
    // SAFETY: guaranteed by the caller.
    let (name, value) = unsafe { (text(name, name_len), slice(value, value_len)) };
    let (Some(headers), Some(value)) = (headers, value) else {
        return FEZZ_RESULT_NULL_ARGUMENT;
    };
    let name = match name {
        Ok(name) => name,
        Err(result) => return result,
    };
    let checks = validate::header_name(name)
        .and_then(|()| validate::header_value(value))
        .and_then(|()| validate::header_count(headers.len() + 1));
    if let Err((kind, _)) = checks {
        return violation_result(kind);
    }
    headers.push(Header::new(name, value));
    FEZZ_RESULT_OK
}

/// Sets the body to a copy of the `len` bytes at `data`, replacing any earlier body. At most
/// 8 MiB, else `FEZZ_RESULT_TOO_LARGE` and the body is unchanged.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `data` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_set_body(
    response: *mut FezzResponse,
    data: *const u8,
    len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let response = unsafe { response.as_mut() };
        // SAFETY: guaranteed by the caller.
        let body = unsafe { slice(data, len) };
        let (Some(response), Some(body)) = (response, body) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if let Err((kind, _)) = validate::body(body) {
            return violation_result(kind);
        }
        response.response.body = body.to_vec();
        FEZZ_RESULT_OK
    })
}

/// Marks the response as reporting the function's own failure: attaches a structured error
/// that the host logs (`code`, e.g. `db-unavailable`, and `message`; UTF-8, each at most
/// 16 KiB, else `FEZZ_RESULT_INVALID_VALUE` or `FEZZ_RESULT_TOO_LARGE`). The client still gets
/// the response's status, headers and body. Replaces any earlier error.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `code` and `message` must point at
/// `code_len` and `message_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_set_error(
    response: *mut FezzResponse,
    code: *const c_char,
    code_len: usize,
    message: *const c_char,
    message_len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(response) = (unsafe { response.as_mut() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        // SAFETY: guaranteed by the caller.
        let error = match unsafe { wire_error(code, code_len, message, message_len) } {
            Ok(error) => error,
            Err(result) => return result,
        };
        response.response.error = Some(error);
        FEZZ_RESULT_OK
    })
}

/// Checks and copies an error's code and message.
///
/// # Safety
/// As for [`slice`], for both strings.
unsafe fn wire_error(
    code: *const c_char,
    code_len: usize,
    message: *const c_char,
    message_len: usize,
) -> Result<WireError, FezzResult> {
    // SAFETY: guaranteed by the caller.
    let (code, message) = unsafe { (text(code, code_len), text(message, message_len)) };
    // NULL (a missing argument) is reported before a bad value.
    let (code, message) = match (code, message) {
        (Err(FEZZ_RESULT_NULL_ARGUMENT), _) | (_, Err(FEZZ_RESULT_NULL_ARGUMENT)) => {
            return Err(FEZZ_RESULT_NULL_ARGUMENT)
        }
        (code, message) => (code?, message?),
    };
    validate::text("code", code)
        .and_then(|()| validate::text("message", message))
        .map_err(|(kind, _)| violation_result(kind))?;
    Ok(WireError::new(code, message))
}

/// Encodes the response as deterministic CBOR into `*out`, which the caller releases with
/// `fezz_buffer_free` (a function library typically hands it out from `fezz_handle_v2` and
/// calls `fezz_buffer_free` in its `fezz_free_v2`). `*out` is written only on
/// `FEZZ_RESULT_OK`. The response itself is unchanged and still needs `fezz_response_free`.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_encode(
    response: *const FezzResponse,
    out: *mut FezzBuffer,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(response) = (unsafe { response.as_ref() }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe { write_encoded(encode_response(&response.response), out) }
    })
}

/// Encodes a structured error (`fezz-error`: `code`, e.g. `db-unavailable`, and `message`;
/// UTF-8, each at most 16 KiB) into `*out`, for `fezz_handle_v2` to hand out with a non-zero
/// result such as `FEZZ_RESULT_FUNCTION_FAILED`; the runner reports it. Release it with
/// `fezz_buffer_free`. `*out` is written only on `FEZZ_RESULT_OK`.
///
/// # Safety
/// `code` and `message` must point at `code_len` and `message_len` readable bytes; `out` must
/// be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_error_encode(
    code: *const c_char,
    code_len: usize,
    message: *const c_char,
    message_len: usize,
    out: *mut FezzBuffer,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let error = match unsafe { wire_error(code, code_len, message, message_len) } {
            Ok(error) => error,
            Err(result) => return result,
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        // SAFETY: checked non-null; writable by the caller's guarantee.
        unsafe { write_encoded(encode_error(&error), out) }
    })
}

/// Releases a buffer from `fezz_response_encode` or `fezz_error_encode`, exactly once. An
/// all-zero buffer is ignored.
///
/// # Safety
/// `buffer` must be all zero or come unchanged from `fezz_response_encode` or
/// `fezz_error_encode` in this copy of the library, and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn fezz_buffer_free(buffer: FezzBuffer) {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| drop(unsafe { buffer.into_vec() }))
}

/// The name of a result code, e.g. `"FEZZ_RESULT_TOO_LARGE"` for 6, as a static NUL-terminated
/// string; `"FEZZ_RESULT_UNKNOWN"` for a number this library does not know. Never NULL.
#[no_mangle]
pub extern "C" fn fezz_result_name(result: FezzResult) -> *const c_char {
    ffi_boundary(|| {
        const NAMES: [&std::ffi::CStr; 9] = [
            c"FEZZ_RESULT_OK",
            c"FEZZ_RESULT_NULL_ARGUMENT",
            c"FEZZ_RESULT_REQUEST_INVALID",
            c"FEZZ_RESULT_FUNCTION_FAILED",
            c"FEZZ_RESULT_PANIC",
            c"FEZZ_RESULT_INVALID_VALUE",
            c"FEZZ_RESULT_TOO_LARGE",
            c"FEZZ_RESULT_OUT_OF_RANGE",
            c"FEZZ_RESULT_RESPONSE_INVALID",
        ];
        const _: () = assert!(NAMES.len() == RESULT_CODES.len());
        usize::try_from(result)
            .ok()
            .and_then(|index| NAMES.get(index))
            .map_or(c"FEZZ_RESULT_UNKNOWN".as_ptr(), |name| name.as_ptr())
    })
}
