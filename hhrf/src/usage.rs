//! What one runner process used: its CPU time and peak resident memory, read from the kernel
//! when hhrf reaps it (`wait4`'s `rusage`).
//!
//! What lives here: [`Usage`] and [`reap`], the one `wait4` call that replaces
//! `Child::wait` in `runner`. What does not: when to reap (`runner`), what is done with the
//! figures (`metrics`, the log).
//!
//! The kernel's figures for a reaped child include its own descendants that it reaped in
//! turn: the reference runner waits for its init and its worker (`spec/RUNNER.md`,
//! "Containment"), so the function's CPU time is in them. A process the call started and the
//! runner never reaped (hhrf killed the group at the deadline) is not counted. The peak
//! memory is the largest resident set of any one of those processes (`ru_maxrss`), not
//! their sum.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// The resources a reaped runner process (and the descendants it reaped) used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
    /// The largest resident set size of the process or of one of its reaped descendants,
    /// in bytes.
    pub peak_memory_bytes: u64,
}

fn timeval(value: libc::timeval) -> Duration {
    let seconds = u64::try_from(value.tv_sec).unwrap_or(0);
    let micros = u32::try_from(value.tv_usec).unwrap_or(0).min(999_999);
    Duration::new(seconds, micros * 1000)
}

impl Usage {
    fn from_rusage(rusage: &libc::rusage) -> Usage {
        // ru_maxrss is in KiB on Linux (bytes on macOS).
        let unit: u64 = if cfg!(target_os = "macos") { 1 } else { 1024 };
        Usage {
            cpu: timeval(rusage.ru_utime) + timeval(rusage.ru_stime),
            peak_memory_bytes: u64::try_from(rusage.ru_maxrss)
                .unwrap_or(0)
                .saturating_mul(unit),
        }
    }
}

/// Reaps `child` (blocking until it has exited) and returns its exit status and what it
/// used. Retries on `EINTR`; any other failure (something else reaped it) is an error and
/// gives no usage.
pub fn reap(child: &mut Child) -> (io::Result<ExitStatus>, Option<Usage>) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return (child.wait(), None);
    };
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct of integers, for which all zeroes is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only into the two valid, exclusively borrowed out-pointers.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut rusage) };
        if reaped == pid {
            return (
                Ok(ExitStatus::from_raw(status)),
                Some(Usage::from_rusage(&rusage)),
            );
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return (Err(error), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_child_reports_its_cpu_time_and_memory() {
        // A shell that spins for a while: some CPU time, some resident memory.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3",
            ])
            .spawn()
            .unwrap();
        let (status, usage) = reap(&mut child);
        assert_eq!(status.unwrap().code(), Some(3));
        let usage = usage.unwrap();
        assert!(usage.cpu > Duration::ZERO, "{usage:?}");
        assert!(usage.peak_memory_bytes > 100 * 1024, "{usage:?}");
    }

    #[test]
    fn reaping_twice_is_an_error_without_usage() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        assert!(reap(&mut child).0.is_ok());
        let (status, usage) = reap(&mut child);
        assert!(status.is_err());
        assert_eq!(usage, None);
    }
}
