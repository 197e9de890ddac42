//! Scale-out behind an existing load balancer (issue 12 item 7), black box: three hhrf
//! instances on loopback share one functions folder behind HAProxy (Debian `haproxy`,
//! installed by `.ci/run`), which health-checks `/_fezz/ready`. Under a steady, bounded load
//! through HAProxy, every instance is restarted in turn (SIGTERM: ready turns 503 while the
//! listener keeps accepting for the drain delay, in-flight calls finish, exit; then start
//! again on the same port and wait until it is ready), and not one request fails. Prints
//! the requests sent, the failures and the p99 latency. Before the restarts, one `hhrf deploy`
//! into the shared folder publishes a new version, and all three instances serve it (hot
//! deploy), with no restart.

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{fixture_library, runner, Root};

/// How long an instance keeps accepting after SIGTERM: several HAProxy health checks.
const DRAIN_DELAY_MS: u64 = 1_000;

/// HAProxy's health-check interval.
const CHECK_INTERVAL_MS: u64 = 100;

/// Load clients, and each one's pause between requests: a steady, bounded load.
const CLIENTS: usize = 3;
const PAUSE: Duration = Duration::from_millis(15);

/// A port free now (bound and released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One hhrf on a fixed port, its log collected.
struct Instance {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
    /// Function calls it logged.
    calls: Arc<AtomicUsize>,
}

impl Instance {
    fn start(root: &Path, addr: SocketAddr) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hhrf"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--root")
            .arg(root)
            .arg(format!("--drain-delay-ms={DRAIN_DELAY_MS}"))
            .env("FEZZ_RUNNER", runner())
            .env_remove("HHRF_TIMEOUT_MS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hhrf starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("hhrf: request ") {
                    if line.contains(" path=/rpc/") {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let instance = Instance {
            child,
            addr,
            log,
            calls,
        };
        instance.wait_ready();
        instance
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while get(self.addr, "/_fezz/ready").map(|(status, _)| status) != Some(200) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} never became ready; log:\n{}",
                self.addr,
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait for the exit (code 0).
    fn stop(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} did not stop",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(
            status.code(),
            Some(0),
            "{}: {status}; log:\n{}",
            self.addr,
            self.log.lock().unwrap()
        );
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET target` on a new connection: the status and the time it took; `None` on any error.
fn get(addr: SocketAddr, target: &str) -> Option<(u16, Duration)> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    let head = std::str::from_utf8(bytes.get(..12)?).ok()?;
    let status = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((status, started.elapsed()))
}

/// HAProxy in the foreground with a config for `backends`, listening on `front`.
struct Haproxy(Child);

impl Haproxy {
    fn start(dir: &Path, front: SocketAddr, backends: &[SocketAddr]) -> Haproxy {
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(n, addr)| format!("    server hhrf{n} {addr} check\n"))
            .collect();
        let config = format!(
            "global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 1s
    # A new server connection per request: no reused connection races a drain's close.
    option http-server-close
    # No retry: a refused, reset or empty answer is a failed request, so zero failures is
    # hhrf's drain at work (ready 503 first, accepting meanwhile, in-flight calls finished),
    # not HAProxy hiding it.
    retries 0
frontend front
    bind {front}
    default_backend hhrf
backend hhrf
    balance roundrobin
    option httpchk GET /_fezz/ready
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS}ms fall 1 rise 1
{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let check = Command::new("haproxy")
            .args(["-c", "-q", "-f"])
            .arg(&path)
            .status()
            .expect("haproxy runs (apt-get install haproxy; .ci/run installs it)");
        assert!(check.success(), "haproxy rejects its config");
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Haproxy(child)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_rolling_restart_behind_haproxy_fails_no_request() {
    let root = Root::new();
    root.add_fixture(10_000);
    let addrs: Vec<SocketAddr> = (0..3)
        .map(|_| SocketAddr::from(([127, 0, 0, 1], free_port())))
        .collect();
    let mut instances: Vec<Option<Instance>> = addrs
        .iter()
        .map(|addr| Some(Instance::start(root.path(), *addr)))
        .collect();
    let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _haproxy = Haproxy::start(root.path(), front, &addrs);
    // Up: every backend ready as seen through HAProxy (its checks run every 100 ms).
    let started = Instant::now();
    while get(front, "/rpc/fx@1/echo/warm").map(|(status, _)| status) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "HAProxy serves nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(5 * CHECK_INTERVAL_MS));

    let stop = Arc::new(AtomicBool::new(false));
    let results: Arc<Mutex<(Vec<Duration>, Vec<String>)>> = Arc::default();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let stop = stop.clone();
            let results = results.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let target = format!("/rpc/fx@1/echo/{client}-{n}");
                    let answer = get(front, &target);
                    let mut results = results.lock().unwrap();
                    match answer {
                        Some((200, took)) => results.0.push(took),
                        Some((status, _)) => results.1.push(format!("{target}: {status}")),
                        None => results.1.push(format!("{target}: no answer")),
                    }
                    drop(results);
                    n += 1;
                    std::thread::sleep(PAUSE);
                }
            })
        })
        .collect();

    let load_started = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    // One CLI call deploys fx@2 into the shared folder (and waits until the first instance
    // serves it); the other two notice it on their own.
    let deployed = Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args([
            "deploy",
            "--id",
            "fx",
            "--version",
            "2",
            "--route",
            "GET",
            "/v2/...",
        ])
        .arg("--root")
        .arg(root.path())
        .arg("--server")
        .arg(format!("http://{}", addrs[0]))
        .arg(fixture_library())
        .output()
        .expect("hhrf deploy runs");
    assert!(
        deployed.status.success(),
        "hhrf deploy failed: {}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let deploy_started = Instant::now();
    for addr in &addrs {
        while get(*addr, "/rpc/fx@2/echo/new").map(|(status, _)| status) != Some(200) {
            assert!(
                deploy_started.elapsed() < Duration::from_secs(10),
                "{addr} does not serve fx@2"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    println!(
        "scale-out: fx@2 deployed with one hhrf deploy, served by all three within {:.0} ms",
        deploy_started.elapsed().as_secs_f64() * 1000.0
    );
    for (index, slot) in instances.iter_mut().enumerate() {
        let instance = slot.take().unwrap();
        let before = results.lock().unwrap().0.len();
        instance.stop();
        let restarted = Instance::start(root.path(), addrs[index]);
        *slot = Some(restarted);
        // HAProxy marks it up after one good check; give it a few.
        std::thread::sleep(Duration::from_millis(5 * CHECK_INTERVAL_MS));
        let after = results.lock().unwrap().0.len();
        assert!(
            after > before,
            "no request succeeded while instance {index} restarted"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let elapsed = load_started.elapsed();
    let (mut latencies, failures) = std::mem::take(&mut *results.lock().unwrap());
    latencies.sort();
    let sent = latencies.len() + failures.len();
    let p99 = latencies
        .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    println!(
        "scale-out: 3 hhrf behind HAProxy, rolling restart of all three in {:.1} s: {sent} requests sent, {} failed, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        failures.len(),
        p99.as_secs_f64() * 1000.0
    );
    assert!(
        sent >= 100,
        "too little load to show anything: {sent} requests"
    );
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    // HAProxy brought every restarted instance back: each served calls after its restart.
    for instance in instances.iter().flatten() {
        let calls = instance.calls.load(Ordering::Relaxed);
        assert!(
            calls > 0,
            "{} served no call after its restart",
            instance.addr
        );
    }
}
