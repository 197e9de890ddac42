//! Routing and function loading, black box: the demo through the todos example, `/rpc/`,
//! root routes, 404, 405 with `Allow`, the `.dylib`/`.so` entry rule, and manifests that
//! are broken or conflict next to good ones.

mod support;

use std::time::Duration;

use support::{fixture_library, todos_library, workspace, Hhrf, Root};

/// The repository's own `functions/todos@latest/fezz.json`, which names the `.dylib`.
fn add_todos(root: &Root) {
    let manifest = std::fs::read_to_string(workspace().join("functions/todos@latest/fezz.json"))
        .expect("functions/todos@latest/fezz.json is checked in");
    assert!(manifest.contains("libexample_todosapi.dylib"));
    root.add(
        "todos@latest",
        &manifest,
        &todos_library(),
        "libexample_todosapi.so",
    );
    std::fs::create_dir_all(root.path().join("data")).unwrap();
}

#[test]
fn the_demo_answers_through_rpc_and_root_routes() {
    let root = Root::new();
    add_todos(&root);
    let hhrf = Hhrf::start(&root, &[]);

    let index = hhrf.get("/rpc/todos@latest");
    assert_eq!(
        index.status,
        200,
        "{}",
        String::from_utf8_lossy(&index.body)
    );
    assert!(index.header("x-request-id").is_some());

    for target in ["/hello", "/rpc/todos@latest/hello"] {
        let hello = hhrf.get(target);
        assert_eq!(hello.status, 200, "{target}");
        assert_eq!(hello.body, b"Hello from fezz!\n", "{target}");
        let line = hhrf.request_line(&hello.request_id());
        assert!(line.contains("function=todos@latest"), "{line}");
        assert!(
            line.contains("status=200") && line.contains("outcome=ok"),
            "{line}"
        );
        assert!(line.contains("duration_ms="), "{line}");
    }
    hhrf.assert_no_children();
}

#[test]
fn unknown_functions_and_paths_are_404() {
    let root = Root::new();
    root.add_fixture(5_000);
    let hhrf = Hhrf::start(&root, &[]);
    for target in [
        "/rpc/nope@1",
        "/rpc/fx@2/x",
        "/rpc",
        "/rpc/",
        "/rpc/fx%401",
        "/nothing",
        "/",
    ] {
        let response = hhrf.get(target);
        let json = response.assert_error(404, "not-found");
        assert!(json["error"]["message"].is_string());
        let line = hhrf.request_line(&response.request_id());
        assert!(line.contains("status=404 outcome=not-found"), "{line}");
    }
}

#[test]
fn a_wrong_method_on_a_root_route_is_405_with_allow() {
    let root = Root::new();
    add_todos(&root);
    root.add_fixture(5_000);
    let hhrf = Hhrf::start(&root, &[]);

    let response = hhrf.send("POST", "/hello");
    response.assert_error(405, "method-not-allowed");
    assert_eq!(response.header("allow").as_deref(), Some("GET, HEAD"));

    let response = hhrf.get("/fx/anything");
    response.assert_error(405, "method-not-allowed");
    assert_eq!(response.header("allow").as_deref(), Some("POST"));

    // The same paths with the right method, and /rpc/, which forwards any method.
    assert_eq!(hhrf.send("POST", "/fx/anything").status, 200);
    assert_eq!(hhrf.send("HEAD", "/hello").status, 200);
    let any = hhrf.send("DELETE", "/rpc/fx@1/whatever");
    assert_eq!(any.status, 200);
    assert_eq!(any.header("x-echo-method").as_deref(), Some("DELETE"));
    assert_eq!(any.header("x-echo-path").as_deref(), Some("/whatever"));
    // Root routes pass the path as received.
    let root_route = hhrf.send("PUT", "/echo/a/b");
    assert_eq!(
        root_route.header("x-echo-path").as_deref(),
        Some("/echo/a/b")
    );
}

#[test]
fn a_broken_manifest_disables_only_its_function_and_the_log_says_why() {
    let root = Root::new();
    root.add_fixture(5_000);
    let library = fixture_library();
    root.add(
        "bad@1",
        r#"{"id":"bad","version":"1","entry":"lib.so","routes":[],"timeout_ms":0}"#,
        &library,
        "lib.so",
    );
    root.add(
        "typo@1",
        r#"{"id":"typo","version":"1","entry":"lib.so","routes":[{"path":"/t","metod":"GET"}]}"#,
        &library,
        "lib.so",
    );
    root.add(
        "misnamed@1",
        r#"{"id":"other","version":"1","entry":"lib.so","routes":[]}"#,
        &library,
        "lib.so",
    );
    root.add(
        "nolib@1",
        r#"{"id":"nolib","version":"1","entry":"libmissing.dylib","routes":[]}"#,
        &library,
        "unrelated.so",
    );
    // Conflicts with fx@1's "/echo/..." (any method): this route is left out, the rest stays.
    root.add(
        "zz@1",
        r#"{"id":"zz","version":"1","entry":"lib.so","routes":[{"path":"/echo/...","method":"GET"},{"path":"/zz"}]}"#,
        &library,
        "lib.so",
    );
    let hhrf = Hhrf::start(&root, &[]);
    let log = hhrf.log();
    let functions = root.path().canonicalize().unwrap().join("functions");
    let expect = |folder: &str, field: &str, rule: &str| {
        let file = functions.join(folder).join("fezz.json");
        let line = log
            .lines()
            .find(|line| line.contains(&file.display().to_string()))
            .unwrap_or_else(|| panic!("no log line names {}; log:\n{log}", file.display()));
        assert!(line.contains(&format!("field `{field}`")), "{line}");
        assert!(line.contains(rule), "{line}");
    };
    expect("bad@1", "timeout_ms", "outside 1..=3600000");
    expect("typo@1", "routes[0].metod", "unknown field `metod`");
    expect("misnamed@1", "id", "must be named");
    expect("nolib@1", "entry", "tried libmissing.dylib, libmissing.so");
    expect("zz@1", "routes[0]", "fx@1/fezz.json");

    assert_eq!(hhrf.get("/rpc/fx@1/ok").status, 200);
    for dead in [
        "/rpc/bad@1",
        "/rpc/typo@1",
        "/rpc/other@1",
        "/rpc/misnamed@1",
        "/rpc/nolib@1",
    ] {
        hhrf.get(dead).assert_error(404, "not-found");
    }
    // zz@1 serves its other route and /rpc/; /echo/... stays with fx@1.
    assert_eq!(hhrf.get("/zz").status, 200);
    assert_eq!(hhrf.get("/rpc/zz@1/x").status, 200);
    let echo = hhrf.get("/echo/x");
    let line = hhrf.request_line(&echo.request_id());
    assert!(line.contains("function=fx@1"), "{line}");
    hhrf.wait_for_log("functions: 2 (fx@1, zz@1)", Duration::from_secs(1));
}

#[test]
fn a_missing_functions_folder_still_serves_404() {
    let root = Root::new();
    std::fs::remove_dir(root.path().join("functions")).unwrap();
    let hhrf = Hhrf::start(&root, &[]);
    hhrf.get("/rpc/fx@1").assert_error(404, "not-found");
    assert!(hhrf.log().contains("functions: 0 (none)"));
}

#[test]
fn the_health_endpoint_counts_functions_and_owns_fezz_paths() {
    let root = Root::new();
    add_todos(&root);
    root.add_fixture(5_000);
    let hhrf = Hhrf::start(&root, &[]);

    let health = hhrf.get("/_fezz/health");
    assert_eq!(health.status, 200);
    assert_eq!(
        health.header("content-type").as_deref(),
        Some("application/json")
    );
    let json = health.json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["functions"], 2);
    assert_eq!(json["admission"]["in_flight"], 0);
    assert_eq!(json["admission"]["memory_budget_bytes"], 1u64 << 30);
    let line = hhrf.request_line(&health.request_id());
    assert!(
        line.contains("function=- status=200 outcome=health"),
        "{line}"
    );

    let head = hhrf.send("HEAD", "/_fezz/health");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(head.header("x-request-id").is_some());

    let post = hhrf.send("POST", "/_fezz/health");
    post.assert_error(405, "method-not-allowed");
    assert_eq!(post.header("allow").as_deref(), Some("GET, HEAD"));

    for target in ["/_fezz/nope", "/_fezz", "/_fezz/health/"] {
        let response = hhrf.get(target);
        response.assert_error(404, "not-found");
        let line = hhrf.request_line(&response.request_id());
        assert!(line.contains("status=404 outcome=not-found"), "{line}");
    }
    hhrf.assert_no_children();
}
