//! The per-call sandbox (`spec/RUNNER.md`, "Sandbox"): the host passes a policy as
//! `FEZZ_SANDBOX…` environment variables, and the runner confines itself before it loads the
//! library, so that the library's initialisers already run inside it:
//!
//! - **Landlock**: read-only access to the function's folders, the library's folder and what
//!   loading and running a library needs ([`SYSTEM_READ_PATHS`], [`SYSTEM_READ_WRITE_PATHS`]);
//!   read-write access to the call's scratch folder and the granted paths only; no TCP bind or
//!   connect unless granted (Landlock ABI 4); signals and abstract unix sockets scoped to the
//!   call (ABI 6).
//! - **seccomp**: no sockets of the INET, INET6 or PACKET families unless the network is
//!   granted, no ptrace, no mount, no namespaces, no kernel keyring, no io_uring, no kernel
//!   modules ([`denied_syscalls`]); `clone3` fails with `ENOSYS`, so the C library falls back
//!   to `clone`, whose namespace flags are refused.
//! - `no_new_privs`, core dumps off (`RLIMIT_CORE` 0) and a file-size limit (`RLIMIT_FSIZE`,
//!   with `SIGXFSZ` ignored so an oversized write fails with `EFBIG`).
//!
//! [`requested_policy`] reads and checks the variables (pure, testable); [`prepare`] opens
//! every path of the policy and compiles the filters (while the runner may still be root, so
//! paths only the host's user can reach are granted too); [`Prepared::enforce`] changes the
//! process (only the `fezz-runner` binary calls it).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use fezz_abi::runner_protocol::{ResourceLimit, RunnerExit};
use fezz_abi::sandbox::{parse_network, SandboxVariable, ENABLED_VALUE, PATH_LIST_SEPARATOR};
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::Failure;

/// What loading and running a shared library needs to read, beyond the library's own folder:
/// the dynamic loader's folders and cache, time zones, the random and zero devices, the
/// process's own `/proc` entry (the C library and the Rust runtime read `/proc/self/maps` and
/// friends) and the CPU list (`sysconf(_SC_NPROCESSORS_ONLN)`). Paths that do not exist on a
/// system are skipped.
pub const SYSTEM_READ_PATHS: &[&str] = &[
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ld.so.preload",
    "/etc/localtime",
    "/usr/share/zoneinfo",
    "/dev/random",
    "/dev/urandom",
    "/dev/zero",
    "/proc/self",
    "/sys/devices/system/cpu",
];

/// What every function may read and write: `/dev/null`.
pub const SYSTEM_READ_WRITE_PATHS: &[&str] = &["/dev/null"];

/// Read-only paths added when the network is granted: name resolution and TLS trust roots.
pub const NETWORK_READ_PATHS: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/ssl",
    "/usr/share/ca-certificates",
];

/// Most paths one path-list variable may hold (the host's manifest limit is lower).
pub const MAX_POLICY_PATHS: usize = 1024;

/// The Landlock ABI whose features the runner asks for: 6 (filesystem, TCP, scopes). Older
/// kernels get what they support, reported on stderr ([`Applied::missing`]).
const TARGET_ABI: ABI = ABI::V6;

/// The sandbox a host asks for (the `FEZZ_SANDBOX…` variables, checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Absolute paths the function may read (`FEZZ_SANDBOX_READ`).
    pub read: Vec<PathBuf>,
    /// Absolute paths the function may read and write (`FEZZ_SANDBOX_WRITE`).
    pub write: Vec<PathBuf>,
    /// The call's scratch folder (`FEZZ_SANDBOX_SCRATCH`), read-write.
    pub scratch: Option<PathBuf>,
    /// Whether outgoing TCP connections are granted (`FEZZ_SANDBOX_NETWORK` has `connect`).
    pub connect: bool,
    /// Whether binding TCP ports is granted (`FEZZ_SANDBOX_NETWORK` has `bind`).
    pub bind: bool,
    /// The largest file the function may write (`FEZZ_SANDBOX_FILE_BYTES`); `None`: no limit.
    pub file_bytes: Option<u64>,
}

impl Policy {
    /// Whether any INET socket is needed (either network grant).
    fn network(&self) -> bool {
        self.connect || self.bind
    }
}

/// The policy the environment asks for, read through `get` (normally [`std::env::var_os`]).
/// `None` when `FEZZ_SANDBOX` is not set (the runner then applies no sandbox). A variable
/// with a value that does not parse, or a `FEZZ_SANDBOX_…` variable without `FEZZ_SANDBOX`,
/// is a `usage` failure naming the variable.
pub fn requested_policy(get: impl Fn(&str) -> Option<OsString>) -> Result<Option<Policy>, Failure> {
    let usage = |variable: SandboxVariable, raw: &OsString, rule: &str| {
        Failure::new(
            RunnerExit::Usage,
            format!("{}={:?} {rule}", variable.env_name(), raw.to_string_lossy()),
        )
    };
    let enabled = SandboxVariable::Enabled;
    match get(enabled.env_name()) {
        Some(raw) if raw == ENABLED_VALUE => {}
        Some(raw) => return Err(usage(enabled, &raw, "is not 1")),
        None => {
            return match SandboxVariable::ALL
                .into_iter()
                .find(|variable| get(variable.env_name()).is_some())
            {
                Some(stray) => Err(Failure::new(
                    RunnerExit::Usage,
                    format!(
                        "{} is set but {} is not",
                        stray.env_name(),
                        enabled.env_name()
                    ),
                )),
                None => Ok(None),
            };
        }
    }
    let mut policy = Policy::default();
    for (variable, slot) in [
        (SandboxVariable::Read, &mut policy.read),
        (SandboxVariable::Write, &mut policy.write),
    ] {
        let Some(raw) = get(variable.env_name()) else {
            continue;
        };
        let bytes = raw.as_bytes();
        if bytes.is_empty() {
            continue;
        }
        for item in bytes.split(|&byte| byte == PATH_LIST_SEPARATOR as u8) {
            if !item.starts_with(b"/") {
                return Err(usage(
                    variable,
                    &raw,
                    "is not a list of absolute paths separated by ':'",
                ));
            }
            if slot.len() == MAX_POLICY_PATHS {
                return Err(usage(
                    variable,
                    &raw,
                    &format!("has more than {MAX_POLICY_PATHS} paths"),
                ));
            }
            slot.push(PathBuf::from(std::ffi::OsStr::from_bytes(item)));
        }
    }
    let scratch = SandboxVariable::Scratch;
    if let Some(raw) = get(scratch.env_name()) {
        if !raw.as_bytes().starts_with(b"/") {
            return Err(usage(scratch, &raw, "is not an absolute path"));
        }
        policy.scratch = Some(PathBuf::from(raw));
    }
    let network = SandboxVariable::Network;
    if let Some(raw) = get(network.env_name()) {
        (policy.connect, policy.bind) = raw
            .to_str()
            .and_then(parse_network)
            .ok_or_else(|| usage(network, &raw, "is not none, connect, bind or connect,bind"))?;
    }
    let file_bytes = SandboxVariable::FileBytes;
    if let Some(raw) = get(file_bytes.env_name()) {
        policy.file_bytes = Some(
            raw.to_str()
                .and_then(ResourceLimit::parse_value)
                .ok_or_else(|| usage(file_bytes, &raw, "is not a positive decimal integer"))?,
        );
    }
    Ok(Some(policy))
}

/// What [`Prepared::enforce`] could not enforce on this kernel (best effort), for one line on
/// stderr; empty when everything asked for holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The Landlock ABI the kernel offers (0: none).
    pub landlock_abi: u8,
    /// The restrictions left out, in words.
    pub missing: Vec<&'static str>,
}

/// A sandbox ready to be enforced: the Landlock ruleset with every path already opened, and
/// the compiled seccomp filters.
pub struct Prepared {
    file_bytes: Option<u64>,
    ruleset: RulesetCreated,
    denied_net: bool,
    network: bool,
    programs: Vec<BpfProgram>,
}

fn internal(what: String) -> Failure {
    Failure::new(RunnerExit::Internal, format!("sandbox: {what}"))
}

/// Reads the policy from this process's environment and, when there is one, [`prepare`]s it
/// for the library at `library`. `None`: no sandbox asked for.
pub fn prepare_from_env(library: &Path) -> Result<Option<Prepared>, Failure> {
    match requested_policy(|name| std::env::var_os(name))? {
        Some(policy) => prepare(&policy, library).map(Some),
        None => Ok(None),
    }
}

/// Opens every path `policy` grants (and the system paths, and the folder of `library`) into
/// a Landlock ruleset, and compiles the seccomp filters. Changes nothing yet. A granted path
/// that cannot be opened is `runner-internal`.
pub fn prepare(policy: &Policy, library: &Path) -> Result<Prepared, Failure> {
    let (ruleset, denied_net) = paths_and_network(policy, library).map_err(internal)?;
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|error| internal(format!("seccomp: {error}")))?;
    let programs = seccomp_programs(policy.network(), arch).map_err(internal)?;
    Ok(Prepared {
        file_bytes: policy.file_bytes,
        ruleset,
        denied_net,
        network: policy.network(),
        programs,
    })
}

impl Prepared {
    /// Applies the sandbox to this process (and so to every thread and child it starts
    /// later): `RLIMIT_CORE` 0 and `RLIMIT_FSIZE`, then Landlock (which also sets
    /// `no_new_privs`), then seccomp, and writes one line on stderr naming what this kernel
    /// could not enforce (best effort). Call it in a single-threaded process. Fails with
    /// `runner-internal` when Landlock is not available at all or a step fails.
    pub fn enforce(self) -> Result<Applied, Failure> {
        set_rlimit(libc::RLIMIT_CORE, 0)
            .map_err(|error| internal(format!("setrlimit RLIMIT_CORE 0 failed: {error}")))?;
        if let Some(bytes) = self.file_bytes {
            // SAFETY: ignoring a signal installs no handler; no Rust state is involved.
            unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
            set_rlimit(libc::RLIMIT_FSIZE, bytes).map_err(|error| {
                internal(format!(
                    "{}={bytes} (setrlimit RLIMIT_FSIZE) failed: {error}",
                    SandboxVariable::FileBytes.env_name()
                ))
            })?;
        }
        let applied = restrict(self.ruleset, self.denied_net, self.network).map_err(internal)?;
        for program in &self.programs {
            seccompiler::apply_filter(program).map_err(|error| {
                internal(format!("installing the seccomp filter failed: {error}"))
            })?;
        }
        if !applied.missing.is_empty() {
            eprintln!(
                "fezz-runner: sandbox: best effort, Landlock ABI {} < 6: not enforced: {}",
                applied.landlock_abi,
                applied.missing.join("; ")
            );
        }
        Ok(applied)
    }
}

/// `setrlimit(resource, {value, value})`, lowered to the current hard limit if above it.
fn set_rlimit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct we own.
    if unsafe { libc::getrlimit(resource, &mut current) } == -1 {
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
    if unsafe { libc::setrlimit(resource, &new) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A Landlock rule for `path` with `access` (narrowed to file rights for a file).
fn rule(path: &Path, access: BitFlags<AccessFs>) -> io::Result<PathBeneath<PathFd>> {
    let fd = PathFd::new(path).map_err(|error| io::Error::other(error.to_string()))?;
    Ok(rule_for(fd, access))
}

/// The rule for an opened path: whether it is a folder comes from the descriptor (`fstat`),
/// not from a second lookup of the path.
fn rule_for(fd: PathFd, access: BitFlags<AccessFs>) -> PathBeneath<PathFd> {
    use std::os::fd::{AsFd, AsRawFd};
    // SAFETY: fstat writes one struct stat (plain data) into a zeroed local; the descriptor
    // is open (an O_PATH descriptor, which fstat accepts).
    let is_dir = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        libc::fstat(fd.as_fd().as_raw_fd(), &mut stat) == 0
            && stat.st_mode & libc::S_IFMT == libc::S_IFDIR
    };
    let access = if is_dir {
        access
    } else {
        access & AccessFs::from_file(TARGET_ABI)
    };
    PathBeneath::new(fd, access)
}

/// The Landlock ruleset of `policy`, every path opened; and whether TCP rules are handled.
fn paths_and_network(policy: &Policy, library: &Path) -> Result<(RulesetCreated, bool), String> {
    let read = AccessFs::from_read(TARGET_ABI);
    let all = AccessFs::from_all(TARGET_ABI);
    let mut denied_net = BitFlags::<AccessNet>::empty();
    if !policy.connect {
        denied_net |= AccessNet::ConnectTcp;
    }
    if !policy.bind {
        denied_net |= AccessNet::BindTcp;
    }
    let landlock = |error: landlock::RulesetError| format!("Landlock: {error}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(landlock)?;
    if !denied_net.is_empty() {
        ruleset = ruleset.handle_access(denied_net).map_err(landlock)?;
    }
    let mut created = ruleset
        .scope(Scope::from_all(TARGET_ABI))
        .map_err(landlock)?
        .create()
        .map_err(landlock)?;

    // Optional system paths: skipped when missing.
    let mut system: Vec<(&str, BitFlags<AccessFs>)> = Vec::new();
    system.extend(SYSTEM_READ_PATHS.iter().map(|path| (*path, read)));
    system.extend(SYSTEM_READ_WRITE_PATHS.iter().map(|path| (*path, all)));
    if policy.network() {
        system.extend(NETWORK_READ_PATHS.iter().map(|path| (*path, read)));
    }
    for (path, access) in system {
        // A missing one is skipped without formatting its error (strerror, gettext).
        if let Ok(fd) = PathFd::new(path) {
            created = created.add_rule(rule_for(fd, access)).map_err(landlock)?;
        }
    }
    // The library's own folder, after symbolic links (the file the loader really opens).
    let library_dir = std::fs::canonicalize(library)
        .ok()
        .and_then(|real| real.parent().map(Path::to_owned));
    if let Some(dir) = library_dir {
        if let Ok(rule) = rule(&dir, read) {
            created = created.add_rule(rule).map_err(landlock)?;
        }
    }
    // What the host grants: every path must be usable.
    let granted = policy
        .read
        .iter()
        .map(|path| (SandboxVariable::Read, path, read))
        .chain(
            policy
                .write
                .iter()
                .map(|path| (SandboxVariable::Write, path, all)),
        )
        .chain(
            policy
                .scratch
                .iter()
                .map(|path| (SandboxVariable::Scratch, path, all)),
        );
    for (variable, path, access) in granted {
        let rule = rule(path, access).map_err(|error| {
            format!(
                "{}: {} cannot be opened: {error}",
                variable.env_name(),
                path.display()
            )
        })?;
        created = created.add_rule(rule).map_err(landlock)?;
    }
    Ok((created, !denied_net.is_empty()))
}

/// Enforces the ruleset; what the kernel's Landlock ABI leaves out is returned.
fn restrict(created: RulesetCreated, denied_net: bool, network: bool) -> Result<Applied, String> {
    let landlock = |error: landlock::RulesetError| format!("Landlock: {error}");
    let status = created.restrict_self().map_err(landlock)?;
    let abi = ABI::from(status.landlock);
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(format!(
            "Landlock is not available on this kernel ({:?}); the host asked for a sandbox ({}=1), so the runner refuses to run the function unconfined",
            status.landlock,
            SandboxVariable::Enabled.env_name()
        ));
    }
    if !status.no_new_privs {
        return Err("no_new_privs could not be set".to_owned());
    }
    let missing = not_enforced(abi, denied_net, network);
    Ok(Applied {
        landlock_abi: abi as u8,
        missing,
    })
}

/// What a kernel with Landlock `abi` cannot enforce of a policy (`denied_net`: some TCP
/// access is to be refused; `network`: INET sockets are granted), in words.
fn not_enforced(abi: ABI, denied_net: bool, network: bool) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if abi < ABI::V2 {
        missing.push("renaming and linking across folders (Landlock ABI 2)");
    }
    if abi < ABI::V3 {
        missing.push("truncating files (Landlock ABI 3)");
    }
    if abi < ABI::V4 && denied_net {
        missing.push(if network {
            "the TCP bind/connect split (Landlock ABI 4): the granted INET sockets may bind and connect"
        } else {
            "TCP bind/connect rules (Landlock ABI 4); seccomp still refuses INET sockets"
        });
    }
    if abi < ABI::V5 {
        missing.push("ioctl on devices (Landlock ABI 5)");
    }
    if abi < ABI::V6 {
        missing.push("signal and abstract unix socket scoping (Landlock ABI 6)");
    }
    missing
}

/// The system calls the seccomp filter refuses with `EPERM`, whatever their arguments:
/// tracing other processes, mounting, namespaces, the kernel keyring, io_uring (whose
/// operations seccomp cannot see), BPF and perf, kernel modules, kexec, reboot, swap, clock
/// setting, `chroot`, file handles (`open_by_handle_at` escapes a folder), `userfaultfd`.
pub fn denied_syscalls() -> Vec<(&'static str, i64)> {
    let mut calls = vec![
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("open_tree", libc::SYS_open_tree),
        ("move_mount", libc::SYS_move_mount),
        ("fsopen", libc::SYS_fsopen),
        ("fsconfig", libc::SYS_fsconfig),
        ("fsmount", libc::SYS_fsmount),
        ("fspick", libc::SYS_fspick),
        ("mount_setattr", libc::SYS_mount_setattr),
        ("unshare", libc::SYS_unshare),
        ("setns", libc::SYS_setns),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("keyctl", libc::SYS_keyctl),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("io_uring_register", libc::SYS_io_uring_register),
        ("bpf", libc::SYS_bpf),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("kexec_load", libc::SYS_kexec_load),
        ("reboot", libc::SYS_reboot),
        ("swapon", libc::SYS_swapon),
        ("swapoff", libc::SYS_swapoff),
        ("settimeofday", libc::SYS_settimeofday),
        ("clock_settime", libc::SYS_clock_settime),
        ("chroot", libc::SYS_chroot),
        ("acct", libc::SYS_acct),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("sethostname", libc::SYS_sethostname),
        ("setdomainname", libc::SYS_setdomainname),
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([
        ("kexec_file_load", libc::SYS_kexec_file_load),
        ("iopl", libc::SYS_iopl),
        ("ioperm", libc::SYS_ioperm),
    ]);
    calls
}

/// The namespace flags `clone` may not carry (each makes a new namespace).
const CLONE_NAMESPACE_FLAGS: [libc::c_int; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWCGROUP,
];

/// The socket families refused unless the network is granted (`PACKET`: always).
fn denied_families(network: bool) -> Vec<libc::c_int> {
    let mut families = vec![libc::AF_PACKET];
    if !network {
        families.extend([libc::AF_INET, libc::AF_INET6]);
    }
    families
}

/// The seccomp programs, in installation order: one, the `EPERM` filter chained to the
/// `ENOSYS` filter for `clone3` ([`chain`]).
fn seccomp_programs(network: bool, arch: TargetArch) -> Result<Vec<BpfProgram>, String> {
    let seccomp = |error: seccompiler::BackendError| format!("seccomp: {error}");
    let condition = |arg: u8, op: SeccompCmpOp, value: u64| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(seccomp)
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (_, number) in denied_syscalls() {
        rules.insert(number, Vec::new());
    }
    let mut socket_rules = Vec::new();
    for family in denied_families(network) {
        socket_rules.push(
            SeccompRule::new(vec![condition(0, SeccompCmpOp::Eq, family as u64)?])
                .map_err(seccomp)?,
        );
    }
    rules.insert(libc::SYS_socket, socket_rules);
    let mut clone_rules = Vec::new();
    for flag in CLONE_NAMESPACE_FLAGS {
        let flag = flag as u64;
        clone_rules.push(
            SeccompRule::new(vec![condition(0, SeccompCmpOp::MaskedEq(flag), flag)?])
                .map_err(seccomp)?,
        );
    }
    rules.insert(libc::SYS_clone, clone_rules);
    let eperm = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(seccomp)?;
    let enosys = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(seccomp)?;
    let compile = |filter: SeccompFilter| {
        BpfProgram::try_from(filter).map_err(|error| format!("seccomp: {error}"))
    };
    Ok(vec![chain(compile(eperm)?, compile(enosys)?)])
}

/// `SECCOMP_RET_ALLOW`, the action of a `RET` that lets a system call through.
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// Classic BPF opcodes: `BPF_RET | BPF_K` and `BPF_JMP | BPF_JA`.
const BPF_RET_K: u16 = 0x06;
const BPF_JMP_JA: u16 = 0x05;

/// One program that runs `first` and, where `first` would allow the call, `second`: every
/// `RET ALLOW` of `first` becomes a forward jump to the start of `second`. The kernel
/// would give the same verdicts for the two installed one after the other (either's error
/// wins over an allow), but one filter is checked, converted and JIT-compiled once at
/// start-up and run once per system call (hhrf/bench/README.md, "What each change bought").
fn chain(mut first: BpfProgram, second: BpfProgram) -> BpfProgram {
    let length = first.len();
    for (index, instruction) in first.iter_mut().enumerate() {
        if instruction.code == BPF_RET_K && instruction.k == SECCOMP_RET_ALLOW {
            instruction.code = BPF_JMP_JA;
            instruction.jt = 0;
            instruction.jf = 0;
            // From the next instruction to the first of `second`.
            instruction.k = (length - index - 1) as u32;
        }
    }
    first.extend(second);
    first
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
    fn no_switch_means_no_sandbox() {
        assert_eq!(requested_policy(env(&[])).unwrap(), None);
        assert_eq!(
            requested_policy(env(&[("FEZZ_LIMIT_CPU_SECONDS", "1")])).unwrap(),
            None
        );
    }

    #[test]
    fn a_full_policy_is_read() {
        let policy = requested_policy(env(&[
            ("FEZZ_SANDBOX", "1"),
            ("FEZZ_SANDBOX_READ", "/srv/f:/opt/data"),
            ("FEZZ_SANDBOX_WRITE", "/srv/data"),
            ("FEZZ_SANDBOX_SCRATCH", "/tmp/hhrf-1/2"),
            ("FEZZ_SANDBOX_NETWORK", "connect"),
            ("FEZZ_SANDBOX_FILE_BYTES", "1048576"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            policy,
            Policy {
                read: vec!["/srv/f".into(), "/opt/data".into()],
                write: vec!["/srv/data".into()],
                scratch: Some("/tmp/hhrf-1/2".into()),
                connect: true,
                bind: false,
                file_bytes: Some(1048576),
            }
        );
        let minimal = requested_policy(env(&[("FEZZ_SANDBOX", "1"), ("FEZZ_SANDBOX_READ", "")]))
            .unwrap()
            .unwrap();
        assert_eq!(minimal, Policy::default());
    }

    #[test]
    fn bad_values_are_usage_failures_naming_the_variable() {
        for (name, value) in [
            ("FEZZ_SANDBOX", "0"),
            ("FEZZ_SANDBOX", ""),
            ("FEZZ_SANDBOX_READ", "relative"),
            ("FEZZ_SANDBOX_READ", "/a::/b"),
            ("FEZZ_SANDBOX_WRITE", "/a:"),
            ("FEZZ_SANDBOX_SCRATCH", "tmp"),
            ("FEZZ_SANDBOX_NETWORK", "all"),
            ("FEZZ_SANDBOX_NETWORK", ""),
            ("FEZZ_SANDBOX_FILE_BYTES", "0"),
            ("FEZZ_SANDBOX_FILE_BYTES", "1k"),
        ] {
            let switch = if name == "FEZZ_SANDBOX" { value } else { "1" };
            let pairs = [("FEZZ_SANDBOX", switch), (name, value)];
            let failure = requested_policy(env(&pairs)).unwrap_err();
            assert_eq!(failure.exit, RunnerExit::Usage, "{name}={value:?}");
            assert!(
                failure.message.starts_with(&format!("{name}=")),
                "{failure}"
            );
        }
        let stray = requested_policy(env(&[("FEZZ_SANDBOX_READ", "/a")])).unwrap_err();
        assert_eq!(stray.exit, RunnerExit::Usage);
        assert!(
            stray
                .message
                .contains("FEZZ_SANDBOX_READ is set but FEZZ_SANDBOX is not"),
            "{stray}"
        );
        let many = vec!["/p"; MAX_POLICY_PATHS + 1].join(":");
        let failure = requested_policy(env(&[("FEZZ_SANDBOX", "1"), ("FEZZ_SANDBOX_READ", &many)]))
            .unwrap_err();
        assert!(failure.message.contains("more than"), "{failure}");
    }

    #[test]
    fn older_landlock_abis_are_reported() {
        assert!(not_enforced(ABI::V6, true, false).is_empty());
        assert!(not_enforced(ABI::V7, true, true).is_empty());
        let v5 = not_enforced(ABI::V5, true, false);
        assert_eq!(
            v5,
            ["signal and abstract unix socket scoping (Landlock ABI 6)"]
        );
        let v3 = not_enforced(ABI::V3, true, false);
        assert_eq!(v3.len(), 3, "{v3:?}");
        assert!(
            v3[0].contains("seccomp still refuses INET sockets"),
            "{v3:?}"
        );
        let granted = not_enforced(ABI::V3, true, true);
        assert!(granted[0].contains("may bind and connect"), "{granted:?}");
        // Both granted: no TCP rule is asked for, so none is missing.
        assert_eq!(not_enforced(ABI::V3, false, true).len(), 2);
        assert_eq!(not_enforced(ABI::V1, true, false).len(), 5);
    }

    #[test]
    fn chaining_turns_the_first_programs_allows_into_jumps_to_the_second() {
        let arch = TargetArch::try_from(std::env::consts::ARCH).unwrap();
        let compile = |number: i64, errno: i32| {
            BpfProgram::try_from(
                SeccompFilter::new(
                    [(number, Vec::new())].into_iter().collect(),
                    SeccompAction::Allow,
                    SeccompAction::Errno(errno as u32),
                    arch,
                )
                .unwrap(),
            )
            .unwrap()
        };
        let first = compile(libc::SYS_ptrace, libc::EPERM);
        let second = compile(libc::SYS_clone3, libc::ENOSYS);
        let allows = first
            .iter()
            .filter(|i| i.code == BPF_RET_K && i.k == SECCOMP_RET_ALLOW)
            .count();
        assert!(allows > 0);
        let (first_len, second_len) = (first.len(), second.len());
        let chained = chain(first.clone(), second.clone());
        assert_eq!(chained.len(), first_len + second_len);
        assert_eq!(
            chained[first_len..],
            second[..],
            "the second program follows unchanged"
        );
        let mut jumps = 0;
        for (index, (old, new)) in first.iter().zip(&chained).enumerate() {
            if old.code == BPF_RET_K && old.k == SECCOMP_RET_ALLOW {
                jumps += 1;
                assert_eq!(new.code, BPF_JMP_JA);
                assert_eq!(
                    index + 1 + new.k as usize,
                    first_len,
                    "lands on the second's start"
                );
            } else {
                assert_eq!(old, new);
            }
        }
        assert_eq!(jumps, allows);
        // The second program's own allows stay allows.
        assert!(chained[first_len..]
            .iter()
            .any(|i| i.code == BPF_RET_K && i.k == SECCOMP_RET_ALLOW));
    }

    #[test]
    fn the_filters_compile_for_this_architecture() {
        let arch = TargetArch::try_from(std::env::consts::ARCH).unwrap();
        for network in [false, true] {
            let programs = seccomp_programs(network, arch).unwrap();
            assert_eq!(programs.len(), 1);
            assert!(programs.iter().all(|program| !program.is_empty()));
        }
        assert!(denied_families(true).contains(&libc::AF_PACKET));
        assert!(!denied_families(true).contains(&libc::AF_INET));
        assert!(denied_families(false).contains(&libc::AF_INET6));
    }
}
