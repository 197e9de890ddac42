//! The encoder: [`Request`], [`Response`] and [`WireError`] to deterministic CBOR
//! (RFC 8949 §4.2.1), as `spec/CBOR-PROFILE.md` requires of everything fezz emits.
//!
//! Deterministic here means: minimal-length heads, definite lengths only, map keys in
//! ascending order (our keys are small unsigned integers, so numeric order is bytewise order),
//! and every field the CDDL allows emitted whenever it has a value. The encoder checks the
//! same rules the decoder enforces, so anything it produces decodes.

use ciborium_ll::{Encoder, Header as Head};

use crate::error::{EncodeError, ErrorKind};
use crate::limits::MAX_MESSAGE_BYTES;
use crate::message::{Header, Request, RequestContext, Response, WireError};
use crate::validate::{self, Violation};
use crate::WIRE_VERSION;

/// Encodes a request. Fails if a field breaks a rule or limit of the spec.
pub fn encode_request(request: &Request) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::with_capacity(request.body.len() + headers_size(&request.headers));
    writer.request(request)?;
    writer.finish()
}

/// Encodes a response. Fails if a field breaks a rule or limit of the spec.
pub fn encode_response(response: &Response) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::with_capacity(response.body.len() + headers_size(&response.headers));
    writer.response(response)?;
    writer.finish()
}

/// Encodes a structured error. Fails if a field is past [`MAX_TEXT_BYTES`](crate::limits::MAX_TEXT_BYTES).
pub fn encode_error(error: &WireError) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::default();
    writer.wire_error(error)?;
    writer.finish()
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

/// Roughly the encoded size of a header list, so one allocation usually holds the message.
fn headers_size(headers: &[Header]) -> usize {
    headers
        .iter()
        .map(|header| header.name.len() + header.value.len() + 8)
        .sum()
}

fn check(field: &'static str, result: Result<(), Violation>) -> Result<(), EncodeError> {
    result.map_err(|(kind, message)| EncodeError::new(kind, field, message))
}

impl Writer {
    /// A writer with room for `payload` bytes plus the small fields around them.
    fn with_capacity(payload: usize) -> Writer {
        Writer {
            bytes: Vec::with_capacity(payload.saturating_add(256).min(MAX_MESSAGE_BYTES)),
        }
    }

    fn head(&mut self, head: Head) {
        // Writing to a Vec cannot fail.
        Encoder::from(&mut self.bytes)
            .push(head)
            .expect("writing to a Vec cannot fail");
    }

    fn key(&mut self, key: u64) {
        self.head(Head::Positive(key));
    }

    fn unsigned(&mut self, value: u64) {
        self.head(Head::Positive(value));
    }

    fn text(&mut self, value: &str) {
        self.head(Head::Text(Some(value.len())));
        self.bytes.extend_from_slice(value.as_bytes());
    }

    fn byte_string(&mut self, value: &[u8]) {
        self.head(Head::Bytes(Some(value.len())));
        self.bytes.extend_from_slice(value);
    }

    fn checked_text(&mut self, field: &'static str, value: &str) -> Result<(), EncodeError> {
        check(field, validate::text(field, value))?;
        self.text(value);
        Ok(())
    }

    fn headers(&mut self, headers: &[Header]) -> Result<(), EncodeError> {
        check("headers", validate::header_count(headers.len()))?;
        self.head(Head::Array(Some(headers.len())));
        for header in headers {
            check("headers", validate::header_name(&header.name))?;
            check(
                "headers",
                validate::named_header_value(&header.name, &header.value),
            )?;
            self.head(Head::Array(Some(2)));
            self.text(&header.name);
            self.byte_string(&header.value);
        }
        Ok(())
    }

    fn request(&mut self, request: &Request) -> Result<(), EncodeError> {
        check("method", validate::method(&request.method))?;
        check("path", validate::path(&request.path))?;
        check("body", validate::body(&request.body))?;
        self.head(Head::Map(Some(6 + usize::from(request.query.is_some()))));
        self.key(0);
        self.unsigned(WIRE_VERSION.into());
        self.key(1);
        self.text(&request.method);
        self.key(2);
        self.text(&request.path);
        if let Some(query) = &request.query {
            self.key(3);
            self.checked_text("query", query)?;
        }
        self.key(4);
        self.headers(&request.headers)?;
        self.key(5);
        self.byte_string(&request.body);
        self.key(6);
        self.context(&request.context)
    }

    fn context(&mut self, context: &RequestContext) -> Result<(), EncodeError> {
        let optional_text = [
            (4, "client-address", &context.client_address),
            (5, "scheme", &context.scheme),
            (6, "host", &context.host),
        ];
        let entries = 3
            + usize::from(context.deadline_unix_ms.is_some())
            + optional_text
                .iter()
                .filter(|(_, _, value)| value.is_some())
                .count();
        self.head(Head::Map(Some(entries)));
        self.key(0);
        self.checked_text("function-id", &context.function_id)?;
        self.key(1);
        self.checked_text("function-version", &context.function_version)?;
        self.key(2);
        self.checked_text("request-id", &context.request_id)?;
        if let Some(deadline) = context.deadline_unix_ms {
            self.key(3);
            self.unsigned(deadline);
        }
        for (key, field, value) in optional_text {
            if let Some(value) = value {
                self.key(key);
                self.checked_text(field, value)?;
            }
        }
        Ok(())
    }

    fn response(&mut self, response: &Response) -> Result<(), EncodeError> {
        check("status", validate::status(response.status.into()).map(drop))?;
        check("body", validate::body(&response.body))?;
        self.head(Head::Map(Some(4 + usize::from(response.error.is_some()))));
        self.key(0);
        self.unsigned(WIRE_VERSION.into());
        self.key(1);
        self.unsigned(response.status.into());
        self.key(2);
        self.headers(&response.headers)?;
        self.key(3);
        self.byte_string(&response.body);
        if let Some(error) = &response.error {
            self.key(4);
            self.wire_error(error)?;
        }
        Ok(())
    }

    fn wire_error(&mut self, error: &WireError) -> Result<(), EncodeError> {
        self.head(Head::Map(Some(2)));
        self.key(0);
        self.checked_text("code", &error.code)?;
        self.key(1);
        self.checked_text("message", &error.message)
    }

    fn finish(self) -> Result<Vec<u8>, EncodeError> {
        if self.bytes.len() > MAX_MESSAGE_BYTES {
            return Err(EncodeError::new(
                ErrorKind::TooLarge,
                "message",
                format!(
                    "the encoded message has {} bytes, more than the limit of {MAX_MESSAGE_BYTES}",
                    self.bytes.len()
                ),
            ));
        }
        Ok(self.bytes)
    }
}
