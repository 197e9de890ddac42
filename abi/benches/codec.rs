//! How fast fezz-abi's CBOR codec is next to general-purpose CBOR crates, on the messages fezz
//! actually carries: a request and a response with ten typical headers and a 0 B, 1 KiB or
//! 1 MiB body.
//!
//! ```text
//! cargo bench -p fezz-abi --bench codec            # every case
//! cargo bench -p fezz-abi --bench codec -- 1MiB decode   # only ids containing both words
//! ```
//!
//! Three codecs, each encoding and decoding the same owned values (`String`s and `Vec<u8>`s, no
//! borrowing from the input), and each checked, before anything is timed, to produce exactly
//! fezz-abi's bytes and to decode them back to the same value:
//!
//! - `fezz-abi`: `encode_*`/`decode_*`, with all the validation the spec asks for.
//! - `ciborium`: its serde layer (`ciborium::into_writer` / `ciborium::from_reader`) on mirror
//!   structs with hand-written `Serialize`/`Deserialize` impls that use the wire's integer
//!   keys. Those impls are what `#[derive(Serialize, Deserialize)]` would generate if serde
//!   allowed integer field names: a map of keys to values, unknown keys skipped with
//!   `IgnoredAny`, duplicate and missing keys rejected, bodies through `serde_bytes`. This is
//!   the fairest way to put ciborium on the same bytes: decoding into `ciborium::Value` and
//!   extracting fields would time an extra tree (one allocation per node) that no real user of
//!   the serde layer pays, and a string-keyed derive would be a different, larger wire format.
//! - `minicbor`: `#[derive(Encode, Decode)]` with `#[cbor(map)]` and `#[n(k)]` keys on the same
//!   mirror structs, bodies through `minicbor::bytes`; the crate's natural use.
//!
//! The other two do far less checking than fezz-abi: no HTTP-token check of the method and
//! header names, no control-byte check of header values, no limits other than ciborium's
//! recursion limit, and minicbor accepts duplicate keys and refuses indefinite-length byte
//! strings. Their numbers are a floor for what a strict codec could cost, not a like-for-like
//! replacement.
//!
//! Timing: each case runs `iterations` times untimed to warm up, then [`ROUNDS`] rounds of
//! `iterations` calls each are timed with `Instant`; the table shows the median round's ns per
//! call and the encoded message's size divided by that time in MB/s (10^6 bytes per second).
//! A counting global allocator gives, for one call, the number of allocations and the peak of
//! bytes live above what was live before it (the result value included); it only counts while
//! measuring that one call.
//!
//! Run without `--bench` (as `cargo test --all-targets` does), it only runs the equivalence
//! checks and each case once, so that build stays a quick smoke test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use fezz_abi::{
    decode_request, decode_response, encode_request, encode_response, Header, Request,
    RequestContext, Response, WireError,
};

/// Timed rounds per case; the table reports their median.
const ROUNDS: usize = 9;

// ---------------------------------------------------------------------------------------------
// Allocation counting.

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    if COUNTING.load(Relaxed) {
        let now = LIVE.fetch_add(bytes, Relaxed) + bytes;
        PEAK.fetch_max(now, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
    }
}

fn shrank(bytes: usize) {
    if COUNTING.load(Relaxed) {
        // Memory allocated before counting started saturates at zero.
        let _ = LIVE.fetch_update(Relaxed, Relaxed, |live| Some(live.saturating_sub(bytes)));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// bookkeeping only touches atomics and never allocates.
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

/// Allocations made by one call of `f` and the peak of bytes live above what was live before
/// it, its result included.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, usize) {
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    ALLOCATIONS.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let result = black_box(f());
    let counts = (ALLOCATIONS.load(Relaxed), PEAK.load(Relaxed));
    COUNTING.store(false, Relaxed);
    drop(result);
    counts
}

// ---------------------------------------------------------------------------------------------
// Mirror types: the same fields as fezz-abi's, for ciborium's serde layer and minicbor's derive
// (neither trait can be implemented for fezz-abi's own types outside that crate).

mod mirror {
    use minicbor::{Decode, Encode};
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
    use serde::ser::{SerializeMap, Serializer};
    use serde::{Deserialize, Serialize};
    use serde_bytes::{ByteBuf, Bytes};

    /// CDDL `header`: `[name, value]`.
    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    #[cbor(array)]
    pub struct Header {
        #[n(0)]
        pub name: String,
        #[cbor(n(1), with = "minicbor::bytes")]
        pub value: Vec<u8>,
    }

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    #[cbor(map)]
    pub struct Context {
        #[n(0)]
        pub function_id: String,
        #[n(1)]
        pub function_version: String,
        #[n(2)]
        pub request_id: String,
        #[n(3)]
        pub deadline_unix_ms: Option<u64>,
        #[n(4)]
        pub client_address: Option<String>,
        #[n(5)]
        pub scheme: Option<String>,
        #[n(6)]
        pub host: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    #[cbor(map)]
    pub struct Request {
        #[n(0)]
        pub version: u32,
        #[n(1)]
        pub method: String,
        #[n(2)]
        pub path: String,
        #[n(3)]
        pub query: Option<String>,
        #[n(4)]
        pub headers: Vec<Header>,
        #[cbor(n(5), with = "minicbor::bytes")]
        pub body: Vec<u8>,
        #[n(6)]
        pub context: Context,
    }

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    #[cbor(map)]
    pub struct WireError {
        #[n(0)]
        pub code: String,
        #[n(1)]
        pub message: String,
    }

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    #[cbor(map)]
    pub struct Response {
        #[n(0)]
        pub version: u32,
        #[n(1)]
        pub status: u16,
        #[n(2)]
        pub headers: Vec<Header>,
        #[cbor(n(3), with = "minicbor::bytes")]
        pub body: Vec<u8>,
        #[n(4)]
        pub error: Option<WireError>,
    }

    // serde: what a derive would generate, with integer keys.

    impl Serialize for Header {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            (&self.name, Bytes::new(&self.value)).serialize(serializer)
        }
    }

    impl<'de> Deserialize<'de> for Header {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let (name, value) = <(String, ByteBuf)>::deserialize(deserializer)?;
            Ok(Header {
                name,
                value: value.into_vec(),
            })
        }
    }

    impl Serialize for Context {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let optional = [&self.client_address, &self.scheme, &self.host];
            let entries = 3
                + usize::from(self.deadline_unix_ms.is_some())
                + optional.iter().filter(|value| value.is_some()).count();
            let mut map = serializer.serialize_map(Some(entries))?;
            map.serialize_entry(&0u8, &self.function_id)?;
            map.serialize_entry(&1u8, &self.function_version)?;
            map.serialize_entry(&2u8, &self.request_id)?;
            if let Some(deadline) = self.deadline_unix_ms {
                map.serialize_entry(&3u8, &deadline)?;
            }
            for (key, value) in (4u8..).zip(optional) {
                if let Some(value) = value {
                    map.serialize_entry(&key, value)?;
                }
            }
            map.end()
        }
    }

    impl Serialize for Request {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(6 + usize::from(self.query.is_some())))?;
            map.serialize_entry(&0u8, &self.version)?;
            map.serialize_entry(&1u8, &self.method)?;
            map.serialize_entry(&2u8, &self.path)?;
            if let Some(query) = &self.query {
                map.serialize_entry(&3u8, query)?;
            }
            map.serialize_entry(&4u8, &self.headers)?;
            map.serialize_entry(&5u8, Bytes::new(&self.body))?;
            map.serialize_entry(&6u8, &self.context)?;
            map.end()
        }
    }

    impl Serialize for WireError {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(2))?;
            map.serialize_entry(&0u8, &self.code)?;
            map.serialize_entry(&1u8, &self.message)?;
            map.end()
        }
    }

    impl Serialize for Response {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(4 + usize::from(self.error.is_some())))?;
            map.serialize_entry(&0u8, &self.version)?;
            map.serialize_entry(&1u8, &self.status)?;
            map.serialize_entry(&2u8, &self.headers)?;
            map.serialize_entry(&3u8, Bytes::new(&self.body))?;
            if let Some(error) = &self.error {
                map.serialize_entry(&4u8, error)?;
            }
            map.end()
        }
    }

    /// Stores the value of a key seen for the first time, as a derive's `visit_map` does.
    fn first<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
        map: &mut A,
        slot: &mut Option<T>,
        key: u64,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(de::Error::custom(format_args!("duplicate key {key}")));
        }
        *slot = Some(map.next_value()?);
        Ok(())
    }

    fn required<T, E: de::Error>(slot: Option<T>, key: u64) -> Result<T, E> {
        slot.ok_or_else(|| E::custom(format_args!("missing key {key}")))
    }

    impl<'de> Deserialize<'de> for Context {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Context;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a request context map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
                    let (mut id, mut version, mut request_id) = (None, None, None);
                    let (mut deadline, mut client, mut scheme, mut host) = (None, None, None, None);
                    while let Some(key) = map.next_key::<u64>()? {
                        match key {
                            0 => first(&mut map, &mut id, key)?,
                            1 => first(&mut map, &mut version, key)?,
                            2 => first(&mut map, &mut request_id, key)?,
                            3 => first(&mut map, &mut deadline, key)?,
                            4 => first(&mut map, &mut client, key)?,
                            5 => first(&mut map, &mut scheme, key)?,
                            6 => first(&mut map, &mut host, key)?,
                            _ => drop(map.next_value::<IgnoredAny>()?),
                        }
                    }
                    Ok(Context {
                        function_id: required(id, 0)?,
                        function_version: required(version, 1)?,
                        request_id: required(request_id, 2)?,
                        deadline_unix_ms: deadline,
                        client_address: client,
                        scheme,
                        host,
                    })
                }
            }
            deserializer.deserialize_map(V)
        }
    }

    impl<'de> Deserialize<'de> for Request {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Request;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a request map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request, A::Error> {
                    let (mut version, mut method, mut path, mut query) = (None, None, None, None);
                    let (mut headers, mut body, mut context) = (None, None, None);
                    while let Some(key) = map.next_key::<u64>()? {
                        match key {
                            0 => first(&mut map, &mut version, key)?,
                            1 => first(&mut map, &mut method, key)?,
                            2 => first(&mut map, &mut path, key)?,
                            3 => first(&mut map, &mut query, key)?,
                            4 => first(&mut map, &mut headers, key)?,
                            5 => first::<_, ByteBuf>(&mut map, &mut body, key)?,
                            6 => first(&mut map, &mut context, key)?,
                            _ => drop(map.next_value::<IgnoredAny>()?),
                        }
                    }
                    Ok(Request {
                        version: required(version, 0)?,
                        method: required(method, 1)?,
                        path: required(path, 2)?,
                        query,
                        headers: required(headers, 4)?,
                        body: required(body, 5)?.into_vec(),
                        context: required(context, 6)?,
                    })
                }
            }
            deserializer.deserialize_map(V)
        }
    }

    impl<'de> Deserialize<'de> for WireError {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = WireError;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an error map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireError, A::Error> {
                    let (mut code, mut message) = (None, None);
                    while let Some(key) = map.next_key::<u64>()? {
                        match key {
                            0 => first(&mut map, &mut code, key)?,
                            1 => first(&mut map, &mut message, key)?,
                            _ => drop(map.next_value::<IgnoredAny>()?),
                        }
                    }
                    Ok(WireError {
                        code: required(code, 0)?,
                        message: required(message, 1)?,
                    })
                }
            }
            deserializer.deserialize_map(V)
        }
    }

    impl<'de> Deserialize<'de> for Response {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Response;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a response map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Response, A::Error> {
                    let (mut version, mut status, mut headers) = (None, None, None);
                    let (mut body, mut error) = (None, None);
                    while let Some(key) = map.next_key::<u64>()? {
                        match key {
                            0 => first(&mut map, &mut version, key)?,
                            1 => first(&mut map, &mut status, key)?,
                            2 => first(&mut map, &mut headers, key)?,
                            3 => first::<_, ByteBuf>(&mut map, &mut body, key)?,
                            4 => first(&mut map, &mut error, key)?,
                            _ => drop(map.next_value::<IgnoredAny>()?),
                        }
                    }
                    Ok(Response {
                        version: required(version, 0)?,
                        status: required(status, 1)?,
                        headers: headers.unwrap_or_default(),
                        body: body.map(ByteBuf::into_vec).unwrap_or_default(),
                        error,
                    })
                }
            }
            deserializer.deserialize_map(V)
        }
    }
}

impl From<&Header> for mirror::Header {
    fn from(header: &Header) -> Self {
        mirror::Header {
            name: header.name.clone(),
            value: header.value.clone(),
        }
    }
}

impl From<mirror::Header> for Header {
    fn from(header: mirror::Header) -> Self {
        Header::new(header.name, header.value)
    }
}

impl From<&Request> for mirror::Request {
    fn from(request: &Request) -> Self {
        let context = &request.context;
        mirror::Request {
            version: fezz_abi::WIRE_VERSION,
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.iter().map(Into::into).collect(),
            body: request.body.clone(),
            context: mirror::Context {
                function_id: context.function_id.clone(),
                function_version: context.function_version.clone(),
                request_id: context.request_id.clone(),
                deadline_unix_ms: context.deadline_unix_ms,
                client_address: context.client_address.clone(),
                scheme: context.scheme.clone(),
                host: context.host.clone(),
            },
        }
    }
}

impl From<mirror::Request> for Request {
    fn from(request: mirror::Request) -> Self {
        assert_eq!(request.version, fezz_abi::WIRE_VERSION);
        let context = request.context;
        Request {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers.into_iter().map(Into::into).collect(),
            body: request.body,
            context: RequestContext {
                function_id: context.function_id,
                function_version: context.function_version,
                request_id: context.request_id,
                deadline_unix_ms: context.deadline_unix_ms,
                client_address: context.client_address,
                scheme: context.scheme,
                host: context.host,
            },
        }
    }
}

impl From<&Response> for mirror::Response {
    fn from(response: &Response) -> Self {
        mirror::Response {
            version: fezz_abi::WIRE_VERSION,
            status: response.status,
            headers: response.headers.iter().map(Into::into).collect(),
            body: response.body.clone(),
            error: response.error.as_ref().map(|error| mirror::WireError {
                code: error.code.clone(),
                message: error.message.clone(),
            }),
        }
    }
}

impl From<mirror::Response> for Response {
    fn from(response: mirror::Response) -> Self {
        assert_eq!(response.version, fezz_abi::WIRE_VERSION);
        Response {
            status: response.status,
            headers: response.headers.into_iter().map(Into::into).collect(),
            body: response.body,
            error: response
                .error
                .map(|error| WireError::new(error.code, error.message)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The messages.

/// Body bytes: JSON-looking text, repeated to `length`.
fn body(length: usize) -> Vec<u8> {
    br#"{"id":42,"title":"buy milk","done":false,"tags":["home","errand"]},"#
        .iter()
        .copied()
        .cycle()
        .take(length)
        .collect()
}

fn request(body_length: usize) -> Request {
    let headers = [
        ("host", "api.example.com"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ("accept", "application/json, text/plain;q=0.9, */*;q=0.8"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "en-US,en;q=0.5"),
        ("content-type", "application/json"),
        ("content-length", &body_length.to_string()),
        ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("cookie", "session=9f86d081884c7d659a2feaa0c55ad015; theme=dark"),
    ];
    Request {
        method: "POST".into(),
        path: "/api/v1/todos/42".into(),
        query: Some("include=owner&fields=id,title,done".into()),
        headers: headers
            .iter()
            .map(|(name, value)| Header::new(*name, *value))
            .collect(),
        body: body(body_length),
        context: RequestContext {
            function_id: "todosapi".into(),
            function_version: "1.4.2".into(),
            request_id: "01J9Z3K7Q8W4M2N6P0R5T1V3X7".into(),
            deadline_unix_ms: Some(1_767_225_600_000),
            client_address: Some("203.0.113.7:51234".into()),
            scheme: Some("https".into()),
            host: Some("api.example.com".into()),
        },
    }
}

fn response(body_length: usize) -> Response {
    let headers = [
        ("content-type", "application/json"),
        ("content-length", &body_length.to_string()),
        ("cache-control", "private, max-age=0, must-revalidate"),
        ("date", "Thu, 01 Jan 2026 00:00:00 GMT"),
        ("etag", "W/\"5e3-1a2b3c4d\""),
        ("server", "fezz"),
        ("vary", "Accept-Encoding, Authorization"),
        ("x-request-id", "01J9Z3K7Q8W4M2N6P0R5T1V3X7"),
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains; preload",
        ),
        (
            "set-cookie",
            "session=9f86d081884c7d659a2feaa0c55ad015; Path=/; HttpOnly; Secure",
        ),
    ];
    Response {
        status: 200,
        headers: headers
            .iter()
            .map(|(name, value)| Header::new(*name, *value))
            .collect(),
        body: body(body_length),
        error: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

fn ciborium_encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).expect("ciborium encodes");
    bytes
}

fn ciborium_decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    ciborium::from_reader(bytes).expect("ciborium decodes")
}

fn minicbor_encode<T: minicbor::Encode<()>>(value: &T) -> Vec<u8> {
    minicbor::to_vec(value).expect("minicbor encodes")
}

fn minicbor_decode<'b, T: minicbor::Decode<'b, ()>>(bytes: &'b [u8]) -> T {
    minicbor::decode(bytes).expect("minicbor decodes")
}

/// Before anything is timed: every codec writes fezz-abi's bytes and reads them back to the
/// same message, so all three are timed on the same input doing the same job.
fn check_equivalence(request: &Request, response: &Response) {
    let bytes = encode_request(request).expect("fezz-abi encodes the request");
    let mirror = mirror::Request::from(request);
    assert_eq!(ciborium_encode(&mirror), bytes, "ciborium's request bytes");
    assert_eq!(minicbor_encode(&mirror), bytes, "minicbor's request bytes");
    assert_eq!(&decode_request(&bytes).expect("fezz-abi decodes"), request);
    let decoded: mirror::Request = ciborium_decode(&bytes);
    assert_eq!(&Request::from(decoded), request, "ciborium's request");
    let decoded: mirror::Request = minicbor_decode(&bytes);
    assert_eq!(&Request::from(decoded), request, "minicbor's request");

    let bytes = encode_response(response).expect("fezz-abi encodes the response");
    let mirror = mirror::Response::from(response);
    assert_eq!(ciborium_encode(&mirror), bytes, "ciborium's response bytes");
    assert_eq!(minicbor_encode(&mirror), bytes, "minicbor's response bytes");
    assert_eq!(
        &decode_response(&bytes).expect("fezz-abi decodes"),
        response
    );
    let decoded: mirror::Response = ciborium_decode(&bytes);
    assert_eq!(&Response::from(decoded), response, "ciborium's response");
    let decoded: mirror::Response = minicbor_decode(&bytes);
    assert_eq!(&Response::from(decoded), response, "minicbor's response");
}

struct Harness {
    /// Time the cases (`cargo bench`), or run each once (`cargo test --all-targets`).
    timed: bool,
    /// Only cases whose id (e.g. "request  1KiB decode minicbor") contains every one of these.
    filter: Vec<String>,
    /// ns per call of the current group's fezz-abi case, for the ratio column.
    baseline: Option<f64>,
    ran: usize,
}

impl Harness {
    /// Runs one case: `f` is one call of `codec` for `group` (e.g. "request 1KiB decode"), on a
    /// message of `size` encoded bytes. Each group runs fezz-abi first, as the baseline.
    fn case<R>(
        &mut self,
        group: &str,
        codec: &str,
        size: usize,
        iterations: usize,
        mut f: impl FnMut() -> R,
    ) {
        let id = format!("{group} {codec}");
        if !self.filter.iter().all(|word| id.contains(word.as_str())) {
            return;
        }
        self.ran += 1;
        if !self.timed {
            black_box(f());
            return;
        }
        let (allocations, peak) = allocations(&mut f);
        for _ in 0..iterations {
            black_box(f());
        }
        let mut rounds: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..iterations {
                    black_box(f());
                }
                start.elapsed().as_nanos() as f64 / iterations as f64
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        let median = rounds[ROUNDS / 2];
        if codec == "fezz-abi" {
            self.baseline = Some(median);
        }
        let ratio = self.baseline.map_or("-".to_string(), |baseline| {
            format!("{:.2}x", median / baseline)
        });
        println!(
            "{group:<22} {codec:<9} {median:>9.0} {:>9.0} {:>9.0} {ratio:>8} {:>7.1}% {allocations:>7} {peak:>10}",
            rounds[0],
            size as f64 * 1e3 / median,
            (rounds[ROUNDS - 1] - rounds[0]) / median * 100.0,
        );
    }

    fn start_group(&mut self) {
        self.baseline = None;
    }
}

fn main() {
    let mut harness = Harness {
        timed: std::env::args().any(|argument| argument == "--bench"),
        filter: std::env::args()
            .skip(1)
            .filter(|argument| !argument.starts_with('-'))
            .collect(),
        baseline: None,
        ran: 0,
    };
    if harness.timed {
        println!(
            "{ROUNDS} timed rounds per case after one untimed round. ns/op: the median round's ns per call;"
        );
        println!(
            "best: the fastest round's; MB/s: encoded message bytes / median time; vs fezz: median / fezz-abi's median;"
        );
        println!(
            "spread: (slowest - fastest round) / median; allocs, peak B: allocations and peak bytes live for one call\n"
        );
        println!(
            "{:<22} {:<9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>10}",
            "case", "codec", "ns/op", "best", "MB/s", "vs fezz", "spread", "allocs", "peak B"
        );
    }
    for (label, body_length, iterations) in [
        ("0B", 0, 20_000),
        ("1KiB", 1024, 20_000),
        ("1MiB", 1024 * 1024, 500),
    ] {
        let request = request(body_length);
        let response = response(body_length);
        check_equivalence(&request, &response);

        let bytes = encode_request(&request).expect("fezz-abi encodes");
        let size = bytes.len();
        let mirror = mirror::Request::from(&request);
        let group = format!("request  {label:<4} encode");
        harness.start_group();
        harness.case(&group, "fezz-abi", size, iterations, || {
            encode_request(black_box(&request)).expect("fezz-abi encodes")
        });
        harness.case(&group, "ciborium", size, iterations, || {
            ciborium_encode(black_box(&mirror))
        });
        harness.case(&group, "minicbor", size, iterations, || {
            minicbor_encode(black_box(&mirror))
        });
        let group = format!("request  {label:<4} decode");
        harness.start_group();
        harness.case(&group, "fezz-abi", size, iterations, || {
            decode_request(black_box(&bytes)).expect("fezz-abi decodes")
        });
        harness.case(&group, "ciborium", size, iterations, || {
            ciborium_decode::<mirror::Request>(black_box(&bytes))
        });
        harness.case(&group, "minicbor", size, iterations, || {
            minicbor_decode::<mirror::Request>(black_box(&bytes))
        });

        let bytes = encode_response(&response).expect("fezz-abi encodes");
        let size = bytes.len();
        let mirror = mirror::Response::from(&response);
        let group = format!("response {label:<4} encode");
        harness.start_group();
        harness.case(&group, "fezz-abi", size, iterations, || {
            encode_response(black_box(&response)).expect("fezz-abi encodes")
        });
        harness.case(&group, "ciborium", size, iterations, || {
            ciborium_encode(black_box(&mirror))
        });
        harness.case(&group, "minicbor", size, iterations, || {
            minicbor_encode(black_box(&mirror))
        });
        let group = format!("response {label:<4} decode");
        harness.start_group();
        harness.case(&group, "fezz-abi", size, iterations, || {
            decode_response(black_box(&bytes)).expect("fezz-abi decodes")
        });
        harness.case(&group, "ciborium", size, iterations, || {
            ciborium_decode::<mirror::Response>(black_box(&bytes))
        });
        harness.case(&group, "minicbor", size, iterations, || {
            minicbor_decode::<mirror::Response>(black_box(&bytes))
        });
    }
    if !harness.timed {
        println!(
            "codec bench: equivalence checked, {} cases run once (time them with `cargo bench -p fezz-abi --bench codec`)",
            harness.ran
        );
    }
}
