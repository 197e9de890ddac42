//! JSON bodies through serde (the `json` feature): [`Request::json`] reads the body into any
//! `Deserialize` type, [`Response::json`] and [`Response::json_pretty`] answer with any
//! `Serialize` value.
//!
//! Enable it with `fezz-abi = { path = "...", features = ["json"] }`, and add `serde` (with its
//! `derive` feature) to derive the traits on your own types. Without the feature,
//! [`Response::json_text`] sends JSON you serialized yourself.
//!
//! ```
//! use fezz_abi::{Header, Request, Response};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, Serialize)]
//! struct Todo {
//!     title: String,
//!     #[serde(default)]
//!     done: bool,
//! }
//!
//! fn create(request: &Request) -> Response {
//!     match request.json::<Todo>() {
//!         Ok(todo) => Response::json(201, &todo),
//!         Err(error) => Response::text(error.status(), error.to_string()),
//!     }
//! }
//!
//! let mut request = Request::new("POST", "/todos");
//! request.headers.push(Header::new("content-type", "application/json"));
//! request.body = br#"{"title": "buy milk"}"#.to_vec();
//! let response = create(&request);
//! assert_eq!(response.status, 201);
//! assert_eq!(response.body, br#"{"title":"buy milk","done":false}"#);
//! ```

use serde::{Deserialize, Serialize};

use crate::boundary::error_response;
use crate::message::{Request, Response, WireError};

/// Why [`Request::json`] could not read the body. [`JsonBodyError::status`] is the status to
/// answer (415 or 400), [`JsonBodyError::code`] a stable kebab-case name for an error body.
///
/// ```
/// use fezz_abi::json::JsonBodyError;
/// use fezz_abi::{Header, Request};
/// let mut request = Request::new("POST", "/");
/// request.headers.push(Header::new("content-type", "application/json"));
/// assert!(matches!(request.json::<u8>(), Err(JsonBodyError::Empty)));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum JsonBodyError {
    /// The `content-type` is missing or not JSON (`application/json` or
    /// `application/*+json`): 415.
    #[error("the body must be JSON (content-type: application/json){}", received(.content_type))]
    NotJson {
        /// The `content-type` received, if any (lossily decoded).
        content_type: Option<String>,
    },
    /// The body is empty or only whitespace: 400.
    #[error("the body is empty; send JSON")]
    Empty,
    /// The body is not JSON (a syntax error, or it ends early): 400.
    #[error("the body is not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// The body is JSON, but not of the expected shape (a missing field, a wrong type): 400.
    #[error("the JSON body does not fit: {0}")]
    Shape(#[source] serde_json::Error),
}

fn received(content_type: &Option<String>) -> String {
    match content_type {
        Some(content_type) => format!(", not {content_type}"),
        None => String::new(),
    }
}

impl JsonBodyError {
    /// The status to answer: 415 for [`JsonBodyError::NotJson`], 400 otherwise.
    ///
    /// ```
    /// # use fezz_abi::Request;
    /// let error = Request::new("POST", "/").json::<u32>().unwrap_err();
    /// assert_eq!(error.status(), 415);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            JsonBodyError::NotJson { .. } => 415,
            _ => 400,
        }
    }

    /// A stable name: `unsupported-media-type`, `empty-body`, `invalid-json` or
    /// `invalid-shape`.
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("POST", "/");
    /// request.headers.push(Header::new("content-type", "application/json"));
    /// request.body = b"[1,".to_vec();
    /// assert_eq!(request.json::<Vec<u32>>().unwrap_err().code(), "invalid-json");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            JsonBodyError::NotJson { .. } => "unsupported-media-type",
            JsonBodyError::Empty => "empty-body",
            JsonBodyError::Syntax(_) => "invalid-json",
            JsonBodyError::Shape(_) => "invalid-shape",
        }
    }
}

impl Request {
    /// Reads the body as JSON into `T`, after checking that the `content-type` says JSON
    /// ([`Request::has_json_body`]) and that the body is not empty. `T` may borrow from the
    /// request (`&str` fields). Feature `json`.
    ///
    /// ```
    /// # use fezz_abi::{Header, Request};
    /// let mut request = Request::new("POST", "/");
    /// request.headers.push(Header::new("content-type", "application/json; charset=utf-8"));
    /// request.body = br#"["a", "b"]"#.to_vec();
    /// assert_eq!(request.json::<Vec<&str>>().unwrap(), ["a", "b"]);
    /// request.body = br#"{"a": 1}"#.to_vec();
    /// assert_eq!(request.json::<Vec<&str>>().unwrap_err().code(), "invalid-shape");
    /// ```
    pub fn json<'a, T: Deserialize<'a>>(&'a self) -> Result<T, JsonBodyError> {
        if !self.has_json_body() {
            return Err(JsonBodyError::NotJson {
                content_type: self
                    .header("content-type")
                    .map(|value| String::from_utf8_lossy(value).into_owned()),
            });
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(JsonBodyError::Empty);
        }
        serde_json::from_slice(&self.body).map_err(|error| match error.classify() {
            serde_json::error::Category::Data => JsonBodyError::Shape(error),
            _ => JsonBodyError::Syntax(error),
        })
    }
}

impl Response {
    /// An `application/json` response with `value` serialized compactly. Feature `json`.
    ///
    /// If `value` cannot be serialized (a map with non-string keys, a failing `Serialize`
    /// impl), the answer is a 500 with the `json-serialize-failed` error attached, which the
    /// host logs, as for a panic.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::json(200, &serde_json::json!({"ok": true}));
    /// assert_eq!(response.header("content-type"), Some(&b"application/json"[..]));
    /// assert_eq!(response.body, br#"{"ok":true}"#);
    /// ```
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
        match serde_json::to_string(value) {
            Ok(text) => Response::json_text(status, text),
            Err(error) => serialize_failed(error),
        }
    }

    /// As [`Response::json`], pretty-printed with a final newline (for APIs read with curl).
    /// Feature `json`.
    ///
    /// ```
    /// # use fezz_abi::Response;
    /// let response = Response::json_pretty(200, &[1, 2]);
    /// assert_eq!(response.body, b"[\n  1,\n  2\n]\n");
    /// ```
    pub fn json_pretty<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
        match serde_json::to_string_pretty(value) {
            Ok(mut text) => {
                text.push('\n');
                Response::json_text(status, text)
            }
            Err(error) => serialize_failed(error),
        }
    }
}

fn serialize_failed(error: serde_json::Error) -> Response {
    error_response(WireError::new(
        "json-serialize-failed",
        format!("the response body could not be serialized as JSON: {error}"),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Header;

    fn json_request(content_type: Option<&str>, body: &str) -> Request {
        let mut request = Request::new("POST", "/");
        if let Some(content_type) = content_type {
            request
                .headers
                .push(Header::new("content-type", content_type));
        }
        request.body = body.as_bytes().to_vec();
        request
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Todo {
        title: String,
        done: Option<bool>,
    }

    #[test]
    fn reads_json_of_the_right_content_type() {
        for content_type in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            let request = json_request(Some(content_type), r#" {"title": "x"} "#);
            assert_eq!(
                request.json::<Todo>().unwrap(),
                Todo {
                    title: "x".into(),
                    done: None
                },
                "{content_type}"
            );
        }
    }

    #[test]
    fn every_failure_has_its_variant_status_and_code() {
        let cases = [
            (json_request(None, "{}"), 415, "unsupported-media-type"),
            (
                json_request(Some("text/plain"), "{}"),
                415,
                "unsupported-media-type",
            ),
            (
                json_request(Some("application/jsonx"), "{}"),
                415,
                "unsupported-media-type",
            ),
            (
                json_request(Some("application/json"), ""),
                400,
                "empty-body",
            ),
            (
                json_request(Some("application/json"), " \n\t"),
                400,
                "empty-body",
            ),
            (
                json_request(Some("application/json"), "{\"title\""),
                400,
                "invalid-json",
            ),
            (
                json_request(Some("application/json"), "\u{feff}{}"),
                400,
                "invalid-json",
            ),
            (
                json_request(Some("application/json"), r#"{"title": "x"} x"#),
                400,
                "invalid-json",
            ),
            (
                json_request(Some("application/json"), r#"{"title": 5}"#),
                400,
                "invalid-shape",
            ),
            (
                json_request(Some("application/json"), r#"{"done": true}"#),
                400,
                "invalid-shape",
            ),
        ];
        for (request, status, code) in cases {
            let error = request.json::<Todo>().unwrap_err();
            assert_eq!((error.status(), error.code()), (status, code), "{error}");
        }
        let error = json_request(Some("text/plain"), "{}")
            .json::<Todo>()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the body must be JSON (content-type: application/json), not text/plain"
        );
    }

    #[test]
    fn responses_serialize_and_a_failure_is_a_logged_500() {
        let response = Response::json(201, &vec!["a"]);
        assert_eq!(
            (response.status, &response.body[..]),
            (201, &br#"["a"]"#[..])
        );
        assert!(response.validate().is_ok());

        // serde_json refuses maps whose keys are not strings.
        let mut bad = BTreeMap::new();
        bad.insert(vec![1u8], 1);
        for response in [Response::json(200, &bad), Response::json_pretty(200, &bad)] {
            assert_eq!(response.status, 500);
            assert_eq!(response.error.unwrap().code, "json-serialize-failed");
        }
    }
}
