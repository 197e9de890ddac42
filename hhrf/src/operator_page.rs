//! The operator page at `/_fezz/` (`spec/HTTP.md`, "Operator page"): one server-rendered
//! HTML document, no script, no external asset (inline CSS, inline SVG), that shows the
//! served functions (version, routes, mode, timeout, limits), the server's state, the last
//! requests, and per function a small chart of p50 and p95 latency and error rate per minute.
//!
//! What lives here: [`PageFunction`] and [`PageState`] (what the page shows, gathered by
//! `admin`), [`render`] and [`escape`]. What does not: collecting the traffic (`activity`).
//! Every text that comes from outside (function ids, versions, routes, request ids,
//! outcomes) goes through [`escape`]; numbers are formatted by the code.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::activity::{ActivitySnapshot, MinuteStats, MINUTES};
use crate::admission::AdmissionStats;

/// The content type of the page.
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The page's own response fields besides its type: no script, style or image from
/// anywhere but the document itself (a second line of defence behind [`escape`]), not
/// framed, not cached.
pub const HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
];

/// One function row of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFunction {
    /// `<id>@<version>`.
    pub name: String,
    /// The version.
    pub version: String,
    /// The execution mode (`fresh`).
    pub mode: String,
    /// The root routes mounted for it, as `METHOD /pattern` (`*` for every method).
    pub routes: Vec<String>,
    /// The manifest's call timeout, in milliseconds; `None`: the server's default.
    pub timeout_ms: Option<u64>,
    /// The manifest's resource limits as `field=value`.
    pub limits: Vec<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct PageState {
    /// The served functions, sorted by name.
    pub functions: Vec<PageFunction>,
    /// Whether `/_fezz/ready` answers 200, and its reasons otherwise.
    pub ready: bool,
    /// The readiness reasons.
    pub reasons: Vec<String>,
    /// Admission control now.
    pub admission: AdmissionStats,
    /// Runner processes alive.
    pub runners: usize,
    /// Recent traffic.
    pub activity: ActivitySnapshot,
}

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references, and control
/// characters by U+FFFD, safe in HTML text and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #dde2ea;vertical-align:top}
th{background:#eef1f6}code{font:12px ui-monospace,monospace}
.ok{color:#17663a}.bad{color:#b3261e;font-weight:600}.muted{color:#6b7280}
.state{display:inline-block;padding:2px 8px;border-radius:4px;background:#e6f4ea}.state.bad{background:#fde8e7}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #dde2ea;padding:8px;border-radius:4px}
.legend span{margin-right:12px}.p50{color:#2563eb}.p95{color:#ea580c}.err{color:#b3261e}";

/// Chart geometry.
const CHART_W: f64 = 360.0;
const CHART_H: f64 = 120.0;
const PAD: f64 = 28.0;

fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn format_time(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000;
    let day = seconds % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        unix_ms % 1000
    )
}

/// One function's chart: per minute of the last [`MINUTES`], error rate as red bars (0 to
/// 100 %, right scale), p50 and p95 as lines (left scale, up to the largest p95).
fn chart(out: &mut String, name: &str, minutes: &[MinuteStats], now_minute: u64) {
    let first = now_minute + 1 - MINUTES;
    let slot = (CHART_W - 2.0 * PAD) / MINUTES as f64;
    let plot_h = CHART_H - 2.0 * PAD;
    let max_ms = minutes
        .iter()
        .filter_map(|bucket| bucket.quantile_ms(0.95))
        .fold(1.0f64, f64::max);
    let x = |minute: u64| PAD + (minute.saturating_sub(first)) as f64 * slot + slot / 2.0;
    let y_ms = |ms: f64| PAD + plot_h - ms / max_ms * plot_h;
    let calls: u64 = minutes.iter().map(|bucket| bucket.calls).sum();
    let failures: u64 = minutes.iter().map(|bucket| bucket.failures).sum();
    let _ = write!(
        out,
        "<div class=\"chart\"><div><code>{}</code> <span class=\"muted\">{calls} calls, {failures} failed, last {MINUTES} min</span></div>\
<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"latency-chart\" data-function=\"{}\" width=\"{CHART_W}\" height=\"{CHART_H}\" viewBox=\"0 0 {CHART_W} {CHART_H}\" role=\"img\" aria-label=\"latency and error rate of {}\">",
        escape(name),
        escape(name),
        escape(name)
    );
    let _ = write!(
        out,
        "<rect x=\"{PAD}\" y=\"{PAD}\" width=\"{}\" height=\"{plot_h}\" fill=\"#f8fafc\" stroke=\"#dde2ea\"/>",
        CHART_W - 2.0 * PAD
    );
    for bucket in minutes.iter().filter(|bucket| bucket.minute >= first) {
        let rate = bucket.error_rate();
        if rate > 0.0 {
            let height = rate * plot_h;
            let _ = write!(
                out,
                "<rect class=\"error-bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"#b3261e\" fill-opacity=\"0.35\"><title>{:.0}% errors</title></rect>",
                x(bucket.minute) - slot * 0.4,
                PAD + plot_h - height,
                slot * 0.8,
                rate * 100.0
            );
        }
    }
    for (quantile, color, class) in [(0.5, "#2563eb", "p50"), (0.95, "#ea580c", "p95")] {
        let points: Vec<String> = minutes
            .iter()
            .filter(|bucket| bucket.minute >= first)
            .filter_map(|bucket| {
                let ms = bucket.quantile_ms(quantile)?;
                Some(format!("{:.1},{:.1}", x(bucket.minute), y_ms(ms)))
            })
            .collect();
        if points.len() == 1 {
            let (px, py) = points[0].split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                out,
                "<circle class=\"{class}\" cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{color}\"/>"
            );
        } else if !points.is_empty() {
            let _ = write!(
                out,
                "<polyline class=\"{class}\" points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
                points.join(" ")
            );
        }
    }
    let _ = write!(
        out,
        "<text x=\"2\" y=\"{}\" font-size=\"10\" fill=\"#6b7280\">{}</text>\
<text x=\"2\" y=\"{}\" font-size=\"10\" fill=\"#6b7280\">0</text>\
<text x=\"{PAD}\" y=\"{}\" font-size=\"10\" fill=\"#6b7280\">-{}m</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#6b7280\" text-anchor=\"end\">now</text></svg>\
<div class=\"legend\"><span class=\"p50\">&#9644; p50</span><span class=\"p95\">&#9644; p95</span><span class=\"err\">&#9632; error rate</span></div></div>",
        PAD + 4.0,
        escape(&format_ms(max_ms)),
        PAD + plot_h,
        CHART_H - 8.0,
        MINUTES,
        CHART_W - PAD,
        CHART_H - 8.0
    );
}

/// The page.
pub fn render(state: &PageState) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>hhrf operator page</title><style>{STYLE}</style></head><body>\
<h1>hhrf</h1><div class=\"muted\">version {} &middot; rendered {} UTC</div>",
        escape(env!("CARGO_PKG_VERSION")),
        format_time(now)
    );
    let (class, text) = if state.ready {
        ("state", "ready".to_owned())
    } else {
        (
            "state bad",
            format!("not ready: {}", state.reasons.join(", ")),
        )
    };
    let admission = &state.admission;
    let _ = write!(
        out,
        "<p id=\"server-state\"><span class=\"{class}\">{}</span> &middot; {} in flight, {} queued, {} refused since start &middot; {} runner(s) alive &middot; memory reserved {} of {} bytes</p>",
        escape(&text),
        admission.in_flight,
        admission.queued,
        admission.refused,
        state.runners,
        admission.memory_reserved_bytes,
        admission.memory_budget_bytes
    );

    let _ = write!(
        out,
        "<h2>Functions ({})</h2><table id=\"functions\"><thead><tr><th>function</th><th>version</th><th>mode</th><th>routes</th><th>timeout</th><th>limits</th><th>in flight</th><th>queued</th></tr></thead><tbody>",
        state.functions.len()
    );
    if state.functions.is_empty() {
        out.push_str("<tr><td colspan=\"8\" class=\"muted\">no function is served</td></tr>");
    }
    for function in &state.functions {
        let gate = admission
            .functions
            .get(&function.name)
            .copied()
            .unwrap_or_default();
        let routes = if function.routes.is_empty() {
            "<span class=\"muted\">/rpc/ only</span>".to_owned()
        } else {
            function
                .routes
                .iter()
                .map(|route| format!("<code>{}</code>", escape(route)))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let limits = if function.limits.is_empty() {
            "<span class=\"muted\">none</span>".to_owned()
        } else {
            escape(&function.limits.join(", "))
        };
        let _ = write!(
            out,
            "<tr class=\"function\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{routes}</td><td>{}</td><td>{limits}</td><td>{}</td><td>{}</td></tr>",
            escape(&function.name),
            escape(&function.version),
            escape(&function.mode),
            function
                .timeout_ms
                .map_or_else(|| "default".to_owned(), |ms| format!("{ms} ms")),
            gate.in_flight,
            gate.queued
        );
    }
    out.push_str("</tbody></table>");

    let _ = write!(
        out,
        "<h2>Latency and errors per minute</h2><div class=\"charts\" id=\"charts\">"
    );
    let charted: Vec<_> = state
        .activity
        .minutes
        .iter()
        .filter(|(_, minutes)| !minutes.is_empty())
        .collect();
    if charted.is_empty() {
        out.push_str("<p class=\"muted\">no call in the last minutes</p>");
    }
    for (name, minutes) in charted {
        chart(&mut out, name, minutes, state.activity.now_minute);
    }
    out.push_str("</div>");

    let _ = write!(
        out,
        "<h2>Last requests ({})</h2><table id=\"recent\"><thead><tr><th>time (UTC)</th><th>request id</th><th>function</th><th>outcome</th><th>status</th><th>duration</th></tr></thead><tbody>",
        state.activity.recent.len()
    );
    if state.activity.recent.is_empty() {
        out.push_str("<tr><td colspan=\"6\" class=\"muted\">no request yet</td></tr>");
    }
    for call in &state.activity.recent {
        let class = if call.failed() { "bad" } else { "ok" };
        let _ = write!(
            out,
            "<tr class=\"call\"><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            format_time(call.unix_ms),
            escape(&call.request_id),
            escape(&call.function),
            escape(&call.outcome),
            call.status,
            escape(&format_ms(call.duration.as_secs_f64() * 1000.0))
        );
    }
    out.push_str("</tbody></table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::activity::Activity;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\u{fffd}"
        );
    }

    #[test]
    fn the_page_escapes_everything_from_outside() {
        let activity = Activity::default();
        let evil = "<img src=x onerror=alert(1)>@1";
        activity.record("<b>id</b>", evil, "ok", 200, Duration::from_millis(3));
        activity.record("r2", evil, "runner-crashed", 502, Duration::from_millis(9));
        let page = render(&PageState {
            functions: vec![PageFunction {
                name: evil.to_owned(),
                version: "1".to_owned(),
                mode: "fresh".to_owned(),
                routes: vec!["GET /<x>".to_owned()],
                timeout_ms: Some(10_000),
                limits: vec!["memory_bytes=1".to_owned()],
            }],
            ready: false,
            reasons: vec!["draining".to_owned()],
            admission: AdmissionStats::default(),
            runners: 0,
            activity: activity.snapshot(),
        });
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("<b>id"), "{page}");
        assert!(!page.contains("/<x>"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;@1"));
        assert_eq!(page.matches("<tr class=\"function\">").count(), 1);
        assert_eq!(page.matches("<tr class=\"call\">").count(), 2);
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(page.contains("class=\"error-bar\""));
        assert!(page.contains("not ready: draining"));
        assert!(!page.contains("<script"));
    }
}
