//! The `http` level: a live hhrf (or any host that claims the same HTTP contract) serving the
//! fixture function, driven with raw HTTP/1.1 over a `TcpStream` so that the exact bytes sent
//! are the ones the vector gives.
//!
//! Expected deployment (what `conformance/tests` sets up and `conformance/README.md`
//! documents): the fixture library deployed as `fixture@1`, with the manifest
//!
//! ```json
//! {"id": "fixture", "version": "1", "entry": "<fixture library file>",
//!  "routes": [{"path": "/fixture-root", "method": "GET"}], "timeout_ms": 1000}
//! ```
//!
//! One trial per `spec/vectors/http/*.json` ([`HttpVector`]; schema:
//! `spec/vectors/http/schema.json`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::expected_failures::Case;
use crate::messages::render_bytes;
use crate::runner_level::{list_json, parse_hex};

/// The trial kind (shown as `[http]` by `--list`).
pub const KIND: &str = "http";
/// How long the suite waits for one HTTP response.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// What the http level runs against.
#[derive(Debug, Clone)]
pub struct HttpLevel {
    /// `host:port` of the server (from `--url http://host:port`).
    pub authority: String,
    /// `spec/vectors`.
    pub vectors_dir: PathBuf,
}

impl HttpLevel {
    /// Parses `--url`: `http://host:port` with an optional trailing `/`.
    pub fn from_url(url: &str, vectors_dir: PathBuf) -> Result<HttpLevel, String> {
        let authority = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("--url must start with http:// (got {url:?})"))?
            .trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!(
                "--url must be http://host:port with no path (got {url:?})"
            ));
        }
        Ok(HttpLevel {
            authority: authority.to_owned(),
            vectors_dir,
        })
    }
}

/// One HTTP-level case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpVector {
    /// What the case shows, in one sentence.
    pub description: String,
    /// The spec section it checks (`FILE#anchor` under `spec/`).
    pub section: String,
    /// The `host-…` requirement ids it exercises, if any ([`crate::requirements`]).
    #[serde(default)]
    pub requirements: Vec<String>,
    /// The request.
    pub request: HttpRequest,
    /// What the response must be.
    pub expect: HttpExpect,
}

/// A request as sent on the wire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// The method, sent as is.
    #[serde(default = "default_method")]
    pub method: String,
    /// The request target, sent as is (`/rpc/fixture@1/echo?a=1`).
    pub target: String,
    /// Header fields after `host` and `connection: close`, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as text (a `content-length` is added when it is not empty).
    #[serde(default)]
    pub body: String,
    /// The body as hex, instead of `body`.
    #[serde(default)]
    pub body_hex: Option<String>,
    /// The body as `count` copies of `unit`, instead of `body`.
    #[serde(default)]
    pub body_repeat: Option<Repeat>,
}

/// A long body written short: `count` copies of the text `unit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The repeated text.
    pub unit: String,
    /// How many copies.
    pub count: usize,
}

impl Repeat {
    fn bytes(&self) -> Vec<u8> {
        self.unit.repeat(self.count).into_bytes()
    }
}

fn default_method() -> String {
    "GET".to_owned()
}

/// What the response must be. Header names are compared case-insensitively.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    /// The status code.
    pub status: u16,
    /// For every name listed, the response's values of that name, in order, are exactly the
    /// listed values.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Names that must be present (any value).
    #[serde(default)]
    pub headers_present: Vec<String>,
    /// Names that must be absent.
    #[serde(default)]
    pub headers_absent: Vec<String>,
    /// A header (name, text) whose value must contain the text, e.g. `allow` contains `GET`.
    #[serde(default)]
    pub header_contains: Vec<(String, String)>,
    /// The exact body, as text.
    #[serde(default)]
    pub body: Option<String>,
    /// The exact body, as hex.
    #[serde(default)]
    pub body_hex: Option<String>,
    /// The exact body, as `count` copies of `unit`.
    #[serde(default)]
    pub body_repeat: Option<Repeat>,
    /// Text the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// The body is hhrf's JSON error `{"error": {"code", "message", "request_id"}}` and its
    /// `request_id` equals the `x-request-id` header.
    #[serde(default)]
    pub error_body: bool,
    /// The JSON error body's `error.code` (implies `error_body`).
    #[serde(default)]
    pub error_code: Option<String>,
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The status line as received.
    pub status_line: String,
    /// Header fields in order (names as received).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The values of header `name`, in order.
    pub fn values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
            .collect()
    }

    fn render(&self) -> String {
        let mut out = format!("{}\n", self.status_line);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value)));
        }
        out.push_str(&format!(
            "\nbody ({} bytes): {}",
            self.body.len(),
            render_bytes(&self.body, 600)
        ));
        out
    }
}

/// Sends `request` to `authority` and reads the whole response (the request asks the server
/// to close the connection).
pub fn send(authority: &str, request: &HttpRequest) -> Result<HttpResponse, String> {
    let body = match (&request.body_hex, &request.body_repeat) {
        (Some(hex), _) => parse_hex(hex)?,
        (None, Some(repeat)) => repeat.bytes(),
        (None, None) => request.body.clone().into_bytes(),
    };
    let mut bytes = format!(
        "{} {} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n",
        request.method, request.target
    )
    .into_bytes();
    for (name, value) in &request.headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() {
        bytes.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&body);
    let mut stream = TcpStream::connect(authority)
        .map_err(|error| format!("cannot connect to {authority}: {error}"))?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|error| error.to_string())?;
    stream
        .write_all(&bytes)
        .map_err(|error| format!("sending the request: {error}"))?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received).map_err(|error| {
        format!(
            "reading the response ({} bytes so far): {error}",
            received.len()
        )
    })?;
    parse_response(&received)
}

/// Parses a complete HTTP/1.1 response (content-length, chunked, or until close).
pub fn parse_response(bytes: &[u8]) -> Result<HttpResponse, String> {
    let end = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head in {}", render_bytes(bytes, 200)))?;
    let head = std::str::from_utf8(&bytes[..end])
        .map_err(|_| "the response head is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((name.to_owned(), value.trim().as_bytes().to_vec()));
    }
    let mut response = HttpResponse {
        status,
        status_line,
        headers,
        body: Vec::new(),
    };
    let rest = &bytes[end + 4..];
    let chunked = response
        .values("transfer-encoding")
        .iter()
        .any(|value| value.eq_ignore_ascii_case(b"chunked"));
    response.body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = response.values("content-length").first() {
        let length: usize = std::str::from_utf8(length)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or("bad content-length")?;
        rest.get(..length)
            .ok_or_else(|| format!("content-length {length} but only {} body bytes", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(response)
}

fn dechunk(mut bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(bytes.get(..size).ok_or("truncated chunk")?);
        bytes = bytes.get(size + 2..).ok_or("truncated chunk")?;
    }
}

/// Checks a response against a vector's expectations; `Err` lists every difference and shows
/// the response.
pub fn check_response(expect: &HttpExpect, response: &HttpResponse) -> Result<(), String> {
    let mut problems = Vec::new();
    if response.status != expect.status {
        problems.push(format!(
            "status: expected {}, got {}",
            expect.status, response.status
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in &expect.headers {
        if !names.iter().any(|seen| seen.eq_ignore_ascii_case(name)) {
            names.push(name);
        }
    }
    for name in names {
        let want: Vec<&[u8]> = expect
            .headers
            .iter()
            .filter(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_bytes())
            .collect();
        let got = response.values(name);
        if want != got {
            let show = |values: &[&[u8]]| {
                values
                    .iter()
                    .map(|v| render_bytes(v, 200))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            problems.push(format!(
                "header {name}: expected [{}], got [{}]",
                show(&want),
                show(&got)
            ));
        }
    }
    for name in &expect.headers_present {
        if response.values(name).is_empty() {
            problems.push(format!("header {name} is missing"));
        }
    }
    for name in &expect.headers_absent {
        if !response.values(name).is_empty() {
            problems.push(format!("header {name} must be absent"));
        }
    }
    for (name, text) in &expect.header_contains {
        if !response
            .values(name)
            .iter()
            .any(|value| String::from_utf8_lossy(value).contains(text.as_str()))
        {
            problems.push(format!("no header {name} containing {text:?}"));
        }
    }
    let want_body = match (&expect.body, &expect.body_hex, &expect.body_repeat) {
        (_, Some(hex), _) => Some(parse_hex(hex)?),
        (_, None, Some(repeat)) => Some(repeat.bytes()),
        (Some(text), None, None) => Some(text.clone().into_bytes()),
        (None, None, None) => None,
    };
    if let Some(want) = want_body {
        if want != response.body {
            problems.push(format!(
                "body: expected {}, got {}",
                render_bytes(&want, 400),
                render_bytes(&response.body, 400)
            ));
        }
    }
    let body_text = String::from_utf8_lossy(&response.body);
    for text in &expect.body_contains {
        if !body_text.contains(text.as_str()) {
            problems.push(format!("the body does not contain {text:?}"));
        }
    }
    if expect.error_body || expect.error_code.is_some() {
        if let Err(problem) = check_error_body(response, expect.error_code.as_deref()) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nthe response was:\n{}",
            problems.join("\n"),
            response.render()
        ))
    }
}

fn check_error_body(response: &HttpResponse, code: Option<&str>) -> Result<(), String> {
    if response.values("content-type").first().copied() != Some(&b"application/json"[..]) {
        return Err("an error body needs content-type: application/json".to_owned());
    }
    let json: serde_json::Value = serde_json::from_slice(&response.body)
        .map_err(|error| format!("the error body is not JSON: {error}"))?;
    let error = json
        .get("error")
        .ok_or("the error body has no \"error\" object")?;
    for field in ["code", "message", "request_id"] {
        if !error.get(field).is_some_and(serde_json::Value::is_string) {
            return Err(format!(
                "the error body's error.{field} is missing or not a string"
            ));
        }
    }
    if let Some(code) = code {
        if error["code"] != code {
            return Err(format!(
                "error.code: expected {code:?}, got {}",
                error["code"]
            ));
        }
    }
    let header = response.values("x-request-id");
    let id = error["request_id"].as_str().unwrap_or_default();
    if header.first().copied() != Some(id.as_bytes()) {
        return Err(format!(
            "error.request_id {id:?} differs from the x-request-id header"
        ));
    }
    Ok(())
}

/// The http-level cases.
pub fn cases(level: HttpLevel) -> Result<Vec<Case>, String> {
    let level = Arc::new(level);
    let cases = list_json(&level.vectors_dir, "http")?
        .into_iter()
        .map(|(name, path)| {
            let level = Arc::clone(&level);
            Case::new(KIND, name, move || {
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| format!("reading {}: {error}", path.display()))?;
                let vector: HttpVector = serde_json::from_str(&text)
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                let response = send(&level.authority, &vector.request)?;
                check_response(&vector.expect, &response)
            })
        })
        .collect();
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_fixed_bodies() {
        let fixed =
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello").unwrap();
        assert_eq!((fixed.status, fixed.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(fixed.values("X-A"), vec![&b"1"[..]]);
        let chunked = parse_response(b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(
            (chunked.status, chunked.body.as_slice()),
            (404, &b"abcde"[..])
        );
    }

    #[test]
    fn header_expectations_compare_all_values_in_order() {
        let response =
            parse_response(b"HTTP/1.1 200 OK\r\nx-rep: 1\r\nx-rep: 2\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        let expect = |values: &[&str]| HttpExpect {
            status: 200,
            headers: values
                .iter()
                .map(|v| ("x-rep".to_owned(), (*v).to_owned()))
                .collect(),
            headers_present: vec![],
            headers_absent: vec![],
            header_contains: vec![],
            body: None,
            body_hex: None,
            body_repeat: None,
            body_contains: vec![],
            error_body: false,
            error_code: None,
        };
        check_response(&expect(&["1", "2"]), &response).unwrap();
        let error = check_response(&expect(&["1"]), &response).unwrap_err();
        assert!(error.contains("header x-rep"), "{error}");
    }
}
