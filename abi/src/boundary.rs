//! The one panic boundary every `extern "C"` function of fezz goes through, and the helpers
//! `#[fezz_function]` expands to. No unwind ever crosses the ABI: a panic becomes the
//! [`PanicFallback`] value of the export's return type.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ffi::{FezzBuffer, FezzBytes, FezzResult, FezzStr, FEZZ_RESULT_NULL_ARGUMENT};
use crate::ffi::{FEZZ_RESULT_OK, FEZZ_RESULT_PANIC, FEZZ_RESULT_REQUEST_INVALID};
use crate::message::{Request, Response, WireError};
use crate::{decode_request, encode_error, encode_response};

/// What an export returns when its body panicked.
pub trait PanicFallback {
    /// The value to return after a panic with `message`.
    fn panic_fallback(message: &str) -> Self;
}

impl PanicFallback for FezzResult {
    fn panic_fallback(_: &str) -> Self {
        FEZZ_RESULT_PANIC
    }
}

impl PanicFallback for () {
    fn panic_fallback(_: &str) -> Self {}
}

impl PanicFallback for u32 {
    fn panic_fallback(_: &str) -> Self {
        0
    }
}

impl PanicFallback for usize {
    fn panic_fallback(_: &str) -> Self {
        0
    }
}

impl PanicFallback for bool {
    fn panic_fallback(_: &str) -> Self {
        false
    }
}

impl PanicFallback for FezzStr {
    fn panic_fallback(_: &str) -> Self {
        FezzStr::from_str("")
    }
}

impl PanicFallback for FezzBytes {
    fn panic_fallback(_: &str) -> Self {
        FezzBytes::from_slice(&[])
    }
}

impl PanicFallback for *const std::os::raw::c_char {
    fn panic_fallback(_: &str) -> Self {
        c"".as_ptr()
    }
}

/// Runs `body`, turning a panic into `T`'s fallback. Every export calls this.
pub fn ffi_boundary<T: PanicFallback>(body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => T::panic_fallback(&panic_message(payload.as_ref())),
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// The response `#[fezz_function]` answers when the function panics: 500, a JSON body
/// `{"error":{"code":"panic","message":…}}`, and the same in the response's `error` field.
pub fn panic_response(message: &str) -> Response {
    error_response(WireError::new("panic", message))
}

/// A 500 JSON response reporting `error`, with `error` attached.
pub fn error_response(error: WireError) -> Response {
    let body = serde_json::json!({ "error": { "code": error.code, "message": error.message } });
    let mut response = Response::json(500, body.to_string());
    response.error = Some(error);
    response
}

/// The body of `fezz_handle_v2` for a Rust function: decode, call `function` (catching its
/// panic as a 500), encode, hand the bytes over.
///
/// # Safety
/// `request` must point at `request_len` readable bytes (or be anything when `request_len` is
/// 0) and `response` must be NULL or point at a writable [`FezzBuffer`].
pub unsafe fn handle_v2(
    request: *const u8,
    request_len: usize,
    response: *mut FezzBuffer,
    function: impl FnOnce(Request) -> Response,
) -> FezzResult {
    ffi_boundary(|| {
        if response.is_null() || (request.is_null() && request_len != 0) {
            return FEZZ_RESULT_NULL_ARGUMENT;
        }
        let bytes: &[u8] = if request_len == 0 {
            &[]
        } else {
            // SAFETY: non-null, and the caller guarantees `request_len` readable bytes.
            unsafe { std::slice::from_raw_parts(request, request_len) }
        };
        let (result, bytes) = match decode_request(bytes) {
            Err(error) => {
                let error = WireError::new("request-invalid", error.to_string());
                (FEZZ_RESULT_REQUEST_INVALID, encode_error(&error).unwrap_or_default())
            }
            Ok(request) => {
                let answer = catch_unwind(AssertUnwindSafe(|| function(request)))
                    .unwrap_or_else(|payload| panic_response(&panic_message(payload.as_ref())));
                let bytes = encode_response(&answer).unwrap_or_else(|error| {
                    let error = WireError::new("response-invalid", error.to_string());
                    encode_response(&error_response(error))
                        .expect("a short error response always encodes")
                });
                (FEZZ_RESULT_OK, bytes)
            }
        };
        // SAFETY: checked non-null above; the caller guarantees it is writable.
        unsafe { response.write(FezzBuffer::from_vec(bytes)) };
        result
    })
}

/// The body of `fezz_free_v2` for a Rust function.
///
/// # Safety
/// `buffer` must be one that [`handle_v2`] wrote, unchanged, not freed before.
pub unsafe fn free_v2(buffer: FezzBuffer) {
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        drop(unsafe { buffer.into_vec() })
    })
}

