//! The runner's exit codes and the error codes of its error frames (`spec/RUNNER.md`,
//! "Exit codes"). A runner that cannot produce a response writes one error frame whose `code`
//! is [`RunnerExit::error_code`] and exits with [`RunnerExit::code`].
//!
//! Also the per-call resource limits a host passes in the runner's environment
//! ([`ResourceLimit`], `spec/RUNNER.md`, "Resource limits").

/// How a runner process ends. The numbers are stable; retired numbers are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunnerExit {
    /// 0: every request frame got a response frame and stdin ended at a frame boundary.
    Success,
    /// 2 (`usage`): the command line is wrong (no library path, unknown option).
    Usage,
    /// 10 (`request-invalid`): stdin is not a valid request frame (bad framing, too large,
    /// truncated, or a payload that does not decode as a `fezz-request`).
    RequestInvalid,
    /// 11 (`library-load-failed`): the library file is missing or is not a loadable library.
    LibraryLoadFailed,
    /// 12 (`symbol-missing`): a required symbol (`fezz_abi_version`, `fezz_handle_v2`,
    /// `fezz_free_v2`) is not exported.
    SymbolMissing,
    /// 13 (`abi-version-mismatch`): `fezz_abi_version()` returned a version this runner cannot
    /// call (below 2).
    AbiVersionMismatch,
    /// 14 (`function-failed`): `fezz_handle_v2` returned a non-zero result code.
    FunctionFailed,
    /// 15 (`response-invalid`): the function returned bytes that are not a valid
    /// `fezz-response`, or a null buffer with `FEZZ_RESULT_OK`.
    ResponseInvalid,
    /// 16 (`runner-internal`): the runner itself failed (for example, writing stdout failed).
    Internal,
}

impl RunnerExit {
    /// Every exit, in spec order.
    pub const ALL: [RunnerExit; 9] = [
        RunnerExit::Success,
        RunnerExit::Usage,
        RunnerExit::RequestInvalid,
        RunnerExit::LibraryLoadFailed,
        RunnerExit::SymbolMissing,
        RunnerExit::AbiVersionMismatch,
        RunnerExit::FunctionFailed,
        RunnerExit::ResponseInvalid,
        RunnerExit::Internal,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            RunnerExit::Success => 0,
            RunnerExit::Usage => 2,
            RunnerExit::RequestInvalid => 10,
            RunnerExit::LibraryLoadFailed => 11,
            RunnerExit::SymbolMissing => 12,
            RunnerExit::AbiVersionMismatch => 13,
            RunnerExit::FunctionFailed => 14,
            RunnerExit::ResponseInvalid => 15,
            RunnerExit::Internal => 16,
        }
    }

    /// The `code` of the error frame written with this exit (`ok` for success).
    pub fn error_code(self) -> &'static str {
        match self {
            RunnerExit::Success => "ok",
            RunnerExit::Usage => "usage",
            RunnerExit::RequestInvalid => "request-invalid",
            RunnerExit::LibraryLoadFailed => "library-load-failed",
            RunnerExit::SymbolMissing => "symbol-missing",
            RunnerExit::AbiVersionMismatch => "abi-version-mismatch",
            RunnerExit::FunctionFailed => "function-failed",
            RunnerExit::ResponseInvalid => "response-invalid",
            RunnerExit::Internal => "runner-internal",
        }
    }

    /// The exit with this process exit code, if it is one of the spec's.
    pub fn from_code(code: i32) -> Option<RunnerExit> {
        RunnerExit::ALL
            .into_iter()
            .find(|exit| i32::from(exit.code()) == code)
    }

    /// The exit whose error frame carries `code`, if any.
    pub fn from_error_code(code: &str) -> Option<RunnerExit> {
        RunnerExit::ALL
            .into_iter()
            .find(|exit| exit.error_code() == code)
    }
}

/// A per-call resource limit a host passes to the runner as an environment variable
/// (`spec/RUNNER.md`, "Resource limits"). A conforming runner applies it with `setrlimit`
/// before loading the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceLimit {
    /// `FEZZ_LIMIT_MEMORY_BYTES`: the address space, in bytes (`RLIMIT_AS`).
    MemoryBytes,
    /// `FEZZ_LIMIT_CPU_SECONDS`: CPU time, in seconds (`RLIMIT_CPU`).
    CpuSeconds,
    /// `FEZZ_LIMIT_OPEN_FILES`: one more than the highest descriptor number (`RLIMIT_NOFILE`).
    OpenFiles,
    /// `FEZZ_LIMIT_PROCESSES`: processes of the runner's real user (`RLIMIT_NPROC`).
    Processes,
}

impl ResourceLimit {
    /// Every limit, in spec order.
    pub const ALL: [ResourceLimit; 4] = [
        ResourceLimit::MemoryBytes,
        ResourceLimit::CpuSeconds,
        ResourceLimit::OpenFiles,
        ResourceLimit::Processes,
    ];

    /// The environment variable that carries it.
    pub fn env_name(self) -> &'static str {
        match self {
            ResourceLimit::MemoryBytes => "FEZZ_LIMIT_MEMORY_BYTES",
            ResourceLimit::CpuSeconds => "FEZZ_LIMIT_CPU_SECONDS",
            ResourceLimit::OpenFiles => "FEZZ_LIMIT_OPEN_FILES",
            ResourceLimit::Processes => "FEZZ_LIMIT_PROCESSES",
        }
    }

    /// The field of the manifest's `limits` object that sets it (`spec/HTTP.md`).
    pub fn manifest_field(self) -> &'static str {
        match self {
            ResourceLimit::MemoryBytes => "memory_bytes",
            ResourceLimit::CpuSeconds => "cpu_seconds",
            ResourceLimit::OpenFiles => "open_files",
            ResourceLimit::Processes => "processes",
        }
    }

    /// The POSIX resource it sets (`RLIMIT_AS`, ...).
    pub fn rlimit_name(self) -> &'static str {
        match self {
            ResourceLimit::MemoryBytes => "RLIMIT_AS",
            ResourceLimit::CpuSeconds => "RLIMIT_CPU",
            ResourceLimit::OpenFiles => "RLIMIT_NOFILE",
            ResourceLimit::Processes => "RLIMIT_NPROC",
        }
    }

    /// Parses a variable's value as the runner does: one or more ASCII digits, no sign, no
    /// spaces, a positive value that fits in 64 bits. `None`: unparsable.
    pub fn parse_value(value: &str) -> Option<u64> {
        if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        value.parse::<u64>().ok().filter(|value| *value > 0)
    }
}

#[cfg(test)]
mod limit_tests {
    use super::ResourceLimit;

    #[test]
    fn values_are_positive_decimal_integers() {
        assert_eq!(ResourceLimit::parse_value("1"), Some(1));
        assert_eq!(ResourceLimit::parse_value("016"), Some(16));
        assert_eq!(
            ResourceLimit::parse_value("18446744073709551615"),
            Some(u64::MAX)
        );
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.5",
            "1e3",
            "0x10",
            "18446744073709551616",
        ] {
            assert_eq!(ResourceLimit::parse_value(bad), None, "{bad:?}");
        }
    }
}
