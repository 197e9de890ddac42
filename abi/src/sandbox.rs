//! The sandbox policy a host passes to a runner as `FEZZ_SANDBOX…` environment variables
//! (`spec/RUNNER.md`, "Sandbox"), and the user it runs as (`FEZZ_RUN_UID`, `FEZZ_RUN_GID`,
//! "Runner user"): their names and value syntax, shared by the host that writes them (hhrf)
//! and the runner that reads them (fezz-runner), so the two cannot drift.

/// One variable of the sandbox policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SandboxVariable {
    /// `FEZZ_SANDBOX`: `1` turns the sandbox on; absent, no sandbox (and no other variable of
    /// this enum may be set).
    Enabled,
    /// `FEZZ_SANDBOX_READ`: absolute paths the function may read (files, or folders and all
    /// beneath), separated by [`PATH_LIST_SEPARATOR`].
    Read,
    /// `FEZZ_SANDBOX_WRITE`: absolute paths the function may read and write.
    Write,
    /// `FEZZ_SANDBOX_SCRATCH`: the call's scratch folder (absolute), readable and writable;
    /// the host also names it in `TMPDIR`.
    Scratch,
    /// `FEZZ_SANDBOX_NETWORK`: `none`, or what is granted, among [`NETWORK_CONNECT`] and
    /// [`NETWORK_BIND`], comma-separated.
    Network,
    /// `FEZZ_SANDBOX_FILE_BYTES`: the largest file the function may write, in bytes
    /// (`RLIMIT_FSIZE`).
    FileBytes,
}

/// The user id a host running as root asks the runner to switch to before loading the
/// library (`spec/RUNNER.md`, "Runner user"); set together with [`RUN_GID_VARIABLE`].
pub const RUN_UID_VARIABLE: &str = "FEZZ_RUN_UID";

/// The group id that goes with [`RUN_UID_VARIABLE`].
pub const RUN_GID_VARIABLE: &str = "FEZZ_RUN_GID";

/// The separator of a path list (`FEZZ_SANDBOX_READ`, `FEZZ_SANDBOX_WRITE`), as in `PATH`; a
/// path holding it cannot be granted.
pub const PATH_LIST_SEPARATOR: char = ':';

/// The value of `FEZZ_SANDBOX` that turns the sandbox on.
pub const ENABLED_VALUE: &str = "1";

/// `FEZZ_SANDBOX_NETWORK` value: nothing granted.
pub const NETWORK_NONE: &str = "none";

/// `FEZZ_SANDBOX_NETWORK` item: outgoing TCP connections (and sockets of the INET families).
pub const NETWORK_CONNECT: &str = "connect";

/// `FEZZ_SANDBOX_NETWORK` item: binding TCP ports (and sockets of the INET families).
pub const NETWORK_BIND: &str = "bind";

impl SandboxVariable {
    /// Every variable, in spec order.
    pub const ALL: [SandboxVariable; 6] = [
        SandboxVariable::Enabled,
        SandboxVariable::Read,
        SandboxVariable::Write,
        SandboxVariable::Scratch,
        SandboxVariable::Network,
        SandboxVariable::FileBytes,
    ];

    /// The environment variable's name.
    pub fn env_name(self) -> &'static str {
        match self {
            SandboxVariable::Enabled => "FEZZ_SANDBOX",
            SandboxVariable::Read => "FEZZ_SANDBOX_READ",
            SandboxVariable::Write => "FEZZ_SANDBOX_WRITE",
            SandboxVariable::Scratch => "FEZZ_SANDBOX_SCRATCH",
            SandboxVariable::Network => "FEZZ_SANDBOX_NETWORK",
            SandboxVariable::FileBytes => "FEZZ_SANDBOX_FILE_BYTES",
        }
    }
}

/// The `FEZZ_SANDBOX_NETWORK` value for what is granted: `none`, `connect`, `bind` or
/// `connect,bind`.
pub fn network_value(connect: bool, bind: bool) -> &'static str {
    match (connect, bind) {
        (false, false) => NETWORK_NONE,
        (true, false) => NETWORK_CONNECT,
        (false, true) => NETWORK_BIND,
        (true, true) => "connect,bind",
    }
}

/// Parses a `FEZZ_SANDBOX_NETWORK` value into `(connect, bind)`: `none`, or one or both of
/// `connect` and `bind`, comma-separated, each at most once. `None`: unparsable.
pub fn parse_network(value: &str) -> Option<(bool, bool)> {
    if value == NETWORK_NONE {
        return Some((false, false));
    }
    let (mut connect, mut bind) = (false, false);
    for item in value.split(',') {
        let slot = match item {
            NETWORK_CONNECT => &mut connect,
            NETWORK_BIND => &mut bind,
            _ => return None,
        };
        if *slot {
            return None;
        }
        *slot = true;
    }
    Some((connect, bind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_values_round_trip() {
        for connect in [false, true] {
            for bind in [false, true] {
                assert_eq!(
                    parse_network(network_value(connect, bind)),
                    Some((connect, bind))
                );
            }
        }
        assert_eq!(parse_network("bind,connect"), Some((true, true)));
        for bad in [
            "",
            "connect,",
            "connect,connect",
            "none,bind",
            "udp",
            " bind",
        ] {
            assert_eq!(parse_network(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_share_the_prefix() {
        for variable in SandboxVariable::ALL {
            assert!(variable.env_name().starts_with("FEZZ_SANDBOX"));
        }
    }
}
