//! The runner's exit codes and the error codes of its error frames (`spec/RUNNER.md`,
//! "Exit codes"). A runner that cannot produce a response writes one error frame whose `code`
//! is [`RunnerExit::error_code`] and exits with [`RunnerExit::code`].

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
