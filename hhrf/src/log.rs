//! hhrf's log (`spec/HTTP.md`, "Log"): events with typed fields, emitted with `tracing` and
//! written on stderr by `tracing-subscriber`, one line per event: `hhrf: message key=value…`
//! by default ([`LogFormat::Human`]), or one JSON object per line ([`LogFormat::Json`],
//! `--log-format json`).
//!
//! What lives here: [`init`] (the process's subscriber), [`line()`] (any event),
//! [`RequestLog`] (the one event each request gets, written even when the client goes away
//! mid-call), [`function_stderr`] (what a function wrote to stderr, on every call, bounded)
//! and the human format's quoting rules. Writing never fails loudly: a closed stderr loses
//! log lines, it never stops the server. Before [`init`] (and in the subcommands, which do
//! not call it) events are written in the human format all the same.

use std::fmt::{self, Display, Write as _};
use std::net::SocketAddr;
use std::sync::OnceLock;

use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::metrics::RunnerFacts;
use crate::outcome::{signal_name, ExitState, Outcome};

/// The most lines of a call's stderr logged as events ([`function_stderr`]); the earlier
/// ones are counted, not logged.
pub const MAX_STDERR_LOG_LINES: usize = 64;

/// The most bytes of one stderr line logged; the rest of the line is cut.
pub const MAX_STDERR_LOG_LINE_BYTES: usize = 1024;

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `hhrf: message key=value…`, values quoted only when needed.
    #[default]
    Human,
    /// One JSON object per line: `timestamp`, `level`, `message`, the fields, `target`.
    Json,
}

impl LogFormat {
    /// The names `--log-format` accepts.
    pub const NAMES: [&'static str; 2] = ["human", "json"];

    /// The format named `name` (`human` or `json`).
    pub fn from_name(name: &str) -> Option<LogFormat> {
        match name {
            "human" => Some(LogFormat::Human),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Fields whose values are already escaped bytes: written as `key="…"` as they are.
const ESCAPED_FIELDS: [&str; 2] = ["stderr", "line"];

/// The human format: `hhrf: ` and the message, then ` key=value` per field in order.
struct Human;

#[derive(Default)]
struct HumanLine {
    message: String,
    fields: String,
}

impl HumanLine {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if ESCAPED_FIELDS.contains(&field.name()) {
            let _ = write!(self.fields, " {}=\"{value}\"", field.name());
        } else {
            push_field(&mut self.fields, field.name(), value);
        }
    }
}

impl Visit for HumanLine {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, &value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, &value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

impl<S, N> FormatEvent<S, N> for Human
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = HumanLine::default();
        event.record(&mut line);
        writeln!(writer, "hhrf: {}{}", line.message, line.fields)
    }
}

fn human_dispatch() -> Dispatch {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .event_format(Human)
        .finish();
    Dispatch::new(subscriber)
}

fn json_dispatch() -> Dispatch {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .finish();
    Dispatch::new(subscriber)
}

/// Makes `format` the process's log format. The first call wins; later ones are ignored.
pub fn init(format: LogFormat) {
    let dispatch = match format {
        LogFormat::Human => human_dispatch(),
        LogFormat::Json => json_dispatch(),
    };
    let _ = tracing::dispatcher::set_global_default(dispatch);
}

/// Runs `emit` (which emits events) with the current subscriber (the process's, or a scoped
/// one), or in the human format when there is none ([`init`] was not called). `tracing`'s
/// own `has_been_set` cannot tell: it turns true for a scoped dispatcher too.
fn with_log(emit: impl FnOnce()) {
    let current = tracing::dispatcher::get_default(|current| {
        !current.is::<tracing::subscriber::NoSubscriber>()
    });
    if current {
        emit();
    } else {
        static FALLBACK: OnceLock<Dispatch> = OnceLock::new();
        tracing::dispatcher::with_default(FALLBACK.get_or_init(human_dispatch), emit);
    }
}

/// Writes one event whose message is `text` (human format: `hhrf: <text>`).
pub fn line(text: impl Display) {
    with_log(|| tracing::info!(target: "hhrf", "{text}"));
}

/// A value that needs no quotes: non-empty printable ASCII without `"`, `\`, `=`, spaces.
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'='))
}

/// Appends ` key=value`, quoting and escaping the value when needed.
fn push_field(out: &mut String, key: &str, value: &str) {
    if is_bare(value) {
        let _ = write!(out, " {key}={value}");
    } else {
        let _ = write!(out, " {key}={value:?}");
    }
}

/// How a runner ended, for the `exit` field: the code, the signal's name, or `timeout`.
pub fn exit_name(exit: ExitState) -> String {
    match exit {
        ExitState::Exited(code) => code.to_string(),
        ExitState::Signaled(signal) => signal_name(signal),
        ExitState::TimedOut => "timeout".to_owned(),
    }
}

/// The log event of one request. Built when the request arrives; [`RequestLog::finish`]
/// writes it with the outcome. If it is dropped unfinished (the client closed the
/// connection and hyper dropped the call), it writes `outcome=client-gone`.
pub struct RequestLog {
    id: String,
    client: SocketAddr,
    method: String,
    path: String,
    function: Option<String>,
    mode: Option<&'static str>,
    started: Instant,
    finished: bool,
}

impl RequestLog {
    /// Starts the event for a request.
    pub fn start(id: &str, client: SocketAddr, method: &str, path: &str) -> Self {
        RequestLog {
            id: id.to_owned(),
            client,
            method: method.to_owned(),
            path: path.to_owned(),
            function: None,
            mode: None,
            started: Instant::now(),
            finished: false,
        }
    }

    /// Records which function serves the request, in which execution mode.
    pub fn set_function(&mut self, name: String, mode: &'static str) {
        self.function = Some(name);
        self.mode = Some(mode);
    }

    /// The `<id>@<version>` of the function that serves the request, once routed.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// Writes the event: status, outcome, duration, for failures the detail and the
    /// runner's stderr tail, then what the runner run measured (`runner`).
    pub fn finish(mut self, outcome: &Outcome, runner: Option<&RunnerFacts>) {
        self.finished = true;
        let (detail, stderr) = if outcome.is_failure() {
            let stderr = outcome.stderr();
            (
                outcome.log_detail(),
                (!stderr.is_empty()).then(|| stderr.escape_ascii().to_string()),
            )
        } else {
            (None, None)
        };
        self.emit(
            outcome.status().as_str(),
            &outcome.log_name(),
            detail.as_deref(),
            stderr.as_deref(),
            runner,
        );
    }

    fn emit(
        &self,
        status: &str,
        outcome: &str,
        detail: Option<&str>,
        stderr: Option<&str>,
        runner: Option<&RunnerFacts>,
    ) {
        let duration_ms = self.started.elapsed().as_millis() as u64;
        let startup_us = runner
            .and_then(|runner| runner.startup)
            .map(|startup| startup.as_micros() as u64);
        let usage = runner.and_then(|runner| runner.usage);
        let cpu_us = usage.map(|usage| usage.cpu.as_micros() as u64);
        let peak_memory_bytes = usage.map(|usage| usage.peak_memory_bytes);
        let exit = runner.and_then(|runner| runner.exit).map(exit_name);
        with_log(|| {
            tracing::info!(
                target: "hhrf::request",
                id = self.id.as_str(),
                client = %self.client,
                method = self.method.as_str(),
                path = self.path.as_str(),
                function = self.function.as_deref().unwrap_or("-"),
                status,
                outcome,
                duration_ms,
                detail,
                stderr,
                mode = self.mode,
                startup_us,
                cpu_us,
                peak_memory_bytes,
                exit = exit.as_deref(),
                "request"
            )
        });
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if !self.finished {
            self.emit("-", "client-gone", None, None, None);
        }
    }
}

/// Logs what a function wrote to stderr during request `request` (its runner's kept tail,
/// `MAX_STDERR_BYTES`), one event per line: at most [`MAX_STDERR_LOG_LINES`] lines (the
/// last ones; one event counts the lines left out), each cut at
/// [`MAX_STDERR_LOG_LINE_BYTES`], bytes that are not printable ASCII escaped. Nothing for
/// an empty stderr.
pub fn function_stderr(request: &str, function: &str, stderr: &[u8]) {
    if stderr.is_empty() {
        return;
    }
    let text = stderr.strip_suffix(b"\n").unwrap_or(stderr);
    let lines: Vec<&[u8]> = text.split(|byte| *byte == b'\n').collect();
    let skipped = lines.len().saturating_sub(MAX_STDERR_LOG_LINES);
    with_log(|| {
        if skipped > 0 {
            tracing::info!(
                target: "hhrf::stderr",
                request,
                function,
                skipped_lines = skipped as u64,
                "stderr"
            );
        }
        for line in &lines[skipped..] {
            let cut = line.len() > MAX_STDERR_LOG_LINE_BYTES;
            let shown = &line[..line.len().min(MAX_STDERR_LOG_LINE_BYTES)];
            let line = shown.escape_ascii().to_string();
            let cut = cut.then_some(true);
            tracing::info!(
                target: "hhrf::stderr",
                request,
                function,
                line = line.as_str(),
                cut,
                "stderr"
            );
        }
    });
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
    use std::sync::{Arc, Mutex};

    #[test]
    fn values_are_quoted_only_when_needed() {
        let mut out = String::new();
        push_field(&mut out, "a", "plain/path@1");
        push_field(&mut out, "b", "two words");
        push_field(&mut out, "c", "x=\"y\"\n");
        push_field(&mut out, "d", "");
        assert_eq!(out, r#" a=plain/path@1 b="two words" c="x=\"y\"\n" d="""#);
    }

    /// A writer that appends to a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn captured(format: LogFormat, emit: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let make = move || writer.clone();
        let dispatch = match format {
            LogFormat::Human => Dispatch::new(
                tracing_subscriber::fmt()
                    .with_writer(make)
                    .event_format(Human)
                    .finish(),
            ),
            LogFormat::Json => Dispatch::new(
                tracing_subscriber::fmt()
                    .with_writer(make)
                    .json()
                    .flatten_event(true)
                    .finish(),
            ),
        };
        tracing::dispatcher::with_default(&dispatch, emit);
        buffer.text()
    }

    fn request_log() -> RequestLog {
        let mut log = RequestLog::start("ab-01", "127.0.0.1:9".parse().unwrap(), "GET", "/x y");
        log.set_function("fx@1".to_owned(), "fresh");
        log
    }

    #[test]
    fn the_request_event_in_both_formats() {
        let runner = RunnerFacts {
            startup: Some(std::time::Duration::from_micros(1500)),
            usage: None,
            exit: Some(ExitState::Signaled(11)),
            cold: true,
        };
        let outcome = Outcome::Crashed {
            signal: 11,
            stderr: b"boom\n\xff\"".to_vec(),
        };
        let human = captured(LogFormat::Human, || {
            request_log().finish(&outcome, Some(&runner))
        });
        assert!(
            human.starts_with(
                "hhrf: request id=ab-01 client=127.0.0.1:9 method=GET path=\"/x y\" function=fx@1 status=502 outcome=runner-crashed(SIGSEGV) duration_ms="
            ),
            "{human}"
        );
        assert!(
            human.ends_with(
                " stderr=\"boom\\n\\xff\\\"\" mode=fresh startup_us=1500 exit=SIGSEGV\n"
            ),
            "{human}"
        );
        let json = captured(LogFormat::Json, || {
            request_log().finish(&outcome, Some(&runner))
        });
        let json: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(json["message"], "request");
        assert_eq!(json["id"], "ab-01");
        assert_eq!(json["status"], "502");
        assert_eq!(json["startup_us"], 1500);
        assert_eq!(json["exit"], "SIGSEGV");
        assert_eq!(json["mode"], "fresh");
        assert!(json.get("cpu_us").is_none(), "{json}");
        let gone = captured(LogFormat::Human, || drop(request_log()));
        assert!(
            gone.contains(" status=- outcome=client-gone duration_ms="),
            "{gone}"
        );
    }

    #[test]
    fn stderr_is_logged_line_by_line_within_bounds() {
        let text = captured(LogFormat::Human, || {
            function_stderr("ab-02", "fx@1", b"first\nsecond line\n")
        });
        assert_eq!(
            text,
            "hhrf: stderr request=ab-02 function=fx@1 line=\"first\"\n\
             hhrf: stderr request=ab-02 function=fx@1 line=\"second line\"\n"
        );
        let mut flood = Vec::new();
        for n in 0..MAX_STDERR_LOG_LINES + 10 {
            flood.extend_from_slice(format!("line {n}\n").as_bytes());
        }
        flood.extend_from_slice(&vec![b'x'; 5000]);
        let text = captured(LogFormat::Human, || {
            function_stderr("ab-03", "fx@1", &flood)
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), MAX_STDERR_LOG_LINES + 1, "{text}");
        assert!(lines[0].ends_with("skipped_lines=11"), "{}", lines[0]);
        assert!(lines[1].ends_with("line=\"line 11\""), "{}", lines[1]);
        let last = lines.last().unwrap();
        assert!(last.ends_with("\" cut=true"), "{last}");
        assert!(last.len() < MAX_STDERR_LOG_LINE_BYTES + 100);
        assert_eq!(
            captured(LogFormat::Human, || function_stderr("a", "f", b"")),
            ""
        );
    }
}
