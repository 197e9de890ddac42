//! The HTTP ↔ wire mapping, black box through the fixture's echo: method, raw path, query
//! (absent vs empty), repeated and non-UTF-8 headers, hop-by-hop headers, binary bodies,
//! HEAD, the body limit (413 before spawning) and the context the function gets.

mod support;

use fezz_abi::limits::MAX_BODY_BYTES;
use support::{Hhrf, Root};

fn fixture_server() -> (Root, Hhrf) {
    let root = Root::new();
    root.add_fixture(20_000);
    let runner = root.recording_runner("");
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    (root, hhrf)
}

#[test]
fn headers_bodies_and_paths_round_trip_through_echo() {
    let (_root, hhrf) = fixture_server();
    let body: Vec<u8> = (0..=255u8).collect();
    let mut request = Vec::new();
    request.extend_from_slice(b"POST /rpc/fx@1/echo/a%20b/%2F?x=1&y=%20 HTTP/1.1\r\n");
    request.extend_from_slice(b"Host: example.test\r\n");
    request.extend_from_slice(b"X-Dup: one\r\n");
    request.extend_from_slice(b"x-other: o\r\n");
    request.extend_from_slice(b"x-dup: two\r\n");
    request.extend_from_slice(b"x-bin: \xff\xfe caf\xc3\xa9\r\n");
    request.extend_from_slice(b"Connection: close, x-hop\r\n");
    request.extend_from_slice(b"x-hop: secret\r\n");
    request.extend_from_slice(b"Keep-Alive: timeout=5\r\n");
    request.extend_from_slice(b"content-type: application/octet-stream\r\n");
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(&body);
    let response = hhrf.raw(&request);

    assert_eq!(response.status, 200, "{}", response.raw_head);
    assert_eq!(response.header("x-echo-method").as_deref(), Some("POST"));
    assert_eq!(
        response.header("x-echo-path").as_deref(),
        Some("/echo/a%20b/%2F")
    );
    assert_eq!(
        response.header("x-echo-query").as_deref(),
        Some("x=1&y=%20")
    );
    assert_eq!(response.all("x-dup"), [b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(response.all("x-other"), [b"o".to_vec()]);
    assert_eq!(response.all("x-bin"), [b"\xff\xfe caf\xc3\xa9".to_vec()]);
    assert_eq!(response.header("host").as_deref(), Some("example.test"));
    assert!(response.all("x-hop").is_empty(), "{}", response.raw_head);
    assert!(
        response.all("keep-alive").is_empty(),
        "{}",
        response.raw_head
    );
    // The function echoed the request's content-length; hhrf drops it and hyper writes the
    // real one, exactly once.
    assert_eq!(response.all("content-length"), [b"256".to_vec()]);
    assert_eq!(response.body, body);
}

#[test]
fn an_absent_query_and_an_empty_query_differ() {
    let (_root, hhrf) = fixture_server();
    let absent = hhrf.get("/rpc/fx@1/q");
    assert_eq!(absent.status, 200);
    assert!(absent.all("x-echo-query").is_empty(), "{}", absent.raw_head);
    let empty = hhrf.get("/rpc/fx@1/q?");
    assert_eq!(empty.all("x-echo-query"), [Vec::<u8>::new()]);
    let root_route = hhrf.get("/echo?");
    assert_eq!(root_route.header("x-echo-path").as_deref(), Some("/echo"));
    assert_eq!(root_route.all("x-echo-query"), [Vec::<u8>::new()]);
}

#[test]
fn head_gets_the_headers_and_no_body() {
    let (_root, hhrf) = fixture_server();
    // The echo answers HEAD with the request's 5-byte body; the client must not get it.
    let response = hhrf.raw(
        b"HEAD /rpc/fx@1/h HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-echo-method").as_deref(), Some("HEAD"));
    assert_eq!(response.header("content-length").as_deref(), Some("5"));
    assert!(response.body.is_empty(), "{:?}", response.body);
}

#[test]
fn bodies_past_the_limit_are_413_before_any_runner_starts() {
    let (root, hhrf) = fixture_server();
    let declared = format!(
        "POST /rpc/fx@1/big HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY_BYTES + 1
    );
    // Content-Length alone decides: no body byte is sent.
    hhrf.raw(declared.as_bytes())
        .assert_error(413, "body-too-large");

    // A chunked body that grows past the limit.
    let mut chunked =
        b"POST /echo/big HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let chunk = vec![b'a'; 1024 * 1024];
    for _ in 0..=MAX_BODY_BYTES / chunk.len() {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = hhrf.raw(&chunked);
    response.assert_error(413, "body-too-large");
    assert!(
        root.recorded_pids().is_empty(),
        "a runner started for a 413"
    );

    // Exactly at the limit is accepted and echoed.
    let mut at_limit = format!(
        "POST /rpc/fx@1/big HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n"
    )
    .into_bytes();
    at_limit.extend(std::iter::repeat_n(b'z', MAX_BODY_BYTES));
    let response = hhrf.raw(&at_limit);
    assert_eq!(response.status, 200, "{}", response.raw_head);
    assert_eq!(response.body.len(), MAX_BODY_BYTES);
    assert_eq!(root.recorded_pids().len(), 1);
}

#[test]
fn a_body_that_does_not_arrive_before_the_deadline_is_408() {
    let root = Root::new();
    root.add_fixture(500);
    let runner = root.recording_runner("");
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let mut stream = hhrf.connect();
    std::io::Write::write_all(
        &mut stream,
        b"POST /rpc/fx@1/slow HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhalf!",
    )
    .unwrap();
    let mut bytes = Vec::new();
    // The server answers and closes without waiting for the rest of the body.
    let _ = std::io::Read::read_to_end(&mut stream, &mut bytes);
    support::RawResponse::parse(&bytes).assert_error(408, "request-timeout");
    assert!(root.recorded_pids().is_empty());
}

#[test]
fn every_response_carries_the_request_id_that_the_log_shows() {
    let (_root, hhrf) = fixture_server();
    let first = hhrf.get("/rpc/fx@1/a");
    let second = hhrf.get("/rpc/fx@1/a");
    assert_ne!(first.request_id(), second.request_id());
    let line = hhrf.request_line(&first.request_id());
    assert!(
        line.contains("method=GET path=/rpc/fx@1/a function=fx@1 status=200"),
        "{line}"
    );
    // A function cannot forge the id: the echo returns the client's x-request-id header.
    let forged = hhrf.raw(
        b"GET /rpc/fx@1/a HTTP/1.1\r\nHost: t\r\nx-request-id: forged\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(forged.all("x-request-id").len(), 1);
    assert_ne!(forged.request_id(), "forged");
}
