//! Oracle for hhrf's outcome mapping: a runner's stdout, how it ended and its stderr, through
//! `hhrf::outcome::classify` and `Outcome::into_response`.
//!
//! Input format ([`RunnerOutput::parse`], so seeds can be written by hand): byte 0 picks how
//! the runner ended (`% 3`: exited, killed by a signal, timed out), bytes 1..5 are the exit
//! code or signal (i32, big-endian), bytes 5..7 the stderr length (u16, big-endian), then the
//! stderr bytes, then stdout. Missing bytes read as zero.
//!
//! Properties: no panic; the outcome is the one `spec/HTTP.md` ("Errors") gives,
//! and `spec/RUNNER.md` ("What the host does"), decided here independently: timeout 504,
//! signal 502 naming the signal, exit 0 with exactly one valid response frame passes the
//! response through (else 502), exit 14 is 500 and any other exit 502 (the exit code decides;
//! the error frame, when stdout is exactly one valid one, is kept); the HTTP status is that one;
//! `x-request-id` is on every response; an error body is JSON `{"error": {"code", "message",
//! "request_id"}}` and nothing else, whose message never depends on the runner's stderr, nor,
//! for a failed, crashed or timed-out runner, on its stdout (so neither leaks to the client);
//! only the tail of stderr is kept.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use fezz_abi::frame::{split_frame, FrameKind};
use fezz_abi::limits::MAX_STDERR_BYTES;
use fezz_abi::{decode_error, decode_response, WireError};
use hhrf::outcome::{classify, ExitState, Outcome, MAX_STDOUT_BYTES};
use hyper::body::Body as _;

/// A finished runner, as the target's input describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerOutput<'a> {
    /// What it wrote on stdout.
    pub stdout: &'a [u8],
    /// How it ended.
    pub exit: ExitState,
    /// What it wrote on stderr.
    pub stderr: &'a [u8],
}

impl<'a> RunnerOutput<'a> {
    /// Reads the input format of the module docs. Total: every byte string is an input.
    pub fn parse(data: &'a [u8]) -> RunnerOutput<'a> {
        let byte = |index: usize| data.get(index).copied().unwrap_or(0);
        let number = i32::from_be_bytes([byte(1), byte(2), byte(3), byte(4)]);
        let exit = match byte(0) % 3 {
            0 => ExitState::Exited(number),
            1 => ExitState::Signaled(number),
            _ => ExitState::TimedOut,
        };
        let rest = data.get(7..).unwrap_or_default();
        let stderr_len = usize::from(u16::from_be_bytes([byte(5), byte(6)])).min(rest.len());
        let (stderr, stdout) = rest.split_at(stderr_len);
        RunnerOutput {
            stdout,
            exit,
            stderr,
        }
    }

    /// The bytes that [`parse`](Self::parse) reads back as this output (stderr is cut to
    /// 65535 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (selector, number) = match self.exit {
            ExitState::Exited(code) => (0, code),
            ExitState::Signaled(signal) => (1, signal),
            ExitState::TimedOut => (2, 0),
        };
        let stderr = &self.stderr[..self.stderr.len().min(usize::from(u16::MAX))];
        let mut bytes = vec![selector];
        bytes.extend_from_slice(&number.to_be_bytes());
        bytes.extend_from_slice(&(stderr.len() as u16).to_be_bytes());
        bytes.extend_from_slice(stderr);
        bytes.extend_from_slice(self.stdout);
        bytes
    }
}

/// The request id every response is built with.
const REQUEST_ID: &str = "fuzz-request-id";

/// Exactly one frame and nothing after it.
fn single_frame(stdout: &[u8]) -> Option<(FrameKind, &[u8])> {
    match split_frame(stdout) {
        Ok((kind, payload, [])) => Some((kind, payload)),
        _ => None,
    }
}

/// What the outcome must be, decided from the spec's words.
#[derive(Debug)]
enum Expected {
    /// The function's response passes through (or, if HTTP cannot carry one of its headers,
    /// `bad-output`).
    Response(fezz_abi::Response),
    /// An error body with this code and status; the runner's error frame, if stdout is exactly
    /// one valid one.
    Error(&'static str, u16, Option<WireError>),
}

fn expect(output: &RunnerOutput<'_>) -> Expected {
    let code = match output.exit {
        ExitState::TimedOut => return Expected::Error("timeout", 504, None),
        _ if output.stdout.len() > MAX_STDOUT_BYTES => {
            return Expected::Error("bad-output", 502, None)
        }
        ExitState::Signaled(_) => return Expected::Error("runner-crashed", 502, None),
        ExitState::Exited(code) => code,
    };
    let frame = single_frame(output.stdout);
    if code == 0 {
        return match frame {
            Some((FrameKind::Response, payload)) => match decode_response(payload) {
                Ok(response) => Expected::Response(response),
                _ => Expected::Error("bad-output", 502, None),
            },
            _ => Expected::Error("bad-output", 502, None),
        };
    }
    let error = match frame {
        Some((FrameKind::Error, payload)) => decode_error(payload).ok(),
        _ => None,
    };
    match code {
        14 => Expected::Error("function-failed", 500, error),
        _ => Expected::Error("runner-failed", 502, error),
    }
}

/// The whole body of a `Full` body, which is always ready.
fn body_bytes(response: http::Response<hhrf::outcome::Body>) -> Vec<u8> {
    let mut body = response.into_body();
    let mut context = Context::from_waker(Waker::noop());
    let mut bytes = Vec::new();
    loop {
        match Pin::new(&mut body).poll_frame(&mut context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Poll::Ready(None) => return bytes,
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Pending => panic!("a complete body was pending"),
        }
    }
}

/// Oracle of the `runner_output` target.
pub fn runner_output(data: &[u8]) {
    let output = RunnerOutput::parse(data);
    let outcome = classify(output.stdout, output.exit, output.stderr);
    let tail = &output.stderr[output.stderr.len().saturating_sub(MAX_STDERR_BYTES)..];
    assert_eq!(
        outcome.stderr(),
        tail,
        "the outcome must keep exactly the stderr tail"
    );

    let expected = expect(&output);
    let (code, status) = match (&expected, &outcome) {
        (Expected::Response(_), Outcome::BadOutput { reason, .. }) => {
            // Allowed only when HTTP cannot carry a header of the response.
            assert!(
                reason.contains("header"),
                "a valid response frame became bad-output: {reason}"
            );
            ("bad-output", 502)
        }
        (Expected::Response(wire), Outcome::Response { .. }) => ("", wire.status),
        (Expected::Error(code, status, _), _) => (*code, *status),
        (Expected::Response(_), other) => panic!("expected the function's response, got {other:?}"),
    };
    assert_eq!(outcome.status().as_u16(), status, "{outcome:?}");
    assert_eq!(outcome.code().unwrap_or(""), code, "{outcome:?}");
    match (&expected, &outcome) {
        (Expected::Error(_, _, frame), Outcome::FunctionFailed { error, .. })
        | (Expected::Error(_, _, frame), Outcome::RunnerFailed { error, .. }) => {
            assert_eq!(error, frame, "the outcome's error frame")
        }
        _ => {}
    }
    if let ExitState::Signaled(signal) = output.exit {
        let name = hhrf::outcome::signal_name(signal);
        assert!(
            outcome.message().contains(&name),
            "a crash message must name {name}"
        );
    }
    // What the client is told never depends on the runner's stderr, and for a failed or
    // crashed runner only on its exit code or signal, never on what its error frame says.
    let message = outcome.message();
    let without_stderr = classify(output.stdout, output.exit, b"").message();
    assert_eq!(
        message, without_stderr,
        "the client message depends on the runner's stderr"
    );
    if matches!(
        outcome,
        Outcome::RunnerFailed { .. } | Outcome::Crashed { .. } | Outcome::TimedOut { .. }
    ) {
        let without_stdout = classify(b"", output.exit, b"").message();
        assert_eq!(
            message, without_stdout,
            "the client message depends on the runner's stdout"
        );
    }

    let response = outcome.into_response(REQUEST_ID);
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response
            .headers()
            .get_all("x-request-id")
            .iter()
            .collect::<Vec<_>>(),
        [REQUEST_ID]
    );
    let headers = response.headers().clone();
    let body = body_bytes(response);
    match expected {
        Expected::Response(wire) if code.is_empty() => {
            assert_eq!(body, wire.body, "the function's body must pass through");
            for (name, value) in &headers {
                if name == "x-request-id" {
                    continue;
                }
                assert!(
                    wire.headers.iter().any(|header| {
                        header.name.eq_ignore_ascii_case(name.as_str())
                            && header.value == value.as_bytes()
                    }),
                    "header {name}: {value:?} is not the function's"
                );
            }
        }
        _ => {
            assert_eq!(
                headers.get("content-type").map(|v| v.as_bytes()),
                Some(&b"application/json"[..])
            );
            let json: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|error| panic!("the error body is not JSON: {error}"));
            let object = json.as_object().expect("the body is an object");
            assert_eq!(object.len(), 1, "{json}");
            let error = object["error"].as_object().expect("`error` is an object");
            assert_eq!(error.len(), 3, "{json}");
            assert_eq!(error["code"], code);
            assert_eq!(error["message"], message);
            assert_eq!(error["request_id"], REQUEST_ID);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_format_round_trips() {
        for exit in [
            ExitState::Exited(14),
            ExitState::Signaled(-9),
            ExitState::TimedOut,
        ] {
            let output = RunnerOutput {
                stdout: b"FZ",
                exit,
                stderr: b"err",
            };
            assert_eq!(RunnerOutput::parse(&output.to_bytes()), output);
        }
        let empty = RunnerOutput::parse(&[]);
        assert_eq!(empty.exit, ExitState::Exited(0));
        assert!(empty.stdout.is_empty() && empty.stderr.is_empty());
    }
}
