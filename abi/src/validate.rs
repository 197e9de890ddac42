//! Value rules that CBOR types cannot express, shared by the decoder and the encoder so that
//! whatever fezz encodes, fezz decodes.

use crate::error::ErrorKind;
use crate::limits::{
    MAX_BODY_BYTES, MAX_HEADER_COUNT, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES, MAX_TEXT_BYTES,
};

/// A broken rule: its kind and a readable message.
pub(crate) type Violation = (ErrorKind, String);

/// RFC 9110 §5.6.2 `tchar`.
fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

pub(crate) fn token(what: &str, value: &str, max: usize) -> Result<(), Violation> {
    if value.len() > max {
        return Err(too_large(what, value.len(), max));
    }
    if value.is_empty() {
        return Err((ErrorKind::InvalidValue, format!("{what} is empty")));
    }
    if let Some(byte) = value.bytes().find(|byte| !is_token_char(*byte)) {
        return Err((
            ErrorKind::InvalidValue,
            format!("{what} {value:?} has byte 0x{byte:02x}, which is not an HTTP token character"),
        ));
    }
    Ok(())
}

pub(crate) fn method(value: &str) -> Result<(), Violation> {
    token("method", value, MAX_TEXT_BYTES)
}

pub(crate) fn header_name(value: &str) -> Result<(), Violation> {
    token("header name", value, MAX_HEADER_NAME_BYTES)
}

/// Whether a header value may hold `byte`: every byte but the control bytes HTTP cannot carry
/// (0x00-0x08, 0x0a-0x1f and 0x7f), so HTAB, SP, visible ASCII and obs-text (0x80-0xff), as
/// RFC 9110 §5.5 `field-value` allows them.
pub(crate) fn is_header_value_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= 0x20 && byte != 0x7f)
}

pub(crate) fn header_value(value: &[u8]) -> Result<(), Violation> {
    if value.len() > MAX_HEADER_VALUE_BYTES {
        return Err(too_large(
            "header value",
            value.len(),
            MAX_HEADER_VALUE_BYTES,
        ));
    }
    if let Some(index) = value.iter().position(|byte| !is_header_value_byte(*byte)) {
        return Err((
            ErrorKind::InvalidValue,
            format!(
                "header value has the control byte 0x{:02x} at index {index}, which HTTP cannot \
                 carry (a header value may hold tab, space, visible ASCII and bytes 0x80-0xff)",
                value[index]
            ),
        ));
    }
    Ok(())
}

/// [`header_value`], with the header's name in the message so that an author sees which
/// header broke the rule.
pub(crate) fn named_header_value(name: &str, value: &[u8]) -> Result<(), Violation> {
    header_value(value).map_err(|(kind, message)| (kind, format!("header {name:?}: {message}")))
}

pub(crate) fn header_count(count: usize) -> Result<(), Violation> {
    if count > MAX_HEADER_COUNT {
        return Err(too_large("header list", count, MAX_HEADER_COUNT));
    }
    Ok(())
}

pub(crate) fn path(value: &str) -> Result<(), Violation> {
    text("path", value)?;
    if value != "*" && !value.starts_with('/') {
        return Err((
            ErrorKind::InvalidValue,
            format!("path {value:?} does not start with '/' and is not \"*\""),
        ));
    }
    Ok(())
}

pub(crate) fn status(value: u64) -> Result<u16, Violation> {
    match u16::try_from(value) {
        Ok(status @ 200..=599) => Ok(status),
        Ok(status @ 100..=199) => Err((
            ErrorKind::InvalidValue,
            format!(
                "status {status} is informational (1xx), not a final response; a response's \
                 status must be 200..=599"
            ),
        )),
        _ => Err((
            ErrorKind::InvalidValue,
            format!("status {value} is outside 200..=599"),
        )),
    }
}

pub(crate) fn text(what: &str, value: &str) -> Result<(), Violation> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(too_large(what, value.len(), MAX_TEXT_BYTES));
    }
    Ok(())
}

pub(crate) fn body(value: &[u8]) -> Result<(), Violation> {
    if value.len() > MAX_BODY_BYTES {
        return Err(too_large("body", value.len(), MAX_BODY_BYTES));
    }
    Ok(())
}

pub(crate) fn too_large(what: &str, size: usize, max: usize) -> Violation {
    (
        ErrorKind::TooLarge,
        format!("{what} has {size} bytes or items, more than the limit of {max}"),
    )
}
