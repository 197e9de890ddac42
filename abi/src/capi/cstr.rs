//! NUL-terminated convenience forms of the codec C API, for the places where C authors pass
//! string literals: comparing a view with a literal (a method, a header name or value), finding
//! a header by a literal name, adding a header or setting a body from C strings. Each is the
//! pointer-and-length function it names, with the length taken by `strlen`.

use std::ffi::CStr;
use std::os::raw::c_char;

use super::{push_header, request_ref, slice, FezzRequest, FezzResponse};
use crate::boundary::ffi_boundary;
use crate::ffi::{FezzBytes, FezzResult, FezzStr, FEZZ_RESULT_NULL_ARGUMENT};

/// The bytes of a NUL-terminated string without the NUL, or `None` for NULL.
///
/// # Safety
/// `cstr` must be NULL or point at a NUL-terminated string that outlives the result.
unsafe fn bytes<'a>(cstr: *const c_char) -> Option<&'a [u8]> {
    if cstr.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated by the caller's guarantee.
    Some(unsafe { CStr::from_ptr(cstr) }.to_bytes())
}

/// The bytes of a view, or `None` for a NULL `data` with a non-zero length.
///
/// # Safety
/// `data` must point at `len` readable bytes.
unsafe fn view<'a>(data: *const u8, len: usize) -> Option<&'a [u8]> {
    // SAFETY: guaranteed by the caller.
    unsafe { slice(data, len) }
}

/// Whether `text` holds exactly the bytes of the NUL-terminated `cstr`, e.g.
/// `fezz_str_equals(fezz_request_method(request), "GET")`. Case-sensitive (HTTP methods are).
/// False if `cstr` is NULL, or if `text.data` is NULL with a non-zero length.
///
/// # Safety
/// `text` must be a valid view (`len` readable bytes at `data`); `cstr` must be NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn fezz_str_equals(text: FezzStr, cstr: *const c_char) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        match unsafe { (view(text.data.cast(), text.len), bytes(cstr)) } {
            (Some(text), Some(cstr)) => text == cstr,
            _ => false,
        }
    })
}

/// Like `fezz_str_equals`, but ASCII case-insensitive, as header names compare:
/// `fezz_str_equals_ignore_case(name, "Content-Type")`.
///
/// # Safety
/// As for `fezz_str_equals`.
#[no_mangle]
pub unsafe extern "C" fn fezz_str_equals_ignore_case(text: FezzStr, cstr: *const c_char) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        match unsafe { (view(text.data.cast(), text.len), bytes(cstr)) } {
            (Some(text), Some(cstr)) => text.eq_ignore_ascii_case(cstr),
            _ => false,
        }
    })
}

/// Whether `bytes` holds exactly the bytes of the NUL-terminated `cstr` (case-sensitive), e.g.
/// a header value: `fezz_bytes_equals(value, "application/json")`. False if `cstr` is NULL,
/// or if `bytes.data` is NULL with a non-zero length.
///
/// # Safety
/// `bytes` must be a valid view; `cstr` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn fezz_bytes_equals(bytes: FezzBytes, cstr: *const c_char) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        match unsafe { (view(bytes.data, bytes.len), self::bytes(cstr)) } {
            (Some(bytes), Some(cstr)) => bytes == cstr,
            _ => false,
        }
    })
}

/// `fezz_request_header_find` with a NUL-terminated name:
/// `fezz_request_header_find_cstr(request, "content-type", &value)`.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `name` must be NULL or NUL-terminated;
/// `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_request_header_find_cstr(
    request: *const FezzRequest,
    name: *const c_char,
    value: *mut FezzBytes,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let (Some(_), Some(name)) = (unsafe { request_ref(request) }, unsafe { bytes(name) })
        else {
            return false;
        };
        // SAFETY: guaranteed by the caller; `name` has `name.len()` readable bytes.
        unsafe { super::fezz_request_header_find(request, name.as_ptr().cast(), name.len(), value) }
    })
}

/// `fezz_response_add_header` with a NUL-terminated name and value:
/// `fezz_response_add_header_cstr(response, "content-type", "text/plain")`. The same rules
/// and results; `FEZZ_RESULT_NULL_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `name` and `value` must be NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_add_header_cstr(
    response: *mut FezzResponse,
    name: *const c_char,
    value: *const c_char,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let (Some(name), Some(value)) = (unsafe { bytes(name) }, unsafe { bytes(value) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        // SAFETY: guaranteed by the caller.
        let headers = unsafe { response.as_mut() }.map(|response| &mut response.response.headers);
        // SAFETY: both slices are readable for their lengths.
        unsafe {
            push_header(
                headers,
                name.as_ptr().cast(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        }
    })
}

/// `fezz_response_set_body` with a NUL-terminated body (without its NUL):
/// `fezz_response_set_body_cstr(response, "hello\n")`. `FEZZ_RESULT_NULL_ARGUMENT` if a
/// pointer is NULL.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `body` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_set_body_cstr(
    response: *mut FezzResponse,
    body: *const c_char,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(body) = (unsafe { bytes(body) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        // SAFETY: guaranteed by the caller; `body` has `body.len()` readable bytes.
        unsafe { super::fezz_response_set_body(response, body.as_ptr(), body.len()) }
    })
}
