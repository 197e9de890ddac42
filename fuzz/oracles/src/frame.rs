//! Oracle for the runner protocol's framing (`fezz_abi::frame`).
//!
//! Arbitrary bytes are cut into frames twice: with [`split_frame`] over the slice, and with
//! [`read_frame`] over a reader that hands out the bytes in small, uneven pieces and
//! interrupts itself now and then (as a pipe may). Neither panics; both find the same frames
//! and then the same end (clean, or the same error with the same numbers); every frame read
//! is written back by [`write_frame`] to exactly the bytes it came from.

use std::io::{self, Read};

use fezz_abi::frame::{read_frame, split_frame, write_frame, FrameKind};
use fezz_abi::limits::{FRAME_HEADER_BYTES, MAX_MESSAGE_BYTES};

/// Hands out `bytes` in pieces of 1 to 13 bytes, returning `Interrupted` before every fifth
/// piece.
struct Dribble<'a> {
    bytes: &'a [u8],
    calls: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(5) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let piece = 1 + (self.calls * 7) % 13;
        let count = piece.min(buffer.len()).min(self.bytes.len());
        buffer[..count].copy_from_slice(&self.bytes[..count]);
        self.bytes = &self.bytes[count..];
        Ok(count)
    }
}

/// Oracle of the `frame` target.
pub fn frame(data: &[u8]) {
    // Cut with split_frame.
    let mut split = Vec::new();
    let mut rest = data;
    let split_end = loop {
        if rest.is_empty() {
            break None;
        }
        match split_frame(rest) {
            Ok((kind, payload, after)) => {
                assert!(payload.len() <= MAX_MESSAGE_BYTES);
                assert_eq!(
                    rest.len(),
                    FRAME_HEADER_BYTES + payload.len() + after.len(),
                    "split_frame lost or invented bytes"
                );
                split.push((kind, payload.to_vec()));
                rest = after;
            }
            Err(error) => break Some(error.to_string()),
        }
    };

    // Cut with read_frame.
    let mut reader = Dribble {
        bytes: data,
        calls: 0,
    };
    let mut read = Vec::new();
    let read_end = loop {
        match read_frame(&mut reader) {
            Ok(Some(frame)) => read.push((frame.kind, frame.payload)),
            Ok(None) => break None,
            Err(error) => {
                assert_ne!(
                    error.name(),
                    "frame-io",
                    "a reader that only interrupts caused {error}"
                );
                break Some(error.to_string());
            }
        }
    };

    assert_eq!(
        read, split,
        "read_frame and split_frame found different frames"
    );
    assert_eq!(
        read_end, split_end,
        "read_frame and split_frame ended differently"
    );

    // The frames found are exactly the input's prefix.
    let mut written = Vec::new();
    for (kind, payload) in &read {
        write_frame(&mut written, *kind, payload).expect("writing to a Vec");
    }
    assert_eq!(
        written,
        data[..written.len()],
        "the frames read do not write back to the bytes they came from"
    );
    if split_end.is_none() {
        assert_eq!(
            written.len(),
            data.len(),
            "a clean end must consume everything"
        );
    }
    for (kind, _) in &read {
        assert_eq!(FrameKind::from_byte(*kind as u8), Some(*kind));
    }
}
