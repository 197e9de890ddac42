//! Codec errors: [`DecodeError`] and [`EncodeError`], both classified by [`ErrorKind`].
//!
//! Each kind has a stable kebab-case name ([`ErrorKind::name`]) that is the error's name in
//! `spec/CBOR-PROFILE.md` and in the `expect.error` field of invalid vectors.

use std::fmt;

/// Why bytes are not a valid message, or why a value cannot be encoded. The names are the
/// spec's error names; `spec/CBOR-PROFILE.md` ("Decoder errors") defines each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `truncated`: the input ends inside an item.
    Truncated,
    /// `trailing-bytes`: bytes follow the message's top-level item.
    TrailingBytes,
    /// `malformed`: the bytes are not well-formed CBOR (reserved additional information, a
    /// stray break, a badly chunked indefinite-length string).
    Malformed,
    /// `wrong-type`: a well-formed item of the wrong CBOR type for its place.
    WrongType,
    /// `missing-key`: a required map key is absent.
    MissingKey,
    /// `duplicate-key`: a map has the same key twice.
    DuplicateKey,
    /// `invalid-utf8`: a text string is not valid UTF-8.
    InvalidUtf8,
    /// `too-deep`: arrays and maps nest past `MAX_NESTING_DEPTH`.
    TooDeep,
    /// `too-large`: a size past one of the limits in [`limits`](crate::limits).
    TooLarge,
    /// `unsupported-version`: the message's protocol version is not 2.
    UnsupportedVersion,
    /// `invalid-value`: the right type, but a value the spec forbids (a status outside
    /// 200..=599, a method or header name that is not an HTTP token, a header value with a
    /// control byte other than HTAB, a path that does not start with `/`).
    InvalidValue,
}

impl ErrorKind {
    /// Every kind, in spec order.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Truncated,
        ErrorKind::TrailingBytes,
        ErrorKind::Malformed,
        ErrorKind::WrongType,
        ErrorKind::MissingKey,
        ErrorKind::DuplicateKey,
        ErrorKind::InvalidUtf8,
        ErrorKind::TooDeep,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedVersion,
        ErrorKind::InvalidValue,
    ];

    /// The spec's name for this kind, e.g. `duplicate-key`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::TrailingBytes => "trailing-bytes",
            ErrorKind::Malformed => "malformed",
            ErrorKind::WrongType => "wrong-type",
            ErrorKind::MissingKey => "missing-key",
            ErrorKind::DuplicateKey => "duplicate-key",
            ErrorKind::InvalidUtf8 => "invalid-utf8",
            ErrorKind::TooDeep => "too-deep",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::UnsupportedVersion => "unsupported-version",
            ErrorKind::InvalidValue => "invalid-value",
        }
    }

    /// The kind with the spec name `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes that are not a valid message: what went wrong, where, and in which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}{}: {message}", field_suffix(.field))]
pub struct DecodeError {
    kind: ErrorKind,
    offset: usize,
    field: Option<&'static str>,
    message: String,
}

impl DecodeError {
    pub(crate) fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            offset,
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn in_field(mut self, field: &'static str) -> Self {
        self.field.get_or_insert(field);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset in the input of the item (or the end of input) that caused it.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The message field involved, in CDDL names (e.g. `headers`, `status`), if known.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// The readable explanation, without kind and offset.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A value that cannot be encoded because the decoder would reject it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {field}: {kind}: {message}")]
pub struct EncodeError {
    kind: ErrorKind,
    field: &'static str,
    message: String,
}

impl EncodeError {
    pub(crate) fn new(kind: ErrorKind, field: &'static str, message: impl Into<String>) -> Self {
        EncodeError {
            kind,
            field,
            message: message.into(),
        }
    }

    /// What kind of error this is (`too-large` or `invalid-value`).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message field involved, in CDDL names.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

fn field_suffix(field: &Option<&'static str>) -> String {
    match field {
        Some(field) => format!(" in `{field}`"),
        None => String::new(),
    }
}
