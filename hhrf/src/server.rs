//! The HTTP server: the accept loop, one hyper HTTP/1 connection task per client, the
//! request handler that turns a request into an [`Outcome`], and graceful shutdown.
//!
//! What lives here: [`Server`] (bind, run until stopped, drain), the handler, request ids.
//! What does not: the HTTP ↔ wire mapping (`dispatch`), the runner process (`runner`), the
//! outcome → response mapping (`outcome`).
//!
//! The accept loop never exits on an accept error: per-connection errors are skipped, and
//! resource errors (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) are logged and retried after a
//! back-off that doubles from 10 ms to 1 s. On the first stop request readiness turns 503 at
//! once and the listener keeps accepting for the drain delay (so load balancers see the
//! change before connections are refused); then the listener closes, idle connections
//! close, and in-flight calls finish (at most until the drain timeout); a second stop
//! request, or the timeout, ends them by killing their process groups. hhrf's own endpoints
//! are answered by `admin`.

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fezz_abi::encode_request;
use fezz_abi::limits::{MAX_BODY_BYTES, MAX_HEADER_COUNT};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::admin::{Admin, Listener};
use crate::admission::{AdmissionConfig, MemoryReservation, CALL_OVERHEAD_BYTES, RETRY_AFTER_S};
use crate::boundary::{catch_panic, panic_message};
use crate::client_io::{StalledWriteTimeout, WRITE_TIMEOUT};
use crate::config;
use crate::dispatch;
use crate::execution::{Called, Execution};
use crate::log::{self, RequestLog};
use crate::manifest::TimeoutMs;
use crate::metrics::{refusal_label, CallFacts, RunnerFacts};
use crate::outcome::{classify, Body, Outcome, MAX_STDOUT_BYTES};
use crate::proxy::{read_proxy_line, TrustedProxies};
use crate::registry::Routed;
use crate::runner::{ProcessGroups, Runner, REAP_GRACE};

/// How long a client may take to send a request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How often hhrf sweeps the processes it adopted as child subreaper (those that outlived
/// their call without holding its pipes), and reaps the ones that exited.
pub const ORPHAN_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The first and the largest pause after a failed `accept`.
pub const ACCEPT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(1));

/// Request ids: a random per-process prefix and a counter, `9f3a1c2e-00000001`.
#[derive(Debug)]
pub struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
            hasher.write_u128(now.as_nanos());
        }
        RequestIds {
            prefix: hasher.finish() as u32,
            next: AtomicU64::new(1),
        }
    }
}

impl RequestIds {
    /// The next id.
    pub fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:08x}", self.prefix)
    }
}

struct State {
    /// Readiness, metrics, admission, request ids and the functions, shared with the admin
    /// listener.
    admin: Arc<Admin>,
    execution: Execution,
    default_timeout: TimeoutMs,
    /// Whose `X-Forwarded-For` and PROXY line are believed (`--trusted-proxy`).
    proxies: TrustedProxies,
    /// Debug builds only: a request path whose handling panics on purpose, from
    /// `HHRF_TEST_PANIC_PATH`, so tests can show the panic boundary at work.
    panic_path: Option<String>,
}

/// How a server is set up besides its functions and runner.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The listen backlog asked for; capped by `net.core.somaxconn`.
    pub backlog: u32,
    /// The timeout of functions whose manifest sets none.
    pub default_timeout: TimeoutMs,
    /// Concurrency, queue and memory limits.
    pub admission: AdmissionConfig,
    /// How long the listener keeps accepting after a stop begins (`--drain-delay-ms`).
    pub drain_delay: Duration,
    /// How long in-flight calls may take to finish after the listener closes
    /// (`--drain-timeout-ms`); `None`: the longest function timeout plus `REAP_GRACE` plus 1 s.
    pub drain_timeout: Option<Duration>,
}

impl ServerSettings {
    /// `listen` and `default_timeout` with the default backlog and admission limits of
    /// [`crate::config`].
    pub fn new(listen: SocketAddr, default_timeout: TimeoutMs) -> Self {
        ServerSettings {
            listen,
            backlog: config::DEFAULT_BACKLOG as u32,
            default_timeout,
            admission: AdmissionConfig::new(
                config::DEFAULT_MAX_CALLS as usize,
                config::DEFAULT_MAX_QUEUE as usize,
                config::DEFAULT_MEMORY_BUDGET as usize,
            ),
            drain_delay: Duration::from_millis(config::DEFAULT_DRAIN_DELAY_MS),
            drain_timeout: None,
        }
    }

    /// The settings a [`Config`](crate::config::Config) asks for.
    pub fn from_config(config: &config::Config) -> Self {
        ServerSettings {
            listen: config.listen,
            backlog: config.backlog,
            default_timeout: config.default_timeout,
            admission: AdmissionConfig::new(
                config.max_calls,
                config.max_queue,
                config.memory_budget,
            ),
            drain_delay: config.drain_delay,
            drain_timeout: config.drain_timeout,
        }
    }
}

/// The kernel's cap on listen backlogs (`net.core.somaxconn`), when readable.
fn somaxconn() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
    groups: Arc<ProcessGroups>,
    drain_delay: Duration,
    drain_timeout: Option<Duration>,
}

impl Server {
    /// Binds `settings.listen` with its backlog and prepares to serve the functions of
    /// `admin` (which must be loaded: [`Admin::set_registry`]) with runner `program` (whose
    /// `PATH` will be `path_env`).
    pub async fn bind(
        settings: ServerSettings,
        admin: Arc<Admin>,
        program: std::path::PathBuf,
        path_env: Option<std::ffi::OsString>,
    ) -> io::Result<Server> {
        if admin.registry().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the functions are not loaded yet",
            ));
        }
        let groups = admin.groups.clone();
        let socket = if settings.listen.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(settings.listen)?;
        let backlog = somaxconn().map_or(settings.backlog, |cap| settings.backlog.min(cap.max(1)));
        let listener = socket.listen(backlog)?;
        let runner = Runner::new(program, path_env, groups.clone());
        let panic_path = if cfg!(debug_assertions) {
            std::env::var("HHRF_TEST_PANIC_PATH").ok()
        } else {
            None
        };
        Ok(Server {
            listener,
            state: Arc::new(State {
                admin,
                execution: Execution::new(runner),
                default_timeout: settings.default_timeout,
                proxies: TrustedProxies::default(),
                panic_path,
            }),
            groups,
            drain_delay: settings.drain_delay,
            drain_timeout: settings.drain_timeout,
        })
    }

    /// Believes `X-Forwarded-For` (and, with `proxy_protocol`, a PROXY line) from the peers
    /// of `proxies` (`spec/HTTP.md`, "Trusted proxies"); by default no peer is trusted.
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Server {
        if let Some(state) = Arc::get_mut(&mut self.state) {
            state.proxies = proxies;
        }
        self
    }

    /// The address actually bound (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How long a stop waits for in-flight calls once the listener is closed: the drain
    /// timeout when one is set, else the longest timeout of any function (or the default),
    /// plus the reap grace, plus one second.
    pub fn drain_limit(&self) -> Duration {
        if let Some(timeout) = self.drain_timeout {
            return timeout;
        }
        let registry = self.state.admin.registry();
        let functions = registry
            .as_ref()
            .map(|registry| registry.functions())
            .unwrap_or_default();
        let longest = functions
            .iter()
            .filter_map(|function| function.timeout)
            .chain([self.state.default_timeout])
            .max()
            .unwrap_or(self.state.default_timeout);
        longest.duration() + REAP_GRACE + Duration::from_secs(1)
    }

    /// Serves until the first message on `stop` (its text names the reason, e.g. the
    /// signal), then stops: readiness turns 503 at once, the listener keeps accepting for
    /// the drain delay, then closes, and in-flight calls get the drain limit to finish. A
    /// second message, during the delay or the drain, or the limit, ends the remaining calls.
    /// Returns when every connection is closed.
    pub async fn run(self, mut stop: mpsc::UnboundedReceiver<&'static str>) {
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let mut connections = JoinSet::new();
        let mut sweep = tokio::time::interval(ORPHAN_SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Without an end, this returns only with a stop message.
        let reason = self
            .accept_until(&mut connections, &shutdown_rx, &mut sweep, &mut stop, None)
            .await
            .unwrap_or("the stop channel closed");
        self.state.admin.readiness.stop();
        let limit = self.drain_limit();
        log::line(format_args!(
            "stopping ({reason}): /_fezz/ready answers 503; accepting connections for {} ms more, then draining for at most {} ms (a second signal stops at once)",
            self.drain_delay.as_millis(),
            limit.as_millis()
        ));
        let delay_end = Instant::now() + self.drain_delay;
        let second = self
            .accept_until(
                &mut connections,
                &shutdown_rx,
                &mut sweep,
                &mut stop,
                Some(delay_end),
            )
            .await;
        drop(self.listener);
        let drained = if second.is_some() {
            false
        } else {
            log::line(format_args!(
                "no new connections; draining {} connection(s) for at most {} ms",
                connections.len(),
                limit.as_millis()
            ));
            drop(shutdown_tx);
            tokio::select! {
                () = async { while connections.join_next().await.is_some() {} } => true,
                () = tokio::time::sleep(limit) => false,
                Some(_) = stop.recv() => false,
            }
        };
        if !drained {
            log::line(format_args!(
                "ending {} connection(s) and {} runner(s) without waiting",
                connections.len(),
                self.groups.len()
            ));
            connections.abort_all();
            while connections.join_next().await.is_some() {}
        }
        self.groups.kill_all();
        self.groups.sweep_orphans();
        log::line("stopped");
    }

    /// Accepts connections (and sweeps orphans) until a message on `stop`, whose text it
    /// returns, or until `until` passes (then `None`); without `until`, only a message ends
    /// it (a closed channel is no message).
    async fn accept_until(
        &self,
        connections: &mut JoinSet<()>,
        shutdown: &watch::Receiver<()>,
        sweep: &mut tokio::time::Interval,
        stop: &mut mpsc::UnboundedReceiver<&'static str>,
        until: Option<Instant>,
    ) -> Option<&'static str> {
        let mut backoff: Option<Duration> = None;
        let end = async {
            match until {
                Some(until) => tokio::time::sleep_until(until).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(end);
        loop {
            tokio::select! {
                Some(reason) = stop.recv() => return Some(reason),
                () = &mut end => return None,
                _ = sweep.tick() => crate::runner::log_swept(self.groups.sweep_orphans()),
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff = None;
                        let state = self.state.clone();
                        let shutdown = shutdown.clone();
                        connections.spawn(async move {
                            let Some((stream, client)) = proxied(stream, peer, &state.proxies).await else {
                                return;
                            };
                            let handler = move |request| handle(state.clone(), client, request);
                            serve_http(stream, shutdown, handler).await;
                        });
                    }
                    Err(error) if is_connection_error(&error) => {}
                    Err(error) => {
                        let pause = backoff.map_or(ACCEPT_BACKOFF.0, |last| (last * 2).min(ACCEPT_BACKOFF.1));
                        backoff = Some(pause);
                        log::line(format_args!(
                            "accept failed: {error}; retrying in {} ms",
                            pause.as_millis()
                        ));
                        tokio::select! {
                            Some(reason) = stop.recv() => return Some(reason),
                            () = tokio::time::sleep(pause) => {}
                        }
                    }
                },
            }
        }
    }
}

/// A new connection from `peer` and the address its requests come from: with
/// `--proxy-protocol`, a trusted peer's first line is a PROXY v1 line naming it (read within
/// [`HEADER_READ_TIMEOUT`]; a missing or bad one closes the connection, logged); otherwise
/// the peer.
async fn proxied(
    mut stream: TcpStream,
    peer: SocketAddr,
    proxies: &TrustedProxies,
) -> Option<(TcpStream, SocketAddr)> {
    if !proxies.proxy_protocol || !proxies.trusts(peer.ip()) {
        return Some((stream, peer));
    }
    match tokio::time::timeout(HEADER_READ_TIMEOUT, read_proxy_line(&mut stream)).await {
        Ok(Ok(source)) => Some((stream, source.unwrap_or(peer))),
        Ok(Err(error)) => {
            log::line(format_args!("connection from {peer} closed: {error}"));
            None
        }
        Err(_) => {
            log::line(format_args!(
                "connection from {peer} closed: no PROXY line within {} s",
                HEADER_READ_TIMEOUT.as_secs()
            ));
            None
        }
    }
}

/// Errors of one half-made connection; the next `accept` is unaffected.
pub(crate) fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Serves one HTTP/1 connection with `handler` until it closes; when `shutdown` fires, after
/// its current response.
pub(crate) async fn serve_http<H, F>(
    stream: TcpStream,
    mut shutdown: watch::Receiver<()>,
    handler: H,
) where
    H: Fn(http::Request<Incoming>) -> F + Send + 'static,
    F: std::future::Future<Output = Result<http::Response<ResponseBody>, Infallible>>
        + Send
        + 'static,
{
    let _ = stream.set_nodelay(true);
    let service = service_fn(handler);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_headers(MAX_HEADER_COUNT);
    let stream = StalledWriteTimeout::new(stream, WRITE_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

async fn handle(
    state: Arc<State>,
    client: SocketAddr,
    request: http::Request<Incoming>,
) -> Result<http::Response<ResponseBody>, Infallible> {
    let id = state.admin.ids.next_id();
    let started = Instant::now();
    let mut log = RequestLog::start(&id, client, request.method().as_str(), request.uri().path());
    let mut facts = CallFacts::start(state.admin.metrics.clone());
    let mut served = None;
    let answer = call(
        &state,
        client,
        &id,
        request,
        &mut log,
        &mut facts,
        &mut served,
    );
    let (outcome, memory) = match catch_panic(answer).await {
        Ok(answer) => answer,
        Err(payload) => (
            Outcome::Internal {
                reason: format!("hhrf panicked: {}", panic_message(payload.as_ref())),
            },
            None,
        ),
    };
    let log_function = log.function().map(str::to_owned);
    log.finish(&outcome, facts.runner.as_ref());
    if let Some(function) = log_function.as_deref() {
        log::function_stderr(&id, function, outcome.stderr());
    }
    if let Some(function) = &facts.function {
        let label = crate::metrics::outcome_label(&outcome);
        let status = outcome.status().as_u16();
        (state.admin.activity).record(&id, function, label, status, started.elapsed());
    }
    facts.finish(&outcome);
    let mut response = outcome.into_response(&id);
    if let Some(function) = served {
        name_the_function(response.headers_mut(), &function);
    }
    Ok(response.map(|body| ResponseBody::new(body, memory)))
}

/// `x-fezz-function` and `x-fezz-library` on the answer of a call that reached `function`,
/// replacing any the function set (`spec/HTTP.md`, "Hot deploy").
fn name_the_function(headers: &mut http::HeaderMap, function: &crate::registry::Function) {
    if let Ok(value) = http::HeaderValue::from_str(&function.name()) {
        headers.insert(dispatch::FUNCTION_HEADER, value);
    }
    if let Some(hash) = function
        .library_hash()
        .and_then(|hash| http::HeaderValue::from_str(hash).ok())
    {
        headers.insert(dispatch::LIBRARY_HEADER, hash);
    }
}

/// A response body and the memory reservation of the call that made it: the budget is held
/// until hyper has sent the body or dropped it (client gone, write timeout).
pub struct ResponseBody {
    body: Body,
    _memory: Option<MemoryReservation>,
}

impl ResponseBody {
    /// `body`, holding `memory` until it is sent or dropped.
    pub fn new(body: Body, memory: Option<MemoryReservation>) -> Self {
        ResponseBody {
            body,
            _memory: memory,
        }
    }
}

impl hyper::body::Body for ResponseBody {
    type Data = <Body as hyper::body::Body>::Data;
    type Error = <Body as hyper::body::Body>::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The most bytes a call may buffer: its request twice (the body and the encoded frame),
/// the runner's output twice (the bytes read and the decoded body) and the overhead.
fn call_reservation(declared_body: Option<u64>) -> usize {
    let body = declared_body.map_or(MAX_BODY_BYTES, |length| {
        usize::try_from(length).map_or(MAX_BODY_BYTES, |length| length.min(MAX_BODY_BYTES))
    });
    2 * body + 2 * MAX_STDOUT_BYTES + CALL_OVERHEAD_BYTES
}

/// The request's `Content-Length`, when it has exactly one valid one and no chunked body.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        return None;
    }
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()?.trim().parse().ok()
}

/// Everything between a request and its outcome.
async fn call(
    state: &State,
    client: SocketAddr,
    id: &str,
    request: http::Request<Incoming>,
    log: &mut RequestLog,
    facts: &mut CallFacts,
    served: &mut Option<Arc<crate::registry::Function>>,
) -> (Outcome, Option<MemoryReservation>) {
    let mut ticket = None;
    let outcome = run_call(state, client, id, request, log, facts, &mut ticket, served).await;
    (
        outcome,
        ticket.and_then(|ticket: crate::admission::Ticket| ticket.finish()),
    )
}

/// [`call`] up to the outcome; an admitted call leaves its ticket in `ticket`, and a call that
/// reached a function leaves it in `served`.
#[allow(clippy::too_many_arguments)] // each is one piece of state the caller keeps
async fn run_call(
    state: &State,
    client: SocketAddr,
    id: &str,
    request: http::Request<Incoming>,
    log: &mut RequestLog,
    facts: &mut CallFacts,
    ticket: &mut Option<crate::admission::Ticket>,
    served: &mut Option<Arc<crate::registry::Function>>,
) -> Outcome {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let client = state.proxies.client(client, &parts.headers);
    let path = parts.uri.path();
    if state.panic_path.as_deref() == Some(path) {
        panic!("HHRF_TEST_PANIC_PATH={path}: a deliberate panic in a call's handling");
    }
    match dispatch::hhrf_target(path) {
        Some(Some(endpoint)) => {
            return state
                .admin
                .answer(endpoint, &parts.method, client, Listener::Main)
        }
        Some(None) => return Outcome::NotFound,
        None => {}
    }
    let Some(registry) = state.admin.registry() else {
        return Outcome::NotFound;
    };
    let (function, function_path) = match dispatch::rpc_target(path) {
        Some(Ok(target)) => match registry.function(target.name) {
            Some(function) => (function.clone(), target.path),
            None => return Outcome::NotFound,
        },
        Some(Err(())) => return Outcome::NotFound,
        None => match registry.route(&parts.method, path) {
            Routed::Found(function) => (function.clone(), path.to_owned()),
            Routed::MethodNotAllowed(allow) => return Outcome::MethodNotAllowed { allow },
            Routed::NotFound => return Outcome::NotFound,
        },
    };
    log.set_function(function.name(), facts.mode);
    facts.function = Some(function.name());
    *served = Some(function.clone());
    if let Err(outcome) = dispatch::check_content_length(&parts.headers) {
        return outcome;
    }

    let timeout = function.timeout.unwrap_or(state.default_timeout);
    let deadline = started + timeout.duration();
    let deadline_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(timeout.duration())
        .as_millis() as u64;

    let reservation = call_reservation(declared_length(&parts.headers));
    match state
        .admin
        .admission
        .admit(&function.name(), reservation, deadline)
        .await
    {
        Ok(admitted) => *ticket = Some(admitted),
        Err(refusal) => {
            facts.refusal = Some(refusal_label(&refusal));
            return Outcome::Overloaded {
                reason: refusal.to_string(),
                retry_after_s: RETRY_AFTER_S,
            };
        }
    }

    let collected =
        tokio::time::timeout_at(deadline, Limited::new(body, MAX_BODY_BYTES).collect()).await;
    let body = match collected {
        Err(_elapsed) => return Outcome::RequestTimeout,
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return Outcome::BodyTooLarge { length: None }
        }
        Ok(Err(error)) => {
            return Outcome::BadRequest {
                reason: format!("the request body could not be read: {error}"),
            }
        }
        Ok(Ok(collected)) => collected.to_bytes().to_vec(),
    };

    let context = dispatch::request_context(&function, id, deadline_unix_ms, client, &parts);
    let wire = match dispatch::wire_request(&parts, function_path, body, context) {
        Ok(wire) => wire,
        Err(outcome) => return outcome,
    };
    let payload = match encode_request(&wire) {
        Ok(payload) => payload,
        Err(error) => {
            return Outcome::BadRequest {
                reason: format!("the request cannot be sent to a function: {error}"),
            }
        }
    };
    drop(wire);

    facts.mode = function.mode.name();
    match state.execution.call(&function, &payload, deadline).await {
        Ok(Called { output, cold }) => {
            facts.runner = Some(RunnerFacts {
                cold,
                ..RunnerFacts::from(&output)
            });
            classify(&output.stdout, output.exit, &output.stderr)
        }
        Err(error) => Outcome::SpawnFailed {
            reason: format!("{}: {error}", state.execution.runner().program().display()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_ordered() {
        let ids = RequestIds::default();
        let a = ids.next_id();
        let b = ids.next_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 17);
        assert_eq!(a[..9], b[..9]);
        assert!(a.ends_with("00000001") && b.ends_with("00000002"));
    }

    #[test]
    fn per_connection_accept_errors_are_skipped() {
        assert!(is_connection_error(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        let emfile = io::Error::from_raw_os_error(nix::errno::Errno::EMFILE as i32);
        assert!(!is_connection_error(&emfile));
    }
}
