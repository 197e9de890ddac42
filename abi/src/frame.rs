//! Framing of the runner process protocol (`spec/RUNNER.md`, "Framing").
//!
//! A frame is an 8-byte header, `"FZ"`, a kind byte, a reserved zero byte and the payload
//! length as a big-endian u32, followed by that many payload bytes (one CBOR message). The
//! length is checked against [`MAX_MESSAGE_BYTES`] before a single payload byte is read or
//! allocated. Frames follow each other with nothing in between, so one process can serve many
//! calls in sequence; end of input exactly at a frame boundary ends the stream cleanly.

use std::io::{self, Read, Write};

use crate::limits::{FRAME_HEADER_BYTES, MAX_MESSAGE_BYTES};

/// The two bytes every frame starts with: ASCII `FZ`.
pub const FRAME_MAGIC: [u8; 2] = *b"FZ";

/// What a frame's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// A `fezz-request`, host to runner.
    Request = 1,
    /// A `fezz-response`, runner to host.
    Response = 2,
    /// A `fezz-error`, runner to host, when the runner could not produce a response.
    Error = 3,
}

impl FrameKind {
    /// The kind with this byte value, if any.
    pub fn from_byte(byte: u8) -> Option<FrameKind> {
        match byte {
            1 => Some(FrameKind::Request),
            2 => Some(FrameKind::Response),
            3 => Some(FrameKind::Error),
            _ => None,
        }
    }
}

/// One frame: its kind and its payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// What the payload is.
    pub kind: FrameKind,
    /// The CBOR message.
    pub payload: Vec<u8>,
}

/// Why a frame could not be read. The names in backticks are the spec's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// `frame-truncated`: the input ended inside a frame.
    #[error("frame-truncated: input ended after {read} of {expected} bytes of a frame")]
    Truncated {
        /// Bytes of the frame that arrived.
        read: usize,
        /// Bytes the frame needed (header, or header plus payload).
        expected: usize,
    },
    /// `frame-bad-magic`: the frame does not start with `FZ`.
    #[error(
        "frame-bad-magic: a frame must start with \"FZ\" (0x46 0x5a), found 0x{0:02x} 0x{1:02x}"
    )]
    BadMagic(u8, u8),
    /// `frame-bad-kind`: unknown kind byte, or a non-zero reserved byte.
    #[error("frame-bad-kind: kind byte {kind} with reserved byte {reserved} (kinds are 1, 2, 3; reserved must be 0)")]
    BadKind {
        /// The kind byte found.
        kind: u8,
        /// The reserved byte found.
        reserved: u8,
    },
    /// `frame-too-large`: the header claims more than [`MAX_MESSAGE_BYTES`].
    #[error("frame-too-large: the frame claims {length} payload bytes, more than the limit of {MAX_MESSAGE_BYTES}")]
    TooLarge {
        /// The claimed payload length.
        length: u64,
    },
    /// Reading failed for a reason other than end of input.
    #[error("reading a frame failed: {0}")]
    Io(#[from] io::Error),
}

impl FrameError {
    /// The spec's name for this error (`frame-io` for I/O failures).
    pub fn name(&self) -> &'static str {
        match self {
            FrameError::Truncated { .. } => "frame-truncated",
            FrameError::BadMagic(..) => "frame-bad-magic",
            FrameError::BadKind { .. } => "frame-bad-kind",
            FrameError::TooLarge { .. } => "frame-too-large",
            FrameError::Io(_) => "frame-io",
        }
    }
}

/// Encodes a frame header for a payload of `length` bytes.
///
/// # Panics
/// If `length` exceeds [`MAX_MESSAGE_BYTES`]; encoders never produce such payloads.
pub fn frame_header(kind: FrameKind, length: usize) -> [u8; FRAME_HEADER_BYTES] {
    assert!(
        length <= MAX_MESSAGE_BYTES,
        "frame payload past MAX_MESSAGE_BYTES"
    );
    let length = (length as u32).to_be_bytes();
    [
        FRAME_MAGIC[0],
        FRAME_MAGIC[1],
        kind as u8,
        0,
        length[0],
        length[1],
        length[2],
        length[3],
    ]
}

/// Writes one frame and flushes.
pub fn write_frame(writer: &mut impl Write, kind: FrameKind, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "frame payload of {} bytes is past MAX_MESSAGE_BYTES",
                payload.len()
            ),
        ));
    }
    writer.write_all(&frame_header(kind, payload.len()))?;
    writer.write_all(payload)?;
    writer.flush()
}

/// Parses a frame header; returns the kind and the payload length (already bounded).
pub fn parse_frame_header(
    header: &[u8; FRAME_HEADER_BYTES],
) -> Result<(FrameKind, usize), FrameError> {
    if header[..2] != FRAME_MAGIC {
        return Err(FrameError::BadMagic(header[0], header[1]));
    }
    let kind = match (FrameKind::from_byte(header[2]), header[3]) {
        (Some(kind), 0) => kind,
        _ => {
            return Err(FrameError::BadKind {
                kind: header[2],
                reserved: header[3],
            })
        }
    };
    let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if length as usize > MAX_MESSAGE_BYTES {
        return Err(FrameError::TooLarge {
            length: length.into(),
        });
    }
    Ok((kind, length as usize))
}

/// Reads the next frame. `Ok(None)`: the input ended cleanly at a frame boundary.
pub fn read_frame(reader: &mut impl Read) -> Result<Option<Frame>, FrameError> {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    let read = read_full(reader, &mut header)?;
    if read == 0 {
        return Ok(None);
    }
    if read < FRAME_HEADER_BYTES {
        return Err(FrameError::Truncated {
            read,
            expected: FRAME_HEADER_BYTES,
        });
    }
    let (kind, length) = parse_frame_header(&header)?;
    // The length is bounded, but the bytes may never come: grow as they arrive.
    let mut payload = Vec::new();
    let got = reader.take(length as u64).read_to_end(&mut payload)?;
    if got < length {
        return Err(FrameError::Truncated {
            read: FRAME_HEADER_BYTES + got,
            expected: FRAME_HEADER_BYTES + length,
        });
    }
    Ok(Some(Frame { kind, payload }))
}

/// Splits one frame off the front of `bytes`; returns it and the rest.
pub fn split_frame(bytes: &[u8]) -> Result<(FrameKind, &[u8], &[u8]), FrameError> {
    let Some(header) = bytes.first_chunk::<FRAME_HEADER_BYTES>() else {
        return Err(FrameError::Truncated {
            read: bytes.len(),
            expected: FRAME_HEADER_BYTES,
        });
    };
    let (kind, length) = parse_frame_header(header)?;
    let rest = &bytes[FRAME_HEADER_BYTES..];
    if rest.len() < length {
        return Err(FrameError::Truncated {
            read: bytes.len(),
            expected: FRAME_HEADER_BYTES + length,
        });
    }
    Ok((kind, &rest[..length], &rest[length..]))
}

fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}
