//! What became of a request, and the one place that turns it into an HTTP response.
//!
//! What lives here: [`ExitState`] (how the runner ended), [`Outcome`] (every way a request
//! can end: the function's response, a function failure, a host-side failure of the runner,
//! or a refusal before any call), [`classify`] (runner output → outcome, pure) and
//! [`Outcome::into_response`] (outcome → status, headers and JSON error body). What does not:
//! running the runner (`runner`), building the request (`dispatch`).
//!
//! The function's own errors and the host's failures stay apart: a function's response
//! passes through untouched (its `error` field is only logged), a function failure reported
//! through the runner is a 500, and a runner that crashed, misbehaved or could not start is
//! a 502 (`spec/HTTP.md`, "Errors"). Both functions here are total: no input makes them panic.

use fezz_abi::frame::{split_frame, FrameKind};
use fezz_abi::limits::{FRAME_HEADER_BYTES, MAX_MESSAGE_BYTES, MAX_STDERR_BYTES};
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{decode_error, decode_response, ErrorKind, WireError};
use http::header::{HeaderMap, HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::StatusCode;

use crate::admission::AdmissionStats;
use crate::dispatch::{response_headers, REQUEST_ID_HEADER};

/// The response body type hhrf sends: complete, in memory.
pub type Body = http_body_util::Full<hyper::body::Bytes>;

/// Most bytes a runner may write to stdout for one call: one frame header and the largest
/// payload. One byte more and the output is bad.
pub const MAX_STDOUT_BYTES: usize = FRAME_HEADER_BYTES + MAX_MESSAGE_BYTES;

/// How a runner process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitState {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (not one hhrf sent for a timeout).
    Signaled(i32),
    /// hhrf killed it at the deadline.
    TimedOut,
}

/// A function's response, converted to HTTP and ready to send.
#[derive(Debug, Clone)]
pub struct FunctionResponse {
    /// The status (200..=599).
    pub status: StatusCode,
    /// The end-to-end headers, in order (see `dispatch::response_headers`).
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The function's own error report, if it attached one; logged, not sent.
    pub error: Option<WireError>,
}

/// Every way a request can end. [`Outcome::into_response`] is the only mapping to HTTP.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// The function answered; sent as is. With `error` set it is logged as a function error.
    Response {
        /// The response (boxed: it is much larger than the other variants).
        response: Box<FunctionResponse>,
        /// The last bytes of the runner's stderr.
        stderr: Vec<u8>,
    },
    /// The runner exited 14 (`function-failed`): 500. The exit code decides; the error
    /// frame only supplies the message.
    FunctionFailed {
        /// Its error frame, when it wrote a valid one.
        error: Option<WireError>,
        /// What was wrong with its output, when it did not.
        output_problem: Option<String>,
        /// The last bytes of the runner's stderr.
        stderr: Vec<u8>,
    },
    /// A signal killed the runner: 502 naming the signal.
    Crashed {
        /// The signal number.
        signal: i32,
        /// The last bytes of the runner's stderr.
        stderr: Vec<u8>,
    },
    /// The runner exited with a code other than 0 and 14: 502.
    RunnerFailed {
        /// The exit code.
        exit: i32,
        /// Its error frame, when it wrote a valid one.
        error: Option<WireError>,
        /// What was wrong with its output, when it did not.
        output_problem: Option<String>,
        /// The last bytes of the runner's stderr.
        stderr: Vec<u8>,
    },
    /// The runner's output broke the protocol (no frame, extra bytes, a bad frame or
    /// message, the wrong frame for its exit code, too much output): 502.
    BadOutput {
        /// What was wrong.
        reason: String,
        /// When the output was a well-formed response frame whose response the wire forbids
        /// or HTTP cannot carry (a 1xx status, a control byte in a header value): the rule it
        /// breaks, in words for the function's author. The client's message says it.
        unsendable: Option<String>,
        /// The last bytes of the runner's stderr.
        stderr: Vec<u8>,
    },
    /// The call passed its deadline and was killed: 504.
    TimedOut {
        /// The last bytes of the runner's stderr.
        stderr: Vec<u8>,
    },
    /// The runner could not be started: 502.
    SpawnFailed {
        /// The operating system's reason.
        reason: String,
    },
    /// hhrf's health endpoint (liveness) answered: 200 `{"status":"ok","functions":N}`, with
    /// `"status":"draining"` while a drain or a stop is in force. Not an error.
    Health {
        /// How many functions are served.
        functions: usize,
        /// Whether the server is draining.
        draining: bool,
        /// The admission state: calls in flight and queued, memory reserved.
        admission: AdmissionStats,
    },
    /// No function or route serves the path: 404.
    NotFound,
    /// Routes match the path but not the method: 405 with `Allow`.
    MethodNotAllowed {
        /// The `Allow` header value.
        allow: String,
    },
    /// The request body did not arrive before the call's deadline: 408.
    RequestTimeout,
    /// The request body is past `MAX_BODY_BYTES`: 413, before spawning.
    BodyTooLarge {
        /// The declared or received length, when known.
        length: Option<u64>,
    },
    /// The path or query is past `MAX_TEXT_BYTES`: 414.
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The header fields are past a wire limit: 431.
    HeadersTooLarge {
        /// Which limit.
        reason: String,
    },
    /// The request cannot be expressed on the wire or its body could not be read: 400.
    BadRequest {
        /// Why.
        reason: String,
    },
    /// hhrf cannot take the call now: a queue it would wait in is full, or its deadline
    /// passed while it waited. 503 with `Retry-After`; no runner was started.
    Overloaded {
        /// What was full or too slow, for the message and the log.
        reason: String,
        /// The `Retry-After` value, in seconds.
        retry_after_s: u32,
    },
    /// hhrf itself failed while handling the request (a bug: a panic caught at the handler's
    /// boundary): 500.
    Internal {
        /// What failed, for the log.
        reason: String,
    },
    /// One of hhrf's operator endpoints answered (readiness, metrics, drain, undrain; see
    /// `admin`): sent as is. Not an error, whatever its status.
    Admin {
        /// The status (503 for a readiness probe that is not ready).
        status: StatusCode,
        /// The `content-type`.
        content_type: &'static str,
        /// The body.
        body: Vec<u8>,
        /// The outcome's name in the log (`ready`, `not-ready`, `metrics`, `drain`, …).
        log_name: &'static str,
    },
    /// A drain endpoint was asked from a client that may not use it (not on the admin
    /// listener, not a loopback client): 403.
    Forbidden {
        /// Why, for the log.
        reason: String,
    },
    /// An undrain was asked while the server stops, which cannot be undone: 409.
    Stopping,
}

/// The name of a signal (`SIGSEGV`), or `signal N` for a number without one.
pub fn signal_name(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(known) => known.as_str().to_owned(),
        Err(_) => format!("signal {signal}"),
    }
}

/// The last [`MAX_STDERR_BYTES`] of `stderr`.
fn tail(stderr: &[u8]) -> Vec<u8> {
    stderr[stderr.len().saturating_sub(MAX_STDERR_BYTES)..].to_vec()
}

/// Exactly one frame and nothing else.
fn single_frame(stdout: &[u8]) -> Result<(FrameKind, &[u8]), String> {
    if stdout.is_empty() {
        return Err("no frame on stdout".to_owned());
    }
    let (kind, payload, rest) = split_frame(stdout).map_err(|error| error.to_string())?;
    if !rest.is_empty() {
        return Err(format!(
            "{} bytes on stdout after the {kind:?} frame",
            rest.len()
        ));
    }
    Ok((kind, payload))
}

/// Why a response frame's payload is no response hhrf can send: the log's reason and, when the
/// response is well-formed but breaks a rule of its values, that rule for the client.
struct BadResponse {
    reason: String,
    unsendable: Option<String>,
}

impl BadResponse {
    fn unsendable(reason: String) -> BadResponse {
        BadResponse {
            unsendable: Some(reason.clone()),
            reason,
        }
    }
}

/// A response frame's payload as the response hhrf sends. The decoder enforces the value
/// rules (a final status 200..=599, header values without control bytes but HTAB), so a
/// response it accepts converts; the conversion still checks, because this is the last step
/// before the client.
fn response_from(payload: &[u8]) -> Result<FunctionResponse, BadResponse> {
    let response = decode_response(payload).map_err(|error| {
        let reason = format!("response frame: {error}");
        match error.kind() {
            ErrorKind::InvalidValue => BadResponse {
                unsendable: Some(error.message().to_owned()),
                reason,
            },
            _ => BadResponse {
                reason,
                unsendable: None,
            },
        }
    })?;
    let status = StatusCode::from_u16(response.status)
        .map_err(|_| BadResponse::unsendable(format!("status {} is not valid", response.status)))?;
    let headers = response_headers(&response.headers).map_err(BadResponse::unsendable)?;
    Ok(FunctionResponse {
        status,
        headers,
        body: response.body,
        error: response.error,
    })
}

fn error_from(kind: FrameKind, payload: &[u8]) -> Result<WireError, String> {
    if kind != FrameKind::Error {
        return Err(format!("a {kind:?} frame where an error frame belongs"));
    }
    decode_error(payload).map_err(|error| format!("error frame: {error}"))
}

/// Classifies a finished call from the runner's stdout, how it ended and its stderr. Pure and
/// total: any bytes and any exit state give an outcome.
///
/// In order: a timeout is [`Outcome::TimedOut`]; more than [`MAX_STDOUT_BYTES`] on stdout is
/// bad output (hhrf killed the runner for it); a signal is [`Outcome::Crashed`]; exit 0 needs
/// exactly one valid response frame with a final status and headers HTTP can carry, else it
/// is bad output; exit 14 is [`Outcome::FunctionFailed`] and any other exit
/// [`Outcome::RunnerFailed`], with the error frame when stdout holds exactly one valid one
/// (`spec/RUNNER.md`: the exit code decides, a missing frame is tolerated).
pub fn classify(stdout: &[u8], exit: ExitState, stderr: &[u8]) -> Outcome {
    let stderr = tail(stderr);
    let code = match exit {
        ExitState::TimedOut => return Outcome::TimedOut { stderr },
        _ if stdout.len() > MAX_STDOUT_BYTES => {
            return Outcome::BadOutput {
                reason: format!("more than {MAX_STDOUT_BYTES} bytes on stdout"),
                unsendable: None,
                stderr,
            }
        }
        ExitState::Signaled(signal) => return Outcome::Crashed { signal, stderr },
        ExitState::Exited(code) => code,
    };
    let frame = single_frame(stdout);
    if code == 0 {
        let response = match frame {
            Ok((FrameKind::Response, payload)) => response_from(payload),
            Ok((other, _)) => Err(BadResponse {
                reason: format!("exit 0 with a {other:?} frame instead of a response frame"),
                unsendable: None,
            }),
            Err(reason) => Err(BadResponse {
                reason,
                unsendable: None,
            }),
        };
        return match response {
            Ok(response) => Outcome::Response {
                response: Box::new(response),
                stderr,
            },
            Err(BadResponse { reason, unsendable }) => Outcome::BadOutput {
                reason,
                unsendable,
                stderr,
            },
        };
    }
    // A non-zero exit: the code decides, the error frame (if valid) only explains.
    let (error, output_problem) = match frame.and_then(|(kind, payload)| error_from(kind, payload))
    {
        Ok(error) => (Some(error), None),
        Err(problem) => (None, Some(problem)),
    };
    if i32::from(RunnerExit::FunctionFailed.code()) == code {
        return Outcome::FunctionFailed {
            error,
            output_problem,
            stderr,
        };
    }
    Outcome::RunnerFailed {
        exit: code,
        error,
        output_problem,
        stderr,
    }
}

impl Outcome {
    /// The HTTP status this outcome is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Outcome::Response { response, .. } => response.status,
            Outcome::FunctionFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Outcome::Crashed { .. }
            | Outcome::RunnerFailed { .. }
            | Outcome::BadOutput { .. }
            | Outcome::SpawnFailed { .. } => StatusCode::BAD_GATEWAY,
            Outcome::TimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
            Outcome::Health { .. } => StatusCode::OK,
            Outcome::Admin { status, .. } => *status,
            Outcome::Forbidden { .. } => StatusCode::FORBIDDEN,
            Outcome::Stopping => StatusCode::CONFLICT,
            Outcome::NotFound => StatusCode::NOT_FOUND,
            Outcome::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Outcome::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Outcome::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Outcome::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Outcome::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Outcome::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Outcome::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON `error.code` of the error body; `None` for a function's response and for
    /// the health endpoint.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            Outcome::Response { .. } | Outcome::Health { .. } | Outcome::Admin { .. } => {
                return None
            }
            Outcome::Forbidden { .. } => "forbidden",
            Outcome::Stopping => "stopping",
            Outcome::FunctionFailed { .. } => "function-failed",
            Outcome::Crashed { .. } => "runner-crashed",
            Outcome::RunnerFailed { .. } => "runner-failed",
            Outcome::BadOutput { .. } => "bad-output",
            Outcome::TimedOut { .. } => "timeout",
            Outcome::SpawnFailed { .. } => "spawn-failed",
            Outcome::NotFound => "not-found",
            Outcome::MethodNotAllowed { .. } => "method-not-allowed",
            Outcome::RequestTimeout => "request-timeout",
            Outcome::BodyTooLarge { .. } => "body-too-large",
            Outcome::UriTooLong { .. } => "uri-too-long",
            Outcome::HeadersTooLarge { .. } => "headers-too-large",
            Outcome::BadRequest { .. } => "bad-request",
            Outcome::Overloaded { .. } => "overloaded",
            Outcome::Internal { .. } => "internal-error",
        })
    }

    /// The outcome's name in the log: `ok`, `function-error`, `health`, `health-draining`,
    /// `runner-crashed(SIGSEGV)`, `runner-failed(11)`, or the error code.
    pub fn log_name(&self) -> String {
        match self {
            Outcome::Response { response, .. } if response.error.is_some() => {
                "function-error".to_owned()
            }
            Outcome::Response { .. } => "ok".to_owned(),
            Outcome::Health {
                draining: false, ..
            } => "health".to_owned(),
            Outcome::Health { draining: true, .. } => "health-draining".to_owned(),
            Outcome::Admin { log_name, .. } => (*log_name).to_owned(),
            Outcome::Crashed { signal, .. } => format!("runner-crashed({})", signal_name(*signal)),
            Outcome::RunnerFailed { exit, .. } => format!("runner-failed({exit})"),
            other => other.code().unwrap_or("ok").to_owned(),
        }
    }

    /// The message of the JSON error body: what a client may know. Paths and stderr stay in
    /// the log.
    pub fn message(&self) -> String {
        match self {
            Outcome::Response { .. } | Outcome::Health { .. } | Outcome::Admin { .. } => {
                String::new()
            }
            Outcome::Forbidden { .. } => {
                "this endpoint answers only on the admin listener or to a loopback client"
                    .to_owned()
            }
            Outcome::Stopping => "the server is stopping; a stop cannot be undrained".to_owned(),
            Outcome::FunctionFailed { error, .. } => match error {
                Some(error) => format!("the function failed: {}", error.message),
                None => "the function failed".to_owned(),
            },
            Outcome::Crashed { signal, .. } => {
                format!("the runner was killed by {}", signal_name(*signal))
            }
            Outcome::RunnerFailed {
                exit,
                error: Some(error),
                ..
            } if RunnerExit::from_code(*exit) == Some(RunnerExit::ResponseInvalid)
                && error.code == RunnerExit::ResponseInvalid.error_code() =>
            {
                // The runner's decoder names the rule the function's response breaks; the
                // message of a response-invalid frame holds no paths.
                format!(
                    "the function returned a response that cannot be sent (the runner exited \
                     {exit}, response-invalid): {}",
                    error.message
                )
            }
            Outcome::RunnerFailed { exit, .. } => match RunnerExit::from_code(*exit) {
                Some(known) => format!(
                    "the runner failed with exit code {exit} ({})",
                    known.error_code()
                ),
                None => format!("the runner failed with exit code {exit}"),
            },
            Outcome::BadOutput {
                unsendable: Some(why),
                ..
            } => format!("the function returned a response that cannot be sent: {why}"),
            Outcome::BadOutput { .. } => {
                "the runner's output was not one valid frame for its exit status".to_owned()
            }
            Outcome::TimedOut { .. } => {
                "the function did not answer before its deadline".to_owned()
            }
            Outcome::SpawnFailed { .. } => "the runner could not be started".to_owned(),
            Outcome::NotFound => "no function or route serves this path".to_owned(),
            Outcome::MethodNotAllowed { allow } => {
                format!("this path answers only: {allow}")
            }
            Outcome::RequestTimeout => {
                "the request body did not arrive before the deadline".to_owned()
            }
            Outcome::BodyTooLarge { length } => match length {
                Some(length) => format!(
                    "the body has {length} bytes, more than the limit of {}",
                    fezz_abi::limits::MAX_BODY_BYTES
                ),
                None => format!(
                    "the body is larger than the limit of {} bytes",
                    fezz_abi::limits::MAX_BODY_BYTES
                ),
            },
            Outcome::UriTooLong { limit } => {
                format!("the path or the query is longer than {limit} bytes")
            }
            Outcome::HeadersTooLarge { reason } | Outcome::BadRequest { reason } => reason.clone(),
            Outcome::Overloaded { reason, .. } => {
                format!("the server is overloaded ({reason}); retry later")
            }
            Outcome::Internal { .. } => {
                "hhrf failed while handling this request; the failure is in its log".to_owned()
            }
        }
    }

    /// Details for the log line beyond [`message`](Self::message): the function's error
    /// report, the runner's error frame, what was wrong with the output, the spawn error.
    pub fn log_detail(&self) -> Option<String> {
        match self {
            Outcome::Response { response, .. } => response
                .error
                .as_ref()
                .map(|error| format!("{}: {}", error.code, error.message)),
            Outcome::FunctionFailed {
                error,
                output_problem,
                ..
            }
            | Outcome::RunnerFailed {
                error,
                output_problem,
                ..
            } => match (error, output_problem) {
                (Some(error), _) => Some(format!("{}: {}", error.code, error.message)),
                (None, Some(problem)) => Some(format!("no valid error frame: {problem}")),
                (None, None) => None,
            },
            Outcome::BadOutput { reason, .. } => Some(reason.clone()),
            Outcome::SpawnFailed { reason }
            | Outcome::Internal { reason }
            | Outcome::Forbidden { reason }
            | Outcome::Overloaded { reason, .. } => Some(reason.clone()),
            _ => None,
        }
    }

    /// The last bytes of the runner's stderr, empty when no runner ran.
    pub fn stderr(&self) -> &[u8] {
        match self {
            Outcome::Response { stderr, .. }
            | Outcome::FunctionFailed { stderr, .. }
            | Outcome::Crashed { stderr, .. }
            | Outcome::RunnerFailed { stderr, .. }
            | Outcome::BadOutput { stderr, .. }
            | Outcome::TimedOut { stderr } => stderr,
            _ => &[],
        }
    }

    /// Whether the log line should carry the stderr tail: every outcome but a clean response
    /// and hhrf's own endpoints' answers.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Outcome::Response { response, .. } if response.error.is_none())
            && !matches!(self, Outcome::Health { .. } | Outcome::Admin { .. })
    }

    /// The HTTP response: the function's own, `{"status","functions"}` for the health
    /// endpoint, or `{"error":{"code","message","request_id"}}`, the last two with
    /// `content-type: application/json` (and `Allow` for 405). Every response carries
    /// `x-request-id: request_id`.
    pub fn into_response(self, request_id: &str) -> http::Response<Body> {
        let status = self.status();
        let (mut headers, body) = match self {
            Outcome::Response { response, .. } => (response.headers, response.body),
            Outcome::Health {
                functions,
                draining,
                admission,
            } => {
                let body = serde_json::json!({
                    "status": if draining { "draining" } else { "ok" },
                    "functions": functions,
                    "admission": admission,
                })
                .to_string()
                .into_bytes();
                let mut headers = HeaderMap::new();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                (headers, body)
            }
            Outcome::Admin {
                content_type, body, ..
            } => {
                let mut headers = HeaderMap::new();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                if content_type == crate::operator_page::CONTENT_TYPE {
                    for (name, value) in crate::operator_page::HEADERS {
                        headers.insert(name, HeaderValue::from_static(value));
                    }
                }
                (headers, body)
            }
            other => {
                let body = serde_json::json!({
                    "error": {
                        "code": other.code().unwrap_or("internal-error"),
                        "message": other.message(),
                        "request_id": request_id,
                    }
                })
                .to_string()
                .into_bytes();
                let mut headers = HeaderMap::new();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if let Outcome::MethodNotAllowed { allow } = &other {
                    if let Ok(value) = HeaderValue::from_str(allow) {
                        headers.insert(ALLOW, value);
                    }
                }
                if let Outcome::Overloaded { retry_after_s, .. } = &other {
                    headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_s));
                }
                (headers, body)
            }
        };
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert(REQUEST_ID_HEADER, value);
        }
        let mut response = http::Response::new(Body::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fezz_abi::frame::frame_header;
    use fezz_abi::{encode_error, encode_response, Header, Response};
    use http_body_util::BodyExt;

    fn frame(kind: FrameKind, payload: &[u8]) -> Vec<u8> {
        let mut bytes = frame_header(kind, payload.len()).to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    fn response_frame(response: &Response) -> Vec<u8> {
        frame(FrameKind::Response, &encode_response(response).unwrap())
    }

    /// A response frame the wire forbids: `response` encoded, then the last byte `from` of the
    /// encoding changed to `to` (the encoder refuses such responses).
    fn forbidden_frame(response: &Response, from: u8, to: u8) -> Vec<u8> {
        let mut payload = encode_response(response).unwrap();
        let at = payload.iter().rposition(|byte| *byte == from).unwrap();
        payload[at] = to;
        frame(FrameKind::Response, &payload)
    }

    fn error_frame(code: &str, message: &str) -> Vec<u8> {
        frame(
            FrameKind::Error,
            &encode_error(&WireError::new(code, message)).unwrap(),
        )
    }

    fn body_json(response: http::Response<Body>) -> serde_json::Value {
        let bytes = futures_block(response.into_body().collect())
            .unwrap()
            .to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn futures_block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_response_frame_with_exit_0_passes_through() {
        let wire = Response::text(201, "made")
            .with_header("x-a", "1")
            .with_header("content-length", "77");
        let outcome = classify(&response_frame(&wire), ExitState::Exited(0), b"noise");
        assert_eq!(outcome.status(), StatusCode::CREATED);
        assert_eq!(outcome.log_name(), "ok");
        assert!(!outcome.is_failure());
        assert_eq!(outcome.stderr(), b"noise");
        let response = outcome.into_response("rid-1");
        assert_eq!(response.headers()["x-a"], "1");
        assert_eq!(response.headers()["x-request-id"], "rid-1");
        assert!(response.headers().get("content-length").is_none());
    }

    #[test]
    fn a_response_with_an_error_field_is_a_logged_function_error() {
        let wire = fezz_abi::boundary::panic_response("fixture panic");
        let outcome = classify(&response_frame(&wire), ExitState::Exited(0), b"");
        assert_eq!(outcome.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(outcome.log_name(), "function-error");
        assert_eq!(
            outcome.log_detail().as_deref(),
            Some("panic: fixture panic")
        );
        assert!(outcome.is_failure());
        let json = body_json(outcome.into_response("r"));
        assert_eq!(json["error"]["message"], "fixture panic");
    }

    #[test]
    fn exit_14_with_an_error_frame_is_500() {
        let outcome = classify(
            &error_frame("function-failed", "fixture-error: fixture error"),
            ExitState::Exited(14),
            b"",
        );
        assert_eq!(outcome.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json = body_json(outcome.into_response("rid"));
        assert_eq!(json["error"]["code"], "function-failed");
        assert_eq!(json["error"]["request_id"], "rid");
        assert!(json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fixture error"));
    }

    // Exercises [req:host-tolerates-missing-error-frame] (spec/RUNNER.md).
    #[test]
    fn exit_14_without_an_error_frame_is_still_500() {
        for stdout in [
            Vec::new(),
            b"junk".to_vec(),
            response_frame(&Response::new(200)),
        ] {
            let outcome = classify(&stdout, ExitState::Exited(14), b"");
            assert_eq!(outcome.code(), Some("function-failed"), "{stdout:?}");
            assert_eq!(outcome.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(outcome.message(), "the function failed");
            assert!(outcome
                .log_detail()
                .unwrap()
                .starts_with("no valid error frame"));
        }
    }

    #[test]
    fn signals_are_crashes_named_by_signal() {
        for (signal, name) in [(11, "SIGSEGV"), (6, "SIGABRT"), (9, "SIGKILL")] {
            let outcome = classify(
                &response_frame(&Response::new(200)),
                ExitState::Signaled(signal),
                b"",
            );
            assert_eq!(outcome.status(), StatusCode::BAD_GATEWAY);
            assert_eq!(outcome.log_name(), format!("runner-crashed({name})"));
            let json = body_json(outcome.into_response("r"));
            assert_eq!(json["error"]["code"], "runner-crashed");
            assert!(json["error"]["message"].as_str().unwrap().contains(name));
        }
        assert_eq!(signal_name(200), "signal 200");
    }

    #[test]
    fn other_exits_are_runner_failures_with_their_frame() {
        let outcome = classify(
            &error_frame("library-load-failed", "cannot open /secret/path"),
            ExitState::Exited(11),
            b"",
        );
        assert_eq!(outcome.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(outcome.log_name(), "runner-failed(11)");
        assert!(outcome.log_detail().unwrap().contains("/secret/path"));
        let message = outcome.message();
        assert!(
            message.contains("library-load-failed") && !message.contains("/secret"),
            "{message}"
        );
        let outcome = classify(b"", ExitState::Exited(127), b"sh: not found");
        assert_eq!(outcome.code(), Some("runner-failed"));
        assert!(outcome.log_detail().unwrap().contains("no frame"));
    }

    #[test]
    fn exit_0_output_problems_are_bad_output() {
        let good = response_frame(&Response::new(200));
        let mut extra = good.clone();
        extra.push(0);
        let mut twice = good.clone();
        twice.extend_from_slice(&good);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "no frame"),
            (good[..good.len() - 1].to_vec(), "frame-truncated"),
            (extra, "after the"),
            (twice, "after the"),
            (b"GARBAGE!".to_vec(), "frame-bad-magic"),
            (error_frame("x", "y"), "Error frame"),
            (frame(FrameKind::Response, b"\xa0"), "response frame"),
            (
                forbidden_frame(&Response::new(200), 200, 101),
                "informational",
            ),
            (
                forbidden_frame(&Response::new(200).with_header("x-bell", "~"), b'~', 7),
                "0x07",
            ),
            (vec![0; MAX_STDOUT_BYTES + 1], "more than"),
        ];
        for (stdout, why) in cases {
            let outcome = classify(&stdout, ExitState::Exited(0), b"");
            assert_eq!(outcome.code(), Some("bad-output"), "{why}");
            let detail = outcome.log_detail().unwrap();
            assert!(detail.contains(why), "{why}: {detail}");
        }
    }

    #[test]
    fn a_response_the_wire_forbids_is_explained_to_the_client() {
        // Passed on by a runner that does not check (exit 0): hhrf's decoder refuses it.
        let cases = [
            (
                forbidden_frame(&Response::new(200), 200, 103),
                "status 103 is informational (1xx)",
            ),
            (
                forbidden_frame(&Response::new(200).with_header("x-colour", "~"), b'~', 0x1b),
                "header \"x-colour\": header value has the control byte 0x1b",
            ),
        ];
        for (stdout, why) in cases {
            let outcome = classify(&stdout, ExitState::Exited(0), b"");
            assert_eq!(outcome.code(), Some("bad-output"), "{why}");
            let json = body_json(outcome.into_response("r"));
            let message = json["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with("the function returned a response that cannot be sent: ")
                    && message.contains(why),
                "{message}"
            );
        }
        // Garbage is not explained as the function's response.
        let outcome = classify(b"GARBAGE!", ExitState::Exited(0), b"");
        assert!(!outcome.message().contains("cannot be sent"));
        // The reference runner refuses it (exit 15): its error frame names the rule.
        let outcome = classify(
            &error_frame(
                "response-invalid",
                "invalid-value at byte 4 in `status`: status 101 is informational (1xx)",
            ),
            ExitState::Exited(15),
            b"",
        );
        assert_eq!(outcome.code(), Some("runner-failed"));
        let message = outcome.message();
        assert!(
            message.starts_with("the function returned a response that cannot be sent")
                && message.contains("status 101 is informational")
                && message.contains("15"),
            "{message}"
        );
        // Another exit code's frame is not shown (it may name paths).
        let outcome = classify(
            &error_frame("response-invalid", "/secret"),
            ExitState::Exited(11),
            b"",
        );
        assert!(!outcome.message().contains("/secret"));
    }

    #[test]
    fn timeouts_win_over_everything() {
        let outcome = classify(
            &response_frame(&Response::new(200)),
            ExitState::TimedOut,
            b"late",
        );
        assert_eq!(outcome.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(outcome.code(), Some("timeout"));
        assert_eq!(outcome.stderr(), b"late");
    }

    #[test]
    fn stderr_keeps_only_the_tail() {
        let mut stderr = vec![b'a'; MAX_STDERR_BYTES];
        stderr.extend_from_slice(b"END");
        let outcome = classify(b"", ExitState::Exited(0), &stderr);
        assert_eq!(outcome.stderr().len(), MAX_STDERR_BYTES);
        assert!(outcome.stderr().ends_with(b"END"));
    }

    #[test]
    fn refusals_map_to_their_statuses_and_codes() {
        let cases = [
            (Outcome::NotFound, 404, "not-found"),
            (
                Outcome::MethodNotAllowed {
                    allow: "GET, HEAD".into(),
                },
                405,
                "method-not-allowed",
            ),
            (Outcome::RequestTimeout, 408, "request-timeout"),
            (
                Outcome::BodyTooLarge { length: Some(9) },
                413,
                "body-too-large",
            ),
            (Outcome::UriTooLong { limit: 1 }, 414, "uri-too-long"),
            (
                Outcome::HeadersTooLarge { reason: "x".into() },
                431,
                "headers-too-large",
            ),
            (
                Outcome::BadRequest { reason: "x".into() },
                400,
                "bad-request",
            ),
            (
                Outcome::SpawnFailed {
                    reason: "ENOENT".into(),
                },
                502,
                "spawn-failed",
            ),
        ];
        for (outcome, status, code) in cases {
            let response = outcome.into_response("id-7");
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()["content-type"], "application/json");
            assert_eq!(response.headers()["x-request-id"], "id-7");
            if status == 405 {
                assert_eq!(response.headers()["allow"], "GET, HEAD");
            }
            let json = body_json(response);
            assert_eq!(json["error"]["code"], code);
            assert_eq!(json["error"]["request_id"], "id-7");
        }
    }

    #[test]
    fn health_answers_ok_or_draining() {
        let outcome = Outcome::Health {
            functions: 3,
            draining: false,
            admission: AdmissionStats::default(),
        };
        assert_eq!(outcome.log_name(), "health");
        assert!(!outcome.is_failure());
        let response = outcome.into_response("id-1");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["x-request-id"], "id-1");
        let json = body_json(response);
        assert_eq!(json["status"], "ok");
        assert_eq!(json["functions"], 3);
        assert_eq!(json["admission"]["in_flight"], 0);
        assert_eq!(json["admission"]["memory_reserved_bytes"], 0);
        let outcome = Outcome::Health {
            functions: 0,
            draining: true,
            admission: AdmissionStats::default(),
        };
        assert_eq!(outcome.log_name(), "health-draining");
        let response = outcome.into_response("id-2");
        // Liveness: a draining server is alive.
        assert_eq!(response.status(), StatusCode::OK);
        let json = body_json(response);
        assert_eq!(
            (&json["status"], &json["functions"]),
            (&serde_json::json!("draining"), &serde_json::json!(0))
        );
    }

    #[test]
    fn classify_is_total_on_odd_input() {
        let mut header_only = frame_header(FrameKind::Response, 0).to_vec();
        header_only[7] = 0xff;
        let inputs: [&[u8]; 5] = [
            b"",
            b"FZ",
            b"FZ\x02\x00\xff\xff\xff\xff",
            &header_only,
            b"FZ\x09\x00\x00\x00\x00\x00",
        ];
        for stdout in inputs {
            for exit in [
                ExitState::Exited(0),
                ExitState::Exited(14),
                ExitState::Exited(-1),
                ExitState::Exited(i32::MAX),
                ExitState::Signaled(0),
                ExitState::Signaled(-5),
                ExitState::TimedOut,
            ] {
                let outcome = classify(stdout, exit, &[0xff; 3]);
                let _ = outcome.clone().into_response("\u{0}bad id");
                let _ = (outcome.log_name(), outcome.message(), outcome.log_detail());
            }
        }
        let _ = Header::new("a", "b");
    }
}
