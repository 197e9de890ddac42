//! Readiness: whether hhrf wants new calls now (`spec/HTTP.md`, "Readiness").
//!
//! What lives here: [`Readiness`] (the flags a load balancer's probe of `/_fezz/ready`
//! reads: functions loaded, drained by an operator, stopping after a signal) and
//! [`NotReady`] (each reason, as it appears in the JSON body). What does not: the admission
//! queue itself (`admission`, asked at probe time through [`Readiness::reasons`]), serving
//! the endpoint (`admin`), the stop sequence (`server`).
//!
//! Liveness and readiness are apart on purpose: `/_fezz/health` answers 200 while the
//! process serves, draining or not, so a liveness probe never kills a draining instance;
//! `/_fezz/ready` answers 503 for any reason below, so a load balancer sends its traffic
//! elsewhere. A saturated function never makes the server unready: only the server-wide
//! queue does.

use std::sync::atomic::{AtomicBool, Ordering};

/// Why hhrf is not ready; the JSON body names each as its [`NotReady::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotReady {
    /// The function folders are not loaded yet (only visible on a separate admin listener,
    /// which is bound before they are).
    Loading,
    /// An operator asked for a drain (`POST /_fezz/drain`, `hhrf drain`); undone by
    /// `POST /_fezz/undrain`.
    Draining,
    /// A `SIGTERM` or `SIGINT` began a stop; never undone.
    Stopping,
    /// The server-wide admission queue is full: a new call would be refused.
    ServerQueueFull,
}

impl NotReady {
    /// Every reason, in the order the body lists them.
    pub const ALL: [NotReady; 4] = [
        NotReady::Loading,
        NotReady::Draining,
        NotReady::Stopping,
        NotReady::ServerQueueFull,
    ];

    /// The reason's name in the JSON body of `/_fezz/ready`.
    pub fn name(self) -> &'static str {
        match self {
            NotReady::Loading => "loading",
            NotReady::Draining => "draining",
            NotReady::Stopping => "stopping",
            NotReady::ServerQueueFull => "server-queue-full",
        }
    }
}

/// The readiness flags of one server. All start unset except `loading`.
#[derive(Debug)]
pub struct Readiness {
    loaded: AtomicBool,
    draining: AtomicBool,
    stopping: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            loaded: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }
}

/// What a drain or undrain request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainChange {
    /// The flag changed.
    Changed,
    /// It was already so.
    Unchanged,
    /// Refused: a stop has begun, which no undrain can end.
    Stopping,
}

impl Readiness {
    /// The functions are loaded: `loading` no longer holds.
    pub fn set_loaded(&self) {
        self.loaded.store(true, Ordering::Release);
    }

    /// Begins an operator's drain.
    pub fn drain(&self) -> DrainChange {
        if self.draining.swap(true, Ordering::AcqRel) {
            DrainChange::Unchanged
        } else {
            DrainChange::Changed
        }
    }

    /// Ends an operator's drain; refused once a stop has begun.
    pub fn undrain(&self) -> DrainChange {
        if self.is_stopping() {
            return DrainChange::Stopping;
        }
        if self.draining.swap(false, Ordering::AcqRel) {
            DrainChange::Changed
        } else {
            DrainChange::Unchanged
        }
    }

    /// A stop begins (the first `SIGTERM` or `SIGINT`).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Whether a stop has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Whether an operator's drain or a stop is in force (the health body's `draining`).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire) || self.is_stopping()
    }

    /// Every reason that holds now, in [`NotReady::ALL`] order; empty means ready.
    /// `server_queue_full` says whether the server-wide admission queue is full now.
    pub fn reasons(&self, server_queue_full: impl FnOnce() -> bool) -> Vec<NotReady> {
        let mut reasons = Vec::new();
        if !self.loaded.load(Ordering::Acquire) {
            reasons.push(NotReady::Loading);
        }
        if self.draining.load(Ordering::Acquire) {
            reasons.push(NotReady::Draining);
        }
        if self.is_stopping() {
            reasons.push(NotReady::Stopping);
        }
        if server_queue_full() {
            reasons.push(NotReady::ServerQueueFull);
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_loaded_and_not_drained_or_stopping() {
        let readiness = Readiness::default();
        assert_eq!(readiness.reasons(|| false), [NotReady::Loading]);
        readiness.set_loaded();
        assert!(readiness.reasons(|| false).is_empty());
        assert_eq!(readiness.reasons(|| true), [NotReady::ServerQueueFull]);
        assert_eq!(readiness.drain(), DrainChange::Changed);
        assert_eq!(readiness.drain(), DrainChange::Unchanged);
        assert!(readiness.is_draining());
        assert_eq!(readiness.reasons(|| false), [NotReady::Draining]);
        assert_eq!(readiness.undrain(), DrainChange::Changed);
        assert_eq!(readiness.undrain(), DrainChange::Unchanged);
        assert!(readiness.reasons(|| false).is_empty());
        readiness.stop();
        assert_eq!(readiness.undrain(), DrainChange::Stopping);
        assert_eq!(readiness.reasons(|| false), [NotReady::Stopping]);
        assert!(readiness.is_draining());
    }

    #[test]
    fn reason_names_are_distinct() {
        let names: std::collections::BTreeSet<&str> =
            NotReady::ALL.iter().map(|reason| reason.name()).collect();
        assert_eq!(names.len(), NotReady::ALL.len());
    }
}
