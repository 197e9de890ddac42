//! What the kernel says about CPU time and memory, read from `/proc`: the machine's CPU
//! counters (`/proc/stat`), a process's own and its reaped children's CPU time
//! (`/proc/<pid>/stat`), and its resident memory (`/proc/<pid>/status`), plus a sampler that
//! keeps the peak of a server's resident memory while a run goes on.
//!
//! Parsing is separate from reading (the `parse_*` functions take the file's text), so the
//! unit tests feed them fixed text.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Seconds of CPU time per clock tick (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub fn seconds_per_tick() -> f64 {
    // SAFETY: sysconf takes an integer and has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    1.0 / if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The machine's CPU counters from the `cpu` line of `/proc/stat`, in seconds summed over
/// every CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineCpu {
    /// Time spent running processes (user, nice, system, steal): what a build of someone else
    /// shows up in.
    pub process: f64,
    /// Time spent in interrupts and softirqs, which the kernel does not charge to any process
    /// (loopback networking of the measured systems lands here).
    pub interrupts: f64,
    /// Idle and I/O wait.
    pub idle: f64,
}

impl MachineCpu {
    /// Reads `/proc/stat` now.
    pub fn now() -> anyhow::Result<MachineCpu> {
        parse_machine_cpu(&std::fs::read_to_string("/proc/stat")?, seconds_per_tick())
    }

    /// The counters of `self` minus those of `earlier`.
    pub fn since(&self, earlier: &MachineCpu) -> MachineCpu {
        MachineCpu {
            process: self.process - earlier.process,
            interrupts: self.interrupts - earlier.interrupts,
            idle: self.idle - earlier.idle,
        }
    }
}

/// Parses the `cpu` line of `/proc/stat` (`user nice system idle iowait irq softirq steal
/// guest guest_nice`, in ticks; guest time is already part of user time).
pub fn parse_machine_cpu(stat: &str, seconds_per_tick: f64) -> anyhow::Result<MachineCpu> {
    let line = stat
        .lines()
        .find(|line| line.starts_with("cpu "))
        .ok_or_else(|| anyhow::anyhow!("/proc/stat has no cpu line"))?;
    let fields: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse::<f64>().unwrap_or(0.0))
        .collect();
    let field = |index: usize| fields.get(index).copied().unwrap_or(0.0) * seconds_per_tick;
    Ok(MachineCpu {
        process: field(0) + field(1) + field(2) + field(7),
        interrupts: field(5) + field(6),
        idle: field(3) + field(4),
    })
}

/// A process's CPU time in seconds: its own (user + system) and that of its children it has
/// reaped (`cutime + cstime`), from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessCpu {
    /// The process's own threads.
    pub own: f64,
    /// Its reaped descendants (a server's CGI programs or runners).
    pub children: f64,
}

impl ProcessCpu {
    /// Reads `/proc/<pid>/stat` now.
    pub fn of(pid: i32) -> anyhow::Result<ProcessCpu> {
        parse_process_cpu(
            &std::fs::read_to_string(format!("/proc/{pid}/stat"))?,
            seconds_per_tick(),
        )
    }

    /// Own plus children.
    pub fn total(&self) -> f64 {
        self.own + self.children
    }
}

/// Parses `/proc/<pid>/stat`: fields 14 to 17 (utime, stime, cutime, cstime), counted after
/// the command name, which is in parentheses and may hold spaces.
pub fn parse_process_cpu(stat: &str, seconds_per_tick: f64) -> anyhow::Result<ProcessCpu> {
    let after_name = stat
        .rfind(')')
        .map(|end| &stat[end + 1..])
        .ok_or_else(|| anyhow::anyhow!("no command name in /proc/<pid>/stat"))?;
    // After the name: field 3 (state) is the first.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let tick = |number: usize| -> anyhow::Result<f64> {
        let value = fields
            .get(number - 3)
            .ok_or_else(|| anyhow::anyhow!("/proc/<pid>/stat has no field {number}"))?;
        Ok(value.parse::<f64>()? * seconds_per_tick)
    };
    Ok(ProcessCpu {
        own: tick(14)? + tick(15)?,
        children: tick(16)? + tick(17)?,
    })
}

/// A field of `/proc/<pid>/status` in bytes (`VmRSS:   1234 kB`).
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// The resident memory of `pid` now (`VmRSS`) and its peak since it started (`VmHWM`).
pub fn resident(pid: i32) -> (Option<u64>, Option<u64>) {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => (
            parse_status_kib(&status, "VmRSS"),
            parse_status_kib(&status, "VmHWM"),
        ),
        Err(_) => (None, None),
    }
}

/// Samples a process's `VmRSS` every `period` on a thread of its own and keeps the peak.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: i32, period: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let (Some(rss), _) = resident(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(period);
                }
            })
        };
        RssSampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the largest `VmRSS` seen, in bytes.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// CPU seconds (user + system) of this process's reaped children, or of itself
/// (`getrusage`).
pub fn rusage_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage writes one struct rusage, which is plain data, into a zeroed local.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_line_is_split_into_process_interrupt_and_idle_time() {
        let stat = "cpu  100 5 50 1000 20 3 7 2 0 0\ncpu0 50 2 25 500 10 1 3 1 0 0\n";
        let cpu = parse_machine_cpu(stat, 0.01).unwrap();
        assert!((cpu.process - 1.57).abs() < 1e-9, "{cpu:?}");
        assert!((cpu.interrupts - 0.10).abs() < 1e-9, "{cpu:?}");
        assert!((cpu.idle - 10.20).abs() < 1e-9, "{cpu:?}");
        assert!(parse_machine_cpu("intr 1 2 3\n", 0.01).is_err());
    }

    #[test]
    fn process_times_are_read_after_a_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime ...
        let stat = "42 (a b) c)) S 1 42 42 0 -1 4194560 10 0 0 0 250 50 700 300 20 0 1 0";
        let cpu = parse_process_cpu(stat, 0.01).unwrap();
        assert!((cpu.own - 3.0).abs() < 1e-9, "{cpu:?}");
        assert!((cpu.children - 10.0).abs() < 1e-9, "{cpu:?}");
        assert!((cpu.total() - 13.0).abs() < 1e-9);
        assert!(parse_process_cpu("42 (x) S 1 2", 0.01).is_err());
    }

    #[test]
    fn status_fields_are_read_in_bytes() {
        let status = "Name:\thhrf\nVmHWM:\t   20480 kB\nVmRSS:\t    6144 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(6 * 1024 * 1024));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(20 * 1024 * 1024));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let pid = std::process::id() as i32;
        let (rss, hwm) = resident(pid);
        assert!(rss.unwrap() > 0 && hwm.unwrap() >= rss.unwrap());
        let sampler = RssSampler::start(pid, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        assert!(sampler.finish() > 0);
        assert!(ProcessCpu::of(pid).is_ok());
        assert!(MachineCpu::now().unwrap().idle + MachineCpu::now().unwrap().process > 0.0);
    }
}
