//! Reading what a handler wrote, in C, the other direction from the response builders: decode
//! the bytes of a successful `fezz_handle_v2` (`fezz_response_decode`) and read the status,
//! headers, body and error through views, as the request accessors do (they also read a
//! response that is being built); or decode the `fezz-error` of a failed one
//! (`fezz_error_decode`) and read its code and message.

use std::os::raw::c_char;

use super::{find_header, slice, FezzResponse};
use crate::boundary::ffi_boundary;
use crate::ffi::{
    FezzBytes, FezzResult, FezzStr, FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK,
    FEZZ_RESULT_OUT_OF_RANGE, FEZZ_RESULT_RESPONSE_INVALID,
};
use crate::message::{Response, WireError};
use crate::{decode_error, decode_response};

/// A decoded structured error (opaque): the `fezz-error` a failed `fezz_handle_v2` hands out.
/// Made by `fezz_error_decode`, released by `fezz_error_free`.
pub struct FezzError {
    error: WireError,
}

/// Borrows the response behind a C pointer.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`.
unsafe fn response_ref<'a>(response: *const FezzResponse) -> Option<&'a Response> {
    // SAFETY: guaranteed by the caller.
    unsafe { response.as_ref() }.map(|response| &response.response)
}

/// Decodes `len` bytes at `data` as a `fezz-response` and stores a new `FezzResponse` in
/// `*out`. Returns `FEZZ_RESULT_RESPONSE_INVALID` if the bytes are not a valid response and
/// `FEZZ_RESULT_NULL_ARGUMENT` if `out` is NULL or `data` is NULL with `len` > 0; `*out` is
/// written only on `FEZZ_RESULT_OK`. Release the response with `fezz_response_free`.
///
/// # Safety
/// `data` must point at `len` readable bytes; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut FezzResponse,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `len` readable bytes.
        let Some(bytes) = (unsafe { slice(data, len) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        match decode_response(bytes) {
            Ok(response) => {
                let response = Box::into_raw(Box::new(FezzResponse { response }));
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(response) };
                FEZZ_RESULT_OK
            }
            Err(_) => FEZZ_RESULT_RESPONSE_INVALID,
        }
    })
}

/// The response's status (200 to 599). A NULL response gives 0.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_status(response: *const FezzResponse) -> u16 {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| unsafe { response_ref(response) }.map_or(0, |response| response.status))
}

/// The number of header fields of the response. A NULL response gives 0.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_header_count(response: *const FezzResponse) -> usize {
    // SAFETY: guaranteed by the caller.
    ffi_boundary(|| unsafe { response_ref(response) }.map_or(0, |r| r.headers.len()))
}

/// The response's header field at `index`, in order, as `fezz_request_header_at` gives a
/// request's: `FEZZ_RESULT_OUT_OF_RANGE` past the end, `FEZZ_RESULT_NULL_ARGUMENT` for a NULL
/// pointer, and nothing written then. The views live until `fezz_response_free`.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `name` and `value` must be NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_header_at(
    response: *const FezzResponse,
    index: usize,
    name: *mut FezzStr,
    value: *mut FezzBytes,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let Some(response) = (unsafe { response_ref(response) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if name.is_null() || value.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        let Some(header) = response.headers.get(index) else {
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

/// The value of the response's first header named like the `name_len` bytes at `name`, ASCII
/// case-insensitively: true and `*value` written if found, false and nothing written if not
/// or if an argument is NULL.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `name` must point at `name_len` readable
/// bytes; `value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_header_find(
    response: *const FezzResponse,
    name: *const c_char,
    name_len: usize,
    value: *mut FezzBytes,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let response = unsafe { response_ref(response) };
        // SAFETY: guaranteed by the caller.
        let name = unsafe { slice(name.cast(), name_len) };
        let (Some(response), Some(name)) = (response, name) else {
            return false;
        };
        if value.is_null() {
            return false;
        }
        match find_header(&response.headers, name, 0) {
            Some(at) => {
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { value.write(FezzBytes::from_slice(&response.headers[at].value)) };
                true
            }
            None => false,
        }
    })
}

/// The response body (possibly empty). A NULL response gives empty bytes.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_body(response: *const FezzResponse) -> FezzBytes {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        match unsafe { response_ref(response) } {
            Some(response) => FezzBytes::from_slice(&response.body),
            None => FezzBytes::from_slice(&[]),
        }
    })
}

/// The error a response reports (`fezz_response_set_error`, or a caught panic of a Rust
/// function): true and its code and message written to `*code` and `*message` if it has one;
/// false and nothing written if not or if an argument is NULL.
///
/// # Safety
/// `response` must be NULL or a live `FezzResponse`; `code` and `message` must be NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_response_error(
    response: *const FezzResponse,
    code: *mut FezzStr,
    message: *mut FezzStr,
) -> bool {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let error = unsafe { response_ref(response) }.and_then(|r| r.error.as_ref());
        match (error, code.is_null() || message.is_null()) {
            (Some(error), false) => {
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe {
                    code.write(FezzStr::from_str(&error.code));
                    message.write(FezzStr::from_str(&error.message));
                }
                true
            }
            _ => false,
        }
    })
}

/// Decodes `len` bytes at `data` as a `fezz-error` (what a `fezz_handle_v2` that returned a
/// non-zero result may have written, e.g. by `fezz_error_encode`) and stores a new `FezzError`
/// in `*out`. Returns `FEZZ_RESULT_RESPONSE_INVALID` if the bytes are not a valid error and
/// `FEZZ_RESULT_NULL_ARGUMENT` if `out` is NULL or `data` is NULL with `len` > 0; `*out` is
/// written only on `FEZZ_RESULT_OK`. Release it with `fezz_error_free`.
///
/// # Safety
/// `data` must point at `len` readable bytes; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_error_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut FezzError,
) -> FezzResult {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `len` readable bytes.
        let Some(bytes) = (unsafe { slice(data, len) }) else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        if out.is_null() {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        match decode_error(bytes) {
            Ok(error) => {
                let error = Box::into_raw(Box::new(FezzError { error }));
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(error) };
                FEZZ_RESULT_OK
            }
            Err(_) => FEZZ_RESULT_RESPONSE_INVALID,
        }
    })
}

/// Releases an error from `fezz_error_decode`, and with it the views read from it. NULL is
/// ignored.
///
/// # Safety
/// `error` must be NULL or come from `fezz_error_decode` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn fezz_error_free(error: *mut FezzError) {
    ffi_boundary(|| {
        if !error.is_null() {
            // SAFETY: made by Box::into_raw in fezz_error_decode, freed once.
            drop(unsafe { Box::from_raw(error) });
        }
    })
}

/// The error's code, e.g. `db-unavailable`. A NULL error gives an empty string.
///
/// # Safety
/// `error` must be NULL or a live `FezzError`.
#[no_mangle]
pub unsafe extern "C" fn fezz_error_code(error: *const FezzError) -> FezzStr {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        FezzStr::from_str(unsafe { error.as_ref() }.map_or("", |error| &error.error.code))
    })
}

/// The error's message. A NULL error gives an empty string.
///
/// # Safety
/// `error` must be NULL or a live `FezzError`.
#[no_mangle]
pub unsafe extern "C" fn fezz_error_message(error: *const FezzError) -> FezzStr {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        FezzStr::from_str(unsafe { error.as_ref() }.map_or("", |error| &error.error.message))
    })
}
