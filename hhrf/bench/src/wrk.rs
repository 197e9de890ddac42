//! The HTTP load generator: `wrk` on loopback, its output parsed into requests, seconds,
//! errors and latency percentiles (`--latency` prints the 50th and 99th).

use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};
use serde::Serialize;

/// What one `wrk` run reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WrkResult {
    /// Requests completed.
    pub requests: u64,
    /// The run's length as wrk measured it, in seconds.
    pub seconds: f64,
    /// Socket errors plus non-2xx/3xx answers.
    pub errors: u64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
}

/// `wrk -t THREADS -c CONNECTIONS -d SECONDS --latency URL`; returns its result. wrk counts
/// whole seconds: `seconds` is rounded up, to 1 at least.
pub fn run(url: &str, threads: u32, connections: u32, seconds: f64) -> anyhow::Result<WrkResult> {
    let duration = format!("{}s", seconds.ceil().max(1.0) as u64);
    let output = Command::new("wrk")
        .args(["-t", &threads.min(connections).to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-d", &duration])
        .args(["--timeout", "10s", "--latency", url])
        .stdin(Stdio::null())
        .output()
        .context("running wrk (bash hhrf/bench/run.sh installs it)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&text)
}

/// A wrk duration or latency (`812.00us`, `8.91ms`, `1.02s`, `2.00m`) in milliseconds.
fn milliseconds(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(number * factor)
}

/// Parses wrk's report (with `--latency`).
pub fn parse(text: &str) -> anyhow::Result<WrkResult> {
    let mut result = WrkResult::default();
    let mut seen = (false, false, false);
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => {
                result.p50_ms = milliseconds(value).context("the 50% latency")?;
                seen.0 = true;
            }
            ["99%", value] => {
                result.p99_ms = milliseconds(value).context("the 99% latency")?;
                seen.1 = true;
            }
            [count, "requests", "in", time, ..] => {
                result.requests = count.parse().context("the request count")?;
                let time = time.trim_end_matches(',');
                result.seconds = milliseconds(time).context("the run's length")? / 1000.0;
                seen.2 = true;
            }
            ["Socket", "errors:", rest @ ..] => {
                result.errors += rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                result.errors += count.parse::<u64>().context("the non-2xx count")?;
            }
            _ => {}
        }
    }
    if !(seen.0 && seen.1 && seen.2) {
        bail!("wrk's output lacks the latency distribution or the request count:\n{text}");
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
Running 5s test @ http://127.0.0.1:3000/rpc/hello-c@1/world
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     8.91ms    2.01ms  30.12ms   80.00%
    Req/Sec   900.12    100.00     1.20k    70.00%
  Latency Distribution
     50%  812.00us
     75%    9.80ms
     90%   11.00ms
     99%    1.50s
  8995 requests in 5.01s, 1.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   1795.12
Transfer/sec:    300.00KB
";

    #[test]
    fn a_report_with_latencies_is_parsed() {
        let result = parse(REPORT).unwrap();
        assert_eq!(result.requests, 8995);
        assert!((result.seconds - 5.01).abs() < 1e-9);
        assert!((result.p50_ms - 0.812).abs() < 1e-9);
        assert!((result.p99_ms - 1500.0).abs() < 1e-9);
        assert_eq!(result.errors, 8);
    }

    #[test]
    fn a_report_without_latencies_is_an_error() {
        let short = "  10 requests in 1.00s, 1KB read\nRequests/sec: 10\n";
        assert!(parse(short).is_err());
        assert_eq!(milliseconds("2.00m"), Some(120_000.0));
        assert_eq!(milliseconds("12"), None);
    }
}
