//! hhrf's log: one line per event on stderr, `hhrf: ` first, values in `key=value` form.
//!
//! What lives here: [`line()`] (any event), [`RequestLog`] (the one line each request gets,
//! written even when the client goes away mid-call) and the quoting rules. Writing never
//! fails loudly: a closed stderr loses log lines, it never stops the server.

use std::fmt::{self, Display, Write as _};
use std::io::Write as _;
use std::net::SocketAddr;

use tokio::time::Instant;

use crate::outcome::Outcome;

/// Writes `hhrf: <text>` and a newline to stderr, ignoring errors.
pub fn line(text: impl Display) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "hhrf: {text}");
}

/// A value that needs no quotes: non-empty printable ASCII without `"`, `\`, `=`, spaces.
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'='))
}

/// Appends ` key=value`, quoting and escaping the value when needed.
fn field(out: &mut String, key: &str, value: &str) {
    if is_bare(value) {
        let _ = write!(out, " {key}={value}");
    } else {
        let _ = write!(out, " {key}={value:?}");
    }
}

/// Appends ` key="…"` with every byte that is not printable ASCII escaped (`\n`, `\xff`).
fn bytes_field(out: &mut String, key: &str, value: &[u8]) {
    let _ = write!(out, " {key}=\"{}\"", value.escape_ascii());
}

/// The log line of one request. Built when the request arrives; [`RequestLog::finish`]
/// writes it with the outcome. If it is dropped unfinished (the client closed the
/// connection and hyper dropped the call), it writes `outcome=client-gone`.
pub struct RequestLog {
    id: String,
    client: SocketAddr,
    method: String,
    path: String,
    function: Option<String>,
    started: Instant,
    finished: bool,
}

impl RequestLog {
    /// Starts the line for a request.
    pub fn start(id: &str, client: SocketAddr, method: &str, path: &str) -> Self {
        RequestLog {
            id: id.to_owned(),
            client,
            method: method.to_owned(),
            path: path.to_owned(),
            function: None,
            started: Instant::now(),
            finished: false,
        }
    }

    /// Records which function serves the request.
    pub fn set_function(&mut self, name: String) {
        self.function = Some(name);
    }

    fn head(&self) -> String {
        let mut out = String::from("request");
        field(&mut out, "id", &self.id);
        field(&mut out, "client", &self.client.to_string());
        field(&mut out, "method", &self.method);
        field(&mut out, "path", &self.path);
        field(
            &mut out,
            "function",
            self.function.as_deref().unwrap_or("-"),
        );
        out
    }

    fn duration(&self) -> String {
        self.started.elapsed().as_millis().to_string()
    }

    /// Writes the line: status, outcome, duration, and for failures the detail and the
    /// runner's stderr tail.
    pub fn finish(mut self, outcome: &Outcome) {
        self.finished = true;
        let mut out = self.head();
        field(&mut out, "status", outcome.status().as_str());
        field(&mut out, "outcome", &outcome.log_name());
        field(&mut out, "duration_ms", &self.duration());
        if outcome.is_failure() {
            if let Some(detail) = outcome.log_detail() {
                field(&mut out, "detail", &detail);
            }
            if !outcome.stderr().is_empty() {
                bytes_field(&mut out, "stderr", outcome.stderr());
            }
        }
        line(out);
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if !self.finished {
            let mut out = self.head();
            field(&mut out, "status", "-");
            field(&mut out, "outcome", "client-gone");
            field(&mut out, "duration_ms", &self.duration());
            line(out);
        }
    }
}

/// Formats a list for a startup line: `a, b, c` or `none`.
pub struct List<'a>(pub &'a [String]);

impl Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&self.0.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_only_when_needed() {
        let mut out = String::new();
        field(&mut out, "a", "plain/path@1");
        field(&mut out, "b", "two words");
        field(&mut out, "c", "x=\"y\"\n");
        field(&mut out, "d", "");
        bytes_field(&mut out, "e", b"line\n\xff\"");
        assert_eq!(
            out,
            r#" a=plain/path@1 b="two words" c="x=\"y\"\n" d="" e="line\n\xff\"""#
        );
    }
}
