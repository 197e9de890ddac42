//! Every way a call can fail, and the one place that turns a failure into a response.

use fezz_abi::{Response, WireError};
use serde_json::json;

/// A failed call. [`ApiError::into_response`] is the only mapping to HTTP.
#[derive(Debug, PartialEq)]
pub enum ApiError {
    /// 404: no such path, or no todo with that id.
    NotFound(String),
    /// 405: the path exists but not with this method; `allow` goes in the `Allow` header.
    MethodNotAllowed {
        /// The methods the path accepts, as the `Allow` header lists them (`GET, HEAD`).
        allow: String,
    },
    /// 415: a body-carrying method without `content-type: application/json`.
    UnsupportedMediaType {
        /// The content type received, if any.
        received: Option<String>,
    },
    /// 400: the body is not JSON at all.
    InvalidJson(String),
    /// 400: the body is JSON but not an acceptable todo (missing, empty, too long or
    /// mistyped field, unknown field, not an object).
    InvalidTodo(String),
    /// 400: a query parameter has an unusable value.
    InvalidQuery(String),
    /// 500: the database failed (could not be opened, disk full, lock timeout, ...).
    Storage(rusqlite::Error),
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        ApiError::Storage(error)
    }
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::InvalidJson(_) | ApiError::InvalidTodo(_) | ApiError::InvalidQuery(_) => 400,
            ApiError::Storage(_) => 500,
        }
    }

    /// The stable kebab-case code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::UnsupportedMediaType { .. } => "unsupported-media-type",
            ApiError::InvalidJson(_) => "invalid-json",
            ApiError::InvalidTodo(_) => "invalid-todo",
            ApiError::InvalidQuery(_) => "invalid-query",
            ApiError::Storage(_) => "storage-error",
        }
    }

    /// The human-readable message in the JSON body.
    pub fn message(&self) -> String {
        match self {
            ApiError::NotFound(message)
            | ApiError::InvalidJson(message)
            | ApiError::InvalidTodo(message)
            | ApiError::InvalidQuery(message) => message.clone(),
            ApiError::MethodNotAllowed { allow } => {
                format!("method not allowed here; use {allow}")
            }
            ApiError::UnsupportedMediaType { received: None } => {
                "the body must be JSON: send content-type: application/json".to_owned()
            }
            ApiError::UnsupportedMediaType {
                received: Some(received),
            } => format!("the body must be JSON (content-type: application/json), not {received}"),
            ApiError::Storage(error) => format!("database error: {error}"),
        }
    }

    /// The response: the status, `{"error": {"code", "message", "request_id"?}}` as JSON (the
    /// shape hhrf's own errors have), `Allow` on 405, and on 500 the error attached for the
    /// host's log.
    pub fn into_response(self, request_id: &str) -> Response {
        let mut error = json!({ "code": self.code(), "message": self.message() });
        if !request_id.is_empty() {
            error["request_id"] = request_id.into();
        }
        let mut response = Response::json_pretty(self.status(), &json!({ "error": error }));
        match &self {
            ApiError::MethodNotAllowed { allow } => {
                response = response.with_header("allow", allow.as_str());
            }
            ApiError::Storage(_) => {
                response.error = Some(WireError::new(self.code(), self.message()));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response) -> serde_json::Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn every_error_is_json_with_code_and_message() {
        let response = ApiError::NotFound("no todo 9".into()).into_response("req-1");
        assert_eq!(response.status, 404);
        assert_eq!(
            response.header("content-type"),
            Some(&b"application/json"[..])
        );
        assert_eq!(
            body(&response),
            json!({"error": {"code": "not-found", "message": "no todo 9", "request_id": "req-1"}})
        );
        assert_eq!(response.error, None);
    }

    #[test]
    fn request_id_is_left_out_when_unknown() {
        let response = ApiError::InvalidJson("x".into()).into_response("");
        assert_eq!(
            body(&response),
            json!({"error": {"code": "invalid-json", "message": "x"}})
        );
    }

    #[test]
    fn method_not_allowed_sends_allow() {
        let response = ApiError::MethodNotAllowed {
            allow: "GET, POST".to_owned(),
        }
        .into_response("");
        assert_eq!(response.status, 405);
        assert_eq!(response.header("allow"), Some(&b"GET, POST"[..]));
    }

    #[test]
    fn storage_errors_are_500_and_reported_to_the_host() {
        let response = ApiError::Storage(rusqlite::Error::InvalidQuery).into_response("");
        assert_eq!(response.status, 500);
        assert_eq!(response.error.unwrap().code, "storage-error");
    }
}
