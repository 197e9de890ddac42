//! What the operator page shows of recent traffic (`spec/HTTP.md`, "Operator page"): the last
//! requests served by a function, and per function and per minute the calls, the failures
//! and a latency histogram from which p50 and p95 are read.
//!
//! What lives here: [`Activity`] (a bounded ring buffer of [`RecentCall`]s and bounded
//! per-minute buckets), [`Activity::record`] (one finished request) and
//! [`Activity::snapshot`]. What does not: rendering (`operator_page`), the Prometheus series
//! (`metrics`). Everything is bounded: [`RECENT_CALLS`] requests, [`MINUTES`] buckets per
//! function, [`MAX_TRACKED_FUNCTIONS`] functions (a function past that is left out of the
//! chart, never of the list), and every string kept is cut to [`MAX_TEXT_CHARS`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many recent requests the page lists.
pub const RECENT_CALLS: usize = 100;

/// How many minutes of per-function statistics are kept (the chart's width).
pub const MINUTES: u64 = 15;

/// How many functions get per-minute statistics at once; the least recently called is
/// dropped first.
pub const MAX_TRACKED_FUNCTIONS: usize = 256;

/// The longest function name, outcome or request id kept, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// Latency histogram bounds: bucket `i` holds durations up to `LATENCY_BASE_MS * 2^(i/2)`
/// (about 0.5 ms to 9 minutes, two buckets per doubling); the last one holds the rest.
const LATENCY_BUCKETS: usize = 42;
const LATENCY_BASE_MS: f64 = 0.5;

/// The upper bound of latency bucket `index`, in milliseconds.
fn bucket_bound_ms(index: usize) -> f64 {
    LATENCY_BASE_MS * 2f64.powf(index as f64 / 2.0)
}

/// The bucket a duration falls in.
fn bucket_of(duration: Duration) -> usize {
    let ms = duration.as_secs_f64() * 1000.0;
    (0..LATENCY_BUCKETS)
        .find(|index| ms <= bucket_bound_ms(*index))
        .unwrap_or(LATENCY_BUCKETS - 1)
}

/// One request that reached a function, as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCall {
    /// When it ended, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// Its request id.
    pub request_id: String,
    /// `<id>@<version>` of the function that served it.
    pub function: String,
    /// The outcome label of `/_fezz/metrics` (`ok`, `runner-crashed`, …).
    pub outcome: String,
    /// The status sent.
    pub status: u16,
    /// From the start of handling to the outcome.
    pub duration: Duration,
}

impl RecentCall {
    /// Whether the call failed (its outcome is not `ok`).
    pub fn failed(&self) -> bool {
        self.outcome != "ok"
    }
}

/// One function's calls in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteStats {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    /// Calls that ended in it.
    pub calls: u64,
    /// Those whose outcome is not `ok`.
    pub failures: u64,
    latency: [u64; LATENCY_BUCKETS],
}

impl MinuteStats {
    fn new(minute: u64) -> Self {
        MinuteStats {
            minute,
            calls: 0,
            failures: 0,
            latency: [0; LATENCY_BUCKETS],
        }
    }

    /// The duration at or below which `quantile` (0 to 1) of the calls ended, as the upper
    /// bound of its histogram bucket, in milliseconds; `None` without calls.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        if self.calls == 0 {
            return None;
        }
        let wanted = (quantile * self.calls as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.latency.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return Some(bucket_bound_ms(index));
            }
        }
        Some(bucket_bound_ms(LATENCY_BUCKETS - 1))
    }

    /// Failures per call, 0 to 1; 0 without calls.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.failures as f64 / self.calls as f64
        }
    }
}

/// The state [`Activity::snapshot`] copies out.
#[derive(Debug, Clone, Default)]
pub struct ActivitySnapshot {
    /// The last requests, newest first.
    pub recent: Vec<RecentCall>,
    /// Per function, its minutes with calls among the last [`MINUTES`], oldest first.
    pub minutes: BTreeMap<String, Vec<MinuteStats>>,
    /// The current minute, minutes since the Unix epoch.
    pub now_minute: u64,
}

#[derive(Default)]
struct Inner {
    recent: VecDeque<RecentCall>,
    /// Per function: its buckets, oldest first, and the last minute it was called in.
    minutes: BTreeMap<String, VecDeque<MinuteStats>>,
}

/// The recent traffic, shared by every listener.
#[derive(Default)]
pub struct Activity {
    inner: Mutex<Inner>,
}

fn cut(text: &str) -> String {
    text.chars().take(MAX_TEXT_CHARS).collect()
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl Activity {
    /// Records one finished request of `function` (now).
    pub fn record(
        &self,
        request_id: &str,
        function: &str,
        outcome: &str,
        status: u16,
        duration: Duration,
    ) {
        self.record_at(
            now_unix_ms(),
            RecentCall {
                unix_ms: 0,
                request_id: cut(request_id),
                function: cut(function),
                outcome: cut(outcome),
                status,
                duration,
            },
        );
    }

    fn record_at(&self, unix_ms: u64, mut call: RecentCall) {
        call.unix_ms = unix_ms;
        let minute = unix_ms / 60_000;
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !inner.minutes.contains_key(&call.function)
            && inner.minutes.len() >= MAX_TRACKED_FUNCTIONS
        {
            // Drop the function called least recently.
            let stalest = inner
                .minutes
                .iter()
                .min_by_key(|(_, buckets)| buckets.back().map_or(0, |bucket| bucket.minute))
                .map(|(name, _)| name.clone());
            if let Some(stalest) = stalest {
                inner.minutes.remove(&stalest);
            }
        }
        let buckets = inner.minutes.entry(call.function.clone()).or_default();
        if buckets.back().is_none_or(|bucket| bucket.minute < minute) {
            buckets.push_back(MinuteStats::new(minute));
        }
        while buckets
            .front()
            .is_some_and(|bucket| bucket.minute + MINUTES <= minute)
        {
            buckets.pop_front();
        }
        // A clock that went back lands in the newest bucket.
        if let Some(bucket) = buckets.back_mut() {
            bucket.calls += 1;
            bucket.failures += u64::from(call.failed());
            bucket.latency[bucket_of(call.duration)] += 1;
        }
        if inner.recent.len() >= RECENT_CALLS {
            inner.recent.pop_front();
        }
        inner.recent.push_back(call);
    }

    /// A copy of the state now.
    pub fn snapshot(&self) -> ActivitySnapshot {
        self.snapshot_at(now_unix_ms())
    }

    fn snapshot_at(&self, unix_ms: u64) -> ActivitySnapshot {
        let now_minute = unix_ms / 60_000;
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        ActivitySnapshot {
            recent: inner.recent.iter().rev().cloned().collect(),
            minutes: inner
                .minutes
                .iter()
                .map(|(name, buckets)| {
                    let kept = buckets
                        .iter()
                        .filter(|bucket| bucket.minute + MINUTES > now_minute)
                        .cloned()
                        .collect();
                    (name.clone(), kept)
                })
                .collect(),
            now_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(function: &str, outcome: &str, ms: u64) -> RecentCall {
        RecentCall {
            unix_ms: 0,
            request_id: "r".to_owned(),
            function: function.to_owned(),
            outcome: outcome.to_owned(),
            status: if outcome == "ok" { 200 } else { 502 },
            duration: Duration::from_millis(ms),
        }
    }

    #[test]
    fn the_ring_buffer_keeps_the_last_calls_newest_first() {
        let activity = Activity::default();
        for n in 0..(RECENT_CALLS as u64 + 20) {
            activity.record_at(1_000 + n, call("f@1", "ok", 1));
        }
        let snapshot = activity.snapshot_at(2_000);
        assert_eq!(snapshot.recent.len(), RECENT_CALLS);
        assert_eq!(snapshot.recent[0].unix_ms, 1_000 + RECENT_CALLS as u64 + 19);
        assert_eq!(snapshot.recent[RECENT_CALLS - 1].unix_ms, 1_020);
    }

    #[test]
    fn minutes_count_calls_failures_and_quantiles() {
        let activity = Activity::default();
        let minute = 60_000 * 1_000;
        for ms in 1..=100 {
            activity.record_at(minute, call("f@1", "ok", ms));
        }
        for _ in 0..25 {
            activity.record_at(minute + 1, call("f@1", "runner-crashed", 3));
        }
        let snapshot = activity.snapshot_at(minute + 2);
        let stats = &snapshot.minutes["f@1"];
        assert_eq!(stats.len(), 1);
        assert_eq!((stats[0].calls, stats[0].failures), (125, 25));
        assert!((stats[0].error_rate() - 0.2).abs() < 1e-9);
        let p50 = stats[0].quantile_ms(0.5).unwrap();
        let p95 = stats[0].quantile_ms(0.95).unwrap();
        // The true p50 is about 38 ms, p95 about 94 ms; buckets are a factor √2 wide.
        assert!((38.0..=38.0 * 1.5).contains(&p50), "{p50}");
        assert!((94.0..=94.0 * 1.5).contains(&p95), "{p95}");
        assert_eq!(MinuteStats::new(0).quantile_ms(0.5), None);
    }

    #[test]
    fn old_minutes_and_stale_functions_are_dropped() {
        let activity = Activity::default();
        for minute in 0..(MINUTES + 5) {
            activity.record_at(minute * 60_000, call("f@1", "ok", 1));
        }
        let snapshot = activity.snapshot_at((MINUTES + 4) * 60_000);
        assert_eq!(snapshot.minutes["f@1"].len() as u64, MINUTES);
        assert_eq!(activity.snapshot_at(100 * 60_000).minutes["f@1"].len(), 0);

        let activity = Activity::default();
        for n in 0..(MAX_TRACKED_FUNCTIONS + 3) {
            activity.record_at(n as u64 * 60_000, call(&format!("f{n}@1"), "ok", 1));
        }
        let snapshot = activity.snapshot_at(0);
        assert_eq!(snapshot.minutes.len(), MAX_TRACKED_FUNCTIONS);
        assert!(!snapshot.minutes.contains_key("f0@1"));
        assert!(snapshot
            .minutes
            .contains_key(&format!("f{}@1", MAX_TRACKED_FUNCTIONS + 2)));
    }

    #[test]
    fn long_texts_are_cut() {
        let activity = Activity::default();
        activity.record(
            &"i".repeat(1000),
            &"f".repeat(1000),
            "ok",
            200,
            Duration::ZERO,
        );
        let snapshot = activity.snapshot();
        assert_eq!(snapshot.recent[0].request_id.len(), MAX_TEXT_CHARS);
        assert_eq!(snapshot.recent[0].function.len(), MAX_TEXT_CHARS);
    }
}
