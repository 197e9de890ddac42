//! Per-call resource limits (`spec/RUNNER.md`, "Resource limits"): the host passes them as
//! `FEZZ_LIMIT_…` environment variables, and the runner applies them to itself with
//! `setrlimit` (soft = hard) before it loads the library, so they hold for the function and
//! everything it starts.
//!
//! [`requested_limits`] reads and checks the variables (pure, testable); [`apply_limits`]
//! changes the process (only the `fezz-runner` binary calls it).

use std::ffi::OsString;
use std::io;

use fezz_abi::runner_protocol::{ResourceLimit, RunnerExit};

use crate::Failure;

/// The limits the environment asks for, in spec order, read through `get` (normally
/// [`std::env::var_os`]). A variable that is set but is not a positive decimal integer that
/// fits in 64 bits is a `usage` failure naming it; an unset variable means no limit.
pub fn requested_limits(
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<Vec<(ResourceLimit, u64)>, Failure> {
    let mut limits = Vec::new();
    for limit in ResourceLimit::ALL {
        let name = limit.env_name();
        let Some(raw) = get(name) else { continue };
        let value = raw
            .to_str()
            .and_then(ResourceLimit::parse_value)
            .ok_or_else(|| {
                Failure::new(
                    RunnerExit::Usage,
                    format!(
                        "{name}={:?} is not a positive decimal integer",
                        raw.to_string_lossy()
                    ),
                )
            })?;
        limits.push((limit, value));
    }
    Ok(limits)
}

/// Reads the variables from this process's environment and applies them.
pub fn apply_from_env() -> Result<(), Failure> {
    apply_limits(&requested_limits(|name| std::env::var_os(name))?)
}

/// Applies each limit to this process with `setrlimit`, soft and hard alike. A value above the
/// current hard limit (which an unprivileged process cannot raise) becomes that hard limit:
/// the function is held at least as tightly as asked. A `setrlimit` that fails anyway is a
/// `runner-internal` failure naming the variable.
pub fn apply_limits(limits: &[(ResourceLimit, u64)]) -> Result<(), Failure> {
    for &(limit, value) in limits {
        set_limit(limit, value).map_err(|error| {
            Failure::new(
                RunnerExit::Internal,
                format!(
                    "applying {}={value} (setrlimit {}) failed: {error}",
                    limit.env_name(),
                    limit.rlimit_name()
                ),
            )
        })?;
    }
    Ok(())
}

/// `setrlimit(resource, {value, value})`, lowered to the current hard limit if above it.
fn set_limit(limit: ResourceLimit, value: u64) -> io::Result<()> {
    macro_rules! set {
        ($resource:expr) => {{
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes one `rlimit` into the struct we own.
            if unsafe { libc::getrlimit($resource, &mut current) } == -1 {
                return Err(io::Error::last_os_error());
            }
            let mut wanted = libc::rlim_t::try_from(value).unwrap_or(libc::RLIM_INFINITY);
            if current.rlim_max != libc::RLIM_INFINITY && wanted > current.rlim_max {
                wanted = current.rlim_max;
            }
            let new = libc::rlimit {
                rlim_cur: wanted,
                rlim_max: wanted,
            };
            // SAFETY: setrlimit reads one `rlimit` from a struct we own.
            if unsafe { libc::setrlimit($resource, &new) } == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }};
    }
    match limit {
        ResourceLimit::MemoryBytes => set!(libc::RLIMIT_AS),
        ResourceLimit::CpuSeconds => set!(libc::RLIMIT_CPU),
        ResourceLimit::OpenFiles => set!(libc::RLIMIT_NOFILE),
        ResourceLimit::Processes => set!(libc::RLIMIT_NPROC),
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a limit this runner does not know",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(own, _)| *own == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn set_variables_are_read_in_spec_order() {
        let limits = requested_limits(env(&[
            ("FEZZ_LIMIT_PROCESSES", "7"),
            ("FEZZ_LIMIT_MEMORY_BYTES", "16777216"),
            ("FEZZ_LIMIT_OTHER", "x"),
        ]))
        .unwrap();
        assert_eq!(
            limits,
            [
                (ResourceLimit::MemoryBytes, 16777216),
                (ResourceLimit::Processes, 7)
            ]
        );
        assert!(requested_limits(env(&[])).unwrap().is_empty());
    }

    #[test]
    fn a_bad_value_is_a_usage_failure_naming_the_variable() {
        for bad in ["", "0", "-1", "1k", " 2", "99999999999999999999"] {
            let failure = requested_limits(env(&[("FEZZ_LIMIT_OPEN_FILES", bad)])).unwrap_err();
            assert_eq!(failure.exit, RunnerExit::Usage, "{bad:?}");
            assert!(
                failure.message.starts_with("FEZZ_LIMIT_OPEN_FILES="),
                "{failure}"
            );
        }
    }
}
