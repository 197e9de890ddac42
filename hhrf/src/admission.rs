//! Admission control: how many calls run at once, how many may wait, and how much memory
//! their requests and answers may hold (`spec/HTTP.md`, "Admission").
//!
//! What lives here: [`Admission`] (the server's gate and one gate per function), [`Ticket`]
//! (what an admitted call holds), [`MemoryReservation`] (the bytes a call may buffer, kept
//! until its response body has been sent or dropped), [`Refusal`] and [`AdmissionStats`].
//! What does not: turning a refusal into a 503 (`outcome`), when a request is admitted
//! (`server`: after routing, before its body is read).
//!
//! A call is admitted in two steps, each a [`Gate`] with call slots, memory and a bounded
//! wait queue: first its function's gate, then the server's. A function's gate holds at most
//! half of the server's slots and half of its memory by default, so a flood of slow calls to
//! one function waits in that function's queue and never takes the slots or the memory the
//! other functions need. Waiting counts against the call's deadline; a full queue, or a
//! deadline that passes while waiting, is a [`Refusal`] (503 `overloaded`).
//!
//! Memory is reserved for the worst case before the call starts: twice the request body's
//! bound (the collected body and the encoded request frame) and twice the function's largest
//! possible output (the bytes read from the runner and the decoded response body), plus a
//! fixed overhead ([`CALL_OVERHEAD_BYTES`]). hhrf buffers whole responses (the outcome rules
//! need the whole frame), so this bound is what keeps the sum of every call's buffers inside
//! the budget, whatever the functions write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Bytes every call may hold besides its body and output: headers, the log line, buffers.
pub const CALL_OVERHEAD_BYTES: usize = 64 * 1024;

/// The memory budget's unit: reservations are counted in KiB.
const UNIT: usize = 1024;

/// The `Retry-After` hhrf sends with a refusal, in seconds.
pub const RETRY_AFTER_S: u32 = 1;

/// The server's limits on concurrent calls, waiting calls and buffered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionConfig {
    /// Calls running at once, server-wide.
    pub max_calls: usize,
    /// Calls waiting for a server slot or memory, server-wide.
    pub max_queue: usize,
    /// Calls running at once per function.
    pub function_calls: usize,
    /// Calls waiting per function.
    pub function_queue: usize,
    /// Bytes all calls may reserve together.
    pub memory_budget: usize,
    /// Bytes one function's calls may reserve together.
    pub function_memory: usize,
}

impl AdmissionConfig {
    /// The defaults for `max_calls`, `max_queue` and `memory_budget`, with each function held
    /// to half of the server's slots and memory and to `max_queue / 2` waiting calls.
    pub fn new(max_calls: usize, max_queue: usize, memory_budget: usize) -> Self {
        AdmissionConfig {
            max_calls,
            max_queue,
            function_calls: (max_calls / 2).max(1),
            function_queue: (max_queue / 2).max(1),
            memory_budget,
            function_memory: memory_budget / 2,
        }
    }
}

/// Why a call was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The queue the call would wait in is full.
    #[error("{scope} queue is full ({limit} waiting)")]
    QueueFull {
        /// `"the server's"` or `"the function's"`.
        scope: &'static str,
        /// The queue's length.
        limit: usize,
    },
    /// The call's deadline passed while it waited.
    #[error("the call's deadline passed while it waited in {scope} queue")]
    DeadlinePassed {
        /// `"the server's"` or `"the function's"`.
        scope: &'static str,
    },
}

/// Counters of the admission state, for the health endpoint and tests.
#[derive(Debug, Default)]
struct Counters {
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    reserved: AtomicUsize,
    peak_reserved: AtomicUsize,
    refused: AtomicU64,
    waited: AtomicU64,
}

/// A snapshot of the admission state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AdmissionStats {
    /// Calls admitted and not finished.
    pub in_flight: usize,
    /// Calls waiting in any queue.
    pub queued: usize,
    /// Bytes reserved now.
    pub memory_reserved_bytes: usize,
    /// The most bytes ever reserved at once.
    pub memory_peak_bytes: usize,
    /// The budget.
    pub memory_budget_bytes: usize,
    /// Calls refused since start.
    pub refused: u64,
    /// Calls that had to wait in a queue since start.
    pub waited: u64,
    /// Per function that has seen a call.
    pub functions: std::collections::BTreeMap<String, GateStats>,
}

/// A snapshot of one function's gate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GateStats {
    /// Calls holding one of the gate's slots.
    pub in_flight: usize,
    /// Calls waiting in the gate's queue.
    pub queued: usize,
    /// Calls that had to wait in this gate's queue since start.
    pub waited: u64,
    /// Calls this gate refused since start.
    pub refused: u64,
}

/// Slots, memory and a bounded queue.
#[derive(Debug)]
struct Gate {
    scope: &'static str,
    slots: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    memory_units: usize,
    slot_count: usize,
    queued: AtomicUsize,
    queue_limit: usize,
    waited: AtomicU64,
    refused: AtomicU64,
}

/// What passing a gate gives: one slot and some memory.
#[derive(Debug)]
struct Pass {
    slot: OwnedSemaphorePermit,
    memory: OwnedSemaphorePermit,
}

impl Gate {
    fn new(scope: &'static str, slots: usize, memory: usize, queue_limit: usize) -> Gate {
        let memory_units = (memory / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        let slot_count = slots.clamp(1, Semaphore::MAX_PERMITS);
        Gate {
            scope,
            slots: Arc::new(Semaphore::new(slot_count)),
            slot_count,
            memory: Arc::new(Semaphore::new(memory_units)),
            memory_units,
            queued: AtomicUsize::new(0),
            queue_limit,
            waited: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    fn stats(&self) -> GateStats {
        GateStats {
            in_flight: self.slot_count - self.slots.available_permits().min(self.slot_count),
            queued: self.queued.load(Ordering::Acquire),
            waited: self.waited.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    /// A slot and `units` of memory (at most all of the gate's), at once if free, else after
    /// waiting in the queue until `deadline`.
    async fn pass(
        &self,
        units: usize,
        deadline: Instant,
        counters: &Counters,
    ) -> Result<Pass, Refusal> {
        let units = u32::try_from(units.min(self.memory_units)).unwrap_or(u32::MAX);
        if let (Ok(slot), Ok(memory)) = (
            self.slots.clone().try_acquire_owned(),
            self.memory.clone().try_acquire_many_owned(units),
        ) {
            return Ok(Pass { slot, memory });
        }
        // Both permits are returned when the failed pair is dropped; now queue.
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.queue_limit {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::QueueFull {
                scope: self.scope,
                limit: self.queue_limit,
            });
        }
        let _waiting = Waiting(&self.queued, &counters.queued);
        counters.queued.fetch_add(1, Ordering::AcqRel);
        self.waited.fetch_add(1, Ordering::Relaxed);
        counters.waited.fetch_add(1, Ordering::Relaxed);
        let acquire = async {
            let slot = self.slots.clone().acquire_owned().await;
            let memory = self.memory.clone().acquire_many_owned(units).await;
            match (slot, memory) {
                (Ok(slot), Ok(memory)) => Some(Pass { slot, memory }),
                _ => None,
            }
        };
        match tokio::time::timeout_at(deadline, acquire).await {
            Ok(Some(pass)) => Ok(pass),
            // The semaphores are never closed; treat it like a deadline.
            Ok(None) | Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(Refusal::DeadlinePassed { scope: self.scope })
            }
        }
    }
}

/// Counts a call as waiting, in its gate and server-wide, until dropped.
struct Waiting<'a>(&'a AtomicUsize, &'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        self.1.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The server's admission control.
#[derive(Debug)]
pub struct Admission {
    config: AdmissionConfig,
    server: Gate,
    functions: Mutex<HashMap<String, Arc<Gate>>>,
    counters: Arc<Counters>,
}

impl Admission {
    /// Gates sized by `config`.
    pub fn new(config: AdmissionConfig) -> Admission {
        Admission {
            config,
            server: Gate::new(
                "the server's",
                config.max_calls,
                config.memory_budget,
                config.max_queue,
            ),
            functions: Mutex::new(HashMap::new()),
            counters: Arc::default(),
        }
    }

    /// The limits.
    pub fn config(&self) -> AdmissionConfig {
        self.config
    }

    fn function_gate(&self, function: &str) -> Arc<Gate> {
        let mut functions = self
            .functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        functions
            .entry(function.to_owned())
            .or_insert_with(|| {
                Arc::new(Gate::new(
                    "the function's",
                    self.config.function_calls,
                    self.config.function_memory,
                    self.config.function_queue,
                ))
            })
            .clone()
    }

    /// Admits one call of `function` that may buffer up to `bytes`, waiting in the
    /// function's queue and then the server's until `deadline` at the latest. A reservation
    /// larger than a gate's whole memory is cut to it (the call then runs alone).
    pub async fn admit(
        &self,
        function: &str,
        bytes: usize,
        deadline: Instant,
    ) -> Result<Ticket, Refusal> {
        let units = bytes.div_ceil(UNIT).max(1);
        let gate = self.function_gate(function);
        let result = async {
            let function_pass = gate.pass(units, deadline, &self.counters).await?;
            let server_pass = self.server.pass(units, deadline, &self.counters).await?;
            Ok::<_, Refusal>((function_pass, server_pass))
        }
        .await;
        let (function_pass, server_pass) = match result {
            Ok(passes) => passes,
            Err(refusal) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                return Err(refusal);
            }
        };
        let reserved_bytes = server_pass.memory.num_permits() * UNIT;
        let now = self
            .counters
            .reserved
            .fetch_add(reserved_bytes, Ordering::AcqRel)
            + reserved_bytes;
        self.counters.peak_reserved.fetch_max(now, Ordering::AcqRel);
        self.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(Ticket {
            slots: Some((function_pass.slot, server_pass.slot)),
            memory: Some(MemoryReservation {
                _function: function_pass.memory,
                _server: server_pass.memory,
                bytes: reserved_bytes,
                counters: self.counters.clone(),
            }),
            counters: self.counters.clone(),
        })
    }

    /// The state now.
    pub fn stats(&self) -> AdmissionStats {
        let counters = &self.counters;
        AdmissionStats {
            in_flight: counters.in_flight.load(Ordering::Acquire),
            queued: counters.queued.load(Ordering::Acquire),
            memory_reserved_bytes: counters.reserved.load(Ordering::Acquire),
            memory_peak_bytes: counters.peak_reserved.load(Ordering::Acquire),
            memory_budget_bytes: self.config.memory_budget,
            refused: counters.refused.load(Ordering::Relaxed),
            waited: counters.waited.load(Ordering::Relaxed),
            functions: self.function_stats(),
        }
    }

    /// Drops the gate of `function` (a version no longer served), unless a call still waits
    /// in it or runs; a later call of the same name starts a fresh gate.
    pub fn forget(&self, function: &str) {
        let mut functions = self
            .functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if functions.get(function).is_some_and(|gate| {
            Arc::strong_count(gate) == 1 && gate.slots.available_permits() == gate.slot_count
        }) {
            functions.remove(function);
        }
    }

    /// Whether the server's queue is full, so that a call reaching the server's gate now
    /// would be refused (readiness): `--max-queue` calls wait in it, or, with `--max-queue 0`,
    /// every server slot is taken. One function's full gate never makes it so.
    pub fn server_queue_full(&self) -> bool {
        let full = self.server.queued.load(Ordering::Acquire) >= self.server.queue_limit;
        full && (self.server.queue_limit > 0 || self.server.slots.available_permits() == 0)
    }

    /// The state of each function's gate that has seen a call, by `<id>@<version>`.
    pub fn function_stats(&self) -> std::collections::BTreeMap<String, GateStats> {
        let functions = self
            .functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        functions
            .iter()
            .map(|(name, gate)| (name.clone(), gate.stats()))
            .collect()
    }
}

/// What an admitted call holds: its slots until the call ends, its memory until its
/// response has been sent ([`Ticket::finish`]).
#[derive(Debug)]
pub struct Ticket {
    slots: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    memory: Option<MemoryReservation>,
    counters: Arc<Counters>,
}

impl Ticket {
    /// The call is over: its slots go back; the memory stays with the response body.
    pub fn finish(mut self) -> Option<MemoryReservation> {
        self.release_slots();
        self.memory.take()
    }

    fn release_slots(&mut self) {
        if self.slots.take().is_some() {
            self.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.release_slots();
    }
}

/// Bytes of the memory budget held by one call; released when dropped.
#[derive(Debug)]
pub struct MemoryReservation {
    _function: OwnedSemaphorePermit,
    _server: OwnedSemaphorePermit,
    bytes: usize,
    counters: Arc<Counters>,
}

impl MemoryReservation {
    /// How many bytes are held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        self.counters
            .reserved
            .fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_forgotten_gate_is_dropped_only_when_no_call_holds_it() {
        let admission = Admission::new(AdmissionConfig::new(4, 4, 64 << 20));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let ticket = admission.admit("f@1", 1024, deadline).await.unwrap();
        admission.forget("f@1");
        assert!(
            admission.function_stats().contains_key("f@1"),
            "a call still runs"
        );
        drop(ticket);
        admission.forget("f@1");
        assert!(!admission.function_stats().contains_key("f@1"));
    }
}
