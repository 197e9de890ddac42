//! [`Failure`]: why a runner stops before its input ends, as the exit it takes and the error
//! frame it writes (`spec/RUNNER.md`, "Error frames").

use std::fmt;
use std::io::{self, Write};

use fezz_abi::frame::{write_frame, FrameKind};
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{encode_error, WireError};

/// A failure that ends the runner: the exit code it leaves with and the readable message of
/// its error frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// How the runner exits; never [`RunnerExit::Success`].
    pub exit: RunnerExit,
    /// The error frame's `message`, in the form `spec/RUNNER.md` gives for `exit`.
    pub message: String,
}

impl Failure {
    /// A failure with `exit` and `message`.
    pub fn new(exit: RunnerExit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
        }
    }

    /// The error frame's payload value: `{code: exit.error_code(), message}`.
    pub fn to_wire_error(&self) -> WireError {
        WireError::new(self.exit.error_code(), self.message.clone())
    }

    /// Writes the one error frame of this failure to `output` and flushes.
    ///
    /// A message too long for the wire (past `MAX_TEXT_BYTES`) is shortened, so the frame is
    /// always written when `output` accepts it.
    pub fn write_frame(&self, output: &mut impl Write) -> io::Result<()> {
        let payload = match encode_error(&self.to_wire_error()) {
            Ok(payload) => payload,
            Err(_) => {
                let mut message = self.message.clone();
                truncate(&mut message, fezz_abi::limits::MAX_TEXT_BYTES);
                encode_error(&WireError::new(self.exit.error_code(), message))
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?
            }
        };
        write_frame(output, FrameKind::Error, &payload)
    }
}

/// `code: message`, the one line a runner writes to stderr per failure.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exit.error_code(), self.message)
    }
}

impl std::error::Error for Failure {}

/// Cuts `text` to at most `max` bytes, at a character boundary, marking the cut with `…`.
fn truncate(text: &mut String, max: usize) {
    const MARK: &str = "…";
    if text.len() <= max {
        return;
    }
    let mut end = max - MARK.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(MARK);
}

#[cfg(test)]
mod tests {
    use super::*;
    use fezz_abi::frame::read_frame;
    use fezz_abi::limits::MAX_TEXT_BYTES;

    #[test]
    fn a_long_message_is_shortened_to_fit_the_wire() {
        let failure = Failure::new(RunnerExit::LibraryLoadFailed, "é".repeat(MAX_TEXT_BYTES));
        let mut output = Vec::new();
        failure.write_frame(&mut output).unwrap();
        let frame = read_frame(&mut output.as_slice()).unwrap().unwrap();
        let error = fezz_abi::decode_error(&frame.payload).unwrap();
        assert_eq!(error.code, "library-load-failed");
        assert!(error.message.len() <= MAX_TEXT_BYTES);
        assert!(error.message.ends_with('…'));
    }

    #[test]
    fn display_is_code_then_message() {
        let failure = Failure::new(RunnerExit::SymbolMissing, "fezz_handle_v2");
        assert_eq!(failure.to_string(), "symbol-missing: fezz_handle_v2");
    }
}
