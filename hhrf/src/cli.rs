//! The subcommands of the `hhrf` binary (`spec/HTTP.md`, "Subcommands"): `hhrf new`,
//! `hhrf invoke`, `hhrf check`, `hhrf drain`, `hhrf undrain`, `hhrf deploy` and `hhrf list`,
//! parsed with clap. `hhrf serve [options]` and plain `hhrf [options]` keep
//! the server's own parser (`config`); the binary picks one by the first argument
//! ([`is_subcommand`]).
//!
//! What lives here: the command-line shapes ([`Cli`], [`InvokeArgs`], [`NewArgs`]) and the
//! thin glue that turns them into library calls ([`run`]): `invoke::invoke`,
//! `scaffold::create`, `check::check` and `admin::request`. Exit codes: 0 success, 1 failure, 2 a usage error (clap's own exit code
//! for one).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use fezz_abi::limits::MAX_BODY_BYTES;

use crate::config::{DEFAULT_ROOT, DEFAULT_TIMEOUT_MS};
use crate::invoke::{self, CallSpec, InvokeError, Target, DEFAULT_CLIENT_ADDRESS};
use crate::manifest::TimeoutMs;
use crate::registry::Function;
use crate::runner::{self, ProcessGroups, Runner};
use crate::scaffold::{self, Language};

/// The exit code of a usage error (as clap's, and as the server's bad settings).
pub const USAGE_EXIT: u8 = 2;

/// The first arguments that name a subcommand parsed here (`serve` is the server's parser).
pub const SUBCOMMANDS: [&str; 7] = [
    "new", "invoke", "check", "drain", "undrain", "deploy", "list",
];

/// Whether `first` (the first argument) names a subcommand parsed by [`Cli`].
pub fn is_subcommand(first: &str) -> bool {
    SUBCOMMANDS.contains(&first)
}

/// `hhrf <subcommand>`.
#[derive(Debug, Parser)]
#[command(
    name = "hhrf",
    version,
    about = "The fezz host HTTP server and its tools.",
    after_help = "`hhrf [options]` or `hhrf serve [options]` runs the server: see `hhrf --help`."
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a function folder (a hello function, fezz.json, a test, build and deploy scripts).
    New(NewArgs),
    /// Run one call of a library or a deployed id@version through the runner, as hhrf would.
    #[command(after_help = INVOKE_AFTER_HELP)]
    Invoke(Box<InvokeArgs>),
    /// Validate every manifest and load each library in a runner, without serving; report
    /// what the kernel offers for containment and sandboxing.
    #[command(after_help = CHECK_AFTER_HELP)]
    Check(CheckArgs),
    /// Drain a running server: its /_fezz/ready answers 503 (it goes on serving), until
    /// `hhrf undrain`.
    #[command(after_help = DRAIN_AFTER_HELP)]
    Drain(ServerArgs),
    /// Undo `hhrf drain`: the server's /_fezz/ready answers 200 again.
    #[command(after_help = DRAIN_AFTER_HELP)]
    Undrain(ServerArgs),
    /// Install a library as functions/ID@VERSION/ (folder and fezz.json written beside it,
    /// then renamed into place) and, with --server, wait until the server serves it.
    #[command(after_help = DEPLOY_AFTER_HELP)]
    Deploy(DeployArgs),
    /// List the functions, versions, aliases, routes and status of a running server
    /// (--server) or of a folder (--root).
    #[command(after_help = LIST_AFTER_HELP)]
    List(ListArgs),
}

const DEPLOY_AFTER_HELP: &str = "\
Writes DIR/functions/ID@VERSION/ with a copy of LIBRARY and a fezz.json naming it (the id,
the version, the routes, the mode), in a hidden folder beside it that is then renamed over
the old one in one step: a running server never sees half a folder. With --server it then
polls the server's GET /_fezz/functions until it serves ID@VERSION with this library (its
SHA-256), and prints the server's entry for it.

Exit codes: 0 written (and, with --server, served); 1 the folder could not be written, or the
server could not be reached, refused the library (the problem it reported is printed) or did
not serve it within --wait-ms; 2 a usage error (including arguments that make an invalid
manifest).

Environment: HHRF_ROOT is the default --root.";

const LIST_AFTER_HELP: &str = "\
Prints one line per function (name, status, library hash, routes, aliases, the problem when
refused) and one per alias, or with --json the GET /_fezz/functions body. With --root (the
default when --server is not given) the folder is read as start-up would read it, without a
server and without loading the libraries.

Exit codes: 0 listed; 1 the server could not be reached or the root cannot be read; 2 a
usage error.

Environment: HHRF_ROOT is the default --root.";

/// `hhrf deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The library file to install.
    pub library: PathBuf,
    /// The function id.
    #[arg(long)]
    pub id: String,
    /// The version.
    #[arg(long)]
    pub version: String,
    /// A route, METHOD PATH (`*` for every method); repeat for more.
    #[arg(long, num_args = 2, value_names = ["METHOD", "PATH"])]
    pub route: Vec<String>,
    /// The execution mode written to the manifest's `mode`.
    #[arg(long)]
    pub mode: Option<String>,
    /// The folder that holds functions/ [env HHRF_ROOT, default .].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Wait until the server at this URL (http://HOST:PORT, where /_fezz/functions is
    /// answered) serves the new version.
    #[arg(long)]
    pub server: Option<String>,
    /// How long to wait for the server, in ms.
    #[arg(long, default_value_t = 30_000)]
    pub wait_ms: u64,
}

/// `hhrf list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Ask the server at this URL (http://HOST:PORT, where /_fezz/functions is answered).
    #[arg(long, conflicts_with = "root")]
    pub server: Option<String>,
    /// Read this folder instead [env HHRF_ROOT, default .].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Print the GET /_fezz/functions body.
    #[arg(long)]
    pub json: bool,
}

const DRAIN_AFTER_HELP: &str = "\
Sends POST /_fezz/drain (or /_fezz/undrain) to the server and prints its JSON answer on
stdout. The server answers it on its admin listener (--admin-listen), or on its main listener
to a loopback client only.

Exit codes: 0 the server did it (200); 1 the server could not be reached or refused (403
forbidden, 404 when the endpoints are on another listener, 409 stopping: a server that is
stopping cannot be undrained); 2 a usage error.

Environment: HHRF_SERVER is the default --server.";

/// The default `--server` of `hhrf drain` and `hhrf undrain`.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:3000";

/// `hhrf drain` and `hhrf undrain`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server, http://HOST:PORT: its admin listener, or its main listener when the
    /// operator endpoints are there [env HHRF_SERVER, default http://127.0.0.1:3000].
    #[arg(long)]
    pub server: Option<String>,
}

const CHECK_AFTER_HELP: &str = "\
Prints one line per function whose library loads (`ok: …`), per problem (`problem: …`: a
folder left out and why, a route not mounted, a library that does not load in the runner,
with the runner's exit code and last stderr line) and per guarantee the kernel does not give
(`warning: …`), then a summary.

Exit codes: 0 no problem (warnings do not count); 1 a problem, or the root cannot be read;
2 a usage error.

Environment: FEZZ_RUNNER chooses the runner as for the server; HHRF_ROOT is the default
--root; HHRF_RUNNER_USER the default --runner-user.";

/// `hhrf check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The folder that holds functions/ [env HHRF_ROOT, default .].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// When run as root, the user runners switch to, UID[:GID] (0:0 stays root)
    /// [env HHRF_RUNNER_USER, default 61792:61792].
    #[arg(long, value_parser = crate::privileges::parse_user)]
    pub runner_user: Option<(u32, u32)>,
}

const INVOKE_AFTER_HELP: &str = "\
Prints the response (status line, headers, a blank line, the body) on stdout and what the
function wrote to stderr, between two marker lines, on stderr. When the call fails (the
function failed, the runner crashed, failed or timed out, the request was past a limit), it
prints the error code, the message, the runner's exit code or signal and its stderr.

Exit codes: 0 the function answered (whatever its status); 1 the call failed, or the target
was not found; 2 a usage error.

Environment: FEZZ_RUNNER chooses the runner as for the server; HHRF_ROOT is the default
--root; HHRF_RUNNER_USER the default --runner-user.";

/// `hhrf new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The language of the function.
    #[arg(long, value_enum)]
    pub lang: Language,
    /// The function id (1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'), also the folder name.
    pub name: String,
    /// The folder to create the function folder in.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// `hhrf invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// A library file (a fezz.json beside it that names it applies), or a deployed id@version.
    pub target: String,
    /// The path the function sees, with an optional ?query.
    #[arg(default_value = "/", value_parser = parse_path)]
    pub path: String,
    /// The request method.
    #[arg(short = 'X', long, default_value = "GET", value_parser = parse_method)]
    pub method: String,
    /// A header field, `name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// The request body.
    #[arg(short = 'd', long, conflicts_with = "data_file")]
    pub data: Option<String>,
    /// Read the request body from FILE (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub data_file: Option<PathBuf>,
    /// The context's request id.
    #[arg(long, default_value = invoke::DEFAULT_REQUEST_ID)]
    pub request_id: String,
    /// The context's client address.
    #[arg(long, default_value = DEFAULT_CLIENT_ADDRESS)]
    pub client_address: String,
    /// The context's host (default: the Host header's).
    #[arg(long)]
    pub host: Option<String>,
    /// The context's deadline, in ms since the Unix epoch (default: now + the timeout).
    #[arg(long)]
    pub deadline_ms: Option<u64>,
    /// How long the call may run (default: the manifest's timeout_ms, else 10000), 1..=3600000.
    #[arg(long, value_parser = parse_timeout)]
    pub timeout_ms: Option<TimeoutMs>,
    /// The folder that holds functions/, for an id@version target [env HHRF_ROOT, default .].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// When run as root, the user runners switch to, UID[:GID] (0:0 stays root)
    /// [env HHRF_RUNNER_USER, default 61792:61792].
    #[arg(long, value_parser = crate::privileges::parse_user)]
    pub runner_user: Option<(u32, u32)>,
    /// Print one JSON object (status, headers, body, stderr, outcome) instead of the text form.
    #[arg(long, conflicts_with = "diag")]
    pub json: bool,
    /// Print the request and the response in CBOR diagnostic notation.
    #[arg(long)]
    pub diag: bool,
    /// Print the body as is, even when it is not text.
    #[arg(long)]
    pub raw: bool,
}

/// A path with an optional query, as the function sees it.
fn parse_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err("must start with '/' (a path with an optional ?query)".to_owned());
    }
    text.parse::<http::uri::PathAndQuery>()
        .map_err(|error| format!("not a path with an optional ?query: {error}"))?;
    Ok(text.to_owned())
}

/// A method token.
fn parse_method(text: &str) -> Result<String, String> {
    http::Method::from_bytes(text.as_bytes())
        .map(|method| method.as_str().to_owned())
        .map_err(|_| "not an HTTP method token".to_owned())
}

/// `name: value`, both valid in HTTP.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| "must be `name: value`".to_owned())?;
    let name = http::HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a header name", name.trim()))?;
    let value = value.trim_start();
    http::HeaderValue::from_str(value).map_err(|_| format!("{value:?} is not a header value"))?;
    Ok((name.as_str().to_owned(), value.to_owned()))
}

/// A call timeout in milliseconds.
fn parse_timeout(text: &str) -> Result<TimeoutMs, String> {
    let ms = text
        .parse::<u64>()
        .map_err(|_| "must be a whole number of milliseconds".to_owned())?;
    TimeoutMs::new(ms)
}

/// Runs a parsed subcommand and returns the exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::New(args) => new(args),
        Command::Invoke(args) => run_invoke(*args),
        Command::Check(args) => run_check(args),
        Command::Drain(args) => run_drain(args, crate::admin::Action::Drain),
        Command::Undrain(args) => run_drain(args, crate::admin::Action::Undrain),
        Command::Deploy(args) => run_deploy(args),
        Command::List(args) => run_list(args),
    }
}

/// `hhrf deploy`: the folder, then (with `--server`) the wait.
fn run_deploy(args: DeployArgs) -> ExitCode {
    use crate::publish::{self, PublishError};
    let routes = args
        .route
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
        .collect();
    let publication = publish::Publication {
        library: args.library.clone(),
        id: args.id.clone(),
        version: args.version.clone(),
        routes,
        mode: args.mode.clone(),
    };
    let root = root_of(args.root.as_ref());
    let published = match publish::publish(&root, &publication) {
        Ok(published) => published,
        Err(PublishError::Invalid(rule)) => {
            say(format_args!("error: {rule}"));
            return ExitCode::from(USAGE_EXIT);
        }
        Err(error) => {
            say(format_args!("error: {error}"));
            return ExitCode::FAILURE;
        }
    };
    say(format_args!(
        "wrote {} (library sha256 {})",
        published.folder.display(),
        published.sha256
    ));
    let Some(server) = args.server else {
        return ExitCode::SUCCESS;
    };
    let limit = std::time::Duration::from_millis(args.wait_ms);
    match publish::wait_until_served(&server, &published.name, &published.sha256, limit) {
        Ok(()) => {
            println!("{} served by {server}", published.name);
            ExitCode::SUCCESS
        }
        Err(error) => {
            say(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// `hhrf list`.
fn run_list(args: ListArgs) -> ExitCode {
    let body = match &args.server {
        Some(server) => crate::publish::fetch_functions(server).map_err(|error| error.to_string()),
        None => crate::publish::list_folder(&root_of(args.root.as_ref()))
            .map_err(|error| error.to_string()),
    };
    match body {
        Ok(body) if args.json => {
            println!("{body}");
            ExitCode::SUCCESS
        }
        Ok(body) => {
            print!("{}", crate::publish::render_list(&body));
            ExitCode::SUCCESS
        }
        Err(error) => {
            say(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// `hhrf drain` and `hhrf undrain`: one request to the server, its answer on stdout.
fn run_drain(args: ServerArgs, action: crate::admin::Action) -> ExitCode {
    let server = args
        .server
        .or_else(|| std::env::var("HHRF_SERVER").ok())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    match crate::admin::request(&server, action) {
        Ok(answer) => {
            println!("{}", answer.body.trim_end());
            if answer.status == 200 {
                ExitCode::SUCCESS
            } else {
                say(format_args!(
                    "error: {server} answered {} to POST {}",
                    answer.status,
                    action.path()
                ));
                ExitCode::FAILURE
            }
        }
        Err(error @ crate::admin::ClientError::BadUrl(_)) => {
            say(format_args!("error: {error}"));
            ExitCode::from(USAGE_EXIT)
        }
        Err(error) => {
            say(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// `--root`, else `HHRF_ROOT`, else the default.
fn root_of(given: Option<&PathBuf>) -> PathBuf {
    given
        .cloned()
        .or_else(|| std::env::var_os("HHRF_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT))
}

/// `--runner-user`, else `HHRF_RUNNER_USER`, else the default; a bad variable is a usage
/// error (already reported).
fn runner_user_of(given: Option<(u32, u32)>) -> Result<(u32, u32), ExitCode> {
    if let Some(user) = given {
        return Ok(user);
    }
    match std::env::var("HHRF_RUNNER_USER") {
        Ok(text) => crate::privileges::parse_user(&text).map_err(|rule| {
            say(format_args!("error: HHRF_RUNNER_USER={text:?}: {rule}"));
            ExitCode::from(USAGE_EXIT)
        }),
        Err(_) => Ok(crate::privileges::DEFAULT_RUNNER_USER),
    }
}

/// The runner the server would choose, with hhrf as child subreaper of what it starts.
fn server_runner() -> Result<Runner, String> {
    let groups = Arc::new(ProcessGroups::default());
    groups.enable_reaper();
    let cwd = std::env::current_dir()
        .map_err(|error| format!("reading the current directory: {error}"))?;
    let path = std::env::var_os("PATH");
    let exe = std::env::current_exe().ok();
    let program = runner::resolve_runner(
        std::env::var_os("FEZZ_RUNNER").as_deref(),
        exe.as_deref(),
        path.as_deref(),
        &cwd,
    )
    .map_err(|error| error.to_string())?;
    Ok(Runner::new(program, path, groups))
}

/// Removes the scratch folders a subcommand's calls used.
fn remove_scratch() {
    if let Ok(base) = crate::scratch::ScratchBase::global() {
        if let Err(error) =
            crate::scratch::remove_tree(base.path(), crate::scratch::MAX_SCRATCH_ENTRIES)
        {
            say(format_args!(
                "scratch folder {} not fully removed: {error}",
                base.path().display()
            ));
        }
    }
}

/// `hhrf check`.
fn run_check(args: CheckArgs) -> ExitCode {
    let root = root_of(args.root.as_ref());
    let runner_user = match runner_user_of(args.runner_user) {
        Ok(user) => user,
        Err(code) => return code,
    };
    let user = crate::privileges::effective(runner_user);
    crate::privileges::set_runner_user(user);
    let runner = match server_runner() {
        Ok(runner) => runner,
        Err(error) => {
            say(format_args!("error: {error}"));
            return ExitCode::FAILURE;
        }
    };
    // Write folders go to the runner user as when serving, so the check loads as served.
    if let (Some(user), Ok((registry, _))) = (user, crate::registry::Registry::load(&root)) {
        for line in crate::privileges::hand_over_grants(&root, &registry.functions(), user) {
            say(line);
        }
    }
    let capabilities =
        crate::containment::Capabilities::probe(crate::containment::become_subreaper());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            say(format_args!("error: starting the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(crate::check::check(&root, &runner, &capabilities));
    drop(runtime);
    remove_scratch();
    match report {
        Ok(report) => {
            println!("kernel: {capabilities}");
            println!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            say(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// Prints one `hhrf: …` line on stderr.
fn say(line: impl std::fmt::Display) {
    crate::log::line(line);
}

/// `hhrf new`.
fn new(args: NewArgs) -> ExitCode {
    match scaffold::create(args.lang, &args.name, &args.dir, &scaffold::checkout()) {
        Ok(folder) => {
            say(format_args!(
                "created {} ({}); next: {}",
                folder.display(),
                args.lang.name(),
                args.lang.next_steps()
            ));
            if args.lang == Language::Rust {
                say(format_args!(
                    "fezz-abi is not published: Cargo.toml depends on {}/abi by path",
                    scaffold::checkout().display()
                ));
            }
            ExitCode::SUCCESS
        }
        Err(error @ scaffold::ScaffoldError::Name(_)) => {
            say(format_args!("error: {error}"));
            ExitCode::from(USAGE_EXIT)
        }
        Err(error) => {
            say(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// Reads at most one byte more than the body limit (`wire_request` refuses a larger body
/// as the server would).
fn read_body(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    reader
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)?;
    Ok(body)
}

/// `hhrf invoke`.
fn run_invoke(args: InvokeArgs) -> ExitCode {
    let body = match (&args.data, &args.data_file) {
        (Some(data), _) => data.clone().into_bytes(),
        (None, Some(file)) if file == Path::new("-") => match read_body(std::io::stdin().lock()) {
            Ok(body) => body,
            Err(error) => {
                say(format_args!("error: --data-file -: reading stdin: {error}"));
                return ExitCode::from(USAGE_EXIT);
            }
        },
        (None, Some(file)) => match std::fs::File::open(file).and_then(read_body) {
            Ok(body) => body,
            Err(error) => {
                say(format_args!(
                    "error: --data-file {}: {error}",
                    file.display()
                ));
                return ExitCode::from(USAGE_EXIT);
            }
        },
        (None, None) => Vec::new(),
    };
    let root = root_of(args.root.as_ref());
    let runner_user = match runner_user_of(args.runner_user) {
        Ok(user) => user,
        Err(code) => return code,
    };
    let target = Target::parse(&args.target, &root);
    let function = match target.function() {
        Ok(function) => function,
        Err(error) => {
            say(format_args!("error: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let user = crate::privileges::effective(runner_user);
    crate::privileges::set_runner_user(user);
    if let (Some(user), Target::Deployed { root, .. }) = (user, &target) {
        let shared = Arc::new(function.clone());
        for line in crate::privileges::hand_over_grants(root, &[&shared], user) {
            say(line);
        }
    }
    let spec = CallSpec {
        method: args.method.clone(),
        target: args.path.clone(),
        headers: args.headers.clone(),
        body,
        request_id: args.request_id.clone(),
        client_address: args.client_address.clone(),
        host: args.host.clone(),
        deadline_unix_ms: args.deadline_ms,
        timeout: args.timeout_ms,
    };
    match call(&function, spec) {
        Ok(invocation) => print(&invocation, &args),
        Err(InvokeError::Request(reason)) => {
            say(format_args!("error: {reason}"));
            ExitCode::from(USAGE_EXIT)
        }
        Err(error) => {
            say(format_args!("error: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Chooses the runner as the server does and makes the call on a runtime of its own.
fn call(function: &Function, spec: CallSpec) -> Result<invoke::Invocation, InvokeError> {
    let runner = server_runner().map_err(InvokeError::Target)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| InvokeError::Target(format!("starting the async runtime: {error}")))?;
    let default_timeout = TimeoutMs::new(DEFAULT_TIMEOUT_MS).map_err(InvokeError::Target)?;
    let result = runtime.block_on(invoke::invoke(&runner, function, spec, default_timeout));
    drop(runtime);
    remove_scratch();
    result
}

/// Prints an invocation in the form `args` asks for; the exit code (0: the function
/// answered).
fn print(invocation: &invoke::Invocation, args: &InvokeArgs) -> ExitCode {
    let rendered = invocation.text(args.raw);
    let mut stdout = std::io::stdout().lock();
    let written = if args.json {
        let mut text = serde_json::to_string(&invocation.json()).unwrap_or_default();
        text.push('\n');
        stdout.write_all(text.as_bytes())
    } else if args.diag {
        stdout.write_all(invocation.diag().as_bytes())
    } else {
        stdout.write_all(&rendered.stdout)
    };
    let _ = written.and_then(|()| stdout.flush());
    if !args.json {
        let _ = std::io::stderr().write_all(rendered.stderr.as_bytes());
    }
    if invocation.answered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
