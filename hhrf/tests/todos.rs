//! The todos example's CRUD API, black box, through a real hhrf with the repository's own
//! `functions/todos@latest/fezz.json`: create, list, get, PATCH, PUT, DELETE, the validation
//! errors, 405 with `Allow`, both at the root routes and under `/rpc/todos@latest`; then a
//! restart of hhrf on the same root, with the todos still there (`<root>/data/`).

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{json, Value};
use support::{todos_library, workspace, Hhrf, RawResponse, Root};

/// The repository's own `functions/todos@latest/fezz.json` (as in `routing.rs`).
fn add_todos(root: &Root) {
    let manifest = std::fs::read_to_string(workspace().join("functions/todos@latest/fezz.json"))
        .expect("functions/todos@latest/fezz.json is checked in");
    assert!(manifest.contains("../../data/todos.sqlite3"), "{manifest}");
    root.add(
        "todos@latest",
        &manifest,
        &todos_library(),
        "libexample_todosapi.so",
    );
    std::fs::create_dir_all(root.path().join("data")).unwrap();
}

/// `method target` with `body` and, when given, that `content-type`.
fn send_body(
    hhrf: &Hhrf,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &str,
) -> RawResponse {
    let content_type = content_type
        .map(|value| format!("Content-Type: {value}\r\n"))
        .unwrap_or_default();
    hhrf.raw(
        format!(
            "{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{content_type}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

/// `method target` with a JSON body.
fn send_json(hhrf: &Hhrf, method: &str, target: &str, body: &str) -> RawResponse {
    send_body(hhrf, method, target, Some("application/json"), body)
}

/// Asserts `status` and a JSON body; returns the body.
fn expect_json(response: &RawResponse, status: u16, what: &str) -> Value {
    assert_eq!(
        response.status,
        status,
        "{what}\n{}\n{}",
        response.raw_head,
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("application/json"),
        "{what}"
    );
    response.json()
}

/// Asserts that `todo` is a todo with this title and done, and the documented fields only;
/// returns its id.
fn expect_todo(todo: &Value, title: &str, done: bool) -> i64 {
    let object = todo
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {todo}"));
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["created_at", "done", "id", "title", "updated_at"],
        "{todo}"
    );
    assert_eq!(todo["title"], title, "{todo}");
    assert_eq!(todo["done"], done, "{todo}");
    for stamp in ["created_at", "updated_at"] {
        let text = todo[stamp].as_str().unwrap_or_else(|| panic!("{todo}"));
        assert!(text.len() >= 20 && text.ends_with('Z'), "{stamp}: {todo}");
    }
    let id = todo["id"].as_i64().unwrap_or_else(|| panic!("{todo}"));
    assert!(id > 0, "{todo}");
    id
}

/// The ids `GET {prefix}/todos` lists, in order.
fn listed_ids(hhrf: &Hhrf, prefix: &str) -> Vec<i64> {
    let list = expect_json(&hhrf.get(&format!("{prefix}/todos")), 200, "list");
    list["todos"]
        .as_array()
        .unwrap_or_else(|| panic!("no todos array: {list}"))
        .iter()
        .map(|todo| todo["id"].as_i64().unwrap_or_else(|| panic!("{todo}")))
        .collect()
}

/// The whole CRUD round through `prefix` ("" for the root routes, or `/rpc/todos@latest`),
/// on a database that already holds the todos `before` (oldest first). Leaves one new todo
/// behind and returns it.
fn crud_round(hhrf: &Hhrf, prefix: &str, before: &[i64]) -> Value {
    let todos = format!("{prefix}/todos");
    let one = |id: i64| format!("{prefix}/todos/{id}");

    // Create two: 201, Location, the todo (title trimmed, done defaulting to false).
    let created = send_json(hhrf, "POST", &todos, r#"{"title": "  buy milk  "}"#);
    let first = expect_json(&created, 201, "create first");
    let a = expect_todo(&first, "buy milk", false);
    assert_eq!(
        created.header("location"),
        Some(format!("/todos/{a}")),
        "{}",
        created.raw_head
    );
    let created = send_json(
        hhrf,
        "POST",
        &todos,
        r#"{"title": "write docs", "done": true}"#,
    );
    let second = expect_json(&created, 201, "create second");
    let b = expect_todo(&second, "write docs", true);
    assert!(b > a, "ids grow: {a} then {b}");
    assert_eq!(created.header("location"), Some(format!("/todos/{b}")));

    // List: both, after the older ones, oldest first; and the done filter.
    let mut expected = before.to_vec();
    expected.extend([a, b]);
    assert_eq!(listed_ids(hhrf, prefix), expected);
    let done = expect_json(&hhrf.get(&format!("{todos}?done=true")), 200, "done=true");
    let done: Vec<&Value> = done["todos"].as_array().unwrap().iter().collect();
    assert!(done.iter().all(|todo| todo["done"] == true), "{done:?}");
    assert!(done.iter().any(|todo| todo["id"] == b), "{done:?}");
    assert!(!done.iter().any(|todo| todo["id"] == a), "{done:?}");

    // Get one: exactly what the create returned, at the root and under /rpc/ alike.
    assert_eq!(expect_json(&hhrf.get(&one(a)), 200, "get"), first);
    assert_eq!(
        expect_json(
            &hhrf.get(&format!("/rpc/todos@latest/todos/{a}")),
            200,
            "get rpc"
        ),
        first
    );
    assert_eq!(
        expect_json(&hhrf.get(&format!("/todos/{b}")), 200, "get root"),
        second
    );

    // PATCH changes only the fields given.
    let patched = expect_json(
        &send_json(hhrf, "PATCH", &one(a), r#"{"done": true}"#),
        200,
        "patch done",
    );
    assert_eq!(expect_todo(&patched, "buy milk", true), a);
    assert_eq!(patched["created_at"], first["created_at"]);
    let patched = expect_json(
        &send_json(hhrf, "PATCH", &one(a), r#"{"title": "buy oat milk"}"#),
        200,
        "patch title",
    );
    assert_eq!(expect_todo(&patched, "buy oat milk", true), a);

    // PUT replaces both fields: done left out becomes false; read-only fields are ignored.
    let mut sent_back = patched.clone();
    sent_back["title"] = json!("buy soy milk");
    sent_back.as_object_mut().unwrap().remove("done");
    sent_back["id"] = json!(999_999);
    let put = expect_json(
        &send_json(hhrf, "PUT", &one(a), &sent_back.to_string()),
        200,
        "put",
    );
    assert_eq!(expect_todo(&put, "buy soy milk", false), a);
    assert_eq!(put["created_at"], first["created_at"]);
    assert_eq!(expect_json(&hhrf.get(&one(a)), 200, "get after put"), put);

    // Validation: nothing is created or changed by a rejected request.
    let empty = send_json(hhrf, "POST", &todos, r#"{"title": "   "}"#);
    let json = empty.assert_error(400, "invalid-todo");
    assert_eq!(
        json["error"]["message"], "title must not be empty",
        "{json}"
    );
    send_json(hhrf, "PATCH", &one(a), r#"{"title": ""}"#).assert_error(400, "invalid-todo");
    send_json(hhrf, "PUT", &one(a), r#"{"done": true}"#).assert_error(400, "invalid-todo");
    send_json(hhrf, "POST", &todos, r#"{"title": "x", "colour": "red"}"#)
        .assert_error(400, "invalid-todo");
    send_json(hhrf, "POST", &todos, r#"{"title": "#).assert_error(400, "invalid-json");
    send_json(hhrf, "PATCH", &one(a), "not json").assert_error(400, "invalid-json");
    send_json(hhrf, "POST", &todos, "").assert_error(400, "invalid-json");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        send_body(hhrf, "POST", &todos, content_type, r#"{"title": "x"}"#)
            .assert_error(415, "unsupported-media-type");
    }
    send_body(
        hhrf,
        "PUT",
        &one(a),
        Some("text/plain"),
        r#"{"title": "x"}"#,
    )
    .assert_error(415, "unsupported-media-type");
    // `application/*+json` with a charset is JSON too.
    let patched = send_body(
        hhrf,
        "PATCH",
        &one(b),
        Some("application/merge-patch+json; charset=utf-8"),
        r#"{"done": false}"#,
    );
    let patched = expect_json(&patched, 200, "patch +json");
    assert_eq!(expect_todo(&patched, "write docs", false), b);
    assert_eq!(listed_ids(hhrf, prefix), expected);
    assert_eq!(expect_json(&hhrf.get(&one(a)), 200, "unchanged"), put);

    // A wrong method: 405 with Allow, from the function.
    for method in ["POST", "OPTIONS"] {
        let response = hhrf.send(method, &one(a));
        response.assert_error(405, "method-not-allowed");
        assert_eq!(
            response.header("allow").as_deref(),
            Some("GET, HEAD, PUT, PATCH, DELETE"),
            "{method}"
        );
    }
    let response = hhrf.send("DELETE", &todos);
    response.assert_error(405, "method-not-allowed");
    assert_eq!(response.header("allow").as_deref(), Some("GET, HEAD, POST"));

    // DELETE: 204 without a body, then 404 with a JSON error, for every method on it.
    let deleted = hhrf.send("DELETE", &one(b));
    assert_eq!(deleted.status, 204, "{}", deleted.raw_head);
    assert!(deleted.body.is_empty(), "{:?}", deleted.body);
    let gone = hhrf.get(&one(b));
    let json = gone.assert_error(404, "not-found");
    assert!(json["error"]["message"].is_string(), "{json}");
    hhrf.send("DELETE", &one(b)).assert_error(404, "not-found");
    send_json(hhrf, "PATCH", &one(b), r#"{"done": true}"#).assert_error(404, "not-found");
    hhrf.get(&format!("{prefix}/todos/0"))
        .assert_error(404, "not-found");

    let mut expected = before.to_vec();
    expected.push(a);
    assert_eq!(listed_ids(hhrf, prefix), expected);
    put
}

#[test]
fn todos_crud_through_root_routes_and_rpc_survives_a_restart() {
    let root = Root::new();
    add_todos(&root);

    let mut hhrf = Hhrf::start(&root, &[]);
    let kept_root = crud_round(&hhrf, "", &[]);
    let kept_root_id = kept_root["id"].as_i64().unwrap();
    let kept_rpc = crud_round(&hhrf, "/rpc/todos@latest", &[kept_root_id]);
    let survivors = vec![kept_root, kept_rpc];
    hhrf.assert_no_children();

    // The data lives under the root, outside the function folder.
    assert!(root.path().join("data/todos.sqlite3").is_file());
    assert!(!root.folder("todos@latest").join("todos.sqlite3").exists());

    hhrf.signal(Signal::SIGTERM);
    assert_eq!(hhrf.wait_exit(Duration::from_secs(10)), Some(0));
    drop(hhrf);

    let hhrf = Hhrf::start(&root, &[]);
    for prefix in ["", "/rpc/todos@latest"] {
        let list = expect_json(
            &hhrf.get(&format!("{prefix}/todos")),
            200,
            "list after restart",
        );
        assert_eq!(list, json!({ "todos": survivors }), "prefix {prefix:?}");
        for todo in &survivors {
            let target = format!("{prefix}/todos/{}", todo["id"]);
            assert_eq!(expect_json(&hhrf.get(&target), 200, &target), *todo);
        }
    }
    hhrf.assert_no_children();
}
