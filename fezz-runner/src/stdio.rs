//! The runner process's file descriptors and its tie to the host (`spec/RUNNER.md`,
//! "Startup", step 2): frames go through private duplicates of stdin and stdout, and fds 0 and
//! 1 are pointed elsewhere, so nothing the function reads or prints touches the protocol.
//!
//! Only the `fezz-runner` binary calls these: they change process-wide state. Not here: the
//! frames themselves ([`serve`](crate::serve)).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// The runner's private ends of the protocol: where request frames come from and response and
/// error frames go.
#[derive(Debug)]
pub struct ProtocolStreams {
    /// The host's stdin pipe (a close-on-exec duplicate of the original fd 0).
    pub input: File,
    /// The host's stdout pipe (a close-on-exec duplicate of the original fd 1).
    pub output: File,
}

/// Moves the protocol off fds 0 and 1: duplicates both to new close-on-exec descriptors
/// (returned), then makes fd 1 a copy of fd 2 (so `printf`, `println!` and the like land on
/// stderr) and fd 0 `/dev/null` (so a function that reads stdin sees end of input instead of
/// stealing frames).
///
/// Call it once, before loading the library (whose initialisers may print). On error, fd 1 is
/// still the host's stdout unless the error says `dup2` of fd 0 failed.
pub fn protect_stdio() -> io::Result<ProtocolStreams> {
    // `try_clone_to_owned` is `fcntl(F_DUPFD_CLOEXEC, 3)`: never 0, 1 or 2, closed on exec.
    // Everything that can run out (descriptors) is taken first, so that a failure leaves fd 1
    // as it was and the error frame still reaches the host (spec/RUNNER.md, "Startup").
    let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let null = File::open("/dev/null")?;
    replace_fd(io::stderr().as_fd(), 1)?;
    replace_fd(null.as_fd(), 0)?;
    Ok(ProtocolStreams { input, output })
}

/// Makes descriptor `target` a copy of `source` (`dup2`).
fn replace_fd(source: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    loop {
        // SAFETY: `dup2` takes two integers and touches no memory; `source` is open for the
        // call. Replacing `target` (0 or 1 here) is the point: nothing in this process holds a
        // Rust-owned handle to it.
        let result = unsafe { libc::dup2(source.as_raw_fd(), target) };
        if result != -1 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Asks the kernel to `SIGKILL` this process when its parent dies (`PR_SET_PDEATHSIG`), so a
/// runner never outlives a crashed host. Linux only; elsewhere it does nothing.
///
/// The signal fires when the *thread* that spawned the runner exits, so a host spawns runners
/// from threads that live as long as it does. A host that died before this call is not
/// noticed; the host also kills the runner's process group after every call.
pub fn die_with_parent() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number as an integer; no memory is touched.
        let result = unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if result == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
