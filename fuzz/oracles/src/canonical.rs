//! An independent check that bytes are deterministic CBOR as fezz emits it
//! (`spec/CBOR-PROFILE.md`, RFC 8949 §4.2.1): shortest heads, definite lengths only, map keys
//! unsigned and strictly ascending, valid UTF-8 in text, and only the major types fezz uses
//! (unsigned, byte string, text string, array, map).
//!
//! Written from the RFC, sharing no code with `fezz_abi`'s codec, so a bug there does not hide
//! itself here. Not a decoder: it only says yes or where and why not.

use fezz_abi::limits::MAX_NESTING_DEPTH;

/// Checks that `bytes` is exactly one deterministic CBOR item of the fezz profile.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let mut walker = Walker { bytes, position: 0 };
    walker.item(1)?;
    if walker.position != bytes.len() {
        return Err(format!(
            "{} bytes follow the item at offset {}",
            bytes.len() - walker.position,
            walker.position
        ));
    }
    Ok(())
}

struct Walker<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Walker<'_> {
    fn take(&mut self, count: usize) -> Result<&[u8], String> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "truncated: {count} bytes needed at offset {}",
                    self.position
                )
            })?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    /// Reads a head; returns (major type, argument) after checking the argument is in its
    /// shortest form and not indefinite.
    fn head(&mut self) -> Result<(u8, u64), String> {
        let offset = self.position;
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let (argument, minimum) = match info {
            0..=23 => (u64::from(info), 0),
            24 => (u64::from(self.take(1)?[0]), 24),
            25 => (u64::from(u16::from_be_bytes(self.fixed()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.fixed()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.fixed()?), 0x1_0000_0000),
            31 => return Err(format!("indefinite length at offset {offset}")),
            _ => {
                return Err(format!(
                    "reserved additional information {info} at offset {offset}"
                ))
            }
        };
        if argument < minimum {
            return Err(format!(
                "argument {argument} at offset {offset} is not in its shortest form"
            ));
        }
        Ok((major, argument))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn length(&self, argument: u64) -> Result<usize, String> {
        usize::try_from(argument).map_err(|_| format!("length {argument} does not fit usize"))
    }

    fn item(&mut self, level: usize) -> Result<u64, String> {
        let offset = self.position;
        let (major, argument) = self.head()?;
        match major {
            0 => Ok(argument),
            2 => self.take(self.length(argument)?).map(|_| argument),
            3 => {
                let text = self.take(self.length(argument)?)?;
                std::str::from_utf8(text)
                    .map_err(|error| format!("text at offset {offset}: {error}"))?;
                Ok(argument)
            }
            4 | 5 => {
                if level > MAX_NESTING_DEPTH {
                    return Err(format!(
                        "nesting past {MAX_NESTING_DEPTH} at offset {offset}"
                    ));
                }
                let mut previous_key = None;
                for _ in 0..argument {
                    if major == 5 {
                        let key_offset = self.position;
                        let (key_major, key) = self.head()?;
                        if key_major != 0 {
                            return Err(format!(
                                "map key of major type {key_major} at offset {key_offset}"
                            ));
                        }
                        if previous_key.is_some_and(|previous| previous >= key) {
                            return Err(format!(
                                "map key {key} at offset {key_offset} is not in ascending order"
                            ));
                        }
                        previous_key = Some(key);
                    }
                    self.item(level + 1)?;
                }
                Ok(argument)
            }
            other => Err(format!(
                "major type {other} at offset {offset} is never emitted by fezz"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_deterministic_items() {
        for bytes in [
            &[0x00][..],
            &[0x17],
            &[0x18, 0x18],
            &[0x19, 0x01, 0x00],
            &[0x1a, 0x00, 0x01, 0x00, 0x00],
            &[0x1b, 0, 0, 0, 1, 0, 0, 0, 0],
            &[0x62, b'h', b'i'],
            &[0x41, 0xff],
            &[0x82, 0x00, 0x80],
            &[0xa2, 0x00, 0x00, 0x01, 0xa0],
        ] {
            assert_eq!(check(bytes), Ok(()), "{bytes:02x?}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bytes in [
            &[][..],
            &[0x18, 0x17],
            &[0x19, 0x00, 0xff],
            &[0x1a, 0x00, 0x00, 0xff, 0xff],
            &[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
            &[0x5f, 0xff],
            &[0x9f, 0xff],
            &[0x1c],
            &[0x20],
            &[0xc0, 0x00],
            &[0xf6],
            &[0x62, 0xc3, 0x28],
            &[0xa2, 0x01, 0x00, 0x00, 0x00],
            &[0xa2, 0x00, 0x00, 0x00, 0x00],
            &[0xa1, 0x61, b'a', 0x00],
            &[0x00, 0x00],
            &[0x82, 0x00],
        ] {
            assert!(check(bytes).is_err(), "{bytes:02x?}");
        }
    }
}
