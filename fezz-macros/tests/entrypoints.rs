//! The three exports `#[fezz_function]` writes, called directly through the C ABI, the way a
//! runner calls them. The library is the Rust conformance fixture
//! (`conformance/fixtures/rust`), a real `cdylib` built with the macro.

#[path = "../../abi/tests/common/workspace_build.rs"]
mod workspace_build;

use std::path::PathBuf;

use fezz_abi::ffi::FEZZ_RESULT_REQUEST_INVALID;
use fezz_abi::ffi::{FezzAbiVersionFn, FezzBuffer, FezzFreeV2Fn, FezzHandleV2Fn, FezzResult};
use fezz_abi::ffi::{FEZZ_RESULT_FUNCTION_FAILED, FEZZ_RESULT_NULL_ARGUMENT, FEZZ_RESULT_OK};
use fezz_abi::{decode_error, decode_response, encode_request, Header, Request, WireError};
use libloading::Library;

/// `target/debug/libfezz_fixture_rust.so`, next to this test's `deps/` folder.
fn fixture_path() -> PathBuf {
    workspace_build::artifact(&format!(
        "{}fezz_fixture_rust{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

struct Fixture {
    version: FezzAbiVersionFn,
    handle: FezzHandleV2Fn,
    free: FezzFreeV2Fn,
    _library: Library,
}

impl Fixture {
    fn load() -> Fixture {
        // SAFETY: the fixture is our own library; its initialisers are Rust's.
        let library = unsafe { Library::new(fixture_path()) }.expect("the fixture loads");
        // SAFETY: the three exports have the signatures of spec/ABI.md.
        unsafe {
            Fixture {
                version: *library.get::<FezzAbiVersionFn>("fezz_abi_version").unwrap(),
                handle: *library.get::<FezzHandleV2Fn>("fezz_handle_v2").unwrap(),
                free: *library.get::<FezzFreeV2Fn>("fezz_free_v2").unwrap(),
                _library: library,
            }
        }
    }

    /// Calls `fezz_handle_v2` with `request`; returns the result and a copy of the buffer,
    /// which it frees.
    fn call(&self, request: &[u8]) -> (FezzResult, Option<Vec<u8>>) {
        let mut buffer = FezzBuffer::EMPTY;
        // SAFETY: a readable request and a writable buffer, as spec/ABI.md asks.
        let result = unsafe { (self.handle)(request.as_ptr(), request.len(), &mut buffer) };
        let bytes = (!buffer.data.is_null())
            // SAFETY: the library wrote `len` bytes at `data`, valid until the free below.
            .then(|| unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec());
        // SAFETY: the buffer this call wrote, released once.
        unsafe { (self.free)(buffer) };
        (result, bytes)
    }
}

fn request(path: &str) -> Vec<u8> {
    let mut request = Request::new("POST", path);
    request.query = Some("a=1".into());
    request.headers.push(Header::new("x-one", "1"));
    request.body = b"body bytes".to_vec();
    request.context.function_id = "fixture".into();
    encode_request(&request).unwrap()
}

#[test]
fn the_abi_version_is_2() {
    let fixture = Fixture::load();
    // SAFETY: no arguments.
    assert_eq!(unsafe { (fixture.version)() }, 2);
}

#[test]
fn a_response_comes_back_ok() {
    let fixture = Fixture::load();
    let (result, bytes) = fixture.call(&request("/echo"));
    assert_eq!(result, FEZZ_RESULT_OK);
    let response = decode_response(&bytes.expect("a buffer")).unwrap();
    assert_eq!(response.status, 200);
    let headers: Vec<(&str, &[u8])> = response
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_slice()))
        .collect();
    assert_eq!(
        headers,
        [
            ("x-echo-method", &b"POST"[..]),
            ("x-echo-path", b"/echo"),
            ("x-echo-query", b"a=1"),
            ("x-one", b"1"),
        ]
    );
    assert_eq!(response.body, b"body bytes");
    assert_eq!(response.error, None);
}

#[test]
fn a_panic_is_a_500_response_with_its_message() {
    let fixture = Fixture::load();
    let (result, bytes) = fixture.call(&request("/panic"));
    assert_eq!(result, FEZZ_RESULT_OK);
    let response = decode_response(&bytes.expect("a buffer")).unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(
        response.header("content-type"),
        Some(&b"application/json"[..])
    );
    assert_eq!(
        response.body,
        br#"{"error":{"code":"panic","message":"fixture panic"}}"#
    );
    assert_eq!(
        response.error,
        Some(WireError::new("panic", "fixture panic"))
    );
}

#[test]
fn an_err_fails_the_call_with_the_encoded_error() {
    let fixture = Fixture::load();
    let (result, bytes) = fixture.call(&request("/error-code"));
    assert_eq!(result, FEZZ_RESULT_FUNCTION_FAILED);
    let error = decode_error(&bytes.expect("a buffer")).unwrap();
    assert_eq!(error, WireError::new("fixture-error", "fixture error"));
}

#[test]
fn a_null_response_pointer_is_null_argument() {
    let fixture = Fixture::load();
    let request = request("/echo");
    // SAFETY: a NULL out-pointer is what is under test; spec/ABI.md says it is refused.
    let result = unsafe { (fixture.handle)(request.as_ptr(), request.len(), std::ptr::null_mut()) };
    assert_eq!(result, FEZZ_RESULT_NULL_ARGUMENT);
}

#[test]
fn a_null_request_with_a_length_is_null_argument_and_writes_nothing() {
    let fixture = Fixture::load();
    let mut buffer = FezzBuffer::EMPTY;
    // SAFETY: a NULL request with a length is what is under test.
    let result = unsafe { (fixture.handle)(std::ptr::null(), 5, &mut buffer) };
    assert_eq!(result, FEZZ_RESULT_NULL_ARGUMENT);
    assert!(buffer.data.is_null() && buffer.len == 0 && buffer.capacity == 0);
}

#[test]
fn garbage_is_request_invalid_with_an_error() {
    let fixture = Fixture::load();
    for garbage in [&b"not cbor at all"[..], &[], &[0xa0], &[0xff; 64]] {
        let (result, bytes) = fixture.call(garbage);
        assert_eq!(result, FEZZ_RESULT_REQUEST_INVALID, "{garbage:?}");
        let error = decode_error(&bytes.expect("an error buffer")).unwrap();
        assert_eq!(error.code, "request-invalid", "{garbage:?}");
        assert!(!error.message.is_empty());
    }
}

#[test]
fn freeing_an_empty_buffer_does_nothing() {
    let fixture = Fixture::load();
    // SAFETY: an all-zero buffer owns nothing, and every free accepts one (spec/ABI.md).
    unsafe { (fixture.free)(FezzBuffer::EMPTY) };
}
