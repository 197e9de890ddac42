//! Trusted proxies, black box (`spec/HTTP.md`, "Trusted proxies"): the client address a
//! function gets in its context is the TCP peer, unless the peer is a `--trusted-proxy`;
//! then it is the rightmost untrusted `X-Forwarded-For` hop, or with `--proxy-protocol` the
//! source of the PROXY v1 line. From an untrusted peer neither is believed. The drain rule
//! uses the same client.
//!
//! The context is read from the request frame itself: `FEZZ_RUNNER` is a wrapper that copies
//! its stdin to a file on its way to the real runner. Untrusted peers are `127.0.0.2` (all of
//! `127.0.0.0/8` reaches the loopback listener) while only `127.0.0.1` is trusted.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{runner, Hhrf, RawResponse, Root};

/// A root with the fixture and a runner wrapper that saves each request frame under
/// `capture/`.
fn capturing_root() -> (Root, PathBuf, PathBuf) {
    let root = Root::new();
    root.add_fixture(10_000);
    let capture = root.path().join("capture");
    std::fs::create_dir(&capture).unwrap();
    // The wrapper runs as the runner user when the tests run as root.
    std::fs::set_permissions(&capture, std::fs::Permissions::from_mode(0o777)).unwrap();
    let wrapper = root.script(
        "capturing-runner",
        &format!(
            "tee '{}/request.'$$ | '{}' \"$@\"\n",
            capture.display(),
            runner().display()
        ),
    );
    (root, capture, wrapper)
}

fn start(root: &Root, wrapper: &Path, args: &[&str]) -> Hhrf {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command.args(args);
    Hhrf::start_command(command, root, &[("FEZZ_RUNNER", wrapper)])
}

/// The `client-address` of the one request frame captured since the folder was emptied;
/// empties it again.
fn captured_client(capture: &Path) -> String {
    let started = Instant::now();
    let file = loop {
        let files: Vec<_> = std::fs::read_dir(capture)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        if let [file] = files.as_slice() {
            let bytes = std::fs::read(file).unwrap();
            if bytes.len() >= 8 {
                let length = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
                if bytes.len() >= 8 + length {
                    break file.clone();
                }
            }
        }
        assert!(
            files.len() <= 1,
            "more than one request captured: {files:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no request frame captured in {}",
            capture.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let bytes = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let length = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let request = fezz_abi::decode_request(&bytes[8..8 + length]).expect("a request frame");
    request
        .context
        .client_address
        .expect("the context has a client address")
}

/// Sends `request` from a socket bound to `source` (`127.0.0.2:0`) and reads to the end.
fn send_from(source: &str, addr: SocketAddr, request: &[u8]) -> (SocketAddr, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(source.parse().unwrap()).unwrap();
        socket.connect(addr).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    read_all(stream, request)
}

fn read_all(mut stream: TcpStream, request: &[u8]) -> (SocketAddr, Vec<u8>) {
    let local = stream.local_addr().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut bytes = Vec::new();
    match stream.read_to_end(&mut bytes) {
        Ok(_) => {}
        // Closed with the request unread: the kernel answers with a reset.
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(error) => panic!("reading the answer: {error}"),
    }
    (local, bytes)
}

fn get_with_forwarded(forwarded: &str) -> Vec<u8> {
    format!(
        "GET /rpc/fx@1/echo/x HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: {forwarded}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn forwarded_for_is_believed_from_trusted_peers_only() {
    let (root, capture, wrapper) = capturing_root();
    let hhrf = start(&root, &wrapper, &["--trusted-proxy", "127.0.0.1/32"]);

    // A trusted proxy: the rightmost hop it does not trust, a spoofed leftmost one ignored.
    let request = get_with_forwarded("6.6.6.6, 198.51.100.7");
    let (_, bytes) = read_all(TcpStream::connect(hhrf.addr).unwrap(), &request);
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    assert_eq!(captured_client(&capture), "198.51.100.7:0");

    // The function still gets the field as sent.
    let echoed = RawResponse::parse(&bytes);
    assert_eq!(
        echoed.header("x-forwarded-for").as_deref(),
        Some("6.6.6.6, 198.51.100.7")
    );

    // An untrusted peer: the field is ignored, the client is the peer.
    let (local, bytes) = send_from("127.0.0.2:0", hhrf.addr, &request);
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    assert_eq!(captured_client(&capture), local.to_string());
    assert!(local.to_string().starts_with("127.0.0.2:"));

    // Behind the trusted loopback proxy a remote client is not a loopback client: no drain.
    let drain = b"POST /_fezz/drain HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.7\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let (_, bytes) = read_all(TcpStream::connect(hhrf.addr).unwrap(), drain);
    RawResponse::parse(&bytes).assert_error(403, "forbidden");
    assert_eq!(hhrf.get("/_fezz/ready").status, 200);
    hhrf.assert_still_serving();
}

#[test]
fn without_trusted_proxies_the_client_is_the_peer() {
    let (root, capture, wrapper) = capturing_root();
    let hhrf = start(&root, &wrapper, &[]);
    let (local, bytes) = read_all(
        TcpStream::connect(hhrf.addr).unwrap(),
        &get_with_forwarded("198.51.100.7"),
    );
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    assert_eq!(captured_client(&capture), local.to_string());
}

#[test]
fn the_proxy_protocol_names_the_client_of_trusted_connections() {
    let (root, capture, wrapper) = capturing_root();
    let hhrf = start(
        &root,
        &wrapper,
        &["--trusted-proxy", "127.0.0.1", "--proxy-protocol"],
    );
    let call = b"GET /rpc/fx@1/echo/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

    let mut request = b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 80\r\n".to_vec();
    request.extend_from_slice(call);
    let (_, bytes) = read_all(TcpStream::connect(hhrf.addr).unwrap(), &request);
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    assert_eq!(captured_client(&capture), "203.0.113.9:4444");

    // UNKNOWN keeps the peer.
    let mut request = b"PROXY UNKNOWN\r\n".to_vec();
    request.extend_from_slice(call);
    let (local, bytes) = read_all(TcpStream::connect(hhrf.addr).unwrap(), &request);
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    assert_eq!(captured_client(&capture), local.to_string());

    // A trusted connection without the line is closed unanswered, and logged.
    let (_, bytes) = read_all(TcpStream::connect(hhrf.addr).unwrap(), call);
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    hhrf.wait_for_log(
        "closed: not a PROXY protocol v1 line",
        Duration::from_secs(10),
    );

    // From an untrusted peer the line is not read: it is a bad request, never a client.
    let mut request = b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 80\r\n".to_vec();
    request.extend_from_slice(call);
    let (_, bytes) = send_from("127.0.0.2:0", hhrf.addr, &request);
    assert_eq!(RawResponse::parse(&bytes).status, 400);
    assert_eq!(std::fs::read_dir(&capture).unwrap().count(), 0);

    // Still serving trusted connections with their line.
    let mut request = b"PROXY TCP6 2001:db8::5 ::1 7 80\r\n".to_vec();
    request.extend_from_slice(call);
    let (_, bytes) = read_all(TcpStream::connect(hhrf.addr).unwrap(), &request);
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    assert_eq!(captured_client(&capture), "[2001:db8::5]:7");
}
