//! Per-call containment (`spec/RUNNER.md`, "Containment"): the runner puts the call in a PID
//! namespace of its own, so that one kill ends everything the function started, whatever it
//! did (`setsid`, double forks, closed descriptors), and even when the host is killed.
//!
//! The shape, after `unshare(CLONE_NEWPID)`:
//!
//! ```text
//! runner (outer, in the host's namespace, leads the process group the host kills)
//! ├── init    PID 1 of the new namespace: reaps orphans, nothing else
//! └── worker  PID 2: protects stdio, applies limits, loads the library, serves
//! ```
//!
//! The function runs as PID 2, not PID 1, so its own signals keep their default effect
//! (`raise(SIGSEGV)` kills it; a namespace's PID 1 would ignore it). When the worker exits,
//! the outer process kills the init; the kernel then kills every process left in the
//! namespace and the outer process exits the way the worker did (the same code, or the same
//! signal), so the host sees exactly what an uncontained runner would have shown it. Init and
//! worker die with the outer process (`PR_SET_PDEATHSIG`), which dies with the host.
//!
//! Only the `fezz-runner` binary calls [`contain`], while it is single-threaded.

use std::io;

/// How the process that returns from [`contain`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Containment {
    /// This process is PID 2 of a PID namespace that ends with the call.
    PidNamespace,
    /// The kernel refused a PID namespace (not privileged, or namespaces disabled): the call
    /// runs uncontained, held only by the host's process-group kill. The error says why.
    Unavailable(String),
}

/// Puts the rest of this runner in a PID namespace of its own (module docs). Returns in the
/// worker (or, when the kernel refuses, in the only process); the outer process and the init
/// never return. Call it while the process is single-threaded, after `PR_SET_PDEATHSIG`.
///
/// Fails only when the namespace was made but a process could not be forked.
pub fn contain() -> io::Result<Containment> {
    #[cfg(target_os = "linux")]
    {
        linux::contain()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(Containment::Unavailable(
            "PID namespaces exist only on Linux".to_owned(),
        ))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;

    use std::sync::atomic::{AtomicU32, Ordering};

    use super::Containment;

    /// Set by the init once its parent-death signal is armed (the signal is armed only for a
    /// parent alive at that moment); the outer process waits for it before it goes on. They
    /// share this memory (`CLONE_VM`).
    static INIT_ARMED: AtomicU32 = AtomicU32::new(0);

    fn check(result: libc::c_int) -> io::Result<libc::c_int> {
        if result == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(result)
        }
    }

    /// `PR_SET_PDEATHSIG(SIGKILL)`: die with the outer process. (Inside the namespace the
    /// parent's pid reads as 0, so a parent that died before this call cannot be detected
    /// here; the host's kill of the whole process group covers that window.)
    fn die_with_outer() {
        // SAFETY: prctl with PR_SET_PDEATHSIG takes integers; no memory is touched.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            );
        }
    }

    fn fork() -> io::Result<libc::pid_t> {
        // SAFETY: the runner is single-threaded here (see `contain`'s contract), so the child
        // may run any code, not only async-signal-safe functions.
        check(unsafe { libc::fork() })
    }

    pub(super) fn contain() -> io::Result<Containment> {
        // SAFETY: unshare takes a flag set; no memory is touched.
        if let Err(error) = check(unsafe { libc::unshare(libc::CLONE_NEWPID) }) {
            return Ok(Containment::Unavailable(format!(
                "unshare(CLONE_NEWPID) failed: {error}"
            )));
        }
        // The first child made after unshare is PID 1 of the new namespace. It only waits
        // and reaps, so it shares this process's memory (CLONE_VM) instead of copying it:
        // a fork fewer per call.
        let init = spawn_init()?;
        let worker = match fork() {
            Ok(worker) => worker,
            Err(error) => {
                // SAFETY: kill and waitpid take integers and a null status pointer.
                unsafe {
                    libc::kill(init, libc::SIGKILL);
                    libc::waitpid(init, std::ptr::null_mut(), 0);
                }
                return Err(error);
            }
        };
        if worker == 0 {
            die_with_outer();
            return Ok(Containment::PidNamespace);
        }
        outer_main(init, worker);
    }

    /// The init's stack: it calls a handful of system calls and nothing else.
    const INIT_STACK_BYTES: usize = 64 * 1024;

    /// Starts the init with `clone(CLONE_VM)` on a stack of its own. The init shares this
    /// process's memory but not its descriptors or signal handlers, and never allocates.
    fn spawn_init() -> io::Result<libc::pid_t> {
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
        // The stack grows down from the end of the mapping (16-byte aligned: mmap is
        // page-aligned). It is never unmapped: this process exits soon after the init.
        // SAFETY: the pointer stays within (one past the end of) the mapping.
        let top = unsafe { stack.cast::<u8>().add(INIT_STACK_BYTES) }.cast::<libc::c_void>();
        extern "C" fn entry(_: *mut libc::c_void) -> libc::c_int {
            die_with_outer();
            INIT_ARMED.store(1, Ordering::Release);
            // SAFETY: FUTEX_WAKE on the shared flag (CLONE_VM: the same private futex key)
            // touches nothing else; a system call only, as the init's contract asks.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    INIT_ARMED.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    1u32,
                );
            }
            init_main()
        }
        // SAFETY: `entry` runs on the fresh stack above and, as `init_main` documents, only
        // makes system calls that touch no memory this process uses (no allocation, no
        // locks); the memory is shared, the descriptor table and signal handlers are not.
        let init = check(unsafe {
            libc::clone(
                entry,
                top,
                libc::CLONE_VM | libc::SIGCHLD,
                std::ptr::null_mut(),
            )
        })?;
        // Sleep on the flag rather than spin on sched_yield: on a loaded machine the spin
        // burned the CPU time the init needed (hhrf/bench/README.md, "What each change bought").
        while INIT_ARMED.load(Ordering::Acquire) == 0 {
            // SAFETY: FUTEX_WAIT reads the flag's 4 bytes, which live as long as the process;
            // it returns at once if the init has already set it, and on the init's wake.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    INIT_ARMED.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    0u32,
                    std::ptr::null::<libc::timespec>(),
                );
            }
        }
        Ok(init)
    }

    /// PID 1: holds no descriptor of the call, reaps every process re-parented to it, and
    /// lives until the outer process kills it (or dies, which kills it). It shares the
    /// outer process's memory, so it makes system calls only: no allocation, no Rust std.
    fn init_main() -> ! {
        // SAFETY: these calls take integers, a path literal and a handler function pointer
        // of the right type; the loop only waits and reaps.
        unsafe {
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

    /// The process the host started: gives the call's descriptors to the worker, waits for
    /// it, ends the namespace, and exits as the worker did.
    fn outer_main(init: libc::pid_t, worker: libc::pid_t) -> ! {
        // SAFETY: dup2, open, waitpid, kill, signal, setrlimit and _exit take integers,
        // a path literal, a status pointer to a local and a pointer to a local rlimit.
        unsafe {
            // Only the worker holds the protocol: the host sees end of output when the
            // worker and everything in the namespace are gone.
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null != -1 {
                libc::dup2(null, 0);
                libc::dup2(null, 1);
                libc::close(null);
            }
            let mut status: libc::c_int = 0;
            while libc::waitpid(worker, &mut status, 0) == -1 {
                if *libc::__errno_location() != libc::EINTR {
                    status = 16 << 8; // runner-internal: the worker vanished
                    break;
                }
            }
            // Killing PID 1 kills every process of the namespace; its reaping returns once
            // they are all gone.
            libc::kill(init, libc::SIGKILL);
            while libc::waitpid(init, std::ptr::null_mut(), 0) == -1
                && *libc::__errno_location() == libc::EINTR
            {}
            if libc::WIFSIGNALED(status) {
                let signal = libc::WTERMSIG(status);
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                libc::signal(signal, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::raise(signal);
                libc::_exit(128 + signal);
            }
            libc::_exit(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                16
            });
        }
    }
}
