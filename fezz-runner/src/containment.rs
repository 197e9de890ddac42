//! Per-call containment (`spec/RUNNER.md`, "Containment"): everything the function starts
//! lives in a PID namespace of the call's own, whose init dies with the runner, so one kill
//! ends all of it, whatever it did (`setsid`, double forks, closed descriptors), even when
//! the host is killed.
//!
//! The shape:
//!
//! ```text
//! runner (in the host's namespace, leads the process group the host kills; runs the function)
//! ├── init        PID 1 of the call's namespace: reaps orphans, nothing else
//! └── children    whatever the function starts: PID 2, 3, … of that namespace
//! ```
//!
//! Two steps, because the first needs privileges the runner gives up before it loads the
//! library: [`unshare_pid_namespace`] (while root, before the user switch) makes every child
//! the runner creates from then on a member of a new PID namespace, and [`start_init`] (after
//! the user switch, the limits and the sandbox, just before the library loads) creates its
//! PID 1. The init is a `clone(CLONE_VM)` of the runner, so it costs no copy of the address
//! space; it shares the function's memory but also its user, limits and sandbox (they are set
//! before it exists), so a function that took it over would gain nothing. It dies with the
//! runner (`PR_SET_PDEATHSIG`), and with it, by the kernel, every process of the namespace.
//!
//! The function itself is the runner process, in the host's namespace: its own signals keep
//! their default effect (a namespace's PID 1 would ignore a `raise(SIGSEGV)`), and its exit
//! code or signal is the runner's.
//!
//! Only the `fezz-runner` binary calls these, while it is single-threaded.

use std::io;

/// Whether the runner's children go to a PID namespace of the call's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Containment {
    /// The namespace is made; [`start_init`] creates its init.
    PidNamespace,
    /// The kernel refused a PID namespace (not privileged, or namespaces disabled): the call
    /// runs uncontained, held only by the host's process-group kill. The text says why.
    Unavailable(String),
}

/// Makes the runner's future children members of a new PID namespace
/// (`unshare(CLONE_NEWPID)`). Needs `CAP_SYS_ADMIN` (root): call it before the user switch.
/// A refusal is not an error: the call then runs uncontained.
pub fn unshare_pid_namespace() -> Containment {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: unshare takes a flag set; no memory is touched.
        if unsafe { libc::unshare(libc::CLONE_NEWPID) } == 0 {
            Containment::PidNamespace
        } else {
            Containment::Unavailable(format!(
                "unshare(CLONE_NEWPID) failed: {}",
                io::Error::last_os_error()
            ))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Containment::Unavailable("PID namespaces exist only on Linux".to_owned())
    }
}

/// Creates the namespace's init, PID 1, when [`unshare_pid_namespace`] made a namespace: the
/// first child after it. Call it after the user switch, the limits and the sandbox, before
/// the library loads and before any thread exists. Fails only if the init cannot be created
/// (then no process could be started in the namespace either).
pub fn start_init(containment: &Containment) -> io::Result<()> {
    match containment {
        #[cfg(target_os = "linux")]
        Containment::PidNamespace => linux::spawn_init().map(drop),
        _ => Ok(()),
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Set by the init once its parent-death signal is armed. Until then a runner that exits
    /// would leave it behind (the signal is armed only for a parent alive at that moment), so
    /// the runner waits for it; they share this memory (`CLONE_VM`).
    static INIT_ARMED: AtomicU32 = AtomicU32::new(0);

    /// The init's stack: it makes a handful of system calls and nothing else.
    const INIT_STACK_BYTES: usize = 64 * 1024;

    /// Starts the init with `clone(CLONE_VM)` on a stack of its own: it shares the runner's
    /// memory but not its descriptor table or signal handlers, and never allocates.
    pub(super) fn spawn_init() -> io::Result<libc::pid_t> {
        // SAFETY: an anonymous private mapping of INIT_STACK_BYTES; the result is checked.
        let stack = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                INIT_STACK_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if stack == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // The stack grows down from the end of the mapping (page-aligned, so 16-byte
        // aligned). It is never unmapped: the init lives as long as the runner.
        // SAFETY: the pointer stays within (one past the end of) the mapping.
        let top = unsafe { stack.cast::<u8>().add(INIT_STACK_BYTES) }.cast::<libc::c_void>();
        extern "C" fn entry(_: *mut libc::c_void) -> libc::c_int {
            init_main()
        }
        // SAFETY: `entry` runs on the fresh stack above and, as `init_main` documents, only
        // makes system calls that touch no memory the runner uses (no allocation, no locks).
        let pid = unsafe {
            libc::clone(
                entry,
                top,
                libc::CLONE_VM | libc::SIGCHLD,
                std::ptr::null_mut(),
            )
        };
        if pid == -1 {
            return Err(io::Error::last_os_error());
        }
        while INIT_ARMED.load(Ordering::Acquire) == 0 {
            // SAFETY: sched_yield takes nothing; the init needs microseconds.
            unsafe { libc::sched_yield() };
        }
        Ok(pid)
    }

    /// PID 1: dies with the runner, holds no descriptor of the call, reaps every process
    /// re-parented to it. It shares the runner's memory, so it makes system calls only: no
    /// allocation, no Rust std.
    fn init_main() -> ! {
        // SAFETY: these calls take integers, a path literal and a handler function pointer
        // of the right type; the loop only waits and reaps.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            );
            INIT_ARMED.store(1, Ordering::Release);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
            libc::close_range(3, libc::c_uint::MAX, 0);
            // PID 1 ignores signals it has no handler for; a no-op SIGCHLD handler makes
            // `pause` return when an adopted process exits.
            extern "C" fn on_child(_: libc::c_int) {}
            libc::signal(libc::SIGCHLD, on_child as *const () as libc::sighandler_t);
            loop {
                if libc::waitpid(-1, std::ptr::null_mut(), 0) == -1
                    && *libc::__errno_location() == libc::ECHILD
                {
                    libc::pause();
                }
            }
        }
    }
}
