//! The wire messages: [`Request`], [`Response`] and [`WireError`], as plain Rust values.
//!
//! These types say nothing about bytes; `decode` and `encode` turn them into the CBOR that
//! `spec/fezz-wire.cddl` defines. Field order here follows the CDDL keys.

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

    /// The value of the first header named `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}

/// An HTTP response as a function returns it (CDDL `fezz-response`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Response {
    /// The status code, 100 to 599.
    pub status: u16,
    /// The header fields in order, repeated names kept.
    pub headers: Vec<Header>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Set when this response reports the function's own failure (for example a caught
    /// panic); the host logs it. The status, headers and body are still what the client gets.
    pub error: Option<WireError>,
}

impl Response {
    /// A response with `status` and nothing else.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            error: None,
        }
    }

    /// Adds a header field (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header::new(name, value));
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into().into_bytes())
    }

    /// An `application/json` response; `json` must already be serialized JSON.
    pub fn json(status: u16, json: impl Into<String>) -> Self {
        Response::new(status)
            .with_header("content-type", "application/json")
            .with_body(json.into().into_bytes())
    }

    /// The value of the first header named `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
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

fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value.as_slice())
}
