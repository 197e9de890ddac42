//! Serving: request frames in, one response frame out per request, until the input ends at a
//! frame boundary or a step fails (`spec/RUNNER.md`, "Serving"). Every failure is a
//! [`Failure`] with the exit and message the spec gives; [`serve`] writes it as the one error
//! frame that ends the output.
//!
//! Not here: loading ([`library`](crate::library)) and the process's file descriptors
//! ([`stdio`](crate::stdio)).

use std::io::{Read, Write};

use fezz_abi::ffi::{FezzResult, FEZZ_RESULT_OK, RESULT_CODES};
use fezz_abi::frame::{read_frame, write_frame, FrameError, FrameKind};
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{decode_error, decode_request, decode_response};

use crate::failure::Failure;
use crate::library::{Function, Returned};

/// Serves every request frame of `input` with `function`, writing response frames to `output`;
/// on the first failure, writes one error frame to `output` and stops.
///
/// Returns [`RunnerExit::Success`] when `input` ended at a frame boundary, else the failure's
/// exit. The caller exits the process with its [`code`](RunnerExit::code).
pub fn serve(function: &Function, input: &mut impl Read, output: &mut impl Write) -> RunnerExit {
    match serve_requests(function, input, output) {
        Ok(()) => RunnerExit::Success,
        Err(failure) => {
            // If the output is gone the error frame cannot be written either; the exit code
            // still says what happened.
            let _ = failure.write_frame(output);
            failure.exit
        }
    }
}

/// [`serve`] without the error frame: the response frames are written, and the failure that
/// stopped serving, if any, is returned for the caller to report.
pub fn serve_requests(
    function: &Function,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), Failure> {
    while let Some(request) = read_request(input)? {
        let response = respond(function, &request)?;
        write_frame(output, FrameKind::Response, &response).map_err(|error| {
            Failure::new(
                RunnerExit::Internal,
                format!("writing a response frame failed: {error}"),
            )
        })?;
    }
    Ok(())
}

/// Reads the next request frame and checks that its payload decodes as a `fezz-request`.
/// `Ok(None)`: the input ended at a frame boundary.
pub fn read_request(input: &mut impl Read) -> Result<Option<Vec<u8>>, Failure> {
    let frame = match read_frame(input) {
        Ok(Some(frame)) => frame,
        Ok(None) => return Ok(None),
        Err(FrameError::Io(error)) => {
            return Err(Failure::new(
                RunnerExit::Internal,
                format!("reading stdin failed: {error}"),
            ))
        }
        Err(error) => return Err(Failure::new(RunnerExit::RequestInvalid, error.to_string())),
    };
    if frame.kind != FrameKind::Request {
        return Err(Failure::new(
            RunnerExit::RequestInvalid,
            format!(
                "frame-bad-kind: {} (kind {}) on stdin, where only request frames (kind 1) belong",
                kind_name(frame.kind),
                frame.kind as u8
            ),
        ));
    }
    if let Err(error) = decode_request(&frame.payload) {
        return Err(Failure::new(RunnerExit::RequestInvalid, error.to_string()));
    }
    Ok(Some(frame.payload))
}

/// Calls `function` with one request's bytes; returns the response's bytes exactly as the
/// function encoded them, once they are known to decode as a `fezz-response`.
pub fn respond(function: &Function, request: &[u8]) -> Result<Vec<u8>, Failure> {
    let call = function.call(request);
    if call.result != FEZZ_RESULT_OK {
        return Err(function_failed(call.result, &call.returned));
    }
    let bytes = match call.returned {
        Returned::Bytes(bytes) => bytes,
        Returned::Null => {
            return Err(Failure::new(
                RunnerExit::ResponseInvalid,
                "fezz_handle_v2 returned FEZZ_RESULT_OK with a NULL buffer",
            ))
        }
        Returned::TooLarge(len) => {
            return Err(Failure::new(
                RunnerExit::ResponseInvalid,
                format!(
                    "too-large: fezz_handle_v2 returned a response of {len} bytes, more than the limit of {}",
                    fezz_abi::limits::MAX_MESSAGE_BYTES
                ),
            ))
        }
    };
    match decode_response(&bytes) {
        Ok(_) => Ok(bytes),
        Err(error) => Err(Failure::new(RunnerExit::ResponseInvalid, error.to_string())),
    }
}

/// The `function-failed` failure for a non-zero result: the library's own error when the
/// buffer holds one, else the result code by name and number.
fn function_failed(result: FezzResult, returned: &Returned) -> Failure {
    let message = match returned {
        Returned::Bytes(bytes) => decode_error(bytes)
            .ok()
            .map(|error| format!("{}: {}", error.code, error.message)),
        Returned::Null | Returned::TooLarge(_) => None,
    };
    let message = message
        .unwrap_or_else(|| format!("fezz_handle_v2 returned {} ({result})", result_name(result)));
    Failure::new(RunnerExit::FunctionFailed, message)
}

/// `FEZZ_RESULT_…` for a known code, `FEZZ_RESULT_UNKNOWN` otherwise.
pub fn result_name(result: FezzResult) -> &'static str {
    RESULT_CODES
        .iter()
        .find(|(code, _, _)| *code == result)
        .map_or("FEZZ_RESULT_UNKNOWN", |(_, name, _)| name)
}

fn kind_name(kind: FrameKind) -> &'static str {
    match kind {
        FrameKind::Request => "a request frame",
        FrameKind::Response => "a response frame",
        FrameKind::Error => "an error frame",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fezz_abi::ffi::{FEZZ_RESULT_FUNCTION_FAILED, FEZZ_RESULT_PANIC};

    #[test]
    fn result_names_cover_known_and_unknown_codes() {
        assert_eq!(result_name(FEZZ_RESULT_PANIC), "FEZZ_RESULT_PANIC");
        assert_eq!(result_name(42), "FEZZ_RESULT_UNKNOWN");
        assert_eq!(result_name(-1), "FEZZ_RESULT_UNKNOWN");
    }

    #[test]
    fn function_failed_prefers_the_library_error() {
        let error = fezz_abi::encode_error(&fezz_abi::WireError::new("db", "down")).unwrap();
        let failure = function_failed(FEZZ_RESULT_FUNCTION_FAILED, &Returned::Bytes(error));
        assert_eq!(
            failure,
            Failure::new(RunnerExit::FunctionFailed, "db: down")
        );
        let failure = function_failed(7, &Returned::Bytes(b"junk".to_vec()));
        assert_eq!(
            failure.message,
            "fezz_handle_v2 returned FEZZ_RESULT_OUT_OF_RANGE (7)"
        );
        let failure = function_failed(99, &Returned::Null);
        assert_eq!(
            failure.message,
            "fezz_handle_v2 returned FEZZ_RESULT_UNKNOWN (99)"
        );
    }

    #[test]
    fn a_response_frame_on_stdin_is_request_invalid() {
        let mut input = Vec::new();
        write_frame(&mut input, FrameKind::Response, b"").unwrap();
        let failure = read_request(&mut input.as_slice()).unwrap_err();
        assert_eq!(failure.exit, RunnerExit::RequestInvalid);
        assert!(
            failure.message.starts_with("frame-bad-kind: "),
            "{}",
            failure.message
        );
    }

    #[test]
    fn an_undecodable_payload_is_request_invalid_with_the_decoder_error_first() {
        let mut input = Vec::new();
        write_frame(&mut input, FrameKind::Request, &[0xa0]).unwrap();
        let failure = read_request(&mut input.as_slice()).unwrap_err();
        assert_eq!(failure.exit, RunnerExit::RequestInvalid);
        assert!(
            failure.message.starts_with("missing-key at byte "),
            "{}",
            failure.message
        );
    }
}
