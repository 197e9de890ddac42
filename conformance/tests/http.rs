//! The http level against a live hhrf serving the Rust fixture as `fixture@1`, and the C and
//! Zig hello examples deployed next to the Rust example under one hhrf.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use support::{
    artifact, assert_passed, deploy, fezz_pkg_config_path, fixture_manifest, repo_root,
    rust_fixture, scratch, suite, Hhrf,
};

#[test]
fn http_level_passes_against_hhrf_with_the_rust_fixture() {
    let root = scratch("http-level");
    let fixture = rust_fixture();
    deploy(
        &root,
        "fixture",
        "1",
        &fixture,
        &fixture_manifest("libfezz_fixture_rust.so"),
    );
    let hhrf = Hhrf::start(&root);
    let output = suite(&["http", "--url", &hhrf.url()], &[]);
    assert_passed(&output, 30);
}

/// GET over raw HTTP; returns (status, body).
fn get(authority: &str, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(authority).expect("connect to hhrf");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let parsed = fezz_conformance::http_level::parse_response(&response).expect("an HTTP response");
    (
        parsed.status,
        String::from_utf8_lossy(&parsed.body).into_owned(),
    )
}

fn build_example(name: &str, deploy_dir: &Path) {
    let script = repo_root().join("examples").join(name).join("build.sh");
    let output = Command::new("sh")
        .arg(&script)
        .arg(deploy_dir)
        // hello-zig links the archive itself; hello-c takes fezz from pkg-config.
        .env("FEZZ_ABI_LIB", artifact("libfezz_abi.a"))
        .env("PKG_CONFIG_PATH", fezz_pkg_config_path())
        .output()
        .expect("run build.sh");
    assert!(
        output.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let library = deploy_dir.join(format!("lib{}.so", name.replace('-', "_")));
    assert!(
        library.is_file(),
        "{} did not produce {}",
        script.display(),
        library.display()
    );
}

#[test]
fn hello_c_and_hello_zig_answer_next_to_the_rust_example() {
    let root = scratch("examples");
    let functions = root.join("functions");
    build_example("hello-c", &functions.join("hello-c@1"));
    build_example("hello-zig", &functions.join("hello-zig@1"));
    // The Rust example, deployed as examples/serve.sh does it.
    let todos = repo_root().join("functions/todos@latest/fezz.json");
    let manifest = std::fs::read_to_string(&todos).expect("functions/todos@latest/fezz.json");
    deploy(
        &root,
        "todos",
        "latest",
        &artifact("libexample_todosapi.so"),
        &manifest,
    );
    std::fs::create_dir_all(root.join("data")).unwrap();

    let hhrf = Hhrf::start(&root);
    assert_eq!(
        get(&hhrf.authority, "/rpc/hello-c@1/world"),
        (200, "hello world from C at /world\n".to_owned())
    );
    assert_eq!(
        get(&hhrf.authority, "/hello-c/route?name=Ada%20L&name=B"),
        (200, "hello Ada L, B from C at /hello-c/route\n".to_owned())
    );
    assert_eq!(
        get(&hhrf.authority, "/rpc/hello-zig@1/world"),
        (200, "hello from Zig at /world\n".to_owned())
    );
    assert_eq!(
        get(&hhrf.authority, "/hello-zig/route"),
        (200, "hello from Zig at /hello-zig/route\n".to_owned())
    );
    let (status, _) = get(&hhrf.authority, "/hello");
    assert_eq!(status, 200, "the Rust example's /hello");
}
