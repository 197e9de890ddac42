//! Property tests of the codec, driven by a deterministic PRNG through `arbitrary`, so every run
//! checks the same inputs and a failure names the iteration that reproduces it.
//!
//! - The decoders never panic, on random bytes and on mutated or cut encodings of real messages.
//! - For every message that encodes, `decode(encode(m)) == m`, encoding is deterministic (the
//!   same bytes twice) and re-encoding the decoded value gives the same bytes.
//! - Every well-formed re-encoding of a valid message (longer heads, indefinite lengths,
//!   chunked strings, shuffled keys) decodes to the same value (spec/CBOR-PROFILE.md, "What a
//!   decoder accepts").
//!
//! The golden vectors (`spec/vectors/`, run by `fezz-conformance`'s `codec_vectors` test) pin
//! exact bytes and error names; this file covers the space between them.

use arbitrary::{Arbitrary, Unstructured};
use cbor_diag::{ByteString, DataItem, IntegerWidth, TextString};
use fezz_abi::{decode_error, decode_request, decode_response};
use fezz_abi::{encode_error, encode_request, encode_response};
use fezz_abi::{Header, Request, Response, WireError};

/// How many inputs each property sees. Raised with `FEZZ_PROPERTY_CASES` for a longer soak.
fn cases() -> u64 {
    std::env::var("FEZZ_PROPERTY_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(3000)
}

/// SplitMix64: tiny, fast, and good enough to feed `arbitrary`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Runs `property` on `cases()` fresh seeds; the panic message names the failing iteration.
fn for_each_seed(name: &str, mut property: impl FnMut(u64, &mut Rng)) {
    for iteration in 0..cases() {
        let seed = 0x00fe_2200 ^ iteration.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let mut rng = Rng::new(seed);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            property(iteration, &mut rng)
        }));
        if let Err(panic) = result {
            eprintln!("{name}: failed at iteration {iteration} (seed {seed:#x})");
            std::panic::resume_unwind(panic);
        }
    }
}

/// A value of `T` from `len` random bytes.
fn arbitrary_value<T: for<'a> Arbitrary<'a>>(rng: &mut Rng, len: usize) -> Option<T> {
    let data = rng.bytes(len);
    T::arbitrary(&mut Unstructured::new(&data)).ok()
}

/// Makes an arbitrary request valid (token method and header names, a path starting with `/`,
/// header values without control bytes but HTAB), so that most generated requests encode.
fn tame_request(mut request: Request) -> Request {
    request.method = token(&request.method, "GET");
    if request.path != "*" && !request.path.starts_with('/') {
        request.path.insert(0, '/');
    }
    request.headers.iter_mut().for_each(tame_header);
    request
}

fn tame_response(mut response: Response) -> Response {
    response.status = 200 + response.status % 400;
    response.headers.iter_mut().for_each(tame_header);
    response
}

fn tame_header(header: &mut Header) {
    header.name = token(&header.name, "x");
    header
        .value
        .retain(|byte| *byte == b'\t' || (*byte >= 0x20 && *byte != 0x7f));
}

fn token(text: &str, fallback: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c))
        .take(64)
        .collect();
    if kept.is_empty() {
        fallback.to_string()
    } else {
        kept
    }
}

/// One of the three message types, for properties that hold for all of them.
#[derive(Debug, Clone, PartialEq)]
enum Message {
    Request(Request),
    Response(Response),
    Error(WireError),
}

impl Message {
    fn arbitrary(rng: &mut Rng, tame: bool) -> Option<Message> {
        let len = rng.below(600) as usize;
        Some(match rng.below(3) {
            0 => {
                let request = arbitrary_value::<Request>(rng, len)?;
                Message::Request(if tame { tame_request(request) } else { request })
            }
            1 => {
                let response = arbitrary_value::<Response>(rng, len)?;
                Message::Response(if tame {
                    tame_response(response)
                } else {
                    response
                })
            }
            _ => Message::Error(arbitrary_value::<WireError>(rng, len)?),
        })
    }

    fn encode(&self) -> Option<Vec<u8>> {
        match self {
            Message::Request(m) => encode_request(m).ok(),
            Message::Response(m) => encode_response(m).ok(),
            Message::Error(m) => encode_error(m).ok(),
        }
    }

    /// Decodes `bytes` as the same message type.
    fn decode_like(&self, bytes: &[u8]) -> Result<Message, fezz_abi::DecodeError> {
        Ok(match self {
            Message::Request(_) => Message::Request(decode_request(bytes)?),
            Message::Response(_) => Message::Response(decode_response(bytes)?),
            Message::Error(_) => Message::Error(decode_error(bytes)?),
        })
    }
}

fn decode_all(bytes: &[u8]) {
    let _ = decode_request(bytes);
    let _ = decode_response(bytes);
    let _ = decode_error(bytes);
}

#[test]
fn decoding_random_bytes_never_panics() {
    for_each_seed("random bytes", |_, rng| {
        let len = rng.below(256) as usize;
        let bytes: Vec<u8> = arbitrary_value(rng, len + 8).unwrap_or_default();
        decode_all(&bytes);
        // Random bytes mostly fail at the first head; a map head in front gets further.
        let mut in_a_map = vec![0xa0 | rng.below(8) as u8];
        in_a_map.extend_from_slice(&bytes);
        decode_all(&in_a_map);
    });
}

#[test]
fn decoding_mutated_messages_never_panics() {
    for_each_seed("mutated messages", |_, rng| {
        let Some(bytes) = Message::arbitrary(rng, true).and_then(|m| m.encode()) else {
            return;
        };
        // Cut anywhere.
        decode_all(&bytes[..rng.below(bytes.len() as u64 + 1) as usize]);
        // Flip, overwrite, insert and delete a few bytes.
        let mut mutated = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(mutated.len() as u64) as usize;
            match rng.below(4) {
                0 => mutated[at] ^= 1 << rng.below(8),
                1 => mutated[at] = rng.next() as u8,
                2 => mutated.insert(at, rng.next() as u8),
                _ => {
                    mutated.remove(at);
                }
            }
            if mutated.is_empty() {
                break;
            }
        }
        decode_all(&mutated);
    });
}

#[test]
fn encoded_messages_round_trip_deterministically() {
    let (mut encoded, mut total) = (0u64, 0u64);
    for tame in [false, true] {
        for_each_seed("round trip", |iteration, rng| {
            let Some(message) = Message::arbitrary(rng, tame) else {
                return;
            };
            total += 1;
            let Some(bytes) = message.encode() else {
                assert!(!tame, "a tamed message failed to encode: {message:?}");
                return;
            };
            encoded += 1;
            let decoded = message
                .decode_like(&bytes)
                .unwrap_or_else(|error| panic!("iteration {iteration}: {error}\n{message:?}"));
            assert_eq!(decoded, message, "decode(encode(m)) != m");
            assert_eq!(
                message.encode().as_deref(),
                Some(&bytes[..]),
                "encoding the same value twice differs"
            );
            assert_eq!(
                decoded.encode().as_deref(),
                Some(&bytes[..]),
                "re-encoding the decoded value differs"
            );
        });
    }
    // Untamed arbitrary requests rarely have a token method; tamed ones nearly always encode.
    assert!(
        encoded * 2 > total,
        "only {encoded} of {total} generated messages encoded"
    );
}

#[test]
fn every_well_formed_reencoding_decodes_to_the_same_value() {
    let (mut different, mut total) = (0u64, 0u64);
    for_each_seed("non-canonical", |iteration, rng| {
        let Some(message) = Message::arbitrary(rng, true) else {
            return;
        };
        let Some(canonical) = message.encode() else {
            return;
        };
        let item = cbor_diag::parse_bytes(&canonical).expect("the encoder emits well-formed CBOR");
        let variant = loosen(item, rng).to_bytes();
        total += 1;
        different += u64::from(variant != canonical);
        let decoded = message.decode_like(&variant).unwrap_or_else(|error| {
            panic!("iteration {iteration}: {error}\ninput: {}", hex(&variant))
        });
        assert_eq!(decoded, message);
        assert_eq!(
            decoded.encode().as_deref(),
            Some(&canonical[..]),
            "iteration {iteration}"
        );
    });
    assert!(
        different * 10 > total * 9,
        "only {different} of {total} variants were non-canonical"
    );
}

/// A random, still well-formed and equivalent, encoding of `item`: wider heads, indefinite
/// lengths, chunked strings, map entries shuffled.
fn loosen(item: DataItem, rng: &mut Rng) -> DataItem {
    match item {
        DataItem::Integer { value, .. } => DataItem::Integer {
            value,
            bitwidth: width(value, rng),
        },
        DataItem::ByteString(string) if rng.below(3) == 0 => DataItem::IndefiniteByteString(
            chunks(string.data.len(), rng)
                .into_iter()
                .map(|range| ByteString {
                    bitwidth: width(range.len() as u64, rng),
                    data: string.data[range].to_vec(),
                })
                .collect(),
        ),
        DataItem::ByteString(string) => DataItem::ByteString(ByteString {
            bitwidth: width(string.data.len() as u64, rng),
            data: string.data,
        }),
        DataItem::TextString(string) if rng.below(3) == 0 => {
            let text = string.data;
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|at| text.is_char_boundary(*at))
                .collect();
            let mut cuts = vec![0];
            for _ in 0..rng.below(4) {
                cuts.push(boundaries[rng.below(boundaries.len() as u64) as usize]);
            }
            cuts.push(text.len());
            cuts.sort_unstable();
            DataItem::IndefiniteTextString(
                cuts.windows(2)
                    .map(|pair| TextString {
                        data: text[pair[0]..pair[1]].to_string(),
                        bitwidth: IntegerWidth::Unknown,
                    })
                    .collect(),
            )
        }
        DataItem::TextString(string) => DataItem::TextString(TextString {
            bitwidth: width(string.data.len() as u64, rng),
            data: string.data,
        }),
        DataItem::Array { data, .. } => {
            let bitwidth = container_width(data.len(), rng);
            DataItem::Array {
                data: data.into_iter().map(|item| loosen(item, rng)).collect(),
                bitwidth,
            }
        }
        DataItem::Map { data, .. } => {
            let bitwidth = container_width(data.len(), rng);
            let mut entries: Vec<_> = data
                .into_iter()
                .map(|(k, v)| (loosen(k, rng), loosen(v, rng)))
                .collect();
            for i in (1..entries.len()).rev() {
                entries.swap(i, rng.below(i as u64 + 1) as usize);
            }
            DataItem::Map {
                data: entries,
                bitwidth,
            }
        }
        other => other,
    }
}

/// Up to four chunk ranges covering `0..len` (empty chunks allowed).
fn chunks(len: usize, rng: &mut Rng) -> Vec<std::ops::Range<usize>> {
    let mut cuts: Vec<usize> = (0..rng.below(4))
        .map(|_| rng.below(len as u64 + 1) as usize)
        .collect();
    cuts.extend([0, len]);
    cuts.sort_unstable();
    cuts.windows(2).map(|pair| pair[0]..pair[1]).collect()
}

/// A head width that can hold `value`, picked at random (the minimal one included).
fn width(value: u64, rng: &mut Rng) -> IntegerWidth {
    let fits: Vec<IntegerWidth> = [
        (23, IntegerWidth::Zero),
        (u8::MAX.into(), IntegerWidth::Eight),
        (u16::MAX.into(), IntegerWidth::Sixteen),
        (u32::MAX.into(), IntegerWidth::ThirtyTwo),
        (u64::MAX, IntegerWidth::SixtyFour),
    ]
    .into_iter()
    .filter(|(max, _)| value <= *max)
    .map(|(_, width)| width)
    .collect();
    fits[rng.below(fits.len() as u64) as usize]
}

/// Indefinite (`None`) or a definite width that can hold `len`.
fn container_width(len: usize, rng: &mut Rng) -> Option<IntegerWidth> {
    if rng.below(3) == 0 {
        None
    } else {
        Some(width(len as u64, rng))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The first round trip, kept as a readable example (it was `smoke_roundtrip.rs`).
#[test]
fn a_request_and_a_response_round_trip() {
    let mut request = Request::new("GET", "/hello");
    request.query = Some(String::new());
    request
        .headers
        .push(Header::new("x-bin", vec![0xff, b'\t']));
    request.context.function_id = "todos".into();
    let bytes = encode_request(&request).unwrap();
    assert_eq!(decode_request(&bytes).unwrap(), request);
    let response = Response::text(201, "ok");
    let bytes = encode_response(&response).unwrap();
    assert_eq!(decode_response(&bytes).unwrap(), response);
    assert!(decode_response(&bytes[..bytes.len() - 1]).is_err());
}
