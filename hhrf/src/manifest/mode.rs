//! The manifest's `mode` and `warm` fields (`spec/HTTP.md`, "Execution modes"): how hhrf runs
//! a function's calls. [`ExecutionMode::Fresh`] (the default) starts a runner process per call;
//! [`ExecutionMode::Warm`] keeps a bounded pool of runner processes that serve calls in
//! sequence, recycled by [`WarmSettings`].
//!
//! What lives here: the validated types and their bounds. What does not: the serde shape
//! (`v1`) and the pool itself (`crate::execution`).

use std::time::Duration;

/// The `mode` values the manifest accepts, in spec order.
pub const MODES: [&str; 2] = ["fresh", "warm"];

/// Largest `warm.max_instances`.
pub const MAX_WARM_INSTANCES: u64 = 64;

/// `warm.max_instances` when the manifest sets none.
pub const DEFAULT_WARM_INSTANCES: u64 = 4;

/// Largest `warm.max_calls`.
pub const MAX_WARM_CALLS: u64 = 1_000_000_000;

/// `warm.max_calls` when the manifest sets none.
pub const DEFAULT_WARM_CALLS: u64 = 10_000;

/// Largest `warm.idle_timeout_ms`: one day.
pub const MAX_WARM_IDLE_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

/// `warm.idle_timeout_ms` when the manifest sets none: one minute.
pub const DEFAULT_WARM_IDLE_TIMEOUT_MS: u64 = 60 * 1000;

/// Smallest `warm.max_rss_bytes`: 1 MiB.
pub const MIN_WARM_RSS_BYTES: u64 = 1024 * 1024;

/// Largest `warm.max_rss_bytes`: 1 TiB.
pub const MAX_WARM_RSS_BYTES: u64 = 1024 * 1024 * 1024 * 1024;

/// How hhrf runs a function's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ExecutionMode {
    /// A runner process per call (`"fresh"`, the default).
    #[default]
    Fresh,
    /// Runner processes that serve many calls in sequence (`"warm"`).
    Warm(WarmSettings),
}

impl ExecutionMode {
    /// The mode's name, as the manifest writes it and the metrics' `mode` label shows it.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutionMode::Fresh => MODES[0],
            ExecutionMode::Warm(_) => MODES[1],
        }
    }
}

/// The manifest's `warm` object, validated: the pool's size and when an instance is
/// recycled. [`Default`] is the object left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WarmSettings {
    /// `max_instances`: runner processes of this function version alive at once.
    pub max_instances: u64,
    /// `max_calls`: calls an instance serves before it is retired.
    pub max_calls: u64,
    /// `max_calls_jitter`: up to this many calls fewer, chosen per instance, so instances
    /// started together are not retired together.
    pub max_calls_jitter: u64,
    /// `idle_timeout_ms`: an instance idle this long is retired.
    pub idle_timeout_ms: u64,
    /// `max_rss_bytes`: an instance whose resident memory is past this after a call is
    /// retired; `None`: no limit.
    pub max_rss_bytes: Option<u64>,
}

impl Default for WarmSettings {
    fn default() -> Self {
        WarmSettings {
            max_instances: DEFAULT_WARM_INSTANCES,
            max_calls: DEFAULT_WARM_CALLS,
            max_calls_jitter: 0,
            idle_timeout_ms: DEFAULT_WARM_IDLE_TIMEOUT_MS,
            max_rss_bytes: None,
        }
    }
}

impl WarmSettings {
    /// The idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// Checks every field against its rule; the error names the field (inside `warm`) and
    /// the rule.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let within = |field: &'static str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err((field, format!("{field} {value} is outside {low}..={high}")))
            }
        };
        within("max_instances", self.max_instances, 1, MAX_WARM_INSTANCES)?;
        within("max_calls", self.max_calls, 1, MAX_WARM_CALLS)?;
        within(
            "max_calls_jitter",
            self.max_calls_jitter,
            0,
            self.max_calls - 1,
        )?;
        within(
            "idle_timeout_ms",
            self.idle_timeout_ms,
            1,
            MAX_WARM_IDLE_TIMEOUT_MS,
        )?;
        if let Some(bytes) = self.max_rss_bytes {
            within(
                "max_rss_bytes",
                bytes,
                MIN_WARM_RSS_BYTES,
                MAX_WARM_RSS_BYTES,
            )?;
        }
        Ok(())
    }

    /// The calls one instance serves: `max_calls` less a jitter in `0..=max_calls_jitter`
    /// taken from `seed`.
    pub fn calls_for(&self, seed: u64) -> u64 {
        let jitter = seed % (self.max_calls_jitter + 1);
        self.max_calls - jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_names_follow_the_spec() {
        WarmSettings::default().check().unwrap();
        assert_eq!(ExecutionMode::default().name(), "fresh");
        assert_eq!(ExecutionMode::Warm(WarmSettings::default()).name(), "warm");
    }

    fn parse(extra: &str) -> Result<crate::manifest::Manifest, crate::manifest::ManifestError> {
        crate::manifest::Manifest::parse(
            format!(r#"{{"id":"a","version":"1","entry":"liba.so","routes":[]{extra}}}"#)
                .as_bytes(),
        )
    }

    #[test]
    fn the_manifest_names_the_mode_and_validates_warm_strictly() {
        assert_eq!(parse("").unwrap().mode, ExecutionMode::Fresh);
        assert_eq!(
            parse(r#","mode":"fresh""#).unwrap().mode,
            ExecutionMode::Fresh
        );
        assert_eq!(
            parse(r#","mode":"warm""#).unwrap().mode,
            ExecutionMode::Warm(WarmSettings::default())
        );
        let full = parse(
            r#","mode":"warm","warm":{"max_instances":2,"max_calls":50,"max_calls_jitter":5,"idle_timeout_ms":1500,"max_rss_bytes":67108864}"#,
        )
        .unwrap();
        assert_eq!(
            full.mode,
            ExecutionMode::Warm(WarmSettings {
                max_instances: 2,
                max_calls: 50,
                max_calls_jitter: 5,
                idle_timeout_ms: 1500,
                max_rss_bytes: Some(64 << 20),
            })
        );
        let error = |extra: &str| parse(extra).expect_err(extra);
        let unknown = error(r#","mode":"cold""#);
        assert_eq!(unknown.field, "mode");
        assert!(unknown.rule.contains("\"fresh\", \"warm\""), "{unknown}");
        let planned = error(r#","mode":"prefork""#);
        assert_eq!(planned.field, "mode");
        assert!(planned.rule.contains("not implemented"), "{planned}");
        assert_eq!(error(r#","mode":"Warm""#).field, "mode");
        assert_eq!(error(r#","mode":1"#).field, "mode");
        assert_eq!(error(r#","mode":null"#).field, "mode");
        let orphan = error(r#","warm":{}"#);
        assert_eq!(orphan.field, "warm");
        assert!(orphan.rule.contains("\"mode\": \"warm\""), "{orphan}");
        assert_eq!(
            error(r#","mode":"warm","warm":{"max_calls":5,"spare":1}"#).field,
            "warm.spare"
        );
        assert!(error(r#","mode":"warm","warm":{"spare":1}"#)
            .rule
            .contains("spare"));
        for (field, value) in [
            ("max_instances", "0"),
            ("max_instances", "65"),
            ("max_calls", "0"),
            ("idle_timeout_ms", "0"),
            ("idle_timeout_ms", "86400001"),
            ("max_rss_bytes", "1048575"),
            ("max_calls", "-1"),
            ("max_calls", "1.5"),
        ] {
            let broken = error(&format!(r#","mode":"warm","warm":{{"{field}":{value}}}"#));
            assert!(
                broken.field.starts_with("warm"),
                "{field}={value}: {broken}"
            );
            assert!(
                broken.to_string().contains(field),
                "{field}={value}: {broken}"
            );
        }
        assert_eq!(
            error(r#","mode":"warm","warm":{"max_calls":3,"max_calls_jitter":3}"#).field,
            "warm.max_calls_jitter"
        );
        assert_eq!(error(r#","mode":"warm","warm":[1]"#).field, "warm");
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        let settings = WarmSettings {
            max_calls: 10,
            max_calls_jitter: 3,
            ..WarmSettings::default()
        };
        let calls: std::collections::BTreeSet<u64> =
            (0..100).map(|seed| settings.calls_for(seed)).collect();
        assert_eq!(calls.into_iter().collect::<Vec<_>>(), [7, 8, 9, 10]);
        let bad = WarmSettings {
            max_calls: 10,
            max_calls_jitter: 10,
            ..WarmSettings::default()
        };
        assert_eq!(bad.check().unwrap_err().0, "max_calls_jitter");
    }
}
