//! One call of a function, outside the server, exactly as hhrf would run it (`hhrf invoke`,
//! `spec/HTTP.md`, "Subcommands").
//!
//! What lives here: [`Target`] (a library file, or a deployed `id@version`) and
//! [`Target::function`] (the [`Function`] hhrf would call: with the manifest's env, limits,
//! sandbox and timeout), [`CallSpec`] (the request as the command line gives it),
//! [`invoke`] (build the `fezz-request` with `dispatch`'s rules, run it with
//! [`Runner::call`], classify it with [`classify`]) and the three renderings of what came back
//! ([`Invocation::text`], [`Invocation::json`], [`Invocation::diag`]). What does not: parsing
//! the command line (`cli`), the runner process itself (`runner`).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use fezz_abi::frame::split_frame;
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{encode_request, Request};

use crate::dispatch;
use crate::manifest::{Manifest, TimeoutMs, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use crate::outcome::{classify, signal_name, ExitState, Outcome};
use crate::registry::{Diagnostic, Function, Registry};
use crate::runner::{RunOutput, Runner};

/// The request id a call gets when `--request-id` is not given.
pub const DEFAULT_REQUEST_ID: &str = "invoke-00000001";

/// The client address the context carries when `--client-address` is not given.
pub const DEFAULT_CLIENT_ADDRESS: &str = "127.0.0.1:0";

/// Why a call could not be made at all (the function was not found or the request cannot be
/// built). What became of a call that was made is an [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The library file or the function folder is not there or not usable.
    #[error("{0}")]
    Target(String),
    /// The request the command line describes is not an HTTP request.
    #[error("{0}")]
    Request(String),
}

/// What to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A library file; a `fezz.json` beside it whose `entry` names it applies.
    Library(PathBuf),
    /// A deployed function, `id@version`, in `root/functions/`.
    Deployed {
        /// The folder that holds `functions/`.
        root: PathBuf,
        /// `id@version`.
        name: String,
    },
}

impl Target {
    /// Reads a target as written: `id@version` (no `/`, and no file of that name exists) is a
    /// deployed function in `root`; anything else is a library path.
    pub fn parse(text: &str, root: &Path) -> Target {
        if text.contains('@') && !text.contains('/') && !Path::new(text).exists() {
            Target::Deployed {
                root: root.to_owned(),
                name: text.to_owned(),
            }
        } else {
            Target::Library(PathBuf::from(text))
        }
    }

    /// The function hhrf would call for this target. A deployed function is loaded with
    /// [`Registry::load`], so its manifest applies exactly as when served; a library file
    /// runs in its own folder, with the manifest beside it when that manifest's `entry` names
    /// it, else as `local@0` with the default sandbox and no env or limits.
    pub fn function(&self) -> Result<Function, InvokeError> {
        match self {
            Target::Deployed { root, name } => {
                let (registry, diagnostics) =
                    Registry::load(root).map_err(|error| InvokeError::Target(error.to_string()))?;
                match registry.function(name) {
                    Some(function) => Ok(Function::clone(function)),
                    None => Err(InvokeError::Target(not_deployed(root, name, &diagnostics))),
                }
            }
            Target::Library(path) => library_function(path),
        }
    }
}

/// Why `name` is not in the registry: its folder's diagnostic, or that there is no folder.
fn not_deployed(root: &Path, name: &str, diagnostics: &[Diagnostic]) -> String {
    let folder = format!("/{name}/");
    let related: Vec<String> = diagnostics
        .iter()
        .map(ToString::to_string)
        .filter(|line| line.contains(&folder))
        .collect();
    if related.is_empty() {
        format!(
            "no function {name} in {}: deploy it into {}/{}/{name}/",
            root.display(),
            root.display(),
            crate::registry::FUNCTIONS_DIR
        )
    } else {
        format!("function {name} does not load: {}", related.join("; "))
    }
}

/// The [`Function`] for a library file (see [`Target::function`]).
fn library_function(path: &Path) -> Result<Function, InvokeError> {
    // Absolute, but symbolic links kept: the folder is the one the path names, as for a
    // function folder whose library is a link.
    let library = std::path::absolute(path)
        .map_err(|error| InvokeError::Target(format!("{}: {error}", path.display())))?;
    if !library.is_file() {
        return Err(InvokeError::Target(format!(
            "{} is not a library file (nor an id@version deployed in --root)",
            path.display()
        )));
    }
    let folder = library
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("/"));
    let manifest_path = folder.join(MANIFEST_FILE);
    let file_name = library
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // One byte past the limit, so that `Manifest::parse` reports a file that is too large.
    let read_manifest = |path: &Path| -> std::io::Result<Vec<u8>> {
        use std::io::Read as _;
        let mut bytes = Vec::new();
        fs::File::open(path)?
            .take(MAX_MANIFEST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let manifest = match read_manifest(&manifest_path) {
        Ok(bytes) => {
            let manifest = Manifest::parse(&bytes).map_err(|error| {
                InvokeError::Target(format!("{}: {error}", manifest_path.display()))
            })?;
            manifest
                .entry
                .candidates()
                .contains(&file_name)
                .then_some(manifest)
        }
        Err(_) => None,
    };
    let invalid = |error| InvokeError::Target(format!("{}: {error}", manifest_path.display()));
    Ok(match manifest {
        Some(manifest) => Function {
            sandbox: manifest.sandbox.resolve(&folder).map_err(invalid)?,
            id: manifest.id,
            version: manifest.version,
            folder,
            library,
            manifest_path,
            timeout: manifest.timeout,
            env: manifest
                .env
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect(),
            limits: manifest.limits,
            mode: manifest.mode,
            deployment: None,
        },
        None => Function {
            id: crate::manifest::FunctionId::new("local").map_err(InvokeError::Target)?,
            version: crate::manifest::Version::new("0").map_err(InvokeError::Target)?,
            sandbox: crate::manifest::sandbox::Sandbox::default()
                .resolve(&folder)
                .map_err(invalid)?,
            folder,
            library,
            manifest_path,
            timeout: None,
            env: Vec::new(),
            limits: Default::default(),
            mode: Default::default(),
            deployment: None,
        },
    })
}

/// The request of one call, as the command line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSpec {
    /// The method (`-X`).
    pub method: String,
    /// The path the function sees, with an optional `?query`.
    pub target: String,
    /// Header fields in order (`-H`).
    pub headers: Vec<(String, String)>,
    /// The body (`-d`, `--data-file`).
    pub body: Vec<u8>,
    /// The context's request id.
    pub request_id: String,
    /// The context's client address.
    pub client_address: String,
    /// The context's host; by default the `Host` header's, if any.
    pub host: Option<String>,
    /// The context's deadline in ms since the Unix epoch; by default now plus the timeout.
    pub deadline_unix_ms: Option<u64>,
    /// How long the call may run; by default the manifest's timeout, else `default_timeout`.
    pub timeout: Option<TimeoutMs>,
}

impl CallSpec {
    /// A `GET` of `target` with no headers or body and the default context.
    pub fn get(target: impl Into<String>) -> CallSpec {
        CallSpec {
            method: "GET".to_owned(),
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
            request_id: DEFAULT_REQUEST_ID.to_owned(),
            client_address: DEFAULT_CLIENT_ADDRESS.to_owned(),
            host: None,
            deadline_unix_ms: None,
            timeout: None,
        }
    }
}

/// One finished call: the request sent, what the runner left, and its outcome.
#[derive(Debug)]
pub struct Invocation {
    /// The `fezz-request` (absent when the request was refused before any call).
    pub request: Option<Request>,
    /// Its encoding, as the runner received it.
    pub payload: Vec<u8>,
    /// What the runner left (absent when no runner ran).
    pub output: Option<RunOutput>,
    /// What became of the call, as hhrf classifies it.
    pub outcome: Outcome,
}

/// Builds the `fezz-request` for `spec` with the rules hhrf applies to an HTTP request
/// (`dispatch::request_context`, `dispatch::wire_request`: hop-by-hop fields dropped, the
/// wire limits), runs it through `runner` with the function's deadline, and classifies the
/// output. A request past a wire limit ends as the outcome hhrf would answer it with (413,
/// 414, 431), without a call.
pub async fn invoke(
    runner: &Runner,
    function: &Function,
    spec: CallSpec,
    default_timeout: TimeoutMs,
) -> Result<Invocation, InvokeError> {
    let mut builder = http::Request::builder()
        .method(spec.method.as_str())
        .uri(spec.target.as_str());
    for (name, value) in &spec.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|error| InvokeError::Request(format!("the request is not valid HTTP: {error}")))?
        .into_parts();
    if parts.uri.scheme().is_some() || !parts.uri.path().starts_with('/') {
        return Err(InvokeError::Request(format!(
            "the path {:?} must start with '/' (a path with an optional ?query)",
            spec.target
        )));
    }
    let timeout = spec.timeout.or(function.timeout).unwrap_or(default_timeout);
    let started = Instant::now();
    let deadline = started + timeout.duration();
    let deadline_unix_ms = spec.deadline_unix_ms.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(timeout.duration())
            .as_millis() as u64
    });
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    let mut context = dispatch::request_context(
        function,
        &spec.request_id,
        deadline_unix_ms,
        unspecified,
        &parts,
    );
    context.client_address = Some(spec.client_address);
    if spec.host.is_some() {
        context.host = spec.host;
    }
    let path = parts.uri.path().to_owned();
    let refused = |outcome| Invocation {
        request: None,
        payload: Vec::new(),
        output: None,
        outcome,
    };
    let request = match dispatch::wire_request(&parts, path, spec.body, context) {
        Ok(request) => request,
        Err(outcome) => return Ok(refused(outcome)),
    };
    let payload = match encode_request(&request) {
        Ok(payload) => payload,
        Err(error) => {
            return Ok(refused(Outcome::BadRequest {
                reason: format!("the request cannot be sent to a function: {error}"),
            }))
        }
    };
    let (output, outcome) = match runner.call(function, &payload, deadline).await {
        Ok(output) => {
            let outcome = classify(&output.stdout, output.exit, &output.stderr);
            (Some(output), outcome)
        }
        Err(error) => (
            None,
            Outcome::SpawnFailed {
                reason: format!("{}: {error}", runner.program().display()),
            },
        ),
    };
    Ok(Invocation {
        request: Some(request),
        payload,
        output,
        outcome,
    })
}

/// The text rendering: what goes to stdout and what goes to stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The response: status line, headers, a blank line, the body.
    pub stdout: Vec<u8>,
    /// The function's stderr between two marker lines, and on failure the outcome.
    pub stderr: String,
}

impl Invocation {
    /// Whether the function answered (any status): the only case `hhrf invoke` exits 0.
    pub fn answered(&self) -> bool {
        matches!(self.outcome, Outcome::Response { .. })
    }

    /// The runner's stderr (its last [`fezz_abi::limits::MAX_STDERR_BYTES`]).
    pub fn stderr(&self) -> &[u8] {
        self.outcome.stderr()
    }

    /// How the runner ended, in words: `exit code 0`, `exit code 14 (function-failed)`,
    /// `killed by SIGSEGV`, `killed at the deadline`; `None` when no runner ran.
    pub fn runner_exit(&self) -> Option<String> {
        Some(match self.output.as_ref()?.exit {
            ExitState::Exited(code) => match RunnerExit::from_code(code) {
                Some(known) if code != 0 => format!("exit code {code} ({})", known.error_code()),
                _ => format!("exit code {code}"),
            },
            ExitState::Signaled(signal) => format!("killed by {}", signal_name(signal)),
            ExitState::TimedOut => "killed at the deadline".to_owned(),
        })
    }

    /// The response as text: `HTTP/1.1 STATUS REASON`, `name: value` lines, a blank line and
    /// the body (as is when `raw` or when it is text; else with non-text bytes escaped as
    /// `\xNN`). The function's stderr, when there is any, and on failure the outcome's code,
    /// message, detail and the runner's exit, go to the `stderr` part.
    pub fn text(&self, raw: bool) -> Rendered {
        let mut stdout = Vec::new();
        let mut stderr = String::new();
        let function_stderr = self.stderr();
        if !function_stderr.is_empty() {
            stderr.push_str(&format!(
                "--- function stderr ({} bytes) ---\n",
                function_stderr.len()
            ));
            let text = String::from_utf8_lossy(function_stderr);
            stderr.push_str(&text);
            if !text.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str("--- end of function stderr ---\n");
        }
        match &self.outcome {
            Outcome::Response { response, .. } => {
                stdout.extend_from_slice(status_line(response.status).as_bytes());
                for (name, value) in &response.headers {
                    stdout.extend_from_slice(name.as_str().as_bytes());
                    stdout.extend_from_slice(b": ");
                    stdout.extend_from_slice(value.as_bytes());
                    stdout.push(b'\n');
                }
                stdout.push(b'\n');
                if raw || is_text(&response.body) {
                    stdout.extend_from_slice(&response.body);
                } else {
                    stdout.extend(response.body.escape_ascii());
                    stdout.push(b'\n');
                }
                if let Some(error) = &response.error {
                    stderr.push_str(&format!(
                        "hhrf: the function reported an error: {}: {}\n",
                        error.code, error.message
                    ));
                }
            }
            outcome => {
                stderr.push_str(&format!(
                    "hhrf: the call failed: {} {}: {}\n",
                    outcome.status().as_u16(),
                    outcome.code().unwrap_or("error"),
                    outcome.message()
                ));
                if let Some(detail) = outcome.log_detail() {
                    stderr.push_str(&format!("hhrf: detail: {detail}\n"));
                }
                if let Some(exit) = self.runner_exit() {
                    stderr.push_str(&format!("hhrf: runner: {exit}\n"));
                }
            }
        }
        Rendered { stdout, stderr }
    }

    /// One JSON object: `outcome` (`ok`, `function-error` or the error code), `status`,
    /// `headers` as `[name, value]` pairs, `body` with `body_encoding` (`utf-8` or
    /// `base64`), `stderr`, `runner` (`exit_code`, `signal`, `timed_out`; `null` when no
    /// runner ran) and, for a failure, `error` (`code`, `message`, `detail`).
    pub fn json(&self) -> serde_json::Value {
        use serde_json::json;
        let runner = self.output.as_ref().map(|output| match output.exit {
            ExitState::Exited(code) => {
                json!({"exit_code": code, "signal": null, "timed_out": false})
            }
            ExitState::Signaled(signal) => {
                json!({"exit_code": null, "signal": signal_name(signal), "timed_out": false})
            }
            ExitState::TimedOut => json!({"exit_code": null, "signal": null, "timed_out": true}),
        });
        let stderr = String::from_utf8_lossy(self.stderr()).into_owned();
        match &self.outcome {
            Outcome::Response { response, .. } => {
                let headers: Vec<[String; 2]> = response
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        [
                            name.as_str().to_owned(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        ]
                    })
                    .collect();
                let (body, encoding) = match std::str::from_utf8(&response.body) {
                    Ok(text) => (text.to_owned(), "utf-8"),
                    Err(_) => (base64(&response.body), "base64"),
                };
                json!({
                    "outcome": self.outcome.log_name(),
                    "status": response.status.as_u16(),
                    "headers": headers,
                    "body": body,
                    "body_encoding": encoding,
                    "stderr": stderr,
                    "runner": runner,
                    "error": response.error.as_ref().map(|error| json!({
                        "code": error.code, "message": error.message, "detail": null
                    })),
                })
            }
            outcome => json!({
                "outcome": outcome.log_name(),
                "status": outcome.status().as_u16(),
                "headers": [],
                "body": null,
                "body_encoding": null,
                "stderr": stderr,
                "runner": runner,
                "error": {
                    "code": outcome.code(),
                    "message": outcome.message(),
                    "detail": outcome.log_detail(),
                },
            }),
        }
    }

    /// The request and what the runner answered, in CBOR diagnostic notation: a line
    /// `request:`, the request, a line `response:` and the payload of the runner's frame (a
    /// `fezz-response` or a `fezz-error`), or a `# …` line saying why there is none.
    pub fn diag(&self) -> String {
        let mut text = String::from("request:\n");
        if self.request.is_some() {
            text.push_str(&diag_of(&self.payload));
        } else {
            text.push_str("# no request was sent");
        }
        text.push_str("\nresponse:\n");
        match &self.output {
            None => text.push_str("# no runner ran"),
            Some(output) => match split_frame(&output.stdout) {
                Ok((_kind, payload, [])) => text.push_str(&diag_of(payload)),
                Ok(_) => text.push_str("# the runner wrote more than one frame"),
                Err(error) => text.push_str(&format!("# no valid frame on stdout: {error}")),
            },
        }
        text.push('\n');
        text
    }
}

/// `bytes` in pretty diagnostic notation, or a `#` line saying why they are not CBOR.
fn diag_of(bytes: &[u8]) -> String {
    match cbor_diag::parse_bytes(bytes) {
        Ok(item) => item.to_diag_pretty(),
        Err(error) => format!("# not CBOR: {error}"),
    }
}

/// `HTTP/1.1 200 OK`.
fn status_line(status: http::StatusCode) -> String {
    format!(
        "HTTP/1.1 {} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .replace(" \n", "\n")
}

/// Whether a body prints as is: UTF-8 without control characters other than tab, CR and LF.
fn is_text(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
    })
}

/// Standard base64 with padding (RFC 4648, section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in vectors {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn targets_are_libraries_unless_they_look_like_id_at_version() {
        let root = Path::new("/srv");
        assert_eq!(
            Target::parse("hello@1", root),
            Target::Deployed {
                root: root.to_owned(),
                name: "hello@1".to_owned()
            }
        );
        assert_eq!(
            Target::parse("./lib@1.so", root),
            Target::Library(PathBuf::from("./lib@1.so"))
        );
        assert_eq!(
            Target::parse("libhello.so", root),
            Target::Library(PathBuf::from("libhello.so"))
        );
    }

    #[test]
    fn text_bodies_print_as_is_and_others_escaped() {
        assert!(is_text(b"hello\n\tworld\r\n"));
        assert!(is_text("héllo".as_bytes()));
        assert!(!is_text(b"\x00\x01"));
        assert!(!is_text(b"\xff"));
        assert_eq!(status_line(http::StatusCode::OK), "HTTP/1.1 200 OK\n");
        assert_eq!(
            status_line(http::StatusCode::from_u16(599).unwrap()),
            "HTTP/1.1 599\n"
        );
    }
}
