//! One call of a handler in-process, made the way a runner makes it (`spec/ABI.md`, "A call"):
//! encode the request, zero a buffer, call `fezz_handle_v2`, read the buffer, release it with
//! `fezz_free_v2` exactly once whatever the result, and decode the response. A C unit test
//! passes its own `fezz_handle_v2` and `fezz_free_v2` and inspects the `FezzResponse`.

use super::{FezzRequest, FezzResponse};
use crate::boundary::ffi_boundary;
use crate::ffi::{
    FezzBuffer, FezzFreeV2Fn, FezzHandleV2Fn, FezzResult, FEZZ_RESULT_NULL_ARGUMENT,
    FEZZ_RESULT_OK, FEZZ_RESULT_RESPONSE_INVALID,
};
use crate::{decode_response, encode_request};

/// Calls `handle` on `request` as a runner would and stores the decoded response in `*out`
/// (release it with `fezz_response_free`). `release` is called exactly once on the buffer
/// `handle` wrote, whatever it returned. Returns `handle`'s own result if that is not
/// `FEZZ_RESULT_OK`; `FEZZ_RESULT_RESPONSE_INVALID` if it returned `FEZZ_RESULT_OK` with a
/// buffer that does not decode as a `fezz-response` (as a runner would refuse it);
/// `FEZZ_RESULT_NULL_ARGUMENT` if an argument is NULL (then `handle` is not called); the
/// encoder's result if the request does not encode. `*out` is written only on
/// `FEZZ_RESULT_OK`. Typically: `fezz_invoke_v2(request, fezz_handle_v2, fezz_free_v2, &response)`.
///
/// # Safety
/// `request` must be NULL or a live `FezzRequest`; `handle` and `release` must be NULL or
/// functions with the ABI's contract (`spec/ABI.md`, "The exported symbols"); `out` must be
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fezz_invoke_v2(
    request: *const FezzRequest,
    // Written out rather than `Option<FezzHandleV2Fn>`: cbindgen turns an `Option` of a
    // function pointer into a nullable pointer only when it sees the `fn` type itself.
    handle: Option<
        unsafe extern "C" fn(
            request: *const u8,
            request_len: usize,
            response: *mut FezzBuffer,
        ) -> FezzResult,
    >,
    release: Option<unsafe extern "C" fn(response: FezzBuffer)>,
    out: *mut *mut FezzResponse,
) -> FezzResult {
    // The parameters have exactly the types of the ABI's function-pointer typedefs.
    let (handle, release): (Option<FezzHandleV2Fn>, Option<FezzFreeV2Fn>) = (handle, release);
    ffi_boundary(|| {
        // SAFETY: guaranteed by the caller.
        let request = unsafe { request.as_ref() };
        let (Some(request), Some(handle), Some(release), false) =
            (request, handle, release, out.is_null())
        else {
            return FEZZ_RESULT_NULL_ARGUMENT;
        };
        let bytes = match encode_request(&request.request) {
            Ok(bytes) => bytes,
            Err(error) => return super::violation_result(error.kind()),
        };
        let mut buffer = FezzBuffer::EMPTY;
        // SAFETY: `bytes` is readable for the call and `buffer` writable; the function has the
        // ABI's contract by the caller's guarantee.
        let result = unsafe { handle(bytes.as_ptr(), bytes.len(), &mut buffer) };
        let decoded = if result != FEZZ_RESULT_OK {
            Err(result)
        } else if buffer.data.is_null() {
            Err(FEZZ_RESULT_RESPONSE_INVALID)
        } else {
            // SAFETY: on FEZZ_RESULT_OK the handler wrote `len` readable bytes at `data`,
            // which stay valid until `release`.
            let encoded = unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) };
            decode_response(encoded).map_err(|_| FEZZ_RESULT_RESPONSE_INVALID)
        };
        // SAFETY: the buffer the handler wrote, released once, by its own library.
        unsafe { release(buffer) };
        match decoded {
            Ok(response) => {
                let response = Box::into_raw(Box::new(FezzResponse { response }));
                // SAFETY: checked non-null; writable by the caller's guarantee.
                unsafe { out.write(response) };
                FEZZ_RESULT_OK
            }
            Err(result) => result,
        }
    })
}
