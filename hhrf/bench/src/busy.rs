//! How busy the machine was during a run, apart from what the run itself used, and the rule
//! that redoes a disturbed run.
//!
//! The machine's process time over the run (`/proc/stat`: user, nice, system, steal) minus
//! the CPU time of the measured processes (the server and its children, the load generator,
//! this driver) is what other processes used: someone's build, say. As a share of the
//! machine (CPUs × wall time), a run with more than the threshold is *disturbed* and done
//! again, at most a bounded number of times; the least disturbed attempt is kept and the
//! record says how many were made. Interrupt and softirq time is reported apart: the kernel
//! charges loopback networking there rather than to a process, so it belongs to the run.

use serde::Serialize;

use crate::procstat::MachineCpu;

/// The default threshold: other processes used more than this share of the machine.
pub const DEFAULT_THRESHOLD: f64 = 0.10;

/// The default number of times a disturbed run is redone.
pub const DEFAULT_RETRIES: usize = 2;

/// What else the machine did during one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Busy {
    /// CPU seconds other processes used.
    pub other_cpu_seconds: f64,
    /// That, as a share of the machine over the run (0 to 1).
    pub other_share: f64,
    /// Interrupt and softirq time as a share of the machine (loopback networking: the run's).
    pub interrupt_share: f64,
}

impl Busy {
    /// `machine`: the `/proc/stat` difference over the run; `measured_cpu_seconds`: the CPU
    /// time of every measured process over the same span; `wall_seconds`: its length.
    pub fn of(
        machine: &MachineCpu,
        measured_cpu_seconds: f64,
        wall_seconds: f64,
        cpus: usize,
    ) -> Busy {
        let capacity = (cpus.max(1) as f64 * wall_seconds).max(f64::MIN_POSITIVE);
        let other = (machine.process - measured_cpu_seconds).max(0.0);
        Busy {
            other_cpu_seconds: other,
            other_share: (other / capacity).min(1.0),
            interrupt_share: (machine.interrupts / capacity).clamp(0.0, 1.0),
        }
    }

    /// Whether other processes used more than `threshold` of the machine.
    pub fn disturbed(&self, threshold: f64) -> bool {
        self.other_share > threshold
    }
}

/// Something measured during which the machine's business was recorded.
pub trait Measured {
    /// The machine's business during it.
    fn busy(&self) -> Busy;
}

/// The kept attempt of a run and how many were made.
#[derive(Debug, Clone)]
pub struct Kept<T> {
    /// The first undisturbed attempt, or the least disturbed one when all were.
    pub value: T,
    /// How many attempts were made (1 + redone runs).
    pub attempts: usize,
    /// Whether even the kept attempt was disturbed.
    pub disturbed: bool,
}

/// Runs `attempt` until one is not disturbed, at most `1 + retries` times, calling `redo`
/// before each repeat (for progress); keeps the first undisturbed attempt or the least
/// disturbed. An attempt that fails ends it with the error.
pub fn until_undisturbed<T: Measured, E>(
    threshold: f64,
    retries: usize,
    mut attempt: impl FnMut() -> Result<T, E>,
    mut redo: impl FnMut(usize, &Busy),
) -> Result<Kept<T>, E> {
    let mut best: Option<T> = None;
    for number in 1..=retries + 1 {
        let value = attempt()?;
        let busy = value.busy();
        let better = best
            .as_ref()
            .is_none_or(|kept| busy.other_share < kept.busy().other_share);
        if better {
            best = Some(value);
        }
        if !busy.disturbed(threshold) {
            return Ok(Kept {
                value: best.expect("kept above"),
                attempts: number,
                disturbed: false,
            });
        }
        if number <= retries {
            redo(number, &busy);
        }
    }
    let value = best.expect("at least one attempt");
    let disturbed = value.busy().disturbed(threshold);
    Ok(Kept {
        value,
        attempts: retries + 1,
        disturbed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Fake(f64);

    impl Measured for Fake {
        fn busy(&self) -> Busy {
            Busy {
                other_share: self.0,
                ..Busy::default()
            }
        }
    }

    #[test]
    fn other_time_is_machine_process_time_minus_the_measured_processes() {
        let machine = MachineCpu {
            process: 9.0,
            interrupts: 1.0,
            idle: 10.0,
        };
        // 2 CPUs for 5 s: 10 CPU seconds; 8 measured, 1 other, 1 of interrupts.
        let busy = Busy::of(&machine, 8.0, 5.0, 2);
        assert!((busy.other_cpu_seconds - 1.0).abs() < 1e-9);
        assert!((busy.other_share - 0.1).abs() < 1e-9);
        assert!((busy.interrupt_share - 0.1).abs() < 1e-9);
        assert!(!busy.disturbed(0.1));
        assert!(busy.disturbed(0.05));
        // Measured more than the machine saw (tick rounding): never negative.
        assert_eq!(Busy::of(&machine, 12.0, 5.0, 2).other_share, 0.0);
    }

    #[test]
    fn a_quiet_first_attempt_is_kept_at_once() {
        let mut redone = 0;
        let kept =
            until_undisturbed(0.1, 2, || Ok::<_, ()>(Fake(0.02)), |_, _| redone += 1).unwrap();
        assert_eq!((kept.attempts, kept.disturbed, redone), (1, false, 0));
    }

    #[test]
    fn a_disturbed_run_is_redone_until_quiet() {
        let mut shares = [0.5, 0.3, 0.05].into_iter();
        let mut redone = Vec::new();
        let kept = until_undisturbed(
            0.1,
            2,
            || Ok::<_, ()>(Fake(shares.next().unwrap())),
            |number, busy| redone.push((number, busy.other_share)),
        )
        .unwrap();
        assert_eq!(kept.attempts, 3);
        assert!(!kept.disturbed);
        assert_eq!(kept.value.0, 0.05);
        assert_eq!(redone, [(1, 0.5), (2, 0.3)]);
    }

    #[test]
    fn retries_are_bounded_and_the_least_disturbed_is_kept() {
        let mut shares = [0.4, 0.2, 0.9, 0.01].into_iter();
        let mut calls = 0;
        let kept = until_undisturbed(
            0.1,
            2,
            || {
                calls += 1;
                Ok::<_, ()>(Fake(shares.next().unwrap()))
            },
            |_, _| {},
        )
        .unwrap();
        assert_eq!(calls, 3, "never more than 1 + retries attempts");
        assert_eq!(kept.attempts, 3);
        assert!(kept.disturbed);
        assert_eq!(kept.value.0, 0.2);
    }

    #[test]
    fn a_failed_attempt_ends_the_run() {
        let result = until_undisturbed(0.1, 2, || Err::<Fake, _>("boom"), |_, _| {});
        assert_eq!(result.unwrap_err(), "boom");
    }
}
