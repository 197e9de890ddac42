//! The decoder's memory bound: given `n` bytes it never has more than
//! `DECODE_ALLOCATION_FACTOR * n + DECODE_ALLOCATION_SLACK` bytes allocated at once, whatever
//! the bytes claim.
//!
//! A counting global allocator tracks live and peak bytes per thread (so tests running in
//! parallel do not disturb each other's numbers); each case measures the peak of one decode
//! above what was live before it. The result value counts: it is allocated during the decode.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use fezz_abi::frame::{self, FrameKind};
use fezz_abi::limits::{
    DECODE_ALLOCATION_FACTOR, DECODE_ALLOCATION_SLACK, MAX_BODY_BYTES, MAX_HEADER_COUNT,
    MAX_HEADER_VALUE_BYTES, MAX_MAP_ENTRIES, MAX_MESSAGE_BYTES, MAX_STRING_CHUNKS, MAX_TEXT_BYTES,
};
use fezz_abi::{
    decode_error, decode_request, decode_response, encode_request, encode_response, ErrorKind,
    Header, Request, Response,
};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    // `try_with`: the allocator can run while a thread's locals are being torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrank(bytes: usize) {
    // Memory freed on another thread than the one that allocated it saturates at zero here.
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// bookkeeping only touches plain thread-local integers and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller: `pointer` came from this allocator with `layout`.
        unsafe { System.dealloc(pointer, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(pointer, layout, new_size) };
        if !new.is_null() {
            // Count the worst case of a moving realloc: both blocks live for a moment.
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `decode` and returns the most bytes it had allocated at once (beyond what was live
/// when it started, including the value it returns before that is dropped).
fn peak_of<T>(decode: impl FnOnce() -> T) -> usize {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let value = decode();
    let peak = PEAK.with(Cell::get);
    drop(value);
    peak - before
}

fn bound(n: usize) -> usize {
    DECODE_ALLOCATION_FACTOR * n + DECODE_ALLOCATION_SLACK
}

/// Decodes `input` with all three decoders and checks the bound for each.
#[track_caller]
fn assert_bounded(what: &str, input: &[u8]) {
    let limit = bound(input.len());
    for (decoder, peak) in [
        ("decode_request", peak_of(|| decode_request(input))),
        ("decode_response", peak_of(|| decode_response(input))),
        ("decode_error", peak_of(|| decode_error(input))),
    ] {
        assert!(
            peak <= limit,
            "{what}: {decoder} on {} bytes peaked at {peak} bytes allocated, past the bound {limit}",
            input.len()
        );
    }
}

fn request() -> Request {
    let mut request = Request::new("POST", "/upload");
    request.context.function_id = "f".into();
    request.context.function_version = "1".into();
    request.context.request_id = "r".into();
    request
}

/// A CBOR head for major type `major` with argument `value`, in the shortest form unless
/// `width` (1, 2, 4 or 8 bytes after the initial byte) forces a longer one.
fn head(major: u8, value: u64, width: Option<usize>) -> Vec<u8> {
    let width = width.unwrap_or(match value {
        0..=23 => 0,
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    });
    let initial = major << 5;
    match width {
        0 => vec![initial | value as u8],
        1 => vec![initial | 24, value as u8],
        2 => [&[initial | 25][..], &(value as u16).to_be_bytes()].concat(),
        4 => [&[initial | 26][..], &(value as u32).to_be_bytes()].concat(),
        _ => [&[initial | 27][..], &value.to_be_bytes()].concat(),
    }
}

/// A canonical request's map with one more entry `99: value` (the request encodes as a small
/// definite map, so its first byte is `0xa0 + entries`).
fn request_with_unknown(value: &[u8]) -> Vec<u8> {
    let mut bytes = encode_request(&request()).unwrap();
    bytes[0] += 1;
    bytes.extend_from_slice(&[0x18, 99]);
    bytes.extend_from_slice(value);
    bytes
}

/// A request whose body (key 5) is `body`, in place of the canonical empty body, followed by
/// nothing else: `{0: 2, 1: "POST", 2: "/", 4: [], 6: {...}, 5: body}`.
fn request_with_raw_body(body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0xa6, 0x00, 0x02, 0x01, 0x64];
    bytes.extend_from_slice(b"POST");
    bytes.extend_from_slice(&[0x02, 0x61, b'/', 0x04, 0x80, 0x06, 0xa3]);
    for (key, value) in [(0u8, "f"), (1, "1"), (2, "r")] {
        bytes.extend_from_slice(&[key, 0x61, value.as_bytes()[0]]);
    }
    bytes.push(0x05);
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn valid_messages_with_big_bodies() {
    for size in [0, 1, 1000, 64 * 1024, 1024 * 1024, MAX_BODY_BYTES] {
        let mut request = request();
        request.body = vec![0x5a; size];
        let bytes = encode_request(&request).unwrap();
        assert_eq!(decode_request(&bytes).unwrap().body.len(), size);
        assert_bounded(&format!("request with a {size}-byte body"), &bytes);

        let response = Response::new(200).with_body(vec![0xa5; size]);
        let bytes = encode_response(&response).unwrap();
        assert_eq!(decode_response(&bytes).unwrap().body.len(), size);
        assert_bounded(&format!("response with a {size}-byte body"), &bytes);
    }
}

#[test]
fn valid_messages_with_many_headers() {
    for (count, value_len) in [
        (MAX_HEADER_COUNT, 0),
        (MAX_HEADER_COUNT, 1),
        (MAX_HEADER_COUNT, 100),
        (16, MAX_HEADER_VALUE_BYTES),
    ] {
        let headers: Vec<Header> = (0..count)
            .map(|i| Header::new(format!("x{i}"), vec![b'v'; value_len]))
            .collect();
        let mut request = request();
        request.headers = headers.clone();
        let bytes = encode_request(&request).unwrap();
        assert_eq!(decode_request(&bytes).unwrap().headers.len(), count);
        assert_bounded(
            &format!("request with {count} headers of {value_len} bytes"),
            &bytes,
        );

        let mut response = Response::new(204);
        response.headers = headers;
        let bytes = encode_response(&response).unwrap();
        assert_eq!(decode_response(&bytes).unwrap().headers.len(), count);
        assert_bounded(
            &format!("response with {count} headers of {value_len} bytes"),
            &bytes,
        );
    }
}

/// An indefinite-length headers array: its length is not known up front, so the list grows.
#[test]
fn indefinite_header_list() {
    let mut bytes = vec![0xa6, 0x00, 0x02, 0x01, 0x63];
    bytes.extend_from_slice(b"GET");
    bytes.extend_from_slice(&[0x02, 0x61, b'/', 0x05, 0x40, 0x06, 0xa3]);
    for (key, value) in [(0u8, "f"), (1, "1"), (2, "r")] {
        bytes.extend_from_slice(&[key, 0x61, value.as_bytes()[0]]);
    }
    bytes.extend_from_slice(&[0x04, 0x9f]);
    for _ in 0..MAX_HEADER_COUNT {
        bytes.extend_from_slice(&[0x82, 0x61, b'a', 0x40]);
    }
    bytes.push(0xff);
    assert_eq!(
        decode_request(&bytes).unwrap().headers.len(),
        MAX_HEADER_COUNT
    );
    assert_bounded("indefinite header list at the limit", &bytes);
    // One more header: rejected, still bounded.
    let mut past = bytes[..bytes.len() - 1].to_vec();
    past.extend_from_slice(&[0x82, 0x61, b'a', 0x40, 0xff]);
    assert_eq!(
        decode_request(&past).unwrap_err().kind(),
        ErrorKind::TooLarge
    );
    assert_bounded("indefinite header list past the limit", &past);
}

#[test]
fn indefinite_strings_with_many_chunks() {
    for chunk_len in [0usize, 1, 7, 100] {
        for chunks in [1, 100, MAX_STRING_CHUNKS, MAX_STRING_CHUNKS + 1] {
            // As the body (a byte string) ...
            let mut body = vec![0x5f];
            for _ in 0..chunks {
                body.extend_from_slice(&head(2, chunk_len as u64, None));
                body.extend(std::iter::repeat_n(b'b', chunk_len));
            }
            body.push(0xff);
            let input = request_with_raw_body(&body);
            let result = decode_request(&input);
            if chunks <= MAX_STRING_CHUNKS {
                assert_eq!(result.unwrap().body.len(), chunks * chunk_len);
            } else {
                assert_eq!(result.unwrap_err().kind(), ErrorKind::TooLarge);
            }
            assert_bounded(&format!("body of {chunks} chunks of {chunk_len}"), &input);

            // ... and as an unknown key's text value, which is skipped.
            let mut text = vec![0x7f];
            for _ in 0..chunks {
                text.extend_from_slice(&head(3, chunk_len as u64, None));
                text.extend(std::iter::repeat_n(b't', chunk_len));
            }
            text.push(0xff);
            assert_bounded(
                &format!("unknown text of {chunks} chunks of {chunk_len}"),
                &request_with_unknown(&text),
            );
        }
    }
}

/// A chunked string whose chunks claim more than the input holds, and one that claims more in
/// total than the limit allows: rejected before anything is copied.
#[test]
fn indefinite_strings_with_lying_chunks() {
    let mut body = vec![0x5f];
    for _ in 0..10 {
        body.extend_from_slice(&head(2, 1 << 20, Some(4)));
    }
    let input = request_with_raw_body(&body);
    assert_eq!(
        decode_request(&input).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert_bounded(
        "chunks claiming 1 MiB each with nothing behind them",
        &input,
    );

    let mut body = vec![0x5f];
    body.extend_from_slice(&head(2, MAX_BODY_BYTES as u64, None));
    body.extend_from_slice(&head(2, 1, None));
    let input = request_with_raw_body(&body);
    assert_bounded("chunks claiming past MAX_BODY_BYTES in total", &input);
}

#[test]
fn length_prefixes_claiming_huge_sizes() {
    let claims = [
        1u64 << 20,
        MAX_MESSAGE_BYTES as u64,
        (MAX_MESSAGE_BYTES + 1) as u64,
        1 << 32,
        (1 << 32) - 1,
        1 << 63,
        u64::MAX,
    ];
    for claim in claims {
        for major in [2u8, 3] {
            let string = [head(major, claim, None), b"tiny".to_vec()].concat();
            // In every string field, and as an unknown key's value.
            assert_bounded(
                &format!("body claiming {claim}"),
                &request_with_raw_body(&string),
            );
            assert_bounded(
                &format!("unknown value claiming {claim}"),
                &request_with_unknown(&string),
            );
            // A non-minimal head for the same claim.
            let wide = [
                head(major, claim.min(u32::MAX.into()), Some(8)),
                b"x".to_vec(),
            ]
            .concat();
            assert_bounded(
                &format!("8-byte head claiming {claim}"),
                &request_with_unknown(&wide),
            );
            // As the first field of a bare map, then as the whole input.
            let mut map = vec![0xa1, 0x01];
            map.extend_from_slice(&string);
            assert_bounded(&format!("method claiming {claim}"), &map);
            assert_bounded(&format!("whole input claiming {claim}"), &string);
        }
    }
}

#[test]
fn containers_claiming_huge_counts() {
    let claims = [
        (MAX_HEADER_COUNT + 1) as u64,
        (MAX_MAP_ENTRIES + 1) as u64,
        1 << 20,
        1 << 32,
        1 << 63,
        u64::MAX,
    ];
    for claim in claims {
        for major in [4u8, 5] {
            let container = [head(major, claim, None), vec![0x00, 0x00]].concat();
            assert_bounded(
                &format!("unknown value, major {major} claiming {claim}"),
                &request_with_unknown(&container),
            );
            assert_bounded(
                &format!("whole input, major {major} claiming {claim}"),
                &container,
            );
        }
        // The headers array (key 4 of a bare map) and a header pair.
        let headers = [
            vec![0xa1, 0x04],
            head(4, claim, None),
            vec![0x82, 0x61, b'a', 0x40],
        ]
        .concat();
        assert_bounded(&format!("headers claiming {claim}"), &headers);
        let pair = [
            vec![0xa1, 0x04, 0x81],
            head(4, claim, None),
            vec![0x61, b'a'],
        ]
        .concat();
        assert_bounded(&format!("header pair claiming {claim}"), &pair);
        // The response's headers and the error map.
        let response_headers = [vec![0xa1, 0x02], head(4, claim, None)].concat();
        assert_bounded(
            &format!("response headers claiming {claim}"),
            &response_headers,
        );
        let error_map = [vec![0xa1, 0x04], head(5, claim, None), vec![0x00]].concat();
        assert_bounded(&format!("error map claiming {claim}"), &error_map);
    }
}

/// Texts at their limits in every text field of the context.
#[test]
fn long_texts() {
    let mut request = request();
    let text = "t".repeat(MAX_TEXT_BYTES);
    request.path = format!("/{}", &text[1..]);
    request.query = Some(text.clone());
    request.context.function_id = text.clone();
    request.context.function_version = text.clone();
    request.context.request_id = text.clone();
    request.context.client_address = Some(text.clone());
    request.context.scheme = Some(text.clone());
    request.context.host = Some(text);
    let bytes = encode_request(&request).unwrap();
    assert_eq!(decode_request(&bytes).unwrap(), request);
    assert_bounded("request with every text at MAX_TEXT_BYTES", &bytes);
}

/// Many unknown keys with large values, each skipped: skipped values are never all live at
/// once.
#[test]
fn many_large_unknown_values() {
    let mut bytes = encode_request(&request()).unwrap();
    let known = usize::from(bytes[0] - 0xa0);
    let unknown = MAX_MAP_ENTRIES - known;
    bytes[0] = 0xb8;
    bytes.insert(1, (known + unknown) as u8);
    for key in 0..unknown {
        bytes.extend_from_slice(&[0x18, 100 + key as u8]);
        bytes.extend_from_slice(&head(2, 64 * 1024, None));
        bytes.extend(std::iter::repeat_n(0u8, 64 * 1024));
    }
    decode_request(&bytes).unwrap();
    assert_bounded("64 unknown keys with 64 KiB values", &bytes);
}

/// The frame reader: a header claiming up to `MAX_MESSAGE_BYTES` with few bytes behind it
/// allocates for what arrives, not for what is claimed.
#[test]
fn frames_claiming_large_payloads() {
    for (claim, present) in [
        (MAX_MESSAGE_BYTES, 0usize),
        (MAX_MESSAGE_BYTES, 10),
        (1 << 20, 1000),
    ] {
        let mut input = frame::frame_header(FrameKind::Request, claim).to_vec();
        input.extend(std::iter::repeat_n(0u8, present));
        let peak = peak_of(|| frame::read_frame(&mut input.as_slice()));
        assert!(
            peak <= bound(input.len()),
            "read_frame on {} bytes claiming {claim} peaked at {peak}",
            input.len()
        );
        assert!(frame::read_frame(&mut input.as_slice()).is_err());
    }
}

#[test]
fn the_counter_counts() {
    let peak = peak_of(|| vec![0u8; 1 << 20]);
    assert!(peak >= 1 << 20, "peak {peak}");
    assert_eq!(peak_of(|| 1 + 1), 0);
}
