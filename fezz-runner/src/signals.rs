//! The signal dispositions the function inherits (`spec/RUNNER.md`, "Startup"): the fatal
//! signals of a crash have their default effect, so the host sees the function die by them.
//!
//! The Rust runtime installs handlers for `SIGSEGV` and `SIGBUS` at start-up (to report stack
//! overflows of the runner's own threads). Those handlers swallow a signal that is not a guard
//! page fault, such as one the function raises itself (`raise(SIGSEGV)`,
//! `kill(getpid(), SIGBUS)`): the call then "succeeds". [`reset_fatal_signals`] puts them back
//! to `SIG_DFL` before the library loads. `SIGPIPE` stays ignored, as the Rust runtime sets
//! it: a write to a closed pipe fails with `EPIPE` (the runner reports a host that closed its
//! stdout as `runner-internal` instead of dying), and the function inherits that.
//!
//! Only the `fezz-runner` binary calls it: it changes process-wide state.

use std::io;

/// The signals a runner MUST leave with their default disposition for the function.
pub const FATAL_SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// Sets every signal of [`FATAL_SIGNALS`] to `SIG_DFL` and unblocks it.
pub fn reset_fatal_signals() -> io::Result<()> {
    for signal in FATAL_SIGNALS {
        // SAFETY: `signal` with SIG_DFL installs no handler code; sigprocmask reads a set
        // built on the stack. No memory of ours is handed to the kernel beyond the call.
        unsafe {
            if libc::signal(signal, libc::SIG_DFL) == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            if libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) == -1 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}
