//! Liveness, readiness and drain, black box (`spec/HTTP.md`, "Operator endpoints" and
//! "Shutdown"): `/_fezz/ready` is 503 until the functions load (seen on a separate admin
//! listener), while drained and while stopping, and when the server-wide queue is full but
//! not when one function is saturated; SIGTERM keeps the listener accepting for the drain
//! delay and lets calls in flight finish; `POST /_fezz/drain` and `/_fezz/undrain`, and
//! `hhrf drain` / `hhrf undrain`; `--admin-listen` moves every operator endpoint off the
//! main listener.
//!
//! Slow calls come from a `FEZZ_RUNNER` wrapper that sleeps before it execs the real runner.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{wait_for_lines, Hhrf, RawResponse, Root};

/// `METHOD target` to `addr` on a new connection, read to its end.
fn send_to(addr: SocketAddr, method: &str, target: &str) -> RawResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    RawResponse::parse(&bytes)
}

/// The address in the log line `hhrf admin listening on http://ADDR`.
fn admin_address(log: &str) -> SocketAddr {
    log.lines()
        .find_map(|line| line.strip_prefix("hhrf admin listening on http://"))
        .unwrap_or_else(|| panic!("no admin listening line in:\n{log}"))
        .trim()
        .parse()
        .unwrap()
}

/// The readiness reasons of a `/_fezz/ready` answer.
fn reasons(response: &RawResponse) -> Vec<String> {
    response.json()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reason| reason.as_str().unwrap().to_owned())
        .collect()
}

/// `hhrf ARGS…`: exit code and stdout.
fn hhrf_cli(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args(args)
        .env_remove("HHRF_SERVER")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn ready_is_503_until_the_functions_are_loaded() {
    let root = Root::new();
    root.add_fixture(10_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--root",
        ])
        .arg(root.path())
        .env_remove("FEZZ_RUNNER")
        .env("FEZZ_RUNNER", support::runner())
        .env("HHRF_TEST_LOAD_DELAY_MS", "1500")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_address = |prefix: &str| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("hhrf prints its addresses");
        if let Some(address) = line.strip_prefix(prefix) {
            return address.trim().parse::<SocketAddr>().unwrap();
        }
    };
    let admin = next_address("hhrf admin listening on http://");
    let loading = send_to(admin, "GET", "/_fezz/ready");
    assert_eq!(loading.status, 503);
    assert_eq!(reasons(&loading), ["loading"]);
    assert_eq!(loading.json()["functions"], 0);
    // Alive while loading.
    assert_eq!(send_to(admin, "GET", "/_fezz/health").status, 200);
    let main = next_address("hhrf listening on http://");
    let ready = send_to(admin, "GET", "/_fezz/ready");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(ready.json()["functions"], 1);
    assert_eq!(send_to(main, "GET", "/rpc/fx@1/x").status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigterm_keeps_accepting_for_the_delay_and_finishes_calls_in_flight() {
    let root = Root::new();
    root.add_fixture(10_000);
    // Every call takes about 3 s.
    let runner = root.recording_runner("sleep 3");
    let delay = Path::new("1500");
    let mut hhrf = Hhrf::start(
        &root,
        &[("FEZZ_RUNNER", &runner), ("HHRF_DRAIN_DELAY_MS", delay)],
    );
    let addr = hhrf.addr;
    assert_eq!(hhrf.get("/_fezz/ready").status, 200);
    let slow = std::thread::spawn(move || send_to(addr, "GET", "/rpc/fx@1/slow"));
    wait_for_lines(&root.path().join("pids"), 1, Duration::from_secs(10));
    hhrf.signal(Signal::SIGTERM);
    hhrf.wait_for_log("stopping (SIGTERM)", Duration::from_secs(5));
    let stopped_at = Instant::now();

    // Readiness turns at once; liveness holds.
    let ready = hhrf.get("/_fezz/ready");
    assert_eq!(ready.status, 503);
    assert_eq!(reasons(&ready), ["stopping"]);
    let health = hhrf.get("/_fezz/health");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "draining");

    // A new call during the delay is accepted and served.
    let during = std::thread::spawn(move || send_to(addr, "GET", "/rpc/fx@1/during"));
    wait_for_lines(&root.path().join("pids"), 2, Duration::from_secs(5));
    assert!(stopped_at.elapsed() < Duration::from_millis(1500));

    // After the delay the listener closes, while both calls are still running.
    let refused = (0..150).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        TcpStream::connect(addr).is_err()
    });
    assert!(refused, "hhrf still accepts connections after the delay");
    assert!(
        stopped_at.elapsed() >= Duration::from_millis(1400),
        "the listener closed after {:?}, before the delay",
        stopped_at.elapsed()
    );
    assert!(!slow.is_finished() && !during.is_finished());

    let slow = slow.join().unwrap();
    assert_eq!(slow.status, 200, "{}", hhrf.log());
    assert_eq!(slow.header("x-echo-path").as_deref(), Some("/slow"));
    assert_eq!(during.join().unwrap().status, 200);
    assert_eq!(hhrf.wait_exit(Duration::from_secs(10)), Some(0));
    let log = hhrf.log();
    assert!(log.contains("no new connections; draining"), "{log}");
    assert!(log.contains("hhrf: stopped"), "{log}");
}

#[test]
fn drain_and_undrain_through_post_and_the_cli() {
    let root = Root::new();
    root.add_fixture(10_000);
    let mut hhrf = Hhrf::start(&root, &[("HHRF_DRAIN_DELAY_MS", Path::new("5000"))]);
    let server = format!("http://{}", hhrf.addr);

    let drained = hhrf.send("POST", "/_fezz/drain");
    assert_eq!(drained.status, 200);
    let json = drained.json();
    assert_eq!(
        (&json["draining"], &json["changed"]),
        (&true.into(), &true.into())
    );
    let ready = hhrf.get("/_fezz/ready");
    assert_eq!(
        (ready.status, reasons(&ready)),
        (503, vec!["draining".to_owned()])
    );
    assert_eq!(hhrf.get("/_fezz/health").status, 200);
    // Drained, not stopped: calls are still served.
    assert_eq!(hhrf.get("/rpc/fx@1/while-drained").status, 200);
    assert_eq!(hhrf.send("POST", "/_fezz/drain").json()["changed"], false);
    assert_eq!(hhrf.send("POST", "/_fezz/undrain").status, 200);
    assert_eq!(hhrf.get("/_fezz/ready").status, 200);
    let get = hhrf.get("/_fezz/drain");
    get.assert_error(405, "method-not-allowed");
    assert_eq!(get.header("allow").as_deref(), Some("POST"));
    assert!(hhrf.log().contains("drain requested by 127.0.0.1:"));

    let (code, stdout) = hhrf_cli(&["drain", "--server", &server]);
    assert_eq!(code, 0, "{stdout}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["draining"], true);
    assert_eq!(hhrf.get("/_fezz/ready").status, 503);
    let (code, _) = hhrf_cli(&["undrain", "--server", &server]);
    assert_eq!(code, 0);
    assert_eq!(hhrf.get("/_fezz/ready").status, 200);
    // Usage error, and a server that is not there.
    assert_eq!(hhrf_cli(&["drain", "--server", "127.0.0.1:1"]).0, 2);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    assert_eq!(hhrf_cli(&["drain", "--server", &nobody]).0, 1);

    // A stop cannot be undrained.
    hhrf.signal(Signal::SIGTERM);
    hhrf.wait_for_log("stopping (SIGTERM)", Duration::from_secs(5));
    hhrf.send("POST", "/_fezz/undrain")
        .assert_error(409, "stopping");
    assert_eq!(hhrf_cli(&["undrain", "--server", &server]).0, 1);
    assert_eq!(hhrf.get("/_fezz/ready").status, 503);
    // A second signal ends the delay at once.
    let started = Instant::now();
    hhrf.signal(Signal::SIGINT);
    assert_eq!(hhrf.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn an_admin_listener_takes_every_operator_endpoint() {
    let root = Root::new();
    root.add_fixture(10_000);
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command.args(["--admin-listen", "127.0.0.1:0"]);
    let hhrf = Hhrf::start_command(command, &root, &[]);
    let admin = admin_address(&hhrf.log());
    for path in [
        "/_fezz/health",
        "/_fezz/ready",
        "/_fezz/metrics",
        "/_fezz/drain",
    ] {
        hhrf.get(path).assert_error(404, "not-found");
    }
    hhrf.send("POST", "/_fezz/drain")
        .assert_error(404, "not-found");
    assert_eq!(hhrf.get("/rpc/fx@1/main").status, 200);

    assert_eq!(send_to(admin, "GET", "/_fezz/health").status, 200);
    assert_eq!(send_to(admin, "GET", "/_fezz/ready").status, 200);
    let metrics = send_to(admin, "GET", "/_fezz/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    // Functions are not served on the admin listener.
    send_to(admin, "GET", "/rpc/fx@1/x").assert_error(404, "not-found");

    let (code, _) = hhrf_cli(&["drain", "--server", &format!("http://{}", hhrf.addr)]);
    assert_eq!(code, 1, "the main listener has no drain endpoint");
    let (code, _) = hhrf_cli(&["drain", "--server", &format!("http://{admin}")]);
    assert_eq!(code, 0);
    let ready = send_to(admin, "GET", "/_fezz/ready");
    assert_eq!(
        (ready.status, reasons(&ready)),
        (503, vec!["draining".to_owned()])
    );
    assert_eq!(hhrf.get("/rpc/fx@1/drained").status, 200);
    let line = hhrf.request_line(&ready.request_id());
    assert!(line.contains("status=503 outcome=not-ready"), "{line}");
}

#[test]
fn ready_is_503_when_the_server_queue_is_full_not_when_one_function_is() {
    let root = Root::new();
    root.add_fixture(2_000);
    let second =
        r#"{"id": "fx", "version": "2", "entry": "libfx.so", "routes": [], "timeout_ms": 2000}"#;
    root.add("fx@2", second, &support::fixture_library(), "libfx.so");
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    // Two calls at once, one per function; nobody waits for the server.
    command.args(["--max-calls", "2", "--max-queue", "0"]);
    let hhrf = Hhrf::start_command(command, &root, &[]);
    let addr = hhrf.addr;
    let in_flight = |hhrf: &Hhrf, count: u64| {
        let started = Instant::now();
        while hhrf.get("/_fezz/health").json()["admission"]["in_flight"] != count {
            assert!(started.elapsed() < Duration::from_secs(5), "{}", hhrf.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let first = std::thread::spawn(move || send_to(addr, "GET", "/rpc/fx@1/hang"));
    in_flight(&hhrf, 1);
    // fx@1 is saturated (its gate holds one call): the server is still ready.
    assert_eq!(hhrf.get("/_fezz/ready").status, 200);
    let second = std::thread::spawn(move || send_to(addr, "GET", "/rpc/fx@2/hang"));
    in_flight(&hhrf, 2);
    let full = hhrf.get("/_fezz/ready");
    assert_eq!(full.status, 503);
    assert_eq!(reasons(&full), ["server-queue-full"]);
    first.join().unwrap().assert_error(504, "timeout");
    second.join().unwrap().assert_error(504, "timeout");
    in_flight(&hhrf, 0);
    assert_eq!(hhrf.get("/_fezz/ready").status, 200);
}

/// Runs `body` on a thread that has entered the network namespace of process `pid`.
fn in_network_namespace_of<T: Send + 'static>(
    pid: u32,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        let namespace = std::fs::File::open(format!("/proc/{pid}/ns/net")).unwrap();
        // SAFETY: setns takes a descriptor that stays open for the call and a flag; it moves
        // only this thread, which exists for this closure alone.
        let entered = unsafe {
            libc::setns(
                std::os::fd::AsRawFd::as_raw_fd(&namespace),
                libc::CLONE_NEWNET,
            )
        };
        assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
        body()
    })
    .join()
    .unwrap()
}

#[test]
fn drain_answers_only_loopback_clients_on_the_main_listener() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test makes a network namespace and enters it: it needs root, as CI runs it"
    );
    let root = Root::new();
    root.add_fixture(10_000);
    // hhrf in a network namespace of its own, whose loopback device also has 192.0.2.1
    // (TEST-NET-1): a client connecting to that address has a peer address that is not
    // loopback, and no packet leaves the namespace.
    let mut child = Command::new("unshare")
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && ip addr add 192.0.2.1/32 dev lo && exec \"$0\" \"$@\"",
        ])
        .arg(env!("CARGO_BIN_EXE_hhrf"))
        .args(["--listen", "0.0.0.0:0", "--root"])
        .arg(root.path())
        .env("FEZZ_RUNNER", support::runner())
        .env("HHRF_DRAIN_DELAY_MS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let port = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "hhrf ended before listening:\n{log}"
        );
        log.push_str(&line);
        if let Some(address) = line.trim().strip_prefix("hhrf listening on http://") {
            break address.parse::<SocketAddr>().unwrap().port();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let (remote, after_refused, loopback, after_drain) =
        in_network_namespace_of(child.id(), move || {
            let remote = send_to(([192, 0, 2, 1], port).into(), "POST", "/_fezz/drain");
            let after_refused = send_to(([192, 0, 2, 1], port).into(), "GET", "/_fezz/ready");
            let loopback = send_to(([127, 0, 0, 1], port).into(), "POST", "/_fezz/drain");
            let after_drain = send_to(([192, 0, 2, 1], port).into(), "GET", "/_fezz/ready");
            (remote, after_refused, loopback, after_drain)
        });
    let _ = child.kill();
    let _ = child.wait();
    remote.assert_error(403, "forbidden");
    // The refused drain changed nothing; a loopback client's drain did. Readiness itself
    // answers anyone.
    assert_eq!(after_refused.status, 200);
    assert_eq!(loopback.status, 200);
    assert_eq!(after_drain.status, 503);
    assert_eq!(reasons(&after_drain), ["draining"]);
}
