//! hhrf's operating surface (`spec/HTTP.md`, "Operator endpoints"): liveness, readiness,
//! metrics, drain and undrain, on the main listener by default or on a listener of their own
//! (`--admin-listen`), and the client side of `hhrf drain` and `hhrf undrain`.
//!
//! What lives here: [`Admin`] (what every listener shares: readiness, metrics, admission,
//! the live runners, request ids and, once loaded, the functions), [`Admin::answer`] (one
//! endpoint's answer, with the access rule of the drain endpoints), [`AdminServer`] (the
//! separate listener, bound before the functions load so a probe sees `loading`) and
//! [`request`] (a minimal HTTP/1.1 client for the CLI). What does not: the stop sequence
//! (`server`), the readiness rules (`readiness`), the series (`metrics`).
//!
//! Access: health, ready and metrics answer anyone who reaches the listener that serves
//! them. Drain and undrain change what the server does, so on the main listener they answer
//! only a loopback client (403 `forbidden` otherwise); on the admin listener, which an
//! operator binds where only operators reach it, they answer every client. With
//! `--admin-listen` set, the main listener answers 404 for every `/_fezz/` path.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream as StdTcpStream, ToSocketAddrs};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use http::{Method, StatusCode};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::activity::Activity;
use crate::admission::{Admission, AdmissionConfig};
use crate::boundary::{catch_panic, panic_message};
use crate::dispatch::{self, HhrfEndpoint};
use crate::log::{self, RequestLog};
use crate::metrics::{Metrics, Snapshot, MODE_FRESH};
use crate::operator_page::{self, PageFunction, PageState};
use crate::outcome::Outcome;
use crate::readiness::{DrainChange, Readiness};
use crate::registry::Registry;
use crate::runner::ProcessGroups;
use crate::server::{self, RequestIds, ResponseBody};

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The main listener (`--listen`), which serves the functions.
    Main,
    /// The admin listener (`--admin-listen`).
    Admin,
}

/// What hhrf's listeners share.
pub struct Admin {
    /// Loaded, drained, stopping.
    pub readiness: Readiness,
    /// Every series of `/_fezz/metrics`.
    pub metrics: Arc<Metrics>,
    /// Admission control.
    pub admission: Admission,
    /// The live runner groups.
    pub groups: Arc<ProcessGroups>,
    /// Request ids, shared by every listener.
    pub ids: RequestIds,
    /// Whether the operator endpoints have a listener of their own.
    pub separate_listener: bool,
    /// The recent traffic the operator page shows.
    pub activity: Activity,
    registry: RwLock<Option<Arc<Registry>>>,
    deploy_status: RwLock<crate::deploy::DeployStatus>,
}

impl Admin {
    /// The shared state of a server with admission limits `admission` and runner groups
    /// `groups`; `separate_listener` when `--admin-listen` is set. Not ready until
    /// [`Admin::set_registry`].
    pub fn new(
        admission: AdmissionConfig,
        groups: Arc<ProcessGroups>,
        separate_listener: bool,
    ) -> Admin {
        Admin {
            readiness: Readiness::default(),
            metrics: Arc::new(Metrics::new()),
            admission: Admission::new(admission),
            groups,
            ids: RequestIds::default(),
            separate_listener,
            activity: Activity::default(),
            registry: RwLock::new(None),
            deploy_status: RwLock::new(crate::deploy::DeployStatus::default()),
        }
    }

    /// The functions are loaded: they are served from now on and readiness no longer says
    /// `loading`. A second call is ignored.
    pub fn set_registry(&self, registry: Registry) {
        {
            let mut slot = self
                .registry
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if slot.is_none() {
                *slot = Some(Arc::new(registry));
            }
        }
        self.readiness.set_loaded();
    }

    /// Serves `registry` from now on, in place of the functions served so far (hot deploy:
    /// calls admitted before go on with the functions they hold), with `status` for
    /// `/_fezz/functions`; readiness no longer says `loading`. Returns the registry replaced.
    pub fn replace_registry(
        &self,
        registry: Arc<Registry>,
        status: crate::deploy::DeployStatus,
    ) -> Option<Arc<Registry>> {
        *self
            .deploy_status
            .write()
            .unwrap_or_else(PoisonError::into_inner) = status;
        let old = self
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(registry);
        self.readiness.set_loaded();
        old
    }

    /// Records how changes of `functions/` are noticed (`watch` of `/_fezz/functions`).
    pub fn set_watch(&self, watch: &str) {
        self.deploy_status
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .watch = watch.to_owned();
    }

    /// The functions, once loaded.
    pub fn registry(&self) -> Option<Arc<Registry>> {
        self.registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn function_count(&self) -> usize {
        self.registry()
            .map_or(0, |registry| registry.function_count())
    }

    /// The body of `/_fezz/functions`.
    pub fn functions_body(&self) -> serde_json::Value {
        let status = self
            .deploy_status
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        crate::deploy::catalog(self.registry().as_deref(), &status)
    }

    /// The readiness body and whether it is ready.
    fn ready_body(&self) -> (bool, serde_json::Value) {
        let reasons = self
            .readiness
            .reasons(|| self.admission.server_queue_full());
        let ready = reasons.is_empty();
        let body = serde_json::json!({
            "status": if ready { "ready" } else { "not-ready" },
            "reasons": reasons.iter().map(|reason| reason.name()).collect::<Vec<_>>(),
            "functions": self.function_count(),
        });
        (ready, body)
    }

    /// The text of `/_fezz/metrics` now.
    pub fn metrics_text(&self) -> String {
        let (ready, _) = self.ready_body();
        let functions = self
            .registry()
            .map(|registry| {
                registry
                    .functions()
                    .iter()
                    .map(|function| function.name())
                    .collect()
            })
            .unwrap_or_default();
        self.metrics.render(&Snapshot {
            admission: self.admission.stats(),
            functions,
            runners: self.groups.len(),
            ready,
        })
    }

    /// The operator page now.
    pub fn page(&self) -> String {
        let (ready, body) = self.ready_body();
        let functions = self
            .registry()
            .map(|registry| {
                registry
                    .functions()
                    .iter()
                    .map(|function| {
                        let name = function.name();
                        PageFunction {
                            routes: registry.routes_of(&name),
                            name,
                            version: function.version.to_string(),
                            mode: MODE_FRESH.to_owned(),
                            timeout_ms: function.timeout.map(|timeout| timeout.as_millis()),
                            limits: fezz_abi::runner_protocol::ResourceLimit::ALL
                                .iter()
                                .filter_map(|limit| {
                                    let value = function.limits.get(*limit)?;
                                    Some(format!("{}={value}", limit.manifest_field()))
                                })
                                .collect(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reasons = body["reasons"]
            .as_array()
            .map(|reasons| {
                reasons
                    .iter()
                    .filter_map(|reason| reason.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        operator_page::render(&PageState {
            functions,
            ready,
            reasons,
            admission: self.admission.stats(),
            runners: self.groups.len(),
            activity: self.activity.snapshot(),
        })
    }

    /// The answer of `endpoint` to `method` from `client` on `listener`.
    pub fn answer(
        &self,
        endpoint: HhrfEndpoint,
        method: &Method,
        client: SocketAddr,
        listener: Listener,
    ) -> Outcome {
        if listener == Listener::Main && self.separate_listener {
            return Outcome::NotFound;
        }
        let read = matches!(*method, Method::GET | Method::HEAD);
        match endpoint {
            HhrfEndpoint::Health
            | HhrfEndpoint::Ready
            | HhrfEndpoint::Metrics
            | HhrfEndpoint::Page
            | HhrfEndpoint::Functions
                if !read =>
            {
                Outcome::MethodNotAllowed {
                    allow: dispatch::HHRF_ALLOW.to_owned(),
                }
            }
            HhrfEndpoint::Health => Outcome::Health {
                functions: self.function_count(),
                draining: self.readiness.is_draining(),
                admission: self.admission.stats(),
            },
            HhrfEndpoint::Ready => {
                let (ready, body) = self.ready_body();
                json_answer(
                    if ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    },
                    &body,
                    if ready { "ready" } else { "not-ready" },
                )
            }
            HhrfEndpoint::Functions => {
                json_answer(StatusCode::OK, &self.functions_body(), "functions")
            }
            HhrfEndpoint::Metrics => Outcome::Admin {
                status: StatusCode::OK,
                content_type: crate::metrics::CONTENT_TYPE,
                body: self.metrics_text().into_bytes(),
                log_name: "metrics",
            },
            HhrfEndpoint::Page => Outcome::Admin {
                status: StatusCode::OK,
                content_type: operator_page::CONTENT_TYPE,
                body: self.page().into_bytes(),
                log_name: "operator-page",
            },
            HhrfEndpoint::Drain | HhrfEndpoint::Undrain if *method != Method::POST => {
                Outcome::MethodNotAllowed {
                    allow: dispatch::HHRF_POST_ALLOW.to_owned(),
                }
            }
            HhrfEndpoint::Drain | HhrfEndpoint::Undrain => {
                if !may_drain(client, listener) {
                    return Outcome::Forbidden {
                        reason: format!(
                            "{client} is not a loopback client and this is not the admin listener"
                        ),
                    };
                }
                self.drain(endpoint == HhrfEndpoint::Drain, client)
            }
        }
    }

    /// Drains (or undrains) and answers with the new state.
    fn drain(&self, drain: bool, client: SocketAddr) -> Outcome {
        let change = if drain {
            self.readiness.drain()
        } else {
            self.readiness.undrain()
        };
        if change == DrainChange::Stopping {
            return Outcome::Stopping;
        }
        let (action, name) = if drain {
            ("drain", "drain")
        } else {
            ("undrain", "undrain")
        };
        if change == DrainChange::Changed {
            log::line(format_args!(
                "{action} requested by {client}: /_fezz/ready answers {}",
                if drain { 503 } else { 200 }
            ));
        }
        let (_, ready) = self.ready_body();
        let body = serde_json::json!({
            "draining": self.readiness.is_draining(),
            "changed": change == DrainChange::Changed,
            "ready": ready,
        });
        json_answer(StatusCode::OK, &body, name)
    }
}

/// Whether `client` may drain and undrain through `listener`.
pub fn may_drain(client: SocketAddr, listener: Listener) -> bool {
    listener == Listener::Admin || client.ip().to_canonical().is_loopback()
}

fn json_answer(status: StatusCode, body: &serde_json::Value, log_name: &'static str) -> Outcome {
    Outcome::Admin {
        status,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        log_name,
    }
}

/// The separate admin listener (`--admin-listen`).
pub struct AdminServer {
    listener: TcpListener,
    admin: Arc<Admin>,
}

impl AdminServer {
    /// Binds `address` for the operator endpoints of `admin`.
    pub async fn bind(address: SocketAddr, admin: Arc<Admin>) -> io::Result<AdminServer> {
        let listener = TcpListener::bind(address).await?;
        Ok(AdminServer { listener, admin })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until dropped (the process's end): through a stop and its drain, so probes
    /// keep getting answers. Accept errors are handled as on the main listener.
    pub async fn run(self) {
        let (_shutdown_tx, shutdown_rx) = watch::channel(());
        let mut backoff: Option<Duration> = None;
        loop {
            match self.listener.accept().await {
                Ok((stream, client)) => {
                    backoff = None;
                    let admin = self.admin.clone();
                    let handler = move |request| handle(admin.clone(), client, request);
                    tokio::spawn(server::serve_http(stream, shutdown_rx.clone(), handler));
                }
                Err(error) if server::is_connection_error(&error) => {}
                Err(error) => {
                    let pause = backoff.map_or(server::ACCEPT_BACKOFF.0, |last| {
                        (last * 2).min(server::ACCEPT_BACKOFF.1)
                    });
                    backoff = Some(pause);
                    log::line(format_args!(
                        "admin accept failed: {error}; retrying in {} ms",
                        pause.as_millis()
                    ));
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// One request on the admin listener: an operator endpoint, else 404.
async fn handle(
    admin: Arc<Admin>,
    client: SocketAddr,
    request: http::Request<Incoming>,
) -> Result<http::Response<ResponseBody>, std::convert::Infallible> {
    let id = admin.ids.next_id();
    let log = RequestLog::start(&id, client, request.method().as_str(), request.uri().path());
    let answer = async {
        match dispatch::hhrf_target(request.uri().path()) {
            Some(Some(endpoint)) => {
                admin.answer(endpoint, request.method(), client, Listener::Admin)
            }
            _ => Outcome::NotFound,
        }
    };
    let outcome = catch_panic(answer)
        .await
        .unwrap_or_else(|payload| Outcome::Internal {
            reason: format!("hhrf panicked: {}", panic_message(payload.as_ref())),
        });
    log.finish(&outcome, None);
    Ok(outcome
        .into_response(&id)
        .map(|body| ResponseBody::new(body, None)))
}

/// What `hhrf drain` and `hhrf undrain` ask a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /_fezz/drain`.
    Drain,
    /// `POST /_fezz/undrain`.
    Undrain,
}

impl Action {
    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            Action::Drain => dispatch::DRAIN_PATH,
            Action::Undrain => dispatch::UNDRAIN_PATH,
        }
    }
}

/// How long [`request`] waits to connect, and for each read or write.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes [`request`] reads of an answer.
pub const MAX_CLIENT_RESPONSE_BYTES: u64 = 64 * 1024;

/// Why [`request`] got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The `--server` value is not an `http://HOST:PORT` URL.
    #[error("--server {0:?}: must be http://HOST:PORT (the admin listener, or the main one)")]
    BadUrl(String),
    /// Connecting, writing or reading failed.
    #[error("{url}: {error}")]
    Io {
        /// The server.
        url: String,
        /// What failed.
        error: io::Error,
    },
    /// The answer is not an HTTP/1.1 response.
    #[error("{0}: the answer is not an HTTP response")]
    BadResponse(String),
}

/// A server's answer to [`request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAnswer {
    /// The status.
    pub status: u16,
    /// The body, as text (lossy).
    pub body: String,
}

/// `host:port` of an `http://HOST:PORT[/]` URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    (!rest.is_empty() && !rest.contains('/') && rest.contains(':')).then_some(rest)
}

/// Sends `POST <action path>` to the server at `url` (`http://HOST:PORT`) and returns its
/// answer. Bounded: [`CLIENT_TIMEOUT`] per step, [`MAX_CLIENT_RESPONSE_BYTES`] read.
pub fn request(url: &str, action: Action) -> Result<ClientAnswer, ClientError> {
    exchange(url, "POST", action.path(), MAX_CLIENT_RESPONSE_BYTES)
}

/// The most bytes [`get`] reads of an answer (a `/_fezz/functions` body).
pub const MAX_CLIENT_LISTING_BYTES: u64 = 16 * 1024 * 1024;

/// Sends `GET <path>` to the server at `url` and returns its answer (`hhrf list`,
/// `hhrf deploy --server`). Bounded: [`CLIENT_TIMEOUT`] per step,
/// [`MAX_CLIENT_LISTING_BYTES`] read.
pub fn get(url: &str, path: &str) -> Result<ClientAnswer, ClientError> {
    exchange(url, "GET", path, MAX_CLIENT_LISTING_BYTES)
}

fn exchange(url: &str, method: &str, path: &str, limit: u64) -> Result<ClientAnswer, ClientError> {
    let host = authority(url).ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    let io_error = |error| ClientError::Io {
        url: url.to_owned(),
        error,
    };
    let address = host
        .to_socket_addrs()
        .map_err(io_error)?
        .next()
        .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    let mut stream = StdTcpStream::connect_timeout(&address, CLIENT_TIMEOUT).map_err(io_error)?;
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .map_err(io_error)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).map_err(io_error)?;
    let mut bytes = Vec::new();
    stream
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ClientError::BadResponse(url.to_owned()))?;
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| ClientError::BadResponse(url.to_owned()))?;
    Ok(ClientAnswer {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(separate: bool) -> Admin {
        Admin::new(
            AdmissionConfig::new(4, 4, 64 << 20),
            Arc::new(ProcessGroups::default()),
            separate,
        )
    }

    const LOOPBACK: &str = "127.0.0.1:4000";
    const REMOTE: &str = "192.0.2.7:4000";

    fn status(outcome: &Outcome) -> u16 {
        outcome.status().as_u16()
    }

    #[test]
    fn drain_is_for_loopback_clients_or_the_admin_listener() {
        assert!(may_drain(LOOPBACK.parse().unwrap(), Listener::Main));
        assert!(may_drain("[::1]:1".parse().unwrap(), Listener::Main));
        assert!(may_drain(
            "[::ffff:127.0.0.1]:1".parse().unwrap(),
            Listener::Main
        ));
        assert!(!may_drain(REMOTE.parse().unwrap(), Listener::Main));
        assert!(!may_drain(
            "[2001:db8::1]:1".parse().unwrap(),
            Listener::Main
        ));
        assert!(may_drain(REMOTE.parse().unwrap(), Listener::Admin));
        let admin = admin(false);
        admin.set_registry(Registry::default());
        let forbidden = admin.answer(
            HhrfEndpoint::Drain,
            &Method::POST,
            REMOTE.parse().unwrap(),
            Listener::Main,
        );
        assert_eq!(
            (status(&forbidden), forbidden.code()),
            (403, Some("forbidden"))
        );
        assert!(!admin.readiness.is_draining());
    }

    #[test]
    fn ready_follows_load_drain_and_stop() {
        let admin = admin(false);
        let client = LOOPBACK.parse().unwrap();
        let ready = |admin: &Admin| {
            status(&admin.answer(HhrfEndpoint::Ready, &Method::GET, client, Listener::Main))
        };
        assert_eq!(ready(&admin), 503);
        admin.set_registry(Registry::default());
        assert_eq!(ready(&admin), 200);
        let drained = admin.answer(HhrfEndpoint::Drain, &Method::POST, client, Listener::Main);
        assert_eq!(status(&drained), 200);
        assert_eq!(ready(&admin), 503);
        let health = admin.answer(HhrfEndpoint::Health, &Method::GET, client, Listener::Main);
        assert_eq!(status(&health), 200, "liveness holds while draining");
        admin.answer(HhrfEndpoint::Undrain, &Method::POST, client, Listener::Main);
        assert_eq!(ready(&admin), 200);
        admin.readiness.stop();
        let undrain = admin.answer(HhrfEndpoint::Undrain, &Method::POST, client, Listener::Main);
        assert_eq!((status(&undrain), undrain.code()), (409, Some("stopping")));
        assert_eq!(ready(&admin), 503);
        let get = admin.answer(HhrfEndpoint::Drain, &Method::GET, client, Listener::Main);
        assert_eq!(status(&get), 405);
    }

    #[test]
    fn a_separate_admin_listener_hides_the_endpoints_from_the_main_one() {
        let admin = admin(true);
        admin.set_registry(Registry::default());
        let client = LOOPBACK.parse().unwrap();
        for (endpoint, _) in HhrfEndpoint::ALL {
            for method in [Method::GET, Method::POST] {
                let outcome = admin.answer(endpoint, &method, client, Listener::Main);
                assert_eq!(status(&outcome), 404, "{endpoint:?}");
            }
        }
        let ready = admin.answer(HhrfEndpoint::Ready, &Method::GET, client, Listener::Admin);
        assert_eq!(status(&ready), 200);
    }

    #[test]
    fn server_urls_are_http_host_port() {
        assert_eq!(authority("http://127.0.0.1:3000"), Some("127.0.0.1:3000"));
        assert_eq!(authority("http://[::1]:3000/"), Some("[::1]:3000"));
        assert_eq!(authority("https://x:1"), None);
        assert_eq!(authority("http://x:1/path"), None);
        assert_eq!(authority("http://x"), None);
        assert!(matches!(
            request("localhost:3000", Action::Drain),
            Err(ClientError::BadUrl(_))
        ));
    }
}
