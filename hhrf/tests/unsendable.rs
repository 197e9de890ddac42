//! A response the wire forbids (`spec/CBOR-PROFILE.md`, "Value rules": a 1xx status, a header
//! value with a control byte other than HTAB) never reaches the client, and the client's 502
//! says what was wrong in words the function's author understands, whichever side refuses
//! it: the reference runner (exit 15, `runner-failed`) or, for a runner that passes such
//! bytes on with exit 0, hhrf itself (`bad-output`). `spec/HTTP.md`, "Response mapping".
//!
//! The function is `tests/c/faulty.c` (`/informational`, `/escape` and their `-raw` forms).

mod faulty;
mod support;

use faulty::Marker;
use support::{Hhrf, Root};

#[test]
fn a_response_http_cannot_carry_is_a_502_that_names_the_rule() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("UNSENDABLE");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "faulty", &library, 5_000, &marker, "{}");
    root.add_fixture(5_000);
    let hhrf = Hhrf::start(&root, &[]);
    let cases = [
        (
            "/informational",
            "runner-failed",
            "status 101 is informational (1xx)",
        ),
        (
            "/informational-raw",
            "bad-output",
            "status 101 is informational (1xx)",
        ),
        (
            "/escape",
            "runner-failed",
            "header \"x-colour\": header value has the control byte 0x1b",
        ),
        (
            "/escape-raw",
            "bad-output",
            "header \"x-colour\": header value has the control byte 0x1b",
        ),
    ];
    for (path, code, rule) in cases {
        let response = hhrf.get(&format!("/rpc/faulty@1{path}"));
        assert_eq!(response.status, 502, "{path}");
        let json = response.json();
        assert_eq!(json["error"]["code"], code, "{path}: {json}");
        let message = json["error"]["message"].as_str().unwrap_or_default();
        eprintln!("{path}: 502 {code}: {message}");
        assert!(
            message.starts_with("the function returned a response that cannot be sent")
                && message.contains(rule),
            "{path}: {message}"
        );
        assert!(
            !response.headers.iter().any(|(name, _)| name == "x-colour"),
            "{path}: the forbidden header reached the client"
        );
    }
    hhrf.assert_still_serving();
}
