//! The spec's value rules for messages, written again from `spec/CBOR-PROFILE.md` and
//! `abi/src/limits.rs`, independent of `fezz_abi`'s own validation: which values the encoder
//! must accept and which it must refuse. Also [`repair`], which turns an arbitrary message
//! into one that follows them, so the round-trip target reaches the encoder's success path.

use fezz_abi::limits::{
    MAX_BODY_BYTES, MAX_HEADER_COUNT, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES, MAX_TEXT_BYTES,
};
use fezz_abi::{Header, Request, Response, WireError};

/// RFC 9110 `tchar`: the bytes of an HTTP token.
pub const TOKEN_CHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_token(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && value.bytes().all(|byte| TOKEN_CHARS.contains(&byte))
}

fn text_ok(value: &str) -> bool {
    value.len() <= MAX_TEXT_BYTES
}

fn header_ok(header: &Header) -> bool {
    is_token(&header.name, MAX_HEADER_NAME_BYTES)
        && header.value.len() <= MAX_HEADER_VALUE_BYTES
        && header
            .value
            .iter()
            .all(|byte| *byte == b'\t' || (*byte >= 0x20 && *byte != 0x7f))
}

fn headers_ok(headers: &[Header]) -> bool {
    headers.len() <= MAX_HEADER_COUNT && headers.iter().all(header_ok)
}

/// Whether `request` follows every value rule (so the encoder must accept it, unless the
/// whole encoding is past `MAX_MESSAGE_BYTES`).
pub fn request_ok(request: &Request) -> bool {
    let context = &request.context;
    is_token(&request.method, MAX_TEXT_BYTES)
        && text_ok(&request.path)
        && (request.path == "*" || request.path.starts_with('/'))
        && request.query.as_deref().is_none_or(text_ok)
        && headers_ok(&request.headers)
        && request.body.len() <= MAX_BODY_BYTES
        && [
            &context.function_id,
            &context.function_version,
            &context.request_id,
        ]
        .into_iter()
        .all(|text| text_ok(text))
        && [&context.client_address, &context.scheme, &context.host]
            .into_iter()
            .all(|text| text.as_deref().is_none_or(text_ok))
}

/// Whether `response` follows every value rule.
pub fn response_ok(response: &Response) -> bool {
    (200..=599).contains(&response.status)
        && headers_ok(&response.headers)
        && response.body.len() <= MAX_BODY_BYTES
        && response.error.as_ref().is_none_or(error_ok)
}

/// Whether `error` follows every value rule.
pub fn error_ok(error: &WireError) -> bool {
    text_ok(&error.code) && text_ok(&error.message)
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

fn make_token(text: &mut String, max: usize) {
    let mut token: String = text
        .bytes()
        .take(max)
        .map(|byte| {
            if TOKEN_CHARS.contains(&byte) {
                char::from(byte)
            } else {
                char::from(TOKEN_CHARS[usize::from(byte) % TOKEN_CHARS.len()])
            }
        })
        .collect();
    if token.is_empty() {
        token.push('x');
    }
    *text = token;
}

fn repair_headers(headers: &mut Vec<Header>) {
    headers.truncate(MAX_HEADER_COUNT);
    for header in headers {
        make_token(&mut header.name, MAX_HEADER_NAME_BYTES);
        header.value.truncate(MAX_HEADER_VALUE_BYTES);
        for byte in &mut header.value {
            if *byte != b'\t' && (*byte < 0x20 || *byte == 0x7f) {
                *byte = b' ';
            }
        }
    }
}

/// Changes `request` as little as needed to follow the value rules.
pub fn repair_request(request: &mut Request) {
    make_token(&mut request.method, MAX_TEXT_BYTES);
    if request.path != "*" && !request.path.starts_with('/') {
        request.path.insert(0, '/');
    }
    truncate(&mut request.path, MAX_TEXT_BYTES);
    repair_headers(&mut request.headers);
    request.body.truncate(MAX_BODY_BYTES);
    let context = &mut request.context;
    let texts = [
        Some(&mut context.function_id),
        Some(&mut context.function_version),
        Some(&mut context.request_id),
        request.query.as_mut(),
        context.client_address.as_mut(),
        context.scheme.as_mut(),
        context.host.as_mut(),
    ];
    for text in texts.into_iter().flatten() {
        truncate(text, MAX_TEXT_BYTES);
    }
}

/// Changes `response` as little as needed to follow the value rules.
pub fn repair_response(response: &mut Response) {
    if !(200..=599).contains(&response.status) {
        response.status = 200 + response.status % 400;
    }
    repair_headers(&mut response.headers);
    response.body.truncate(MAX_BODY_BYTES);
    if let Some(error) = &mut response.error {
        repair_error(error);
    }
}

/// Changes `error` as little as needed to follow the value rules.
pub fn repair_error(error: &mut WireError) {
    truncate(&mut error.code, MAX_TEXT_BYTES);
    truncate(&mut error.message, MAX_TEXT_BYTES);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_makes_values_valid() {
        let mut request = Request::new("G E\0T", "no-slash");
        request.headers.push(Header::new("", b"a\r\nb".to_vec()));
        request.query = Some("é".repeat(MAX_TEXT_BYTES));
        assert!(!request_ok(&request));
        repair_request(&mut request);
        assert!(request_ok(&request), "{request:?}");
        assert_eq!(request.path, "/no-slash");

        let mut response = Response::new(600);
        response.headers.push(Header::new("bad name", vec![0]));
        assert!(!response_ok(&response));
        repair_response(&mut response);
        assert!(response_ok(&response), "{response:?}");
        assert_eq!(response.status, 400);
    }
}
