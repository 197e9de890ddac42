//! The decoder: CBOR bytes to [`Request`], [`Response`] and [`WireError`], following the
//! decoder rules of `spec/CBOR-PROFILE.md`.
//!
//! It accepts any well-formed encoding of a valid message (non-minimal lengths,
//! indefinite-length items, keys in any order, unknown keys) and rejects everything else with a
//! [`DecodeError`] carrying the byte offset. It never trusts a length prefix: a claimed size is
//! checked against the limits and the remaining input before anything is allocated, and
//! nesting is bounded by [`MAX_NESTING_DEPTH`], so no input can exhaust memory or the stack.

use ciborium_ll::{Decoder, Header as Head};

use crate::error::{DecodeError, ErrorKind};
use crate::limits::{
    MAX_BODY_BYTES, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES, MAX_MAP_ENTRIES,
    MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH, MAX_STRING_CHUNKS, MAX_TEXT_BYTES,
};
use crate::message::{Header, Request, RequestContext, Response, WireError};
use crate::validate::{self, Violation};
use crate::WIRE_VERSION;

/// Decodes a `fezz-request` from exactly `input` (no trailing bytes).
pub fn decode_request(input: &[u8]) -> Result<Request, DecodeError> {
    whole_message(input, |reader| reader.request())
}

/// Decodes a `fezz-response` from exactly `input` (no trailing bytes).
pub fn decode_response(input: &[u8]) -> Result<Response, DecodeError> {
    whole_message(input, |reader| reader.response())
}

/// Decodes a `fezz-error` from exactly `input` (no trailing bytes).
pub fn decode_error(input: &[u8]) -> Result<WireError, DecodeError> {
    whole_message(input, |reader| reader.wire_error(1))
}

fn whole_message<T>(
    input: &[u8],
    read: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    if input.len() > MAX_MESSAGE_BYTES {
        let (kind, message) = validate::too_large("message", input.len(), MAX_MESSAGE_BYTES);
        return Err(DecodeError::new(kind, 0, message));
    }
    let mut reader = Reader { input, position: 0 };
    let value = read(&mut reader)?;
    if reader.position != input.len() {
        return Err(DecodeError::new(
            ErrorKind::TrailingBytes,
            reader.position,
            format!(
                "{} bytes follow the end of the message",
                input.len() - reader.position
            ),
        ));
    }
    Ok(value)
}

/// A position in the input. Cheap to copy, which is how indefinite-length strings are measured
/// before they are copied.
#[derive(Clone, Copy)]
struct Reader<'a> {
    input: &'a [u8],
    position: usize,
}

/// Which CBOR string type a field has.
#[derive(Clone, Copy, PartialEq)]
enum StringType {
    Bytes,
    Text,
}

impl<'a> Reader<'a> {
    fn error(&self, kind: ErrorKind, offset: usize, message: impl Into<String>) -> DecodeError {
        DecodeError::new(kind, offset, message)
    }

    fn violation(&self, offset: usize, (kind, message): Violation) -> DecodeError {
        DecodeError::new(kind, offset, message)
    }

    /// Reads one item head; returns its offset and the head.
    fn head(&mut self) -> Result<(usize, Head), DecodeError> {
        let start = self.position;
        let mut decoder = Decoder::from(&self.input[start..]);
        match decoder.pull() {
            // RFC 8949 §3.3: a one-byte simple value below 32 is not well-formed (ciborium-ll
            // accepts it, so the check lives here).
            Ok(Head::Simple(value)) if value < 32 && self.input[start] == 0xf8 => Err(self.error(
                ErrorKind::Malformed,
                start,
                format!("simple value {value} encoded in two bytes is not well-formed"),
            )),
            Ok(head) => {
                self.position = start + decoder.offset();
                Ok((start, head))
            }
            Err(ciborium_ll::Error::Io(_)) => Err(self.error(
                ErrorKind::Truncated,
                self.input.len(),
                "input ends inside an item head",
            )),
            Err(ciborium_ll::Error::Syntax(offset)) => Err(self.error(
                ErrorKind::Malformed,
                start + offset,
                "not well-formed CBOR (reserved or invalid additional information)",
            )),
        }
    }

    /// True, consuming it, if the next item is a break (end of an indefinite-length item).
    fn at_break(&mut self) -> Result<bool, DecodeError> {
        let saved = self.position;
        let (_, head) = self.head()?;
        if matches!(head, Head::Break) {
            Ok(true)
        } else {
            self.position = saved;
            Ok(false)
        }
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.position
    }

    /// Takes `length` payload bytes after a string head.
    fn payload(&mut self, length: usize) -> Result<&'a [u8], DecodeError> {
        if length > self.remaining() {
            return Err(self.error(
                ErrorKind::Truncated,
                self.input.len(),
                format!(
                    "a string claims {length} bytes but only {} remain",
                    self.remaining()
                ),
            ));
        }
        let bytes = &self.input[self.position..self.position + length];
        self.position += length;
        Ok(bytes)
    }

    /// Reads the payload of a string whose head (at `start`) has already been read; checks
    /// `max` before allocating and validates UTF-8 for text, chunk by chunk.
    fn string_payload(
        &mut self,
        start: usize,
        length: Option<usize>,
        string_type: StringType,
        max: usize,
        what: &str,
    ) -> Result<Vec<u8>, DecodeError> {
        let check_utf8 = |reader: &Self, offset: usize, bytes: &[u8]| {
            if string_type == StringType::Text && std::str::from_utf8(bytes).is_err() {
                return Err(reader.error(
                    ErrorKind::InvalidUtf8,
                    offset,
                    format!("{what} is not valid UTF-8"),
                ));
            }
            Ok(())
        };
        if let Some(length) = length {
            if length > max {
                return Err(self.violation(start, validate::too_large(what, length, max)));
            }
            let offset = self.position;
            let bytes = self.payload(length)?;
            check_utf8(self, offset, bytes)?;
            return Ok(bytes.to_vec());
        }
        // Indefinite length: measure first (no allocation), then copy exactly once.
        let mut measure = *self;
        let mut total = 0usize;
        let mut chunks = 0usize;
        loop {
            let (chunk_start, head) = measure.head()?;
            let chunk_length = match (head, string_type) {
                (Head::Break, _) => break,
                (Head::Bytes(Some(n)), StringType::Bytes) | (Head::Text(Some(n)), StringType::Text) => n,
                _ => {
                    return Err(self.error(
                        ErrorKind::Malformed,
                        chunk_start,
                        format!("a chunk of the indefinite-length {what} is not a definite-length string of the same type"),
                    ))
                }
            };
            chunks += 1;
            if chunks > MAX_STRING_CHUNKS {
                return Err(self.violation(
                    chunk_start,
                    validate::too_large(&format!("{what} chunk list"), chunks, MAX_STRING_CHUNKS),
                ));
            }
            total = total.saturating_add(chunk_length);
            if total > max {
                return Err(self.violation(start, validate::too_large(what, total, max)));
            }
            let offset = measure.position;
            let chunk = measure.payload(chunk_length)?;
            check_utf8(self, offset, chunk)?;
        }
        let mut bytes = Vec::with_capacity(total);
        loop {
            let (_, head) = self.head()?;
            match head {
                Head::Bytes(Some(n)) | Head::Text(Some(n)) => {
                    bytes.extend_from_slice(self.payload(n)?)
                }
                _ => break,
            }
        }
        Ok(bytes)
    }

    fn bytes(&mut self, max: usize, what: &str) -> Result<Vec<u8>, DecodeError> {
        let (start, head) = self.head()?;
        match head {
            Head::Bytes(length) => self.string_payload(start, length, StringType::Bytes, max, what),
            other => Err(self.wrong_type(start, what, "a byte string", other)),
        }
    }

    fn text(&mut self, max: usize, what: &str) -> Result<String, DecodeError> {
        let (start, head) = self.head()?;
        match head {
            Head::Text(length) => {
                let bytes = self.string_payload(start, length, StringType::Text, max, what)?;
                // Checked chunk by chunk above; chunks of valid UTF-8 concatenate to valid UTF-8.
                Ok(String::from_utf8(bytes).expect("validated as UTF-8"))
            }
            other => Err(self.wrong_type(start, what, "a text string", other)),
        }
    }

    fn unsigned(&mut self, what: &str) -> Result<(usize, u64), DecodeError> {
        let (start, head) = self.head()?;
        match head {
            Head::Positive(value) => Ok((start, value)),
            other => Err(self.wrong_type(start, what, "an unsigned integer", other)),
        }
    }

    fn wrong_type(&self, offset: usize, what: &str, expected: &str, found: Head) -> DecodeError {
        let found = match found {
            Head::Positive(_) => "an unsigned integer",
            Head::Negative(_) => "a negative integer",
            Head::Float(_) => "a float",
            Head::Simple(_) => "a simple value",
            Head::Tag(_) => "a tag",
            Head::Break => "a break",
            Head::Bytes(_) => "a byte string",
            Head::Text(_) => "a text string",
            Head::Array(_) => "an array",
            Head::Map(_) => "a map",
        };
        if matches!(found, "a break") {
            return self.error(ErrorKind::Malformed, offset, "unexpected break");
        }
        self.error(
            ErrorKind::WrongType,
            offset,
            format!("{what} must be {expected}, found {found}"),
        )
    }

    fn enter(&self, offset: usize, level: usize) -> Result<(), DecodeError> {
        if level > MAX_NESTING_DEPTH {
            return Err(self.error(
                ErrorKind::TooDeep,
                offset,
                format!("nesting deeper than {MAX_NESTING_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// Skips one well-formed item of any type; containers in it start at `level`.
    fn skip(&mut self, level: usize) -> Result<(), DecodeError> {
        let (start, head) = self.head()?;
        match head {
            Head::Positive(_) | Head::Negative(_) | Head::Float(_) | Head::Simple(_) => Ok(()),
            Head::Break => Err(self.error(ErrorKind::Malformed, start, "unexpected break")),
            Head::Tag(_) => {
                self.enter(start, level)?;
                self.skip(level + 1)
            }
            Head::Bytes(length) => self
                .string_payload(
                    start,
                    length,
                    StringType::Bytes,
                    MAX_MESSAGE_BYTES,
                    "unknown value",
                )
                .map(drop),
            Head::Text(length) => self
                .string_payload(
                    start,
                    length,
                    StringType::Text,
                    MAX_MESSAGE_BYTES,
                    "unknown value",
                )
                .map(drop),
            Head::Array(length) => {
                self.enter(start, level)?;
                self.items(length, |reader| reader.skip(level + 1))
            }
            Head::Map(length) => {
                self.enter(start, level)?;
                self.limit_map_entries(start, length)?;
                let mut entries = 0;
                self.items(length, |reader| {
                    entries += 1;
                    reader.limit_map_entries(start, Some(entries))?;
                    reader.skip(level + 1)?;
                    reader.skip(level + 1)
                })
            }
        }
    }

    /// Calls `item` once per element of an array (or map entry) with the given length; for
    /// an indefinite length, until the break.
    fn items(
        &mut self,
        length: Option<usize>,
        mut item: impl FnMut(&mut Self) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        match length {
            Some(count) => (0..count).try_for_each(|_| item(self)),
            None => {
                while !self.at_break()? {
                    item(self)?;
                }
                Ok(())
            }
        }
    }

    fn limit_map_entries(&self, start: usize, length: Option<usize>) -> Result<(), DecodeError> {
        match length {
            Some(entries) if entries > MAX_MAP_ENTRIES => {
                Err(self.violation(start, validate::too_large("map", entries, MAX_MAP_ENTRIES)))
            }
            _ => Ok(()),
        }
    }

    /// Reads a message map at `level`: unsigned-integer keys, no duplicates, unknown keys
    /// skipped. `field` is called for each key with the reader positioned at its value and
    /// returns false for keys it does not know.
    fn message_map(
        &mut self,
        level: usize,
        what: &'static str,
        mut field: impl FnMut(&mut Self, u64) -> Result<bool, DecodeError>,
    ) -> Result<usize, DecodeError> {
        let (start, head) = self.head()?;
        let length = match head {
            Head::Map(length) => length,
            other => return Err(self.wrong_type(start, what, "a map", other)),
        };
        self.enter(start, level)?;
        self.limit_map_entries(start, length)?;
        // Keys seen so far, on the stack: a map has at most MAX_MAP_ENTRIES of them.
        let mut seen = [0u64; MAX_MAP_ENTRIES];
        let mut seen_count = 0;
        self.items(length, |reader| {
            let (key_start, head) = reader.head()?;
            let key = match head {
                Head::Positive(key) => key,
                other => {
                    return Err(reader.wrong_type(
                        key_start,
                        &format!("a key of {what}"),
                        "an unsigned integer",
                        other,
                    ))
                }
            };
            if seen[..seen_count].contains(&key) {
                return Err(reader.error(
                    ErrorKind::DuplicateKey,
                    key_start,
                    format!("key {key} appears twice in {what}"),
                ));
            }
            reader.limit_map_entries(start, Some(seen_count + 1))?;
            seen[seen_count] = key;
            seen_count += 1;
            if !field(reader, key)? {
                reader.skip(level + 1)?;
            }
            Ok(())
        })?;
        Ok(start)
    }

    fn missing(&self, map_start: usize, what: &str, key: u64, name: &str) -> DecodeError {
        self.error(
            ErrorKind::MissingKey,
            map_start,
            format!("{what} has no key {key} ({name})"),
        )
    }

    fn version(&mut self) -> Result<(), DecodeError> {
        let (start, version) = self.unsigned("version")?;
        if version != u64::from(WIRE_VERSION) {
            return Err(self.error(
                ErrorKind::UnsupportedVersion,
                start,
                format!("protocol version {version} is not supported (this decoder speaks {WIRE_VERSION})"),
            ));
        }
        Ok(())
    }

    fn checked<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
        check: impl FnOnce(&T) -> Result<(), Violation>,
    ) -> Result<T, DecodeError> {
        let start = self.position;
        let value = read(self).map_err(|error| error.in_field(field))?;
        check(&value).map_err(|violation| self.violation(start, violation).in_field(field))?;
        Ok(value)
    }

    fn headers(&mut self, level: usize) -> Result<Vec<Header>, DecodeError> {
        let (start, head) = self.head()?;
        let length = match head {
            Head::Array(length) => length,
            other => return Err(self.wrong_type(start, "headers", "an array", other)),
        };
        self.enter(start, level)?;
        if let Some(count) = length {
            validate::header_count(count).map_err(|violation| self.violation(start, violation))?;
        }
        let mut headers = Vec::with_capacity(length.unwrap_or(0));
        self.items(length, |reader| {
            validate::header_count(headers.len() + 1)
                .map_err(|violation| reader.violation(start, violation))?;
            let (pair_start, head) = reader.head()?;
            reader.enter(pair_start, level + 1)?;
            let definite = match head {
                Head::Array(Some(2)) => true,
                Head::Array(None) => false,
                _ => {
                    return Err(reader.error(
                        ErrorKind::WrongType,
                        pair_start,
                        "a header must be a two-element array [name, value]",
                    ))
                }
            };
            // An indefinite-length pair that ends (a break) before its name or value is well-formed
            // CBOR with too few items: wrong-type, like a definite-length pair of one item.
            let ends_early = |reader: &mut Self| -> Result<(), DecodeError> {
                if !definite && reader.at_break()? {
                    return Err(reader.error(
                        ErrorKind::WrongType,
                        pair_start,
                        "a header must be a two-element array [name, value]",
                    ));
                }
                Ok(())
            };
            ends_early(reader)?;
            let name = reader.checked(
                "headers",
                |reader| reader.text(MAX_HEADER_NAME_BYTES, "header name"),
                |name| validate::header_name(name),
            )?;
            ends_early(reader)?;
            let value = reader.checked(
                "headers",
                |reader| reader.bytes(MAX_HEADER_VALUE_BYTES, "header value"),
                |value| validate::named_header_value(&name, value),
            )?;
            if !definite && !reader.at_break()? {
                return Err(reader.error(
                    ErrorKind::WrongType,
                    pair_start,
                    "a header must be a two-element array [name, value]",
                ));
            }
            headers.push(Header { name, value });
            Ok(())
        })?;
        Ok(headers)
    }

    fn request(&mut self) -> Result<Request, DecodeError> {
        let (mut version, mut method, mut path, mut query) = (false, None, None, None);
        let (mut headers, mut body, mut context) = (None, None, None);
        let start = self.message_map(1, "request", |reader, key| {
            match key {
                0 => version = reader.version().map(|()| true)?,
                1 => {
                    method = Some(reader.checked(
                        "method",
                        |reader| reader.text(MAX_TEXT_BYTES, "method"),
                        |method| validate::method(method),
                    )?)
                }
                2 => {
                    path = Some(reader.checked(
                        "path",
                        |reader| reader.text(MAX_TEXT_BYTES, "path"),
                        |path| validate::path(path),
                    )?)
                }
                3 => {
                    query = Some(
                        reader
                            .text(MAX_TEXT_BYTES, "query")
                            .map_err(|e| e.in_field("query"))?,
                    )
                }
                4 => headers = Some(reader.headers(2).map_err(|e| e.in_field("headers"))?),
                5 => {
                    body = Some(
                        reader
                            .bytes(MAX_BODY_BYTES, "body")
                            .map_err(|e| e.in_field("body"))?,
                    )
                }
                6 => context = Some(reader.context(2).map_err(|e| e.in_field("context"))?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let missing = |key, name| self.missing(start, "request", key, name);
        if !version {
            return Err(missing(0, "version"));
        }
        Ok(Request {
            method: method.ok_or_else(|| missing(1, "method"))?,
            path: path.ok_or_else(|| missing(2, "path"))?,
            query,
            headers: headers.ok_or_else(|| missing(4, "headers"))?,
            body: body.ok_or_else(|| missing(5, "body"))?,
            context: context.ok_or_else(|| missing(6, "context"))?,
        })
    }

    fn context(&mut self, level: usize) -> Result<RequestContext, DecodeError> {
        let mut context = RequestContext::default();
        let (mut function_id, mut function_version, mut request_id) = (false, false, false);
        let start = self.message_map(level, "context", |reader, key| {
            let mut text = |what| reader.text(MAX_TEXT_BYTES, what);
            match key {
                0 => (context.function_id, function_id) = (text("function-id")?, true),
                1 => {
                    (context.function_version, function_version) = (text("function-version")?, true)
                }
                2 => (context.request_id, request_id) = (text("request-id")?, true),
                3 => context.deadline_unix_ms = Some(reader.unsigned("deadline")?.1),
                4 => context.client_address = Some(text("client-address")?),
                5 => context.scheme = Some(text("scheme")?),
                6 => context.host = Some(text("host")?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        for (present, key, name) in [
            (function_id, 0, "function-id"),
            (function_version, 1, "function-version"),
            (request_id, 2, "request-id"),
        ] {
            if !present {
                return Err(self.missing(start, "context", key, name));
            }
        }
        Ok(context)
    }

    fn response(&mut self) -> Result<Response, DecodeError> {
        let (mut version, mut status, mut headers, mut body, mut error) =
            (false, None, None, None, None);
        let start = self.message_map(1, "response", |reader, key| {
            match key {
                0 => version = reader.version().map(|()| true)?,
                1 => {
                    let (start, value) = reader
                        .unsigned("status")
                        .map_err(|e| e.in_field("status"))?;
                    status = Some(validate::status(value).map_err(|violation| {
                        reader.violation(start, violation).in_field("status")
                    })?);
                }
                2 => headers = Some(reader.headers(2).map_err(|e| e.in_field("headers"))?),
                3 => {
                    body = Some(
                        reader
                            .bytes(MAX_BODY_BYTES, "body")
                            .map_err(|e| e.in_field("body"))?,
                    )
                }
                4 => error = Some(reader.wire_error(2).map_err(|e| e.in_field("error"))?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        if !version {
            return Err(self.missing(start, "response", 0, "version"));
        }
        Ok(Response {
            status: status.ok_or_else(|| self.missing(start, "response", 1, "status"))?,
            headers: headers.unwrap_or_default(),
            body: body.unwrap_or_default(),
            error,
        })
    }

    fn wire_error(&mut self, level: usize) -> Result<WireError, DecodeError> {
        let (mut code, mut message) = (None, None);
        let start = self.message_map(level, "error", |reader, key| {
            match key {
                0 => code = Some(reader.text(MAX_TEXT_BYTES, "code")?),
                1 => message = Some(reader.text(MAX_TEXT_BYTES, "message")?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(WireError {
            code: code.ok_or_else(|| self.missing(start, "error", 0, "code"))?,
            message: message.ok_or_else(|| self.missing(start, "error", 1, "message"))?,
        })
    }
}
