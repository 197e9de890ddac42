//! A first round trip through the codec; the full suites live in `vectors.rs` and `properties.rs`.
use fezz_abi::{decode_request, decode_response, encode_request, encode_response};
use fezz_abi::{Header, Request, Response};

#[test]
fn request_and_response_round_trip() {
    let mut request = Request::new("GET", "/hello");
    request.query = Some(String::new());
    request.headers.push(Header::new("x-bin", vec![0xff, 0x00 + 1]));
    request.context.function_id = "todos".into();
    let bytes = encode_request(&request).unwrap();
    assert_eq!(decode_request(&bytes).unwrap(), request);
    let response = Response::text(201, "ok");
    let bytes = encode_response(&response).unwrap();
    assert_eq!(decode_response(&bytes).unwrap(), response);
    assert!(decode_response(&bytes[..bytes.len() - 1]).is_err());
}
