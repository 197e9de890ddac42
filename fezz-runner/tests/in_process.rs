//! The `fezz_runner` library without a process: `Function::load` and `serve` over in-memory
//! streams, as the conformance suite and the fuzz targets use them.

mod support;

use std::path::Path;

use fezz_abi::frame::{split_frame, FrameKind};
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{decode_error, decode_response, WireError};
use fezz_runner::{serve, Call, Function, LoadError, Returned};

use support::{fixture, frame, request, request_frame, CLibrary};

#[test]
fn serve_answers_every_frame_and_returns_success() {
    let function = Function::load(&fixture()).unwrap();
    assert_eq!(function.abi_version(), 2);
    let input = [
        request_frame(&request("/a")),
        request_frame(&request("/status/404")),
    ]
    .concat();
    let mut output = Vec::new();
    let exit = serve(&function, &mut input.as_slice(), &mut output);
    assert_eq!(exit, RunnerExit::Success);
    let (kind, first, rest) = split_frame(&output).unwrap();
    assert_eq!(kind, FrameKind::Response);
    assert_eq!(
        decode_response(first).unwrap().header("x-echo-path"),
        Some(&b"/a"[..])
    );
    let (kind, second, rest) = split_frame(rest).unwrap();
    assert_eq!(kind, FrameKind::Response);
    assert_eq!(decode_response(second).unwrap().status, 404);
    assert!(rest.is_empty());
}

#[test]
fn serve_writes_one_error_frame_on_failure() {
    let function = Function::load(&fixture()).unwrap();
    let input = request_frame(&request("/error-code"));
    let mut output = Vec::new();
    let exit = serve(&function, &mut input.as_slice(), &mut output);
    assert_eq!(exit, RunnerExit::FunctionFailed);
    assert_eq!(
        output,
        frame(
            FrameKind::Error,
            &fezz_abi::encode_error(&WireError::new(
                "function-failed",
                "fixture-error: fixture error"
            ))
            .unwrap()
        )
    );
}

#[test]
fn call_returns_the_result_and_a_copy_of_the_buffer() {
    let function = Function::load(&fixture()).unwrap();
    let Call { result, returned } = function.call(b"garbage");
    assert_eq!(result, fezz_abi::ffi::FEZZ_RESULT_REQUEST_INVALID);
    let Returned::Bytes(bytes) = returned else {
        panic!("{returned:?}")
    };
    assert_eq!(decode_error(&bytes).unwrap().code, "request-invalid");
}

#[test]
fn load_errors_carry_their_exit() {
    let missing = Function::load(Path::new("/nonexistent/lib.so")).unwrap_err();
    assert!(matches!(missing, LoadError::Library { .. }));
    assert_eq!(missing.exit(), RunnerExit::LibraryLoadFailed);

    let library = CLibrary::build("NO_HANDLE");
    let error = Function::load(&library.path).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::SymbolMissing {
                symbol: "fezz_handle_v2",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit(), RunnerExit::SymbolMissing);

    let library = CLibrary::build("VERSION_1");
    let error = Function::load(&library.path).unwrap_err();
    assert!(
        matches!(error, LoadError::AbiVersionMismatch { version: 1 }),
        "{error:?}"
    );
    assert_eq!(error.exit(), RunnerExit::AbiVersionMismatch);
}
