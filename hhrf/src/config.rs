//! The server's settings: command-line options, environment variables and defaults.
//!
//! What lives here: [`Config`], [`parse`] (options win over environment variables, which win
//! over the config file (`--config`, TOML), which wins over defaults) and [`USAGE`]. What does not: choosing the runner program (`runner`), which
//! reads `FEZZ_RUNNER` and `PATH`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::manifest::{TimeoutMs, MAX_TIMEOUT_MS};
use crate::proxy::{Cidr, TrustedProxies};

/// The most `--trusted-proxy` blocks.
pub const MAX_TRUSTED_PROXIES: usize = 256;

/// The listening address when neither `--listen` nor `HHRF_LISTEN` is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// The root folder when neither `--root` nor `HHRF_ROOT` is given.
pub const DEFAULT_ROOT: &str = ".";

/// The call timeout, in milliseconds, for functions whose manifest sets none.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// Calls running at once, server-wide, when neither `--max-calls` nor `HHRF_MAX_CALLS` is given.
pub const DEFAULT_MAX_CALLS: u64 = 128;

/// Calls waiting for admission, server-wide, by default (`--max-queue`, `HHRF_MAX_QUEUE`).
pub const DEFAULT_MAX_QUEUE: u64 = 1024;

/// Bytes all calls may buffer together, by default (`--memory-budget`, `HHRF_MEMORY_BUDGET`):
/// 1 GiB, safe on a machine with a few GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 1 << 30;

/// The smallest memory budget: one call with the largest request and output.
pub const MIN_MEMORY_BUDGET: u64 = 64 << 20;

/// The listen backlog by default (`--backlog`, `HHRF_BACKLOG`), capped by the kernel's
/// `net.core.somaxconn`.
pub const DEFAULT_BACKLOG: u64 = 1024;

/// How long the listener keeps accepting after a stop begins, by default
/// (`--drain-delay-ms`, `HHRF_DRAIN_DELAY_MS`): long enough for a load balancer's readiness
/// probe (every few seconds) to see the 503 before connections are refused.
pub const DEFAULT_DRAIN_DELAY_MS: u64 = 5_000;

/// The largest `--drain-delay-ms` and `--drain-timeout-ms`: two hours.
pub const MAX_DRAIN_MS: u64 = 7_200_000;

/// How often `--watch poll` looks at `functions/`, by default (`--poll-interval-ms`).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 500;

/// The range of `--poll-interval-ms`.
pub const POLL_INTERVAL_RANGE_MS: std::ops::RangeInclusive<u64> = 10..=60_000;

/// The largest config file (`--config`): 64 KiB.
pub const MAX_CONFIG_FILE_BYTES: u64 = 64 * 1024;

/// The environment variables a config file may set, by their key (the variable's name
/// without `HHRF_`, lowercased: `max_calls = 64`).
pub const FILE_VARIABLES: [&str; 16] = [
    "HHRF_LISTEN",
    "HHRF_ROOT",
    "HHRF_TIMEOUT_MS",
    "HHRF_MAX_CALLS",
    "HHRF_MAX_QUEUE",
    "HHRF_MEMORY_BUDGET",
    "HHRF_BACKLOG",
    "HHRF_RUNNER_USER",
    "HHRF_ADMIN_LISTEN",
    "HHRF_DRAIN_DELAY_MS",
    "HHRF_DRAIN_TIMEOUT_MS",
    "HHRF_LOG_FORMAT",
    "HHRF_TRUSTED_PROXIES",
    "HHRF_PROXY_PROTOCOL",
    "HHRF_WATCH",
    "HHRF_POLL_INTERVAL_MS",
];

/// The largest value of `--max-calls`, `--max-queue` and `--backlog`.
pub const MAX_COUNT_SETTING: u64 = 1 << 20;

/// The `--help` text.
pub const USAGE: &str = "\
usage: hhrf [serve] [--listen ADDR] [--root DIR] [--timeout-ms N] [--max-calls N] [--max-queue N]
            [--memory-budget BYTES] [--backlog N] [--runner-user UID[:GID]]
            [--admin-listen ADDR] [--drain-delay-ms N] [--drain-timeout-ms N]
            [--log-format human|json]
            [--trusted-proxy CIDR]... [--proxy-protocol]
            [--watch auto|inotify|poll] [--poll-interval-ms N] [--config FILE]
       hhrf new --lang rust|c|zig NAME [--dir DIR]
       hhrf invoke LIBRARY|ID@VERSION [PATH] [-X METHOD] [-H 'NAME: VALUE']... [-d BODY] [--json|--diag]

Serves the functions in DIR/functions/<id>@<version>/ over HTTP, one runner process per call.

commands:
  serve             serve (the default: `hhrf [options]` is `hhrf serve [options]`)
  new               create a function folder: a hello function, fezz.json, a test, build and
                    deploy scripts (`hhrf new --help`)
  invoke            run one call of a library or a deployed ID@VERSION through the runner, as
                    hhrf would, and print the response (`hhrf invoke --help`)
  check             validate every manifest and load each library, without serving
  drain, undrain    make a running server's /_fezz/ready answer 503 (or 200 again)
                    (`hhrf drain --server URL`)
  deploy            install a library as functions/ID@VERSION atomically, and wait until a
                    running server serves it (`hhrf deploy --help`)
  list              the functions, versions, aliases, routes and status, from a running
                    server or from the folder (`hhrf list --help`)
  exit codes: 0 success, 1 failure, 2 a usage error (`hhrf invoke`: 1 when the call failed)

options of serve (each overrides its environment variable):
  --listen ADDR     address to listen on, ip:port (port 0 picks one)  [HHRF_LISTEN, default 127.0.0.1:3000]
  --root DIR        folder that holds functions/                      [HHRF_ROOT, default .]
  --timeout-ms N    call timeout for functions whose fezz.json sets none, 1..=3600000
                                                                      [HHRF_TIMEOUT_MS, default 10000]
  --max-calls N     calls running at once, server-wide; each function gets half
                                                                      [HHRF_MAX_CALLS, default 128]
  --max-queue N     calls waiting for admission, server-wide; each function gets half
                                                                      [HHRF_MAX_QUEUE, default 1024]
  --memory-budget BYTES
                    bytes all calls may buffer at once (requests and answers), at least 67108864
                                                                      [HHRF_MEMORY_BUDGET, default 1073741824]
  --backlog N       listen backlog, capped by net.core.somaxconn      [HHRF_BACKLOG, default 1024]
  --runner-user UID[:GID]  when hhrf runs as root, the user runners switch to (0:0: stay root)
                                                                      [HHRF_RUNNER_USER, default 61792:61792]
  --admin-listen ADDR
                    serve /_fezz/health, ready, metrics, drain, undrain and the operator
                    page /_fezz/ on ADDR only (the main listener then answers 404 for them)   [HHRF_ADMIN_LISTEN, default: none]
  --drain-delay-ms N
                    after SIGTERM, keep accepting for N ms while /_fezz/ready answers 503
                                                                      [HHRF_DRAIN_DELAY_MS, default 5000]
  --drain-timeout-ms N
                    then wait at most N ms for calls in flight [HHRF_DRAIN_TIMEOUT_MS, default:
                    the longest function timeout + 3000]
  --log-format human|json
                    the log on stderr: `hhrf: key=value` lines, or one JSON object per line
                                                                      [HHRF_LOG_FORMAT, default human]
  --trusted-proxy CIDR
                    believe X-Forwarded-For from peers in CIDR (repeatable; 10.0.0.0/8, ::1)
                                              [HHRF_TRUSTED_PROXIES, comma-separated, default: none]
  --proxy-protocol  connections from trusted proxies start with a PROXY protocol v1 line
                                                                      [HHRF_PROXY_PROTOCOL=1]
  --watch auto|inotify|poll
                    how changes of functions/ are noticed (hot deploy); auto: inotify, or
                    polling on NFS                             [HHRF_WATCH, default auto]
  --poll-interval-ms N
                    how often polling looks, 10..=60000        [HHRF_POLL_INTERVAL_MS, default 500]
  --config FILE     a TOML file of settings: keys are the variables below without HHRF_,
                    lowercased (max_calls = 64); flags > environment > file > defaults
                                                                      [HHRF_CONFIG, default: none]
  -h, --help        print this help
  -V, --version     print the version

environment:
  FEZZ_RUNNER       the runner program: a path, or a command name (looked up on PATH,
                    then next to hhrf); default: fezz-runner next to hhrf, else on PATH
";

/// The settings of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The folder holding `functions/`.
    pub root: PathBuf,
    /// The timeout of functions whose manifest sets none.
    pub default_timeout: TimeoutMs,
    /// Calls running at once, server-wide.
    pub max_calls: usize,
    /// Calls waiting for admission, server-wide.
    pub max_queue: usize,
    /// Bytes all calls may buffer together.
    pub memory_budget: usize,
    /// The listen backlog asked for (the kernel caps it at `somaxconn`).
    pub backlog: u32,
    /// The user and group runners switch to when hhrf runs as root (`--runner-user`).
    pub runner_user: (u32, u32),
    /// Where the operator endpoints listen, when apart from the main listener.
    pub admin_listen: Option<SocketAddr>,
    /// How long the listener keeps accepting after a stop begins.
    pub drain_delay: Duration,
    /// How long in-flight calls may take once the listener is closed; `None`: the longest
    /// function timeout plus 3 s.
    pub drain_timeout: Option<Duration>,
    /// How the log is written (`--log-format`).
    pub log_format: crate::log::LogFormat,
    /// Whose `X-Forwarded-For` and PROXY line are believed.
    pub trusted_proxies: TrustedProxies,
    /// How changes of `functions/` are noticed (`--watch`).
    pub watch: crate::watch::WatchMode,
    /// How often polling looks (`--poll-interval-ms`).
    pub poll_interval: Duration,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server (boxed: the settings are large, the other commands empty).
    Serve(Box<Config>),
    /// Print [`USAGE`].
    Help,
    /// Print the version.
    Version,
}

/// A setting that cannot be used. `Display` names the option or variable and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An argument that is not an option hhrf knows.
    #[error("unknown argument {0:?} (see --help)")]
    UnknownArgument(String),
    /// An option given without its value.
    #[error("{0} needs a value (see --help)")]
    MissingValue(&'static str),
    /// A value that breaks its option's rule.
    #[error("{source_name}={value:?}: {rule}")]
    Invalid {
        /// The option or environment variable.
        source_name: String,
        /// The value given.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
}

/// Reads the settings from `args` (without the program name) and the environment `env`.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Command, ConfigError> {
    let mut listen: Option<(String, OsString)> = None;
    let mut root: Option<(String, OsString)> = None;
    let mut timeout: Option<(String, OsString)> = None;
    let mut max_calls: Option<(String, OsString)> = None;
    let mut max_queue: Option<(String, OsString)> = None;
    let mut memory_budget: Option<(String, OsString)> = None;
    let mut backlog: Option<(String, OsString)> = None;
    let mut runner_user: Option<(String, OsString)> = None;
    let mut admin_listen: Option<(String, OsString)> = None;
    let mut drain_delay: Option<(String, OsString)> = None;
    let mut drain_timeout: Option<(String, OsString)> = None;
    let mut log_format: Option<(String, OsString)> = None;
    let mut trusted: Vec<(String, String)> = Vec::new();
    let mut proxy_protocol = false;
    let mut watch: Option<(String, OsString)> = None;
    let mut poll_interval: Option<(String, OsString)> = None;
    let mut config_file: Option<(String, OsString)> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (text.clone(), None),
        };
        match name.as_str() {
            "--trusted-proxy" => {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or(ConfigError::MissingValue("--trusted-proxy"))?
                        .to_string_lossy()
                        .into_owned(),
                };
                trusted.push(("--trusted-proxy".to_owned(), value));
                continue;
            }
            "--proxy-protocol" if inline.is_none() => {
                proxy_protocol = true;
                continue;
            }
            _ => {}
        }
        let slot = match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--listen" => (&mut listen, "--listen"),
            "--root" => (&mut root, "--root"),
            "--timeout-ms" => (&mut timeout, "--timeout-ms"),
            "--max-calls" => (&mut max_calls, "--max-calls"),
            "--max-queue" => (&mut max_queue, "--max-queue"),
            "--memory-budget" => (&mut memory_budget, "--memory-budget"),
            "--backlog" => (&mut backlog, "--backlog"),
            "--runner-user" => (&mut runner_user, "--runner-user"),
            "--admin-listen" => (&mut admin_listen, "--admin-listen"),
            "--drain-delay-ms" => (&mut drain_delay, "--drain-delay-ms"),
            "--drain-timeout-ms" => (&mut drain_timeout, "--drain-timeout-ms"),
            "--log-format" => (&mut log_format, "--log-format"),
            "--watch" => (&mut watch, "--watch"),
            "--poll-interval-ms" => (&mut poll_interval, "--poll-interval-ms"),
            "--config" => (&mut config_file, "--config"),
            _ => return Err(ConfigError::UnknownArgument(text)),
        };
        let value = match inline {
            Some(value) => OsString::from(value),
            None => args.next().ok_or(ConfigError::MissingValue(slot.1))?,
        };
        *slot.0 = Some((slot.1.to_owned(), value));
    }
    let file =
        match config_file.or_else(|| env("HHRF_CONFIG").map(|v| ("HHRF_CONFIG".to_owned(), v))) {
            None => Vec::new(),
            Some((source, path)) => read_config_file(&source, &PathBuf::from(path))?,
        };
    let from_env = |variable: &str| {
        env(variable)
            .map(|value| (variable.to_owned(), value))
            .or_else(|| {
                file.iter()
                    .find(|(name, _, _)| name == variable)
                    .map(|(_, source, value)| (source.clone(), value.clone()))
            })
    };
    let watch = match watch.or_else(|| from_env("HHRF_WATCH")) {
        None => crate::watch::WatchMode::default(),
        Some((source, value)) => {
            let text = value.to_string_lossy();
            crate::watch::WatchMode::parse(&text)
                .ok_or_else(|| invalid(&source, &text, "must be auto, inotify or poll"))?
        }
    };
    let poll_interval = number(
        poll_interval.or_else(|| from_env("HHRF_POLL_INTERVAL_MS")),
        DEFAULT_POLL_INTERVAL_MS,
        POLL_INTERVAL_RANGE_MS,
    )?;
    let listen = listen.or_else(|| from_env("HHRF_LISTEN"));
    let root = root.or_else(|| from_env("HHRF_ROOT"));
    let timeout = timeout.or_else(|| from_env("HHRF_TIMEOUT_MS"));
    let max_calls = number(
        max_calls.or_else(|| from_env("HHRF_MAX_CALLS")),
        DEFAULT_MAX_CALLS,
        1..=MAX_COUNT_SETTING,
    )?;
    let max_queue = number(
        max_queue.or_else(|| from_env("HHRF_MAX_QUEUE")),
        DEFAULT_MAX_QUEUE,
        0..=MAX_COUNT_SETTING,
    )?;
    let memory_budget = number(
        memory_budget.or_else(|| from_env("HHRF_MEMORY_BUDGET")),
        DEFAULT_MEMORY_BUDGET,
        MIN_MEMORY_BUDGET..=(1 << 46),
    )?;
    let backlog = number(
        backlog.or_else(|| from_env("HHRF_BACKLOG")),
        DEFAULT_BACKLOG,
        1..=MAX_COUNT_SETTING,
    )?;
    let runner_user = runner_user.or_else(|| from_env("HHRF_RUNNER_USER"));
    let drain_delay = number(
        drain_delay.or_else(|| from_env("HHRF_DRAIN_DELAY_MS")),
        DEFAULT_DRAIN_DELAY_MS,
        0..=MAX_DRAIN_MS,
    )?;
    let drain_timeout = match drain_timeout.or_else(|| from_env("HHRF_DRAIN_TIMEOUT_MS")) {
        None => None,
        given => Some(number(given, 0, 0..=MAX_DRAIN_MS)?),
    };
    let log_format = match log_format.or_else(|| from_env("HHRF_LOG_FORMAT")) {
        None => crate::log::LogFormat::default(),
        Some((source, value)) => {
            let text = value.to_string_lossy();
            crate::log::LogFormat::from_name(&text)
                .ok_or_else(|| invalid(&source, &text, "must be human or json"))?
        }
    };
    let admin_listen = match admin_listen.or_else(|| from_env("HHRF_ADMIN_LISTEN")) {
        None => None,
        Some((source, value)) => Some(address(&source, &value)?),
    };

    let trusted_proxies = trusted_proxies(trusted, proxy_protocol, &from_env)?;

    let listen = match listen {
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|_| invalid("default", DEFAULT_LISTEN, "bad default"))?,
        Some((source, value)) => address(&source, &value)?,
    };
    let root = match root {
        None => PathBuf::from(DEFAULT_ROOT),
        Some((source, value)) if value.is_empty() => {
            return Err(invalid(&source, "", "must not be empty"))
        }
        Some((_, value)) => PathBuf::from(value),
    };
    let default_timeout = match timeout {
        None => TimeoutMs::new(DEFAULT_TIMEOUT_MS).map_err(|rule| invalid("default", "", &rule))?,
        Some((source, value)) => {
            let text = value.to_string_lossy();
            let ms = text.parse::<u64>().map_err(|_| {
                invalid(
                    &source,
                    &text,
                    &format!("must be a whole number of milliseconds, 1..={MAX_TIMEOUT_MS}"),
                )
            })?;
            TimeoutMs::new(ms).map_err(|rule| invalid(&source, &text, &rule))?
        }
    };
    let runner_user = match runner_user {
        None => crate::privileges::DEFAULT_RUNNER_USER,
        Some((source, value)) => {
            let text = value.to_string_lossy();
            crate::privileges::parse_user(&text).map_err(|rule| invalid(&source, &text, &rule))?
        }
    };
    Ok(Command::Serve(Box::new(Config {
        listen,
        root,
        default_timeout,
        max_calls: max_calls as usize,
        max_queue: max_queue as usize,
        memory_budget: memory_budget as usize,
        backlog: backlog as u32,
        runner_user,
        admin_listen,
        drain_delay: Duration::from_millis(drain_delay),
        drain_timeout: drain_timeout.map(Duration::from_millis),
        log_format,
        trusted_proxies,
        watch,
        poll_interval: Duration::from_millis(poll_interval),
    })))
}

/// The trusted proxies of `--trusted-proxy` (or `HHRF_TRUSTED_PROXIES`, comma-separated,
/// when no option gives one) and `--proxy-protocol` (or `HHRF_PROXY_PROTOCOL`, `1` or `0`).
fn trusted_proxies(
    mut given: Vec<(String, String)>,
    proxy_protocol: bool,
    from_env: &dyn Fn(&str) -> Option<(String, OsString)>,
) -> Result<TrustedProxies, ConfigError> {
    if given.is_empty() {
        if let Some((source, value)) = from_env("HHRF_TRUSTED_PROXIES") {
            let text = value.to_string_lossy().into_owned();
            given = text
                .split(',')
                .map(str::trim)
                .filter(|block| !block.is_empty())
                .map(|block| (source.clone(), block.to_owned()))
                .collect();
        }
    }
    if given.len() > MAX_TRUSTED_PROXIES {
        let (source, value) = &given[MAX_TRUSTED_PROXIES];
        return Err(invalid(
            source,
            value,
            &format!("at most {MAX_TRUSTED_PROXIES} trusted proxy blocks"),
        ));
    }
    let blocks = given
        .iter()
        .map(|(source, value)| {
            Cidr::parse(value).map_err(|rule| {
                invalid(
                    source,
                    value,
                    &format!("must be ADDR or ADDR/PREFIX (10.0.0.0/8, ::1): {rule}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let proxy_protocol = match (proxy_protocol, from_env("HHRF_PROXY_PROTOCOL")) {
        (true, _) => true,
        (false, None) => false,
        (false, Some((source, value))) => match value.to_str() {
            Some("1") => true,
            Some("0") => false,
            _ => return Err(invalid(&source, &value.to_string_lossy(), "must be 1 or 0")),
        },
    };
    if proxy_protocol && blocks.is_empty() {
        return Err(invalid(
            "--proxy-protocol",
            "",
            "needs --trusted-proxy: only trusted proxies may send a PROXY line",
        ));
    }
    Ok(TrustedProxies {
        blocks,
        proxy_protocol,
    })
}

/// Reads a config file: a TOML table whose keys are [`FILE_VARIABLES`] without `HHRF_`,
/// lowercased, each a string or an integer. Returns `(variable, source, value)` triples, the
/// source naming the file and the key.
fn read_config_file(
    source: &str,
    path: &std::path::Path,
) -> Result<Vec<(String, String, OsString)>, ConfigError> {
    use std::io::Read as _;
    let shown = path.display().to_string();
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(MAX_CONFIG_FILE_BYTES + 1)
                .read_to_string(&mut text)
        })
        .map_err(|error| invalid(source, &shown, &format!("cannot be read: {error}")))?;
    if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(invalid(
            source,
            &shown,
            &format!("is larger than {MAX_CONFIG_FILE_BYTES} bytes"),
        ));
    }
    let table: toml::Table = text.parse().map_err(|error: toml::de::Error| {
        invalid(source, &shown, &format!("is not TOML: {}", error.message()))
    })?;
    let mut settings = Vec::new();
    for (key, value) in table {
        let variable = format!("HHRF_{}", key.to_ascii_uppercase());
        if !FILE_VARIABLES.contains(&variable.as_str()) || key.to_ascii_lowercase() != key {
            return Err(invalid(
                source,
                &shown,
                &format!("unknown key {key:?} (the keys are the HHRF_ variables' names without HHRF_, lowercased)"),
            ));
        }
        let text = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            other => {
                return Err(invalid(
                    source,
                    &shown,
                    &format!(
                        "key {key:?}: must be a string or an integer, not {}",
                        other.type_str()
                    ),
                ))
            }
        };
        settings.push((variable, format!("{shown}: {key}"), OsString::from(text)));
    }
    Ok(settings)
}

/// A socket address from its option or variable.
fn address(source: &str, value: &OsString) -> Result<SocketAddr, ConfigError> {
    let text = value.to_string_lossy();
    text.parse::<SocketAddr>().map_err(|_| {
        invalid(
            source,
            &text,
            "must be an ip:port address such as 127.0.0.1:3000 or [::1]:0",
        )
    })
}

/// A whole number within `range` from its option or variable, else `default`.
fn number(
    given: Option<(String, OsString)>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some((source, value)) = given else {
        return Ok(default);
    };
    let text = value.to_string_lossy();
    text.parse::<u64>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            invalid(
                &source,
                &text,
                &format!(
                    "must be a whole number, {}..={}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

fn invalid(source: &str, value: &str, rule: &str) -> ConfigError {
    ConfigError::Invalid {
        source_name: source.to_owned(),
        value: value.to_owned(),
        rule: rule.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Command, ConfigError> {
        let env: Vec<(String, OsString)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        parse(args.iter().map(OsString::from), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn serve(args: &[&str], env: &[(&str, &str)]) -> Config {
        match run(args, env).unwrap() {
            Command::Serve(config) => *config,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_apply_without_options() {
        let config = serve(&[], &[]);
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.root, PathBuf::from("."));
        assert_eq!(config.default_timeout.as_millis(), 10_000);
        assert_eq!(config.max_calls, 128);
        assert_eq!(config.max_queue, 1024);
        assert_eq!(config.memory_budget, 1 << 30);
        assert_eq!(config.backlog, 1024);
        assert_eq!(config.runner_user, crate::privileges::DEFAULT_RUNNER_USER);
    }

    #[test]
    fn admission_settings_are_bounded_numbers() {
        let config = serve(
            &["--max-calls", "4", "--max-queue=0", "--backlog", "16"],
            &[("HHRF_MEMORY_BUDGET", "67108864"), ("HHRF_MAX_CALLS", "9")],
        );
        assert_eq!(
            (
                config.max_calls,
                config.max_queue,
                config.memory_budget,
                config.backlog
            ),
            (4, 0, 64 << 20, 16)
        );
        let error = run(&["--max-calls", "0"], &[]).unwrap_err();
        assert!(error.to_string().contains("1..=1048576"), "{error}");
        let error = run(&[], &[("HHRF_MEMORY_BUDGET", "1000")]).unwrap_err();
        assert!(
            error.to_string().starts_with("HHRF_MEMORY_BUDGET="),
            "{error}"
        );
        assert!(run(&["--backlog", "x"], &[]).is_err());
    }

    #[test]
    fn the_runner_user_is_an_option_and_a_variable() {
        assert_eq!(
            serve(&["--runner-user", "1000:100"], &[("HHRF_RUNNER_USER", "5")]).runner_user,
            (1000, 100)
        );
        assert_eq!(serve(&[], &[("HHRF_RUNNER_USER", "5")]).runner_user, (5, 5));
        let error = run(&["--runner-user=nobody"], &[]).unwrap_err();
        assert!(
            error.to_string().starts_with("--runner-user=\"nobody\""),
            "{error}"
        );
    }

    #[test]
    fn options_override_the_environment() {
        let env = [
            ("HHRF_LISTEN", "0.0.0.0:80"),
            ("HHRF_ROOT", "/srv"),
            ("HHRF_TIMEOUT_MS", "5"),
        ];
        let config = serve(&[], &env);
        assert_eq!(config.listen.to_string(), "0.0.0.0:80");
        assert_eq!(config.root, PathBuf::from("/srv"));
        assert_eq!(config.default_timeout.as_millis(), 5);
        let config = serve(
            &["--listen", "[::1]:0", "--root=/x", "--timeout-ms", "7"],
            &env,
        );
        assert_eq!(config.listen.to_string(), "[::1]:0");
        assert_eq!(config.root, PathBuf::from("/x"));
        assert_eq!(config.default_timeout.as_millis(), 7);
    }

    #[test]
    fn bad_values_name_their_source() {
        let error = run(&["--timeout-ms", "0"], &[]).unwrap_err();
        assert!(
            error.to_string().starts_with("--timeout-ms=\"0\""),
            "{error}"
        );
        let error = run(&[], &[("HHRF_TIMEOUT_MS", "soon")]).unwrap_err();
        assert!(error.to_string().starts_with("HHRF_TIMEOUT_MS="), "{error}");
        let error = run(&[], &[("HHRF_LISTEN", "localhost")]).unwrap_err();
        assert!(error.to_string().contains("ip:port"), "{error}");
        assert_eq!(
            run(&["--listen"], &[]).unwrap_err(),
            ConfigError::MissingValue("--listen")
        );
        assert!(matches!(
            run(&["serve"], &[]),
            Err(ConfigError::UnknownArgument(_))
        ));
        assert!(matches!(
            run(&["--root="], &[]),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn drain_and_admin_settings() {
        let config = serve(&[], &[]);
        assert_eq!(
            (
                config.admin_listen,
                config.drain_delay,
                config.drain_timeout
            ),
            (None, Duration::from_secs(5), None)
        );
        let config = serve(
            &["--admin-listen", "127.0.0.1:9000", "--drain-delay-ms=0"],
            &[
                ("HHRF_DRAIN_TIMEOUT_MS", "2500"),
                ("HHRF_DRAIN_DELAY_MS", "9"),
            ],
        );
        assert_eq!(config.admin_listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(config.drain_delay, Duration::ZERO);
        assert_eq!(config.drain_timeout, Some(Duration::from_millis(2500)));
        let error = run(&["--drain-delay-ms", "7200001"], &[]).unwrap_err();
        assert!(error.to_string().contains("0..=7200000"), "{error}");
        assert_eq!(
            serve(&["--log-format", "json"], &[]).log_format,
            crate::log::LogFormat::Json
        );
        assert!(run(&[], &[("HHRF_LOG_FORMAT", "xml")]).is_err());
        let error = run(&[], &[("HHRF_ADMIN_LISTEN", "admin")]).unwrap_err();
        assert!(
            error.to_string().starts_with("HHRF_ADMIN_LISTEN="),
            "{error}"
        );
    }

    #[test]
    fn trusted_proxies_repeat_and_come_from_the_environment() {
        let config = serve(
            &[
                "--trusted-proxy",
                "10.0.0.0/8",
                "--trusted-proxy=::1",
                "--proxy-protocol",
            ],
            &[("HHRF_TRUSTED_PROXIES", "192.0.2.0/24")],
        );
        let blocks: Vec<String> = config
            .trusted_proxies
            .blocks
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(blocks, ["10.0.0.0/8", "::1/128"]);
        assert!(config.trusted_proxies.proxy_protocol);
        let config = serve(
            &[],
            &[
                ("HHRF_TRUSTED_PROXIES", "192.0.2.0/24, 127.0.0.1"),
                ("HHRF_PROXY_PROTOCOL", "1"),
            ],
        );
        assert_eq!(config.trusted_proxies.blocks.len(), 2);
        assert!(config.trusted_proxies.proxy_protocol);
        assert_eq!(serve(&[], &[]).trusted_proxies, TrustedProxies::default());
        let error = run(&["--trusted-proxy", "10.0.0.0/40"], &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--trusted-proxy=\"10.0.0.0/40\""),
            "{error}"
        );
        let error = run(&["--proxy-protocol"], &[]).unwrap_err();
        assert!(
            error.to_string().contains("needs --trusted-proxy"),
            "{error}"
        );
        assert!(run(&[], &[("HHRF_PROXY_PROTOCOL", "yes")]).is_err());
        assert_eq!(
            run(&["--trusted-proxy"], &[]).unwrap_err(),
            ConfigError::MissingValue("--trusted-proxy")
        );
    }

    #[test]
    fn watch_settings_and_the_config_file() {
        let config = serve(&[], &[]);
        assert_eq!(config.watch, crate::watch::WatchMode::Auto);
        assert_eq!(
            config.poll_interval,
            Duration::from_millis(DEFAULT_POLL_INTERVAL_MS)
        );
        let config = serve(&["--watch", "poll", "--poll-interval-ms=20"], &[]);
        assert_eq!(config.watch, crate::watch::WatchMode::Poll);
        assert_eq!(config.poll_interval, Duration::from_millis(20));
        assert!(run(&["--watch", "fanotify"], &[]).is_err());
        assert!(run(&["--poll-interval-ms", "5"], &[]).is_err());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hhrf.toml");
        std::fs::write(
            &file,
            "max_calls = 7\nroot = \"/from-file\"\nwatch = \"poll\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let config = serve(&["--config", path], &[]);
        assert_eq!(
            (config.max_calls, config.root.to_str()),
            (7, Some("/from-file"))
        );
        assert_eq!(config.watch, crate::watch::WatchMode::Poll);
        // flags > environment > file.
        let config = serve(
            &["--config", path, "--max-calls", "9"],
            &[("HHRF_MAX_CALLS", "8"), ("HHRF_ROOT", "/from-env")],
        );
        assert_eq!(
            (config.max_calls, config.root.to_str()),
            (9, Some("/from-env"))
        );
        let config = serve(&[], &[("HHRF_CONFIG", path), ("HHRF_MAX_CALLS", "8")]);
        assert_eq!(config.max_calls, 8);
        std::fs::write(&file, "max_calls = 0\n").unwrap();
        let error = run(&["--config", path], &[]).unwrap_err();
        assert!(
            error.to_string().contains("hhrf.toml: max_calls"),
            "{error}"
        );
        std::fs::write(&file, "maxcalls = 1\n").unwrap();
        let error = run(&["--config", path], &[]).unwrap_err();
        assert!(error.to_string().contains("unknown key"), "{error}");
        std::fs::write(&file, "max_calls = [1]\n").unwrap();
        assert!(run(&["--config", path], &[]).is_err());
        std::fs::write(&file, "max_calls = \n").unwrap();
        assert!(run(&["--config", path], &[])
            .unwrap_err()
            .to_string()
            .contains("not TOML"));
        assert!(run(&["--config", "/nonexistent/hhrf.toml"], &[]).is_err());
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["--help"], &[]).unwrap(), Command::Help);
        assert_eq!(run(&["-V"], &[]).unwrap(), Command::Version);
    }
}
