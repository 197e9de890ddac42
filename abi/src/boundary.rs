//! The one panic boundary every `extern "C"` function of fezz goes through, and the helpers
//! `#[fezz_function]` expands to. No unwind ever crosses the ABI: a panic becomes the
//! [`PanicFallback`] value of the export's return type.
//!
//! `#[fezz_function]` writes three thin exports that call [`abi_version`], [`handle_v2`] and
//! [`free_v2`]; everything a Rust function library does at the ABI (decoding, the panic
//! fallback, encoding, ownership of the buffer) lives here, once, not in each expansion. What
//! a function may return is the [`IntoCallResult`] trait. Not here: the codec itself
//! (`decode`, `encode`) and the codec C API (`capi`).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ffi::{FezzBuffer, FezzBytes, FezzResult, FezzStr, FEZZ_ABI_VERSION};
use crate::ffi::{FEZZ_RESULT_FUNCTION_FAILED, FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK};
use crate::ffi::{FEZZ_RESULT_PANIC, FEZZ_RESULT_REQUEST_INVALID};
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

impl PanicFallback for u16 {
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
    let mut response = Response::json_text(500, body.to_string());
    response.error = Some(error);
    response
}

/// What a `#[fezz_function]` may return: a [`Response`], or a `Result<Response, WireError>`
/// whose `Err` fails the call (`FEZZ_RESULT_FUNCTION_FAILED`, with the encoded error in the
/// buffer; the runner then exits `function-failed` and the host answers 500).
///
/// To send the client a particular error status, return `Ok` with that response instead.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a fezz function's return type",
    label = "a #[fezz_function] returns `Response` or `Result<Response, WireError>`",
    note = "use `fezz_abi::Response`, or `Result<fezz_abi::Response, fezz_abi::WireError>` to fail the call with an error"
)]
pub trait IntoCallResult {
    /// The response, or the error that fails the call.
    fn into_call_result(self) -> Result<Response, WireError>;
}

impl IntoCallResult for Response {
    fn into_call_result(self) -> Result<Response, WireError> {
        Ok(self)
    }
}

impl IntoCallResult for Result<Response, WireError> {
    fn into_call_result(self) -> Result<Response, WireError> {
        self
    }
}

/// What `#[fezz_function]`'s `fezz_abi_version` returns: [`FEZZ_ABI_VERSION`].
pub fn abi_version() -> u32 {
    ffi_boundary(|| FEZZ_ABI_VERSION)
}

/// The body of `fezz_handle_v2` for a Rust function: decode, call `function` (catching its
/// panic as a 500), encode, hand the bytes over.
///
/// | What happens | Result | `*response` |
/// |---|---|---|
/// | `response` is NULL, or `request` is NULL with a non-zero length | `FEZZ_RESULT_NULL_ARGUMENT` | untouched |
/// | the bytes are not a `fezz-request` | `FEZZ_RESULT_REQUEST_INVALID` | a `fezz-error` `request-invalid` |
/// | `function` returns a response (or `Ok`) | `FEZZ_RESULT_OK` | the response |
/// | `function` panics | `FEZZ_RESULT_OK` | [`panic_response`] with the panic message |
/// | `function` returns `Err(error)` | `FEZZ_RESULT_FUNCTION_FAILED` | `error` |
/// | the response or error cannot be encoded (a limit, a forbidden value) | as above | a 500 [`error_response`] `response-invalid`, or a `fezz-error` `error-invalid` |
///
/// # Safety
/// `request` must point at `request_len` readable bytes (or be anything when `request_len` is
/// 0) and `response` must be NULL or point at a writable [`FezzBuffer`].
pub unsafe fn handle_v2<R: IntoCallResult>(
    request: *const u8,
    request_len: usize,
    response: *mut FezzBuffer,
    function: impl FnOnce(Request) -> R,
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
                (
                    FEZZ_RESULT_REQUEST_INVALID,
                    encode_error_or_substitute(&error),
                )
            }
            Ok(request) => match call(function, request) {
                Ok(answer) => (FEZZ_RESULT_OK, encode_response_or_substitute(&answer)),
                Err(error) => (
                    FEZZ_RESULT_FUNCTION_FAILED,
                    encode_error_or_substitute(&error),
                ),
            },
        };
        // SAFETY: checked non-null above; the caller guarantees it is writable.
        unsafe { response.write(FezzBuffer::from_vec(bytes)) };
        result
    })
}

/// Calls the function, turning a panic (in it or in its result's conversion) into
/// [`panic_response`].
fn call<R: IntoCallResult>(
    function: impl FnOnce(Request) -> R,
    request: Request,
) -> Result<Response, WireError> {
    catch_unwind(AssertUnwindSafe(|| function(request).into_call_result()))
        .unwrap_or_else(|payload| Ok(panic_response(&panic_message(payload.as_ref()))))
}

/// `response` encoded, or, when it breaks a rule of the wire (a limit, a forbidden value), a
/// 500 `response-invalid` saying which.
fn encode_response_or_substitute(response: &Response) -> Vec<u8> {
    encode_response(response).unwrap_or_else(|error| {
        let error = WireError::new("response-invalid", error.to_string());
        encode_response(&error_response(error)).expect("a short error response always encodes")
    })
}

/// `error` encoded, or, when it breaks a rule of the wire (a text past `MAX_TEXT_BYTES`), an
/// `error-invalid` error saying which.
fn encode_error_or_substitute(error: &WireError) -> Vec<u8> {
    encode_error(error).unwrap_or_else(|problem| {
        let error = WireError::new(
            "error-invalid",
            format!("the function's error could not be encoded: {problem}"),
        );
        encode_error(&error).expect("a short error always encodes")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_TEXT_BYTES;
    use crate::{decode_error, decode_response, encode_request};

    /// Calls [`handle_v2`] with `request` and `function`; returns the result and the bytes.
    fn handle<R: IntoCallResult>(
        request: &Request,
        function: impl FnOnce(Request) -> R,
    ) -> (FezzResult, Vec<u8>) {
        let bytes = encode_request(request).unwrap();
        let mut buffer = FezzBuffer::EMPTY;
        // SAFETY: readable request bytes and a writable buffer.
        let result = unsafe { handle_v2(bytes.as_ptr(), bytes.len(), &mut buffer, function) };
        // SAFETY: the buffer `handle_v2` just wrote, taken back once.
        (result, unsafe { buffer.into_vec() })
    }

    #[test]
    fn a_response_and_an_ok_are_the_same_call() {
        let request = Request::new("GET", "/");
        let (result, plain) = handle(&request, |_| Response::new(204));
        assert_eq!(result, FEZZ_RESULT_OK);
        let (result, ok) = handle(&request, |_| Ok::<_, WireError>(Response::new(204)));
        assert_eq!(result, FEZZ_RESULT_OK);
        assert_eq!(plain, ok);
        assert_eq!(decode_response(&plain).unwrap().status, 204);
    }

    #[test]
    fn an_err_fails_the_call_with_the_error() {
        let (result, bytes) = handle(&Request::new("GET", "/"), |_| {
            Err::<Response, _>(WireError::new("db", "down"))
        });
        assert_eq!(result, FEZZ_RESULT_FUNCTION_FAILED);
        assert_eq!(decode_error(&bytes).unwrap(), WireError::new("db", "down"));
    }

    #[test]
    fn a_panic_is_a_500_with_its_message() {
        let (result, bytes) = handle(&Request::new("GET", "/"), |_| -> Response {
            panic!("boom {}", 7)
        });
        assert_eq!(result, FEZZ_RESULT_OK);
        assert_eq!(decode_response(&bytes).unwrap(), panic_response("boom 7"));
    }

    #[test]
    fn a_response_that_cannot_be_encoded_becomes_a_500_saying_why() {
        let (result, bytes) = handle(&Request::new("GET", "/"), |_| {
            Response::new(200).with_header("bad name", "x")
        });
        assert_eq!(result, FEZZ_RESULT_OK);
        let response = decode_response(&bytes).unwrap();
        assert_eq!(response.status, 500);
        assert_eq!(response.error.unwrap().code, "response-invalid");
    }

    #[test]
    fn an_error_that_cannot_be_encoded_becomes_error_invalid() {
        let (result, bytes) = handle(&Request::new("GET", "/"), |_| {
            Err::<Response, _>(WireError::new("long", "x".repeat(MAX_TEXT_BYTES + 1)))
        });
        assert_eq!(result, FEZZ_RESULT_FUNCTION_FAILED);
        assert_eq!(decode_error(&bytes).unwrap().code, "error-invalid");
    }

    #[test]
    fn the_abi_version_is_the_crates() {
        assert_eq!(abi_version(), FEZZ_ABI_VERSION);
    }
}
