//! The mapping between HTTP and the wire: which function a request path names, how an HTTP
//! request becomes a `fezz-request`, and how a `fezz-response`'s headers become HTTP headers.
//!
//! What lives here: `/rpc/` parsing ([`rpc_target`]), hop-by-hop header rules, request
//! limits checked before spawning, [`wire_request`], [`request_context`] and
//! [`response_headers`]. What does not: deciding the status of a failed call (`outcome`),
//! running the runner (`runner`), root routes (`routes`).
//!
//! Header order: `http::HeaderMap` keeps fields grouped by name (names in order of first
//! appearance, repeated values in the order received), and that is the order functions see
//! and clients get. HTTP gives meaning only to the order of fields with the same name
//! (RFC 9110 §5.3), which is kept.

use std::net::SocketAddr;

use fezz_abi::limits::{
    MAX_BODY_BYTES, MAX_HEADER_COUNT, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES, MAX_TEXT_BYTES,
};
use fezz_abi::{Header, Request, RequestContext};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, HOST};
use http::request::Parts;

use crate::outcome::Outcome;
use crate::registry::Function;

/// The path prefix of direct invocation: `/rpc/<id>@<version>[/<rest>]`.
pub const RPC_PREFIX: &str = "/rpc";

/// The path prefix reserved for hhrf's own endpoints: `/_fezz` and `/_fezz/<rest>`.
pub const HHRF_PREFIX: &str = "/_fezz";

/// The path of the health endpoint (liveness).
pub const HEALTH_PATH: &str = "/_fezz/health";

/// The path of the readiness endpoint.
pub const READY_PATH: &str = "/_fezz/ready";

/// The path of the metrics endpoint.
pub const METRICS_PATH: &str = "/_fezz/metrics";

/// The path of the functions endpoint (what is deployed, `spec/HTTP.md`, "Functions endpoint").
pub const FUNCTIONS_PATH: &str = "/_fezz/functions";

/// The path that begins an operator's drain (`POST`).
pub const DRAIN_PATH: &str = "/_fezz/drain";

/// The path that ends an operator's drain (`POST`).
pub const UNDRAIN_PATH: &str = "/_fezz/undrain";

/// The path of the operator page (`spec/HTTP.md`, "Operator page").
pub const OPERATOR_PAGE_PATH: &str = "/_fezz/";

/// The methods hhrf's own read endpoints answer, as an `Allow` value.
pub const HHRF_ALLOW: &str = "GET, HEAD";

/// The method the drain endpoints answer, as an `Allow` value.
pub const HHRF_POST_ALLOW: &str = "POST";

/// One of hhrf's own endpoints under [`HHRF_PREFIX`] (`spec/HTTP.md`, "Operator endpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HhrfEndpoint {
    /// `/_fezz/health`.
    Health,
    /// `/_fezz/ready`.
    Ready,
    /// `/_fezz/metrics`.
    Metrics,
    /// `/_fezz/drain`.
    Drain,
    /// `/_fezz/undrain`.
    Undrain,
    /// `/_fezz/`, the operator page.
    Page,
    /// `/_fezz/functions`.
    Functions,
}

impl HhrfEndpoint {
    /// Every endpoint with its path.
    pub const ALL: [(HhrfEndpoint, &'static str); 7] = [
        (HhrfEndpoint::Health, HEALTH_PATH),
        (HhrfEndpoint::Ready, READY_PATH),
        (HhrfEndpoint::Metrics, METRICS_PATH),
        (HhrfEndpoint::Drain, DRAIN_PATH),
        (HhrfEndpoint::Undrain, UNDRAIN_PATH),
        (HhrfEndpoint::Page, OPERATOR_PAGE_PATH),
        (HhrfEndpoint::Functions, FUNCTIONS_PATH),
    ];
}

/// Parses a request path. `None`: not under `/_fezz` (`/rpc/` or routes apply).
/// `Some(None)`: under `/_fezz` but no endpoint, a 404. Otherwise the endpoint. Paths are
/// compared exactly (`/_fezz/health/` is no endpoint).
pub fn hhrf_target(path: &str) -> Option<Option<HhrfEndpoint>> {
    let rest = path.strip_prefix(HHRF_PREFIX)?;
    if !rest.is_empty() && !rest.starts_with('/') {
        return None;
    }
    Some(
        HhrfEndpoint::ALL
            .iter()
            .find(|(_, own)| *own == path)
            .map(|(endpoint, _)| *endpoint),
    )
}

/// The header carrying the request id on every response hhrf sends.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The header naming the `<id>@<version>` that served a call (`spec/HTTP.md`, "Hot deploy").
pub const FUNCTION_HEADER: &str = "x-fezz-function";

/// The header carrying the short hash of the library that served a call.
pub const LIBRARY_HEADER: &str = "x-fezz-library";

/// Hop-by-hop fields (RFC 9110 §7.6.1): never forwarded in either direction, nor are the
/// fields a `Connection` field names.
pub const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A path under `/rpc`: the function name segment and the path the function sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcTarget<'a> {
    /// The `<id>@<version>` segment, as received (no percent-decoding).
    pub name: &'a str,
    /// `/<rest>` as received, or `/` when there is no rest.
    pub path: String,
}

/// Parses a request path. `None`: not under `/rpc` (root routes apply). `Some(Err(()))`:
/// under `/rpc` but naming no function (`/rpc`, `/rpc/`), a 404. Otherwise the target.
pub fn rpc_target(path: &str) -> Option<Result<RpcTarget<'_>, ()>> {
    let rest = path.strip_prefix(RPC_PREFIX)?;
    if rest.is_empty() {
        return Some(Err(()));
    }
    let rest = rest.strip_prefix('/')?;
    let (name, function_path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if name.is_empty() {
        return Some(Err(()));
    }
    Some(Ok(RpcTarget {
        name,
        path: function_path.to_owned(),
    }))
}

/// The names a message's `Connection` fields list, lowercased.
fn connection_tokens<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    values
        .flat_map(|value| value.split(|byte| *byte == b','))
        .filter_map(|token| std::str::from_utf8(token).ok())
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

fn is_hop_by_hop(name: &str, connection: &[String]) -> bool {
    HOP_BY_HOP.iter().any(|hop| name.eq_ignore_ascii_case(hop))
        || connection
            .iter()
            .any(|token| name.eq_ignore_ascii_case(token))
}

/// Rejects a request whose `Content-Length` is past [`MAX_BODY_BYTES`], before any body
/// byte is read.
pub fn check_content_length(headers: &HeaderMap) -> Result<(), Outcome> {
    for value in headers.get_all(CONTENT_LENGTH) {
        let declared = value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok());
        if let Some(length) = declared {
            if length > MAX_BODY_BYTES as u64 {
                return Err(Outcome::BodyTooLarge {
                    length: Some(length),
                });
            }
        }
    }
    Ok(())
}

/// The context of a call (`fezz-request` key 6).
pub fn request_context(
    function: &Function,
    request_id: &str,
    deadline_unix_ms: u64,
    client: SocketAddr,
    parts: &Parts,
) -> RequestContext {
    let host = parts
        .uri
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            parts
                .headers
                .get(HOST)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|host| host.len() <= MAX_TEXT_BYTES);
    RequestContext {
        function_id: function.id.as_str().to_owned(),
        function_version: function.version.as_str().to_owned(),
        request_id: request_id.to_owned(),
        deadline_unix_ms: Some(deadline_unix_ms),
        client_address: Some(client.to_string()),
        scheme: Some("http".to_owned()),
        host,
    }
}

/// Builds the `fezz-request` for a call: the method, `function_path` (the path the function
/// sees), the raw query (absent and empty differ), the end-to-end headers and the body.
/// Fails with the 4xx outcome for a request past a wire limit.
pub fn wire_request(
    parts: &Parts,
    function_path: String,
    body: Vec<u8>,
    context: RequestContext,
) -> Result<Request, Outcome> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Outcome::BodyTooLarge {
            length: Some(body.len() as u64),
        });
    }
    let query = parts.uri.query().map(str::to_owned);
    let longest = function_path
        .len()
        .max(query.as_ref().map_or(0, String::len));
    if longest > MAX_TEXT_BYTES {
        return Err(Outcome::UriTooLong {
            limit: MAX_TEXT_BYTES,
        });
    }
    let connection = connection_tokens(
        parts
            .headers
            .get_all(CONNECTION)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        if is_hop_by_hop(name.as_str(), &connection) {
            continue;
        }
        if name.as_str().len() > MAX_HEADER_NAME_BYTES || value.len() > MAX_HEADER_VALUE_BYTES {
            return Err(Outcome::HeadersTooLarge {
                reason: format!(
                    "header {:?} is past the limits ({MAX_HEADER_NAME_BYTES}-byte names, {MAX_HEADER_VALUE_BYTES}-byte values)",
                    name.as_str()
                ),
            });
        }
        headers.push(Header::new(name.as_str(), value.as_bytes()));
    }
    if headers.len() > MAX_HEADER_COUNT {
        return Err(Outcome::HeadersTooLarge {
            reason: format!(
                "{} header fields, more than the limit of {MAX_HEADER_COUNT}",
                headers.len()
            ),
        });
    }
    Ok(Request {
        method: parts.method.as_str().to_owned(),
        path: function_path,
        query,
        headers,
        body,
        context,
    })
}

/// Converts a function's response headers to HTTP: drops hop-by-hop fields, the fields
/// `Connection` names, `Content-Length` (hyper writes the real one) and `x-request-id` (hhrf
/// writes its own). Fails, naming the field, on a value HTTP cannot carry.
pub fn response_headers(headers: &[Header]) -> Result<HeaderMap, String> {
    let connection = connection_tokens(
        headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case("connection"))
            .map(|header| header.value.as_slice()),
    );
    let mut map = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name = header.name.as_str();
        if is_hop_by_hop(name, &connection)
            || name.eq_ignore_ascii_case(CONTENT_LENGTH.as_str())
            || name.eq_ignore_ascii_case(REQUEST_ID_HEADER)
        {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name {name:?} is not a valid HTTP field name"))?;
        let value = HeaderValue::from_bytes(&header.value).map_err(|_| {
            let bad = header
                .value
                .iter()
                .find(|byte| (**byte < 0x20 && **byte != b'\t') || **byte == 0x7f)
                .copied()
                .unwrap_or(0);
            format!("header {name:?} has a value with control byte 0x{bad:02x}, which HTTP cannot carry")
        })?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_paths_split_into_name_and_function_path() {
        let target = |path| rpc_target(path).map(|t| t.map(|t| (t.name, t.path)));
        assert_eq!(
            target("/rpc/todos@latest"),
            Some(Ok(("todos@latest", "/".to_owned())))
        );
        assert_eq!(
            target("/rpc/todos@latest/"),
            Some(Ok(("todos@latest", "/".to_owned())))
        );
        assert_eq!(
            target("/rpc/todos@latest/hello/a%20b"),
            Some(Ok(("todos@latest", "/hello/a%20b".to_owned())))
        );
        assert_eq!(target("/rpc/t@1//x"), Some(Ok(("t@1", "//x".to_owned()))));
        assert_eq!(target("/rpc"), Some(Err(())));
        assert_eq!(target("/rpc/"), Some(Err(())));
        assert_eq!(target("/rpcx"), None);
        assert_eq!(target("/hello"), None);
        assert_eq!(target("*"), None);
    }

    #[test]
    fn fezz_paths_are_hhrf_endpoints() {
        assert_eq!(
            hhrf_target("/_fezz/health"),
            Some(Some(HhrfEndpoint::Health))
        );
        assert_eq!(hhrf_target("/_fezz/health/"), Some(None));
        assert_eq!(hhrf_target("/_fezz/nope"), Some(None));
        assert_eq!(hhrf_target("/_fezz"), Some(None));
        assert_eq!(hhrf_target("/_fezz/"), Some(Some(HhrfEndpoint::Page)));
        assert_eq!(hhrf_target("/_fezzx"), None);
        assert_eq!(hhrf_target("/rpc/_fezz/health"), None);
        assert_eq!(hhrf_target("*"), None);
    }

    #[test]
    fn response_headers_drop_hop_by_hop_and_length() {
        let headers = vec![
            Header::new("content-type", "text/plain"),
            Header::new("Connection", "close, X-Secret"),
            Header::new("x-secret", "1"),
            Header::new("keep-alive", "timeout=5"),
            Header::new("transfer-encoding", "chunked"),
            Header::new("content-length", "999"),
            Header::new("x-request-id", "forged"),
            Header::new("set-cookie", "a=1"),
            Header::new("Set-Cookie", "b=2"),
            Header::new("x-bin", vec![0xff, 0x80]),
        ];
        let map = response_headers(&headers).unwrap();
        let names: Vec<_> = map
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        assert_eq!(
            names,
            [
                ("content-type", &b"text/plain"[..]),
                ("set-cookie", b"a=1"),
                ("set-cookie", b"b=2"),
                ("x-bin", &[0xff, 0x80]),
            ]
        );
    }

    #[test]
    fn response_headers_reject_control_bytes() {
        let error = response_headers(&[Header::new("x-a", "a\u{7}b")]).unwrap_err();
        assert!(error.contains("0x07"), "{error}");
        assert!(response_headers(&[Header::new("x a", "b")]).is_err());
    }

    #[test]
    fn oversized_content_length_is_rejected_early() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(MAX_BODY_BYTES as u64));
        assert!(check_content_length(&headers).is_ok());
        headers.insert(CONTENT_LENGTH, HeaderValue::from(MAX_BODY_BYTES as u64 + 1));
        assert!(matches!(
            check_content_length(&headers),
            Err(Outcome::BodyTooLarge { .. })
        ));
    }

    fn function() -> Function {
        Function {
            id: crate::manifest::FunctionId::new("f").unwrap(),
            version: crate::manifest::Version::new("1").unwrap(),
            folder: "/srv/functions/f@1".into(),
            library: "/srv/functions/f@1/libf.so".into(),
            manifest_path: "/srv/functions/f@1/fezz.json".into(),
            timeout: None,
            env: Vec::new(),
            limits: crate::manifest::Limits::default(),
            sandbox: crate::manifest::sandbox::Sandbox::default()
                .resolve("/".as_ref())
                .unwrap(),
            mode: Default::default(),
            deployment: None,
        }
    }

    #[test]
    fn the_context_names_function_client_scheme_and_host() {
        let (parts, ()) = http::Request::get("/x")
            .header("host", "example.test:8080")
            .body(())
            .unwrap()
            .into_parts();
        let client: SocketAddr = "[::1]:5000".parse().unwrap();
        let context = request_context(&function(), "rid", 1234, client, &parts);
        assert_eq!(context.function_id, "f");
        assert_eq!(context.function_version, "1");
        assert_eq!(context.request_id, "rid");
        assert_eq!(context.deadline_unix_ms, Some(1234));
        assert_eq!(context.client_address.as_deref(), Some("[::1]:5000"));
        assert_eq!(context.scheme.as_deref(), Some("http"));
        assert_eq!(context.host.as_deref(), Some("example.test:8080"));
        // An absolute-form target's authority wins; a non-UTF-8 Host gives no host.
        let (parts, ()) = http::Request::get("http://other.test/x")
            .header("host", "example.test")
            .body(())
            .unwrap()
            .into_parts();
        let context = request_context(&function(), "rid", 1, client, &parts);
        assert_eq!(context.host.as_deref(), Some("other.test"));
        let (parts, ()) = http::Request::get("/x")
            .header("host", &[0xff][..])
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(
            request_context(&function(), "r", 1, client, &parts).host,
            None
        );
    }

    #[test]
    fn wire_requests_keep_query_presence_and_drop_hop_by_hop() {
        let request = http::Request::builder()
            .method("POST")
            .uri("/rpc/f@1/x?")
            .header("Connection", "x-hop")
            .header("x-hop", "gone")
            .header("te", "trailers")
            .header("a", "1")
            .header("b", &[0xfe][..])
            .header("a", "2")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let wire = wire_request(
            &parts,
            "/x".to_owned(),
            b"body".to_vec(),
            RequestContext::default(),
        )
        .unwrap();
        assert_eq!(wire.query.as_deref(), Some(""));
        let headers: Vec<_> = wire
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_slice()))
            .collect();
        assert_eq!(headers, [("a", &b"1"[..]), ("a", b"2"), ("b", &[0xfe])]);
        let (parts, ()) = http::Request::get("/x").body(()).unwrap().into_parts();
        let wire = wire_request(
            &parts,
            "/x".to_owned(),
            Vec::new(),
            RequestContext::default(),
        )
        .unwrap();
        assert_eq!(wire.query, None);
    }
}
