//! The codec as a C API, for functions written in C, Zig or anything that links C: decode a
//! request into an opaque [`FezzRequest`] and read it through accessors; build a
//! [`FezzResponse`] and encode it into a [`FezzBuffer`]. C authors never write CBOR by hand.
//!
//! Conventions (`spec/ABI.md`, "API conventions"): every function goes through
//! [`ffi_boundary`]; pointers returned by accessors borrow from the object and live until it
//! is freed; out-parameters are written only on `FEZZ_RESULT_OK`; every `*_free` accepts NULL.

use std::os::raw::c_char;

use crate::boundary::ffi_boundary;
use crate::error::ErrorKind;
use crate::ffi::{
    FezzBuffer, FezzBytes, FezzResult, FezzStr, FEZZ_RESULT_INVALID_VALUE,
    FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK, FEZZ_RESULT_OUT_OF_RANGE,
    FEZZ_RESULT_REQUEST_INVALID, FEZZ_RESULT_TOO_LARGE, RESULT_CODES,
};
use crate::message::{Header, Request, Response, WireError};
use crate::{decode_request, encode_response, validate};

/// A decoded request (opaque). Made by `fezz_request_decode`, released by `fezz_request_free`.
pub struct FezzRequest {
    request: Request,
}

/// A response being built (opaque). Made by `fezz_response_new`, released by
/// `fezz_response_free`.
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

fn violation_result(kind: ErrorKind) -> FezzResult {
    match kind {
        ErrorKind::TooLarge => FEZZ_RESULT_TOO_LARGE,
        _ => FEZZ_RESULT_INVALID_VALUE,
    }
}

/// Decodes `len` bytes at `data` as a `fezz-request` and stores a new [`FezzRequest`] in
/// `*out`. Returns `FEZZ_RESULT_REQUEST_INVALID` if the bytes are not a valid request.
///
/// # Safety
/// `data` must point at `len` readable bytes; `out` must be writable.
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
                let request = Box::into_raw(Box::new(FezzRequest { request }));
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(request) };
                FEZZ_RESULT_OK
            }
            Err(_) => FEZZ_RESULT_REQUEST_INVALID,
        }
    })
}

/// Releases a request from `fezz_request_decode`. NULL is ignored.
///
/// # Safety
/// `request` must be NULL or come from `fezz_request_decode` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_free(request: *mut FezzRequest) {
    ffi_boundary(|| {
        if !request.is_null() {
            // SAFETY: made by Box::into_raw in fezz_request_decode, freed once.
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

fn optional_text(value: Option<&String>, out: *mut FezzStr) -> bool {
    match (value, out.is_null()) {
        (Some(value), false) => {
            // SAFETY: checked non-null; writable by the caller's guarantee.
            unsafe { out.write(FezzStr::from_str(value)) };
            true
        }
        _ => false,
    }
}

macro_rules! request_text_accessor {
    ($(#[$doc:meta])* $name:ident => |$request:ident| $value:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// `request` must be a live `FezzRequest` (NULL gives an empty string).
        #[no_mangle]
        pub unsafe extern "C" fn $name(request: *const FezzRequest) -> FezzStr {
            ffi_boundary(|| {
                // SAFETY: guaranteed by the caller.
                match unsafe { request_ref(request) } {
                    Some($request) => FezzStr::from_str($value),
                    None => FezzStr::from_str(""),
                }
            })
        }
    };
}

request_text_accessor!(
    /// The request method, e.g. `GET`.
    fezz_request_method => |request| &request.method
);
request_text_accessor!(
    /// The request path, percent-encoding preserved.
    fezz_request_path => |request| &request.path
);
request_text_accessor!(
    /// The function id from the request context.
    fezz_request_function_id => |request| &request.context.function_id
);
request_text_accessor!(
    /// The function version from the request context.
    fezz_request_function_version => |request| &request.context.function_version
);
request_text_accessor!(
    /// The host's request id from the request context.
    fezz_request_id => |request| &request.context.request_id
);

macro_rules! request_optional_text_accessor {
    ($(#[$doc:meta])* $name:ident => |$request:ident| $value:expr) => {
        $(#[$doc])*
        /// Returns true and writes `*out` if present; returns false and leaves `*out` alone if
        /// absent or if an argument is NULL.
        ///
        /// # Safety
        /// `request` must be a live `FezzRequest`; `out` must be writable.
        #[no_mangle]
        pub unsafe extern "C" fn $name(request: *const FezzRequest, out: *mut FezzStr) -> bool {
            ffi_boundary(|| {
                // SAFETY: guaranteed by the caller.
                let Some($request) = (unsafe { request_ref(request) }) else {
                    return false;
                };
                optional_text($value, out)
            })
        }
    };
}

request_optional_text_accessor!(
    /// The raw query (after `?`, without it). An empty query (`/path?`) is present and empty.
    fezz_request_query => |request| request.query.as_ref()
);
request_optional_text_accessor!(
    /// The client's address (`ip:port`).
    fezz_request_client_address => |request| request.context.client_address.as_ref()
);
request_optional_text_accessor!(
    /// The scheme the client used (`http` or `https`).
    fezz_request_scheme => |request| request.context.scheme.as_ref()
);
request_optional_text_accessor!(
    /// The host the client asked for.
    fezz_request_host => |request| request.context.host.as_ref()
);

/// The call's deadline in milliseconds since the Unix epoch. Returns true and writes `*out`
/// if the host set one.
///
/// # Safety
/// `request` must be a live `FezzRequest`; `out` must be writable.
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

/// The number of header fields.
///
/// # Safety
/// `request` must be a live `FezzRequest` (NULL gives 0).
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_count(request: *const FezzRequest) -> usize {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| unsafe { request_ref(request) }.map_or(0, |r| r.headers.len()))
}

/// The header field at `index` (in received order): writes its name and value.
/// `FEZZ_RESULT_OUT_OF_RANGE` if `index >= fezz_request_header_count(request)`.
///
/// # Safety
/// `request` must be a live `FezzRequest`; `name` and `value` must be writable.
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

/// The value of the first header whose name equals `name_len` bytes at `name`, compared
/// ASCII case-insensitively. Returns true and writes `*value` if found.
///
/// # Safety
/// `request` must be a live `FezzRequest`; `name` must point at `name_len` readable bytes;
/// `value` must be writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_find(
    request: *const FezzRequest,
    name: *const c_char,
    name_len: usize,
    value: *mut FezzBytes,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let (Some(request), Some(name)) = (unsafe { request_ref(request) }, unsafe {
            slice(name.cast(), name_len)
        }) else {
            return false;
        };
        if value.is_null() {
            return false;
        }
        let found = request
            .headers
            .iter()
            .find(|header| header.name.as_bytes().eq_ignore_ascii_case(name));
        match found {
            Some(header) => {
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { value.write(FezzBytes::from_slice(&header.value)) };
                true
            }
            None => false,
        }
    })
}

/// The request body (empty if there is none).
///
/// # Safety
/// `request` must be a live `FezzRequest` (NULL gives empty bytes).
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

/// Starts a response with `status` (100 to 599) and stores it in `*out`.
/// `FEZZ_RESULT_INVALID_VALUE` for a status outside that range.
///
/// # Safety
/// `out` must be writable.
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

/// Releases a response from `fezz_response_new`. NULL is ignored.
///
/// # Safety
/// `response` must be NULL or come from `fezz_response_new` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_free(response: *mut FezzResponse) {
    ffi_boundary(|| {
        if !response.is_null() {
            // SAFETY: made by Box::into_raw in fezz_response_new, freed once.
            drop(unsafe { Box::from_raw(response) });
        }
    })
}

/// Appends a header field (the bytes are copied). The name must be an HTTP token of at most
/// 256 bytes; the value at most 16 KiB without CR, LF or NUL. Otherwise
/// `FEZZ_RESULT_INVALID_VALUE` or `FEZZ_RESULT_TOO_LARGE` and nothing is added.
///
/// # Safety
/// `response` must be a live `FezzResponse`; `name` and `value` must point at `name_len` and
/// `value_len` readable bytes.
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
        let (Some(response), Some(name), Some(value)) = (unsafe { response.as_mut() }, unsafe {
            slice(name.cast(), name_len)
        }, unsafe { slice(value, value_len) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            return FEZZ_RESULT_INVALID_VALUE;
        };
        let checks = validate::header_name(name)
            .and_then(|()| validate::header_value(value))
            .and_then(|()| validate::header_count(response.response.headers.len() + 1));
        if let Err((kind, _)) = checks {
            return violation_result(kind);
        }
        response.response.headers.push(Header::new(name, value));
        FEZZ_RESULT_OK
    })
}

/// Sets the body to a copy of `len` bytes at `data` (at most 8 MiB, else
/// `FEZZ_RESULT_TOO_LARGE`).
///
/// # Safety
/// `response` must be a live `FezzResponse`; `data` must point at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_set_body(
    response: *mut FezzResponse,
    data: *const u8,
    len: usize,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let (Some(response), Some(body)) = (unsafe { response.as_mut() }, unsafe { slice(data, len) })
        else {
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
/// (`code` and `message`, UTF-8, each at most 16 KiB) that the host logs.
///
/// # Safety
/// `response` must be a live `FezzResponse`; `code` and `message` must point at `code_len` and
/// `message_len` readable bytes.
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
        let (Some(response), Some(code), Some(message)) = (unsafe { response.as_mut() }, unsafe {
            slice(code.cast(), code_len)
        }, unsafe { slice(message.cast(), message_len) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        let (Ok(code), Ok(message)) = (std::str::from_utf8(code), std::str::from_utf8(message)) else {
            return FEZZ_RESULT_INVALID_VALUE;
        };
        let checks = validate::text("code", code).and_then(|()| validate::text("message", message));
        if let Err((kind, _)) = checks {
            return violation_result(kind);
        }
        response.response.error = Some(WireError::new(code, message));
        FEZZ_RESULT_OK
    })
}

/// Encodes the response as deterministic CBOR into `*out`, which the caller releases with
/// `fezz_buffer_free` (a function library typically returns it from `fezz_handle_v2` and
/// calls `fezz_buffer_free` in its `fezz_free_v2`). The response itself is unchanged and still
/// needs `fezz_response_free`.
///
/// # Safety
/// `response` must be a live `FezzResponse`; `out` must be writable.
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
        match encode_response(&response.response) {
            Ok(bytes) => {
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(FezzBuffer::from_vec(bytes)) };
                FEZZ_RESULT_OK
            }
            Err(error) => violation_result(error.kind()),
        }
    })
}

/// Releases a buffer from `fezz_response_encode`, exactly once. An all-zero buffer is ignored.
///
/// # Safety
/// `buffer` must be all zero or come unchanged from `fezz_response_encode` in this library.
#[no_mangle]
pub unsafe extern "C" fn fezz_buffer_free(buffer: FezzBuffer) {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| drop(unsafe { buffer.into_vec() }))
}

/// The name of a result code, e.g. `"FEZZ_RESULT_TOO_LARGE"`, as a static NUL-terminated
/// string; `"FEZZ_RESULT_UNKNOWN"` for a number this library does not know.
#[no_mangle]
pub extern "C" fn fezz_result_name(result: FezzResult) -> *const c_char {
    ffi_boundary(|| {
        const NAMES: [&std::ffi::CStr; 8] = [
            c"FEZZ_RESULT_OK",
            c"FEZZ_RESULT_NULL_ARGUMENT",
            c"FEZZ_RESULT_REQUEST_INVALID",
            c"FEZZ_RESULT_FUNCTION_FAILED",
            c"FEZZ_RESULT_PANIC",
            c"FEZZ_RESULT_INVALID_VALUE",
            c"FEZZ_RESULT_TOO_LARGE",
            c"FEZZ_RESULT_OUT_OF_RANGE",
        ];
        debug_assert_eq!(NAMES.len(), RESULT_CODES.len());
        usize::try_from(result)
            .ok()
            .and_then(|index| NAMES.get(index))
            .map_or(c"FEZZ_RESULT_UNKNOWN".as_ptr(), |name| name.as_ptr())
    })
}
