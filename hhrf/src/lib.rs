//! hhrf, the fezz host HTTP server: serves function libraries over HTTP, one runner process
//! per call, and turns every way a call can fail into a clean JSON error with a request id.
//!
//! `spec/HTTP.md` is normative; this crate implements it. The `hhrf` binary is a thin
//! wrapper over this library.
//!
//! # Serving functions
//!
//! 1. Lay out `ROOT/functions/<id>@<version>/` with a `fezz.json` ([`manifest`]) and the
//!    library it names.
//! 2. Read the settings ([`config::parse`]) and load the functions
//!    ([`registry::Registry::load`]); log the diagnostics of folders left out.
//! 3. Choose the runner program ([`runner::resolve_runner`]).
//! 4. Share the state of every listener in an [`admin::Admin`] (readiness, metrics,
//!    admission) and hand it the functions; bind a [`server::Server`] and run it until a stop
//!    message arrives.
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use hhrf::{admin::Admin, manifest::TimeoutMs, registry::Registry, runner};
//! use hhrf::server::{Server, ServerSettings};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let (registry, diagnostics) = Registry::load(Path::new("."))?;
//! for diagnostic in &diagnostics {
//!     eprintln!("hhrf: {diagnostic}");
//! }
//! let path = std::env::var_os("PATH");
//! let program = runner::resolve_runner(None, None, path.as_deref(), Path::new("."))?;
//! let settings = ServerSettings::new("127.0.0.1:3000".parse()?, TimeoutMs::new(10_000)?);
//! let groups = Arc::new(runner::ProcessGroups::default());
//! let admin = Arc::new(Admin::new(settings.admission, groups, false));
//! admin.set_registry(registry);
//! let server = Server::bind(settings, admin, program, path).await?;
//! let (_stop, stop_rx) = tokio::sync::mpsc::unbounded_channel();
//! server.run(stop_rx).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//!
//! [`config`] settings; [`manifest`] `fezz.json`; [`registry`] the function folders;
//! [`routes`] root routes; [`dispatch`] HTTP ↔ wire; [`runner`] the runner process;
//! [`outcome`] what became of a request and its HTTP response; [`execution`] the execution
//! modes (fresh, warm); [`server`] the accept loop
//! and shutdown; [`log`] the log lines; [`scratch`] the per-call scratch folders;
//! [`privileges`] the user runners run as; [`cli`] the subcommands `hhrf new` ([`scaffold`])
//! and `hhrf invoke` ([`invoke`]); [`admin`] the operator endpoints (health, [`readiness`],
//! [`metrics`], drain) and their optional listener; [`usage`] a runner's CPU time and memory;
//! [`deploy`] hot deploy (verified private library copies, aliases, `/_fezz/functions`),
//! [`watch`] how changes of `functions/` are noticed and [`publish`] `hhrf deploy` and
//! `hhrf list`.
#![deny(missing_docs)]

pub mod activity;
pub mod admin;
pub mod admission;
pub mod boundary;
pub mod check;
pub mod cli;
pub mod client_io;
pub mod config;
pub mod containment;
pub mod deploy;
pub mod dispatch;
pub mod execution;
pub mod invoke;
pub mod log;
pub mod manifest;
pub mod metrics;
pub mod operator_page;
pub mod outcome;
pub mod privileges;
pub mod proxy;
pub mod publish;
pub mod readiness;
pub mod registry;
pub mod routes;
pub mod runner;
pub mod scaffold;
pub mod scratch;
pub mod server;
pub mod usage;
pub mod watch;
