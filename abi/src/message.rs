//! The wire messages: [`Request`], [`Response`] and [`WireError`], as plain Rust values.
//!
//! These types say nothing about bytes; `decode` and `encode` turn them into the CBOR that
//! `spec/fezz-wire.cddl` defines. Field order here follows the CDDL keys.
//!
//! Besides the fields, the types carry what a function author reaches for first: header
//! lookup by name ([`Request::header`], [`Request::header_str`], [`Request::headers_all`]),
//! query parameters ([`Request::query_pairs`], [`Request::query`], in [`crate::query`]), status
//! helpers ([`Response::ok`], [`Response::not_found`], [`Response::is_success`], ...) and
//! checked construction ([`Response::try_new`], [`Response::try_with_header`],
//! [`Response::validate`]) for values the encoder would refuse. JSON bodies through serde are
//! behind the `json` feature (module `json`).

use crate::error::EncodeError;
use crate::validate::{self, Violation};

/// One header field. Names are text (an HTTP token); values are bytes because HTTP allows
/// values that are not UTF-8. Headers travel as an ordered list, so repeated names survive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Header {
    /// The field name, e.g. `content-type`. hhrf sends it lowercased.
    pub name: String,
    /// The field value, exactly as received.
    pub value: Vec<u8>,
}

impl Header {
    /// Builds a header from anything string-like and byte-like.
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// What the host knows about a call besides the HTTP message (CDDL `request-context`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RequestContext {
    /// The function's id, as in its manifest.
    pub function_id: String,
    /// The function's version, as in its manifest.
    pub function_version: String,
    /// The host's id for this call; it also appears in the host's log and response header.
    pub request_id: String,
    /// When the host will kill the call, in milliseconds since the Unix epoch.
    pub deadline_unix_ms: Option<u64>,
    /// The client's address as `ip:port` (`[ip]:port` for IPv6).
    pub client_address: Option<String>,
    /// `http` or `https`, as the client reached the host.
    pub scheme: Option<String>,
    /// The host (authority) the client asked for, from `Host` or the request target.
    pub host: Option<String>,
}

/// An HTTP request as a function sees it (CDDL `fezz-request`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Request {
    /// The request method, e.g. `GET`; case-sensitive, as in HTTP.
    pub method: String,
    /// The path as received, percent-encoding preserved, starting with `/` (or exactly `*`).
    pub path: String,
    /// The raw query after `?`, without the `?`. `None`: the target had no `?`;
    /// `Some("")`: it had a `?` and nothing after it.
    pub query: Option<String>,
    /// The header fields in the order received, repeated names kept.
    pub headers: Vec<Header>,
    /// The body bytes (empty if there is none).
    pub body: Vec<u8>,
    /// What the host knows about the call.
    pub context: RequestContext,
}

impl Request {
    /// A request with the given method and path, no query, headers or body, and an empty
    /// context.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            path: path.into(),
            query: None,
            headers: Vec::new(),
            body: Vec::new(),
            context: RequestContext::default(),
        }
    }

    /// The value of the first header named `name` (compared ASCII case-insensitively), as
    /// bytes, exactly as received.
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("GET", "/");
    /// request.headers.push(Header::new("accept", "text/html"));
    /// assert_eq!(request.header("Accept"), Some(&b"text/html"[..]));
    /// assert_eq!(request.header("cookie"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    /// The value of the first header named `name` (compared ASCII case-insensitively) as
    /// text; `None` when there is no such header or its value is not UTF-8 (use
    /// [`Request::header`] for the bytes).
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("GET", "/");
    /// request.headers.push(Header::new("user-agent", "curl/8.5"));
    /// request.headers.push(Header::new("x-raw", &[0xff][..]));
    /// assert_eq!(request.header_str("User-Agent"), Some("curl/8.5"));
    /// assert_eq!(request.header_str("x-raw"), None);
    /// ```
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every value of the headers named `name` (compared ASCII case-insensitively), in the
    /// order received. A repeated field stays separate values: nothing is split on commas.
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("GET", "/");
    /// request.headers.push(Header::new("x-tag", "a"));
    /// request.headers.push(Header::new("other", "z"));
    /// request.headers.push(Header::new("X-Tag", "b, c"));
    /// let tags: Vec<&[u8]> = request.headers_all("x-tag").collect();
    /// assert_eq!(tags, [&b"a"[..], &b"b, c"[..]]);
    /// ```
    pub fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_slice())
    }

    /// The media type of the body without parameters, lowercased: `Some("application/json")`
    /// for `content-type: Application/JSON; charset=utf-8`. `None` without a `content-type`
    /// header or with one that is not UTF-8.
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("POST", "/");
    /// assert_eq!(request.content_type(), None);
    /// request.headers.push(Header::new("content-type", "Text/Plain; charset=utf-8"));
    /// assert_eq!(request.content_type().as_deref(), Some("text/plain"));
    /// ```
    pub fn content_type(&self) -> Option<String> {
        let value = self.header_str("content-type")?;
        let essence = value.split(';').next().unwrap_or("").trim();
        Some(essence.to_ascii_lowercase())
    }

    /// Whether the body is declared as JSON: a `content-type` of `application/json` or any
    /// `application/*+json` (such as `application/merge-patch+json`), parameters allowed.
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("POST", "/");
    /// assert!(!request.has_json_body());
    /// request.headers.push(Header::new("content-type", "application/merge-patch+json"));
    /// assert!(request.has_json_body());
    /// ```
    pub fn has_json_body(&self) -> bool {
        self.content_type().is_some_and(|essence| {
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
    }
}

/// An HTTP response as a function returns it (CDDL `fezz-response`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Response {
    /// The status code, a final status from 200 to 599.
    pub status: u16,
    /// The header fields in order, repeated names kept.
    pub headers: Vec<Header>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Set when this response reports the function's own failure (for example a caught
    /// panic); the host logs it. The status, headers and body are still what the client gets.
    pub error: Option<WireError>,
}

/// The builder methods that take a status, a header or a body do not check them, so that a
/// response can be built in one expression; a value the wire forbids (a status outside
/// 200..=599, a header name that is not an HTTP token, a value with a control byte other than
/// HTAB, a size past
/// [`limits`](crate::limits)) is caught when `#[fezz_function]` encodes the response, and the
/// client gets a 500 `response-invalid` that the host logs. To catch it where it is made, use
/// [`Response::try_new`], [`Response::try_with_header`] or [`Response::validate`].
impl Response {
    /// A response with `status` and nothing else (unchecked: see [`Response::try_new`]).
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert_eq!(Response::new(202).status, 202);
    /// ```
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            error: None,
        }
    }

    /// A response with `status` and nothing else, or an `invalid-value` error when the status
    /// is outside 200..=599, an informational 1xx status included (the encoder would refuse
    /// it).
    ///
    /// ```
    /// # use fezz_abi::{ErrorKind, Response};
    /// assert_eq!(Response::try_new(418).unwrap().status, 418);
    /// let error = Response::try_new(1000).unwrap_err();
    /// assert_eq!((error.kind(), error.field()), (ErrorKind::InvalidValue, "status"));
    /// assert!(Response::try_new(101).unwrap_err().to_string().contains("informational"));
    /// ```
    pub fn try_new(status: u16) -> Result<Self, EncodeError> {
        checked("status", validate::status(status.into()).map(drop))?;
        Ok(Response::new(status))
    }

    /// `200 OK` with no headers and an empty body.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::ok().with_body("done");
    /// assert_eq!((response.status, &response.body[..]), (200, &b"done"[..]));
    /// ```
    pub fn ok() -> Self {
        Response::new(200)
    }

    /// `201 Created` with a `location` header naming the new resource.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::created("/todos/7");
    /// assert_eq!(response.status, 201);
    /// assert_eq!(response.header("location"), Some(&b"/todos/7"[..]));
    /// ```
    pub fn created(location: impl Into<Vec<u8>>) -> Self {
        Response::new(201).with_header("location", location)
    }

    /// `204 No Content`: no headers, no body.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert_eq!(Response::no_content().status, 204);
    /// ```
    pub fn no_content() -> Self {
        Response::new(204)
    }

    /// A redirect: `status` (meant for 301, 302, 303, 307 or 308; unchecked) with a `location`
    /// header and no body.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::redirect(303, "/todos/7");
    /// assert!(response.is_redirection());
    /// assert_eq!(response.header("location"), Some(&b"/todos/7"[..]));
    /// ```
    pub fn redirect(status: u16, location: impl Into<Vec<u8>>) -> Self {
        Response::new(status).with_header("location", location)
    }

    /// `400 Bad Request` with `message` as plain text.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::bad_request("page must be a number");
    /// assert_eq!((response.status, &response.body[..]), (400, &b"page must be a number"[..]));
    /// ```
    pub fn bad_request(message: impl Into<String>) -> Self {
        Response::text(400, message)
    }

    /// `404 Not Found` with the plain-text body `not found`.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert_eq!(Response::not_found().status, 404);
    /// ```
    pub fn not_found() -> Self {
        Response::text(404, "not found\n")
    }

    /// `405 Method Not Allowed` with an `allow` header listing `allow` (joined with `, `) and
    /// a plain-text body saying the same.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::method_not_allowed(&["GET", "HEAD"]);
    /// assert_eq!(response.status, 405);
    /// assert_eq!(response.header("allow"), Some(&b"GET, HEAD"[..]));
    /// ```
    pub fn method_not_allowed<S: AsRef<str>>(allow: &[S]) -> Self {
        let allow = allow
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ");
        Response::text(405, format!("method not allowed; use {allow}\n"))
            .with_header("allow", allow)
    }

    /// Replaces the status (builder style; unchecked, see [`Response::try_new`]).
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert_eq!(Response::text(200, "queued").with_status(202).status, 202);
    /// ```
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header field (builder style; unchecked, see [`Response::try_with_header`]).
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::ok().with_header("cache-control", "no-store");
    /// assert_eq!(response.header("Cache-Control"), Some(&b"no-store"[..]));
    /// ```
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header::new(name, value));
        self
    }

    /// Adds a header field after checking it as the encoder would: the name an HTTP token of
    /// at most 256 bytes, the value at most 16 KiB without a control byte other than HTAB (so
    /// tab, space, visible ASCII and 0x80-0xff), at most 256 fields.
    /// On an error the response is dropped; nothing is half-added.
    ///
    /// ```
    /// # use fezz_abi::{ErrorKind, Response};
    /// let response = Response::ok().try_with_header("x-id", "7").unwrap();
    /// assert_eq!(response.header("x-id"), Some(&b"7"[..]));
    /// let error = Response::ok().try_with_header("x-id", "7\r\nset-cookie: a=b").unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::InvalidValue);
    /// assert!(Response::ok().try_with_header("bad name", "x").is_err());
    /// ```
    pub fn try_with_header(
        self,
        name: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> Result<Self, EncodeError> {
        let header = Header::new(name, value);
        checked("headers", validate::header_count(self.headers.len() + 1))?;
        checked("headers", validate::header_name(&header.name))?;
        checked(
            "headers",
            validate::named_header_value(&header.name, &header.value),
        )?;
        let mut response = self;
        response.headers.push(header);
        Ok(response)
    }

    /// Sets the body (builder style).
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert_eq!(Response::ok().with_body(vec![1, 2]).body, [1, 2]);
    /// ```
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A `text/plain; charset=utf-8` response.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::text(200, "hi");
    /// assert_eq!(response.header("content-type"), Some(&b"text/plain; charset=utf-8"[..]));
    /// ```
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into().into_bytes())
    }

    /// An `application/json` response from text that is already serialized JSON (it is not
    /// parsed or checked). With the `json` feature, `Response::json` serializes a value.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::json_text(404, r#"{"error":"not found"}"#);
    /// assert_eq!(response.header("content-type"), Some(&b"application/json"[..]));
    /// ```
    pub fn json_text(status: u16, json: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("content-type", "application/json")
            .with_body(json.into().into_bytes())
    }

    /// The value of the first header named `name` (compared ASCII case-insensitively).
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert_eq!(Response::created("/x").header("Location"), Some(&b"/x"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert!(Response::no_content().is_success());
    /// assert!(!Response::not_found().is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the status is 3xx.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert!(Response::new(304).is_redirection());
    /// ```
    pub fn is_redirection(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// Whether the status is 4xx.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert!(Response::bad_request("no").is_client_error());
    /// ```
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status)
    }

    /// Whether the status is 5xx.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert!(Response::new(503).is_server_error());
    /// ```
    pub fn is_server_error(&self) -> bool {
        (500..600).contains(&self.status)
    }

    /// Checks the response against every rule the encoder enforces (status, header names,
    /// values and count, body size, error texts) without encoding it: `Ok` means
    /// [`encode_response`](crate::encode_response) succeeds, except that the whole message
    /// must also fit in [`MAX_MESSAGE_BYTES`](crate::limits::MAX_MESSAGE_BYTES).
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// assert!(Response::text(200, "fine").validate().is_ok());
    /// assert_eq!(Response::new(99).validate().unwrap_err().field(), "status");
    /// assert_eq!(Response::ok().with_header("a b", "x").validate().unwrap_err().field(), "headers");
    /// ```
    pub fn validate(&self) -> Result<(), EncodeError> {
        checked("status", validate::status(self.status.into()).map(drop))?;
        checked("headers", validate::header_count(self.headers.len()))?;
        for header in &self.headers {
            checked("headers", validate::header_name(&header.name))?;
            checked(
                "headers",
                validate::named_header_value(&header.name, &header.value),
            )?;
        }
        checked("body", validate::body(&self.body))?;
        if let Some(error) = &self.error {
            checked("code", validate::text("code", &error.code))?;
            checked("message", validate::text("message", &error.message))?;
        }
        Ok(())
    }
}

/// A structured error (CDDL `fezz-error`): what a runner writes in an error frame, and what a
/// function attaches to a response that reports its own failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct WireError {
    /// A stable kebab-case code, e.g. `panic` or `library-load-failed`.
    pub code: String,
    /// A readable explanation for the log and the client.
    pub message: String,
}

impl WireError {
    /// Builds an error from a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        WireError {
            code: code.into(),
            message: message.into(),
        }
    }
}

fn checked(field: &'static str, result: Result<(), Violation>) -> Result<(), EncodeError> {
    result.map_err(|(kind, message)| EncodeError::new(kind, field, message))
}

fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode_response;
    use crate::limits::{MAX_BODY_BYTES, MAX_HEADER_COUNT, MAX_HEADER_VALUE_BYTES, MAX_TEXT_BYTES};

    #[test]
    fn validate_agrees_with_the_encoder() {
        let many = (0..=MAX_HEADER_COUNT).fold(Response::ok(), |response, index| {
            response.with_header(format!("x-{index}"), "v")
        });
        let mut long_error = Response::new(500);
        long_error.error = Some(WireError::new("x".repeat(MAX_TEXT_BYTES + 1), "m"));
        let cases = [
            Response::ok(),
            Response::new(99),
            Response::new(600),
            Response::new(599),
            Response::ok().with_header("", "x"),
            Response::ok().with_header("a:b", "x"),
            Response::ok().with_header("x-nul", "a\0b"),
            Response::ok().with_header("x-big", vec![b'a'; MAX_HEADER_VALUE_BYTES + 1]),
            Response::ok().with_header("x-fine", vec![b'a'; MAX_HEADER_VALUE_BYTES]),
            Response::ok().with_body(vec![0; MAX_BODY_BYTES + 1]),
            many,
            long_error,
        ];
        for response in cases {
            let encoded = encode_response(&response).map(drop).map_err(|e| e.field());
            let validated = response.validate().map_err(|e| e.field());
            assert_eq!(validated, encoded, "status {}", response.status);
        }
    }

    #[test]
    fn checked_builders_refuse_what_the_encoder_refuses_and_add_nothing() {
        assert!(Response::try_new(200).is_ok());
        for informational in [100, 101, 103, 199] {
            let error = Response::try_new(informational).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidValue);
            assert!(error.to_string().contains("informational"), "{error}");
        }
        assert!(Response::try_new(599).is_ok());
        assert_eq!(Response::try_new(600).unwrap_err().field(), "status");
        let full = (0..MAX_HEADER_COUNT).fold(Response::ok(), |response, index| {
            response.with_header(format!("x-{index}"), "v")
        });
        let error = full.try_with_header("one-more", "v").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::TooLarge);
        // Every control byte but HTAB: HTTP cannot carry it (RFC 9110 §5.5).
        for control in (0u8..0x20).filter(|byte| *byte != b'\t').chain([0x7f]) {
            let error = Response::ok()
                .try_with_header("x-c", vec![b'a', control])
                .unwrap_err();
            assert_eq!(
                error.kind(),
                crate::ErrorKind::InvalidValue,
                "{control:#04x}"
            );
            assert!(
                error.to_string().contains(&format!("0x{control:02x}"))
                    && error.to_string().contains("\"x-c\""),
                "{error}"
            );
        }
        let edges = Response::ok()
            .try_with_header("x-edges", b"\t a~\x80\xff".to_vec())
            .unwrap();
        assert_eq!(edges.header("x-edges"), Some(&b"\t a~\x80\xff"[..]));
        for (name, value) in [("bad name", "v"), ("x", "a\nb"), ("", "v")] {
            assert_eq!(
                Response::ok()
                    .try_with_header(name, value)
                    .unwrap_err()
                    .kind(),
                crate::ErrorKind::InvalidValue,
                "{name:?}: {value:?}"
            );
        }
    }

    #[test]
    fn header_helpers_compare_names_case_insensitively() {
        let mut request = Request::new("GET", "/");
        request.headers = vec![
            Header::new("Set-Thing", "1"),
            Header::new("x", "2"),
            Header::new("set-thing", &[0xff][..]),
        ];
        assert_eq!(request.header("SET-THING"), Some(&b"1"[..]));
        assert_eq!(request.headers_all("set-Thing").count(), 2);
        assert_eq!(request.headers_all("missing").count(), 0);
        assert_eq!(request.header_str("x"), Some("2"));
        request
            .headers
            .insert(0, Header::new("content-type", " APPLICATION/JSON ;x=y"));
        assert_eq!(request.content_type().as_deref(), Some("application/json"));
        assert!(request.has_json_body());
        request.headers[0] = Header::new("content-type", "application/json-seq");
        assert!(!request.has_json_body());
        request.headers[0] = Header::new("content-type", "text/x+json");
        assert!(!request.has_json_body());
    }

    #[test]
    fn status_helpers() {
        assert_eq!(Response::ok().status, 200);
        assert!(Response::created("/a").is_success());
        assert!(Response::redirect(308, "/b").is_redirection());
        assert!(Response::not_found().is_client_error());
        assert!(!Response::not_found().is_server_error());
        assert!(Response::new(500).is_server_error());
        let response = Response::method_not_allowed(&["GET".to_owned()]);
        assert_eq!(response.header("allow"), Some(&b"GET"[..]));
        for response in [
            Response::ok(),
            Response::created("/a"),
            Response::no_content(),
            Response::bad_request("x"),
            Response::not_found(),
            Response::method_not_allowed(&["GET", "HEAD"]),
        ] {
            assert!(response.validate().is_ok(), "{}", response.status);
        }
    }
}
