//! The operator page `/_fezz/`, black box (`spec/HTTP.md`, "Operator page"): hhrf serves
//! the fixture, gets calls that succeed and calls that fail, and headless Chromium (Debian
//! `chromium`, installed by `.ci/run`; `--no-sandbox` because tests run as root) renders the
//! page. The rendered DOM must hold the functions table with the fixture's row, the last
//! requests with their outcomes and the chart's SVG; the screenshot must decode as a PNG that
//! is not blank and shows the chart's p50 colour. The screenshot is kept under the target
//! dir (`target/test-artifacts/operator-page.png`) and its path printed.

mod support;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{build_dir, Hhrf, Root};

/// How long one Chromium run may take before the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// `chromium --headless …` with `args` and a profile of its own; its stdout. Fails the test
/// when Chromium is missing, fails or hangs.
fn chromium(profile: &Path, args: &[String]) -> String {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium runs (apt-get install chromium; .ci/run installs it)");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium {args:?}: {status}");
    reader.join().unwrap()
}

/// Where the screenshot is kept: `<target>/test-artifacts/operator-page.png`.
fn artifact() -> PathBuf {
    let dir = build_dir()
        .parent()
        .expect("target/debug has a parent")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("operator-page.png")
}

/// The pixels of a PNG as RGB triples, with its size.
fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a bounded image")];
    let info = reader.next_frame(&mut buffer).expect("a PNG frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{info:?}");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixels = buffer[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|pixel| [pixel[0], pixel[1], pixel[2]])
        .collect();
    (info.width, info.height, pixels)
}

#[test]
fn the_page_renders_functions_recent_calls_and_the_chart_in_chromium() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hhrf = Hhrf::start(&root, &[]);
    for n in 0..6 {
        let response = hhrf.get(&format!("/rpc/fx@1/echo/{n}"));
        assert_eq!(response.status, 200, "{:?}", response.raw_head);
    }
    assert_eq!(hhrf.get("/rpc/fx@1/panic").status, 500);
    hhrf.get("/rpc/fx@1/segfault")
        .assert_error(502, "runner-crashed");

    let page = hhrf.get("/_fezz/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(hhrf.send("POST", "/_fezz/").status, 405);
    assert_eq!(hhrf.get("/_fezz").status, 404);

    let url = format!("http://{}/_fezz/", hhrf.addr);
    let profile = tempfile::tempdir().unwrap();

    let dom = chromium(profile.path(), &["--dump-dom".to_owned(), url.clone()]);
    assert!(dom.contains("<table id=\"functions\""), "{dom}");
    assert_eq!(dom.matches("<tr class=\"function\">").count(), 1, "{dom}");
    assert!(dom.contains("<code>fx@1</code>"), "{dom}");
    assert!(dom.contains("<code>POST /fx/...</code>"), "{dom}");
    assert!(dom.contains("10000 ms"), "{dom}");
    // The 8 calls, newest first (the page's own request is no function call).
    assert_eq!(dom.matches("<tr class=\"call\">").count(), 8, "{dom}");
    assert_eq!(dom.matches(">runner-crashed</td>").count(), 1, "{dom}");
    assert_eq!(dom.matches(">function-error</td>").count(), 1, "{dom}");
    assert_eq!(dom.matches(">ok</td>").count(), 6, "{dom}");
    let svg = dom
        .split("<svg")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .unwrap_or_else(|| panic!("no svg in the DOM: {dom}"));
    assert!(svg.contains("class=\"latency-chart\""), "{svg}");
    assert!(svg.contains("data-function=\"fx@1\""), "{svg}");
    assert!(svg.contains("class=\"error-bar\""), "{svg}");
    assert!(
        svg.contains("class=\"p50\"") && svg.contains("class=\"p95\""),
        "{svg}"
    );
    assert!(!dom.contains("<script"), "no script: {dom}");

    let shot = artifact();
    let _ = std::fs::remove_file(&shot);
    chromium(
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,900".to_owned(),
            url,
        ],
    );
    let (width, height, pixels) = decode_png(&shot);
    assert_eq!((width, height), (1200, 900));
    let total = pixels.len();
    let not_white = pixels
        .iter()
        .filter(|[r, g, b]| (*r as u16 + *g as u16 + *b as u16) < 3 * 235)
        .count();
    // The p50 line or dot, #2563eb.
    let p50_blue = pixels
        .iter()
        .filter(|[r, g, b]| *r < 90 && (70..150).contains(g) && *b > 200)
        .count();
    println!(
        "operator page screenshot: {} ({width}x{height}, {not_white} of {total} pixels not white, {p50_blue} p50-blue)",
        shot.display()
    );
    assert!(
        not_white * 100 > total,
        "the screenshot is nearly blank: {not_white} of {total} pixels not white"
    );
    assert!(
        p50_blue >= 10,
        "the chart's p50 is not in the screenshot: {p50_blue} blue pixels"
    );
    hhrf.assert_still_serving();
}

#[test]
fn the_page_is_only_on_the_admin_listener_when_it_is_set() {
    let root = Root::new();
    root.add_fixture(10_000);
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command.args(["--admin-listen", "127.0.0.1:0"]);
    let hhrf = Hhrf::start_command(command, &root, &[]);
    assert_eq!(hhrf.get("/rpc/fx@1/echo/x").status, 200);
    assert_eq!(hhrf.get("/_fezz/").status, 404);
    let log = hhrf.wait_for_log("hhrf admin listening on http://", Duration::from_secs(10));
    let admin: std::net::SocketAddr = log
        .lines()
        .find_map(|line| line.strip_prefix("hhrf admin listening on http://"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut stream = std::net::TcpStream::connect(admin).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /_fezz/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let response = support::RawResponse::parse(&bytes);
    assert_eq!(response.status, 200);
    let body = String::from_utf8_lossy(&response.body);
    assert_eq!(body.matches("<tr class=\"call\">").count(), 1, "{body}");
    assert!(body.contains("<code>fx@1</code>"), "{body}");
}
