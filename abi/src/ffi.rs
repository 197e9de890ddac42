//! The C ABI's types: result codes, buffers and string views, and the signatures of the
//! symbols a function library exports. `spec/fezz.h` is generated from this module and
//! [`capi`](crate::capi) by cbindgen; `spec/ABI.md` is the prose contract for both.

use std::os::raw::c_char;

/// The result of every fezz C call: `FEZZ_RESULT_OK` (0) or one of the other
/// `FEZZ_RESULT_*` codes. A plain integer, not an enum, because a library may return a number
/// this header does not know yet; treat unknown non-zero values as failures.
pub type FezzResult = i32;

/// Success; out-parameters are written.
pub const FEZZ_RESULT_OK: FezzResult = 0;
/// A required pointer argument was NULL. Nothing was written.
pub const FEZZ_RESULT_NULL_ARGUMENT: FezzResult = 1;
/// The request bytes are not a valid `fezz-request`.
pub const FEZZ_RESULT_REQUEST_INVALID: FezzResult = 2;
/// The function failed without producing a response.
pub const FEZZ_RESULT_FUNCTION_FAILED: FezzResult = 3;
/// A panic (or C++ exception) was caught at the ABI boundary.
pub const FEZZ_RESULT_PANIC: FezzResult = 4;
/// An argument has a value the spec forbids (status outside 200..=599, 1xx included, a header
/// name that is not an HTTP token, a header value with a control byte other than HTAB, text
/// that is not UTF-8).
pub const FEZZ_RESULT_INVALID_VALUE: FezzResult = 5;
/// An argument or the result is past one of the limits in `spec/CBOR-PROFILE.md`.
pub const FEZZ_RESULT_TOO_LARGE: FezzResult = 6;
/// An index is past the end of a list.
pub const FEZZ_RESULT_OUT_OF_RANGE: FezzResult = 7;
/// The bytes are not a valid `fezz-response` (`fezz_response_decode`, `fezz_invoke_v2`), or
/// not a valid `fezz-error` (`fezz_error_decode`).
pub const FEZZ_RESULT_RESPONSE_INVALID: FezzResult = 8;

/// The ABI version of this header (and of the fezz-abi crate it is generated from): what
/// `fezz_abi_version()` of a library built against it returns.
pub const FEZZ_ABI_VERSION: u32 = 2;

/// Every result code with its name and meaning, in numeric order.
pub const RESULT_CODES: [(FezzResult, &str, &str); 9] = [
    (FEZZ_RESULT_OK, "FEZZ_RESULT_OK", "success"),
    (
        FEZZ_RESULT_NULL_ARGUMENT,
        "FEZZ_RESULT_NULL_ARGUMENT",
        "a required pointer argument was NULL",
    ),
    (
        FEZZ_RESULT_REQUEST_INVALID,
        "FEZZ_RESULT_REQUEST_INVALID",
        "the request bytes are not a valid fezz-request",
    ),
    (
        FEZZ_RESULT_FUNCTION_FAILED,
        "FEZZ_RESULT_FUNCTION_FAILED",
        "the function failed without producing a response",
    ),
    (
        FEZZ_RESULT_PANIC,
        "FEZZ_RESULT_PANIC",
        "a panic was caught at the ABI boundary",
    ),
    (
        FEZZ_RESULT_INVALID_VALUE,
        "FEZZ_RESULT_INVALID_VALUE",
        "a value the spec forbids",
    ),
    (
        FEZZ_RESULT_TOO_LARGE,
        "FEZZ_RESULT_TOO_LARGE",
        "a value past a limit of the spec",
    ),
    (
        FEZZ_RESULT_OUT_OF_RANGE,
        "FEZZ_RESULT_OUT_OF_RANGE",
        "an index past the end of a list",
    ),
    (
        FEZZ_RESULT_RESPONSE_INVALID,
        "FEZZ_RESULT_RESPONSE_INVALID",
        "the bytes are not a valid fezz-response (or fezz-error)",
    ),
];

/// Bytes owned by the library that allocated them, handed across the ABI by value. A
/// `FezzBuffer` written by `fezz_handle_v2` is released exactly once with the same library's
/// `fezz_free_v2`; one written by `fezz_response_encode` or `fezz_error_encode` exactly once
/// with `fezz_buffer_free`. Never `free()` it. `capacity` is the allocator's business: read
/// `data[0..len]` and pass the struct back unchanged. An all-zero buffer owns nothing, and
/// every function that releases buffers accepts one.
#[repr(C)]
#[derive(Debug)]
pub struct FezzBuffer {
    /// The first byte, or NULL when nothing was allocated (then `len` and `capacity` are 0).
    pub data: *mut u8,
    /// Number of valid bytes at `data`.
    pub len: usize,
    /// Allocation size, for the allocator that frees it.
    pub capacity: usize,
}

impl FezzBuffer {
    /// An empty buffer that owns nothing (all fields zero).
    pub const EMPTY: FezzBuffer = FezzBuffer {
        data: std::ptr::null_mut(),
        len: 0,
        capacity: 0,
    };

    /// Hands a vector's allocation to C. Release it with [`FezzBuffer::into_vec`]. A vector
    /// that owns no allocation (capacity 0) becomes [`FezzBuffer::EMPTY`], so `data` is NULL
    /// exactly when nothing was allocated.
    pub fn from_vec(bytes: Vec<u8>) -> FezzBuffer {
        if bytes.capacity() == 0 {
            return FezzBuffer::EMPTY;
        }
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        FezzBuffer {
            data: bytes.as_mut_ptr(),
            len: bytes.len(),
            capacity: bytes.capacity(),
        }
    }

    /// Takes back an allocation made by [`FezzBuffer::from_vec`].
    ///
    /// # Safety
    /// `self` must come from `FezzBuffer::from_vec` in the same library, unchanged, and must not
    /// be used again afterwards.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.data.is_null() {
            return Vec::new();
        }
        // SAFETY: the caller guarantees the fields are those `from_vec` produced.
        unsafe { Vec::from_raw_parts(self.data, self.len, self.capacity) }
    }
}

/// A borrowed UTF-8 string: `len` bytes at `data`, not NUL-terminated (print it with
/// `printf("%.*s", (int)s.len, s.data)`). Valid until the object it was read from is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FezzStr {
    /// The first byte. Never NULL, even when `len` is 0 (then it points at a static NUL byte).
    pub data: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

/// What an empty [`FezzStr`] or [`FezzBytes`] points at: a real, readable byte (a NUL), so C
/// code may pass `data` to `memcpy`, `fwrite` or `printf("%.*s")` even when `len` is 0. (An
/// empty Rust string or vector points at a dangling address instead.)
static EMPTY: [u8; 1] = [0];

impl FezzStr {
    /// A view of `text`.
    // Not `FromStr`: that trait parses into an owned value and cannot return a borrowed view.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> FezzStr {
        if text.is_empty() {
            return FezzStr {
                data: EMPTY.as_ptr().cast(),
                len: 0,
            };
        }
        FezzStr {
            data: text.as_ptr().cast(),
            len: text.len(),
        }
    }
}

/// Borrowed bytes: `len` bytes at `data`. Valid until the object it was read from is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FezzBytes {
    /// The first byte. Never NULL, even when `len` is 0 (then it points at a static byte).
    pub data: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl FezzBytes {
    /// A view of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> FezzBytes {
        if bytes.is_empty() {
            return FezzBytes {
                data: EMPTY.as_ptr(),
                len: 0,
            };
        }
        FezzBytes {
            data: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

/// Signature of `fezz_abi_version`, exported by every function library: returns the highest
/// ABI version the library implements (2 for this ABI).
pub type FezzAbiVersionFn = unsafe extern "C" fn() -> u32;

/// Signature of `fezz_handle_v2`, exported by every function library. Reads `request_len`
/// bytes of one encoded `fezz-request` at `request` (borrowed for the call), and on
/// `FEZZ_RESULT_OK` writes an encoded `fezz-response` into `*response`; on another result it
/// may write an encoded `fezz-error` there, or leave it all zero.
pub type FezzHandleV2Fn = unsafe extern "C" fn(
    request: *const u8,
    request_len: usize,
    response: *mut FezzBuffer,
) -> FezzResult;

/// Signature of `fezz_free_v2`, exported by every function library: releases a buffer that its
/// `fezz_handle_v2` wrote, exactly once. Must accept an all-zero buffer and do nothing.
pub type FezzFreeV2Fn = unsafe extern "C" fn(response: FezzBuffer);
