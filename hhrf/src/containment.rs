//! Containment: what makes sure nothing a call started outlives it (`spec/HTTP.md`,
//! "Containment"), and what the kernel offers for it.
//!
//! Three layers, from the strongest:
//!
//! 1. **The runner's PID namespace.** The reference runner puts everything a function starts
//!    in a PID namespace of the call's own, whose init (PID 1) dies with the runner
//!    (`fezz-runner`, `containment` module). When the call ends, or the runner is killed, or
//!    hhrf dies, the init dies and the kernel kills every process of the namespace, whatever it did
//!    (`setsid`, double forks, closed descriptors). hhrf only checks that the kernel allows
//!    it ([`Capabilities`]).
//! 2. **hhrf as child subreaper** (`runner::ProcessGroups::enable_reaper`): a process that
//!    leaves its call's process group and outlives its runner is re-parented to hhrf, which
//!    kills and reaps it ([`children_of`] finds them). This holds for any runner, while hhrf
//!    lives.
//! 3. **The start-up sweep** ([`sweep_leftovers`]): when a previous hhrf was killed (SIGKILL)
//!    with calls in flight under a runner that does not contain them, their escaped processes
//!    were re-parented to init; the next hhrf on the same root kills those whose working
//!    directory is inside its `functions/` folder and that no live hhrf started.
//!
//! What does not live here: the process-group kill after every call and at the deadline
//! (`runner`).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// What the kernel offers for containing and sandboxing calls, read once at start-up and
/// reported in the log (warnings, never a reason not to start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether this process may create PID namespaces (root, or unprivileged user
    /// namespaces): the reference runner's per-call containment.
    pub pid_namespaces: bool,
    /// Whether hhrf could become the child subreaper of its runners.
    pub subreaper: bool,
    /// The Landlock ABI version, `None` when Landlock is absent or disabled.
    pub landlock_abi: Option<u32>,
    /// Whether the kernel has seccomp filters.
    pub seccomp: bool,
    /// The cgroup hierarchy: `"v2"`, `"v1"`, `"hybrid"` (v1 with v2 mounted beside it) or
    /// `"none"`.
    pub cgroup: &'static str,
}

impl Capabilities {
    /// Reads what this kernel offers; `subreaper` is whether hhrf became one.
    pub fn probe(subreaper: bool) -> Capabilities {
        Capabilities {
            pid_namespaces: pid_namespaces_available(),
            subreaper,
            landlock_abi: landlock_abi(),
            seccomp: seccomp_available(),
            cgroup: cgroup_version(),
        }
    }

    /// One warning per guarantee that does not hold on this kernel (empty when all hold).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.pid_namespaces {
            warnings.push(
                "PID namespaces are not available (hhrf is not root and unprivileged user namespaces are off): \
                 the reference runner cannot contain calls; a process that leaves its call's group lives on \
                 until hhrf sweeps it (while hhrf runs), and survives if hhrf is killed until the next start"
                    .to_owned(),
            );
        }
        if !self.subreaper {
            warnings.push(
                "hhrf could not become the child subreaper: processes that leave their call's group are \
                 not swept by hhrf"
                    .to_owned(),
            );
        }
        match self.landlock_abi {
            None => warnings.push(
                "Landlock is not available: a runner's sandbox cannot restrict files or the network".to_owned(),
            ),
            Some(abi) if abi < 4 => warnings.push(format!(
                "Landlock ABI {abi} (< 4): a runner's sandbox cannot restrict TCP bind and connect"
            )),
            Some(abi) if abi < 6 => warnings.push(format!(
                "Landlock ABI {abi} (< 6): signals and abstract unix sockets are not scoped to the call"
            )),
            Some(_) => {}
        }
        if !self.seccomp {
            warnings
                .push("seccomp is not available: no system-call filter for functions".to_owned());
        }
        warnings
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |on: bool| if on { "yes" } else { "no" };
        write!(
            f,
            "pid-namespaces={} subreaper={} landlock={} seccomp={} cgroup={}",
            yes(self.pid_namespaces),
            yes(self.subreaper),
            self.landlock_abi
                .map_or_else(|| "none".to_owned(), |abi| format!("abi-{abi}")),
            yes(self.seccomp),
            self.cgroup,
        )
    }
}

/// Makes this process the child subreaper of its descendants (`PR_SET_CHILD_SUBREAPER`).
#[cfg(target_os = "linux")]
pub fn become_subreaper() -> bool {
    nix::sys::prctl::set_child_subreaper(true).is_ok()
}

/// Not Linux: no subreaper.
#[cfg(not(target_os = "linux"))]
pub fn become_subreaper() -> bool {
    false
}

/// One process seen in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcStat {
    pid: i32,
    parent: i32,
}

/// Parses the pid and parent pid of `/proc/PID/stat` (the command name is in parentheses and
/// may hold spaces and parentheses itself, so the fields after the *last* `)` are read).
fn parse_stat(text: &str) -> Option<ProcStat> {
    let pid = text.split_once(' ')?.0.parse().ok()?;
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace();
    let _state = fields.next()?;
    let parent = fields.next()?.parse().ok()?;
    Some(ProcStat { pid, parent })
}

fn processes() -> impl Iterator<Item = ProcStat> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let name = name.to_str()?;
            if !name.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            parse_stat(&fs::read_to_string(entry.path().join("stat")).ok()?)
        })
}

/// The pids whose parent is `parent`, from `/proc` (empty where there is no `/proc`).
pub fn children_of(parent: i32) -> Vec<i32> {
    processes()
        .filter(|process| process.parent == parent)
        .map(|process| process.pid)
        .collect()
}

/// Kills what a killed predecessor left: every process whose working directory is inside
/// `functions` (the served folder) and that descends from no running process of this same
/// executable. A live hhrf on the same root is untouched: its runners and what they start
/// are its descendants. When an hhrf is killed, its uncontained escapees are re-parented to
/// init (or another subreaper) and have no hhrf above them any more. Returns the pids killed.
/// Best effort: a process that changed its working directory away from its function folder
/// is not recognised.
pub fn sweep_leftovers(functions: &Path) -> Vec<i32> {
    let Ok(functions) = functions.canonicalize() else {
        return Vec::new();
    };
    let Ok(me_exe) = fs::read_link("/proc/self/exe") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let parents: std::collections::HashMap<i32, i32> = processes()
        .map(|process| (process.pid, process.parent))
        .collect();
    let under_hhrf = |pid: i32| {
        let mut current = parents.get(&pid).copied();
        for _ in 0..256 {
            match current {
                Some(ancestor) if ancestor > 0 => {
                    if ancestor == me
                        || fs::read_link(format!("/proc/{ancestor}/exe"))
                            .is_ok_and(|exe| exe == me_exe)
                    {
                        return true;
                    }
                    current = parents.get(&ancestor).copied();
                }
                _ => return false,
            }
        }
        true
    };
    let mut killed = Vec::new();
    for &pid in parents.keys() {
        if pid == me {
            continue;
        }
        let cwd: Option<PathBuf> = fs::read_link(format!("/proc/{pid}/cwd")).ok();
        if !cwd.is_some_and(|cwd| cwd.starts_with(&functions)) || under_hhrf(pid) {
            continue;
        }
        let target = nix::unistd::Pid::from_raw(pid);
        if nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL).is_ok() {
            killed.push(pid);
        }
    }
    killed.sort_unstable();
    killed
}

/// Whether a PID namespace can be made: root (the capability `CAP_SYS_ADMIN`, checked as
/// effective uid 0), or unprivileged user namespaces allowed by the kernel.
fn pid_namespaces_available() -> bool {
    if !Path::new("/proc/self/ns/pid").exists() {
        return false;
    }
    let limit = |path: &str| {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
    };
    if limit("/proc/sys/user/max_pid_namespaces") == Some(0) {
        return false;
    }
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let userns = limit("/proc/sys/user/max_user_namespaces").unwrap_or(0) > 0;
    let unprivileged = limit("/proc/sys/kernel/unprivileged_userns_clone").unwrap_or(1) == 1;
    userns && unprivileged
}

/// The Landlock ABI version (`landlock_create_ruleset(NULL, 0, VERSION)`).
#[cfg(target_os = "linux")]
fn landlock_abi() -> Option<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attribute pointer, size 0 and the VERSION flag, the system call
    // reads and writes no memory; it returns the ABI version or -1.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(abi).ok().filter(|abi| *abi > 0)
}

/// Not Linux: no Landlock.
#[cfg(not(target_os = "linux"))]
fn landlock_abi() -> Option<u32> {
    None
}

/// Whether `/proc/self/status` has a `Seccomp:` line (the kernel has seccomp).
fn seccomp_available() -> bool {
    fs::read_to_string("/proc/self/status")
        .is_ok_and(|status| status.lines().any(|line| line.starts_with("Seccomp:")))
}

/// The cgroup hierarchy, from `/proc/self/mountinfo`.
fn cgroup_version() -> &'static str {
    let Ok(mounts) = fs::read_to_string("/proc/self/mountinfo") else {
        return "none";
    };
    let kind = |line: &str| {
        line.split_once(" - ")
            .and_then(|(_, rest)| rest.split_ascii_whitespace().next().map(str::to_owned))
    };
    let types: Vec<String> = mounts.lines().filter_map(kind).collect();
    let v1 = types.iter().any(|kind| kind == "cgroup");
    let v2 = types.iter().any(|kind| kind == "cgroup2");
    match (v1, v2) {
        (true, true) => "hybrid",
        (true, false) => "v1",
        (false, true) => "v2",
        (false, false) => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_past_odd_command_names() {
        assert_eq!(
            parse_stat("42 (a) b) (c) S 7 42 42 0 -1"),
            Some(ProcStat { pid: 42, parent: 7 })
        );
        assert_eq!(
            parse_stat("1 (init) S 0 1 1"),
            Some(ProcStat { pid: 1, parent: 0 })
        );
        assert_eq!(parse_stat("x (y) S 1"), None);
        assert_eq!(parse_stat("5 (y)"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn this_process_is_a_child_of_its_parent() {
        let me = std::process::id() as i32;
        let parent = nix::unistd::getppid().as_raw();
        assert!(children_of(parent).contains(&me));
        assert!(!children_of(me).contains(&me));
    }

    #[test]
    fn warnings_name_each_missing_guarantee() {
        let all = Capabilities {
            pid_namespaces: true,
            subreaper: true,
            landlock_abi: Some(6),
            seccomp: true,
            cgroup: "v2",
        };
        assert!(all.warnings().is_empty());
        let none = Capabilities {
            pid_namespaces: false,
            subreaper: false,
            landlock_abi: None,
            seccomp: false,
            cgroup: "none",
        };
        assert_eq!(none.warnings().len(), 4);
        let old = Capabilities {
            landlock_abi: Some(3),
            ..all.clone()
        };
        assert!(old.warnings()[0].contains("TCP"));
        assert_eq!(
            all.to_string(),
            "pid-namespaces=yes subreaper=yes landlock=abi-6 seccomp=yes cgroup=v2"
        );
    }
}
