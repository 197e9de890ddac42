//! Hot deploy, black box (`spec/HTTP.md`, "Hot deploy", "Functions endpoint" and the
//! `hhrf deploy` and `hhrf list` subcommands): folders added, replaced and removed while hhrf
//! runs, a half-written library refused while the previous one serves, a call pinned to the
//! library it was admitted with, a route collision reported, aliases switched and rolled
//! back, the polling fallback, and the CLI.
//!
//! Bounds are generous (seconds): a change is expected within one second, a test waits five.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{fixture_library, todos_library, Hhrf, Root};

const CHANGE: Duration = Duration::from_secs(5);

fn wait_until(what: &str, hhrf: &Hhrf, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < CHANGE,
            "{what}: not within {CHANGE:?}; log:\n{}",
            hhrf.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn functions(hhrf: &Hhrf) -> serde_json::Value {
    let response = hhrf.get("/_fezz/functions");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    response.json()
}

fn entry(hhrf: &Hhrf, name: &str) -> Option<serde_json::Value> {
    functions(hhrf)["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["name"] == name)
        .cloned()
}

fn manifest(id: &str, version: &str, routes: &str) -> String {
    format!(
        r#"{{"id": "{id}", "version": "{version}", "entry": "libfx.so", "routes": [{routes}]}}"#
    )
}

/// Makes `functions/<name>` the safe way: written in a hidden folder, then renamed into place.
fn deploy_folder(root: &Root, name: &str, manifest: &str, library: &Path) -> PathBuf {
    let staging = root.folder(&format!(".staging-{name}"));
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("fezz.json"), manifest).unwrap();
    std::fs::copy(library, staging.join("libfx.so")).unwrap();
    let folder = root.folder(name);
    std::fs::rename(&staging, &folder).unwrap();
    folder
}

fn sha256(path: &Path) -> String {
    hhrf::deploy::file_hash(path).unwrap()
}

fn start(root: &Root, watch: &str) -> Hhrf {
    Hhrf::start(root, &[("HHRF_WATCH", Path::new(watch))])
}

#[test]
fn folders_added_replaced_and_removed_take_effect_without_a_restart() {
    let root = Root::new();
    let hhrf = start(&root, "inotify");
    assert_eq!(hhrf.get("/rpc/fx@2/a").status, 404);

    deploy_folder(
        &root,
        "fx@2",
        &manifest("fx", "2", r#"{"path": "/two/..."}"#),
        &fixture_library(),
    );
    let added = Instant::now();
    wait_until("fx@2 served", &hhrf, || {
        hhrf.get("/rpc/fx@2/a").status == 200
    });
    println!("added and served after {:?}", added.elapsed());
    let response = hhrf.get("/two/x");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    assert_eq!(response.header("x-fezz-function").as_deref(), Some("fx@2"));
    let fixture_hash = sha256(&fixture_library());
    assert_eq!(
        response.header("x-fezz-library").as_deref(),
        Some(&fixture_hash[..12])
    );
    let listed = entry(&hhrf, "fx@2").unwrap();
    assert_eq!(listed["status"], "serving");
    assert_eq!(listed["sha256"], fixture_hash.as_str());
    assert_eq!(listed["routes"][0]["path"], "/two/...");
    assert!(hhrf.log().contains("deployed fx@2"), "{}", hhrf.log());

    // Replaced (another library, a new route): the new one serves.
    let old = root.folder(".old-fx@2");
    std::fs::rename(root.folder("fx@2"), &old).unwrap();
    deploy_folder(
        &root,
        "fx@2",
        &manifest("fx", "2", r#"{"path": "/deux/..."}"#),
        &todos_library(),
    );
    std::fs::remove_dir_all(&old).unwrap();
    let todos_hash = sha256(&todos_library());
    wait_until("fx@2 replaced", &hhrf, || {
        hhrf.get("/rpc/fx@2/a").header("x-fezz-library").as_deref() == Some(&todos_hash[..12])
    });
    assert_eq!(hhrf.get("/two/x").status, 404);
    assert_eq!(
        hhrf.get("/deux/hello").header("x-fezz-function").as_deref(),
        Some("fx@2")
    );
    let metrics = hhrf.get("/_fezz/metrics");
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(text.contains(r#"function="fx",version="2""#), "{text}");

    // Removed: 404, and its series are gone from the metrics.
    std::fs::remove_dir_all(root.folder("fx@2")).unwrap();
    wait_until("fx@2 removed", &hhrf, || {
        hhrf.get("/rpc/fx@2/a").status == 404
    });
    assert!(entry(&hhrf, "fx@2").is_none());
    let metrics = hhrf.get("/_fezz/metrics");
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(!text.contains(r#"function="fx""#), "{text}");
    assert!(hhrf.log().contains("removed fx@2"), "{}", hhrf.log());
    assert!(!hhrf.log().contains("spawn-failed"), "{}", hhrf.log());
    assert_eq!(hhrf.get("/_fezz/health").status, 200);
}

#[test]
fn a_half_written_library_is_refused_and_the_previous_one_keeps_serving() {
    let root = Root::new();
    deploy_folder(&root, "fx@1", &manifest("fx", "1", ""), &fixture_library());
    let hhrf = start(&root, "auto");
    let good = sha256(&fixture_library());
    assert_eq!(
        hhrf.get("/rpc/fx@1/a").header("x-fezz-library").as_deref(),
        Some(&good[..12])
    );

    // Truncated in place, as a copy cut short would leave it.
    let bytes = std::fs::read(fixture_library()).unwrap();
    std::fs::write(
        root.folder("fx@1").join("libfx.so"),
        &bytes[..bytes.len() / 3],
    )
    .unwrap();
    wait_until("the truncated library refused", &hhrf, || {
        entry(&hhrf, "fx@1").is_some_and(|entry| entry["problem"].is_string())
    });
    let listed = entry(&hhrf, "fx@1").unwrap();
    assert_eq!(listed["status"], "serving", "{listed}");
    assert_eq!(listed["sha256"], good.as_str(), "{listed}");
    let problem = listed["problem"].as_str().unwrap();
    assert!(problem.contains("cut short"), "{problem}");
    let response = hhrf.get("/rpc/fx@1/a");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    assert_eq!(
        response.header("x-fezz-library").as_deref(),
        Some(&good[..12])
    );
    assert!(
        hhrf.log().contains("deploy refused: fx@1"),
        "{}",
        hhrf.log()
    );

    // The copy completes: served.
    std::fs::write(
        root.folder("fx@1").join("libfx.so"),
        std::fs::read(todos_library()).unwrap(),
    )
    .unwrap();
    let new = sha256(&todos_library());
    wait_until("the complete library served", &hhrf, || {
        entry(&hhrf, "fx@1")
            .is_some_and(|entry| entry["sha256"] == new.as_str() && entry["problem"].is_null())
    });

    // A half-written manifest is refused too.
    std::fs::write(
        root.folder("fx@1").join("fezz.json"),
        r#"{"id": "fx", "vers"#,
    )
    .unwrap();
    wait_until("the truncated manifest refused", &hhrf, || {
        entry(&hhrf, "fx@1").is_some_and(|entry| entry["problem"].is_string())
    });
    let response = hhrf.get("/rpc/fx@1/hello");
    assert_eq!(
        response.status,
        200,
        "the todos library still serves: {}",
        hhrf.log()
    );
    assert_eq!(
        response.header("x-fezz-library").as_deref(),
        Some(&new[..12])
    );
}

#[test]
fn a_call_finishes_on_the_library_it_was_admitted_with() {
    let root = Root::new();
    deploy_folder(&root, "fx@1", &manifest("fx", "1", ""), &fixture_library());
    let marker = root.path().join("slow");
    let started = root.path().join("started");
    let wrapper = root.script(
        "slow-runner",
        &format!(
            "if [ -e '{marker}' ]; then rm -f '{marker}'; : > '{started}'; sleep 2; fi\nexec '{}' \"$@\"\n",
            support::runner().display(),
            marker = marker.display(),
            started = started.display(),
        ),
    );
    let hhrf = Hhrf::start(
        &root,
        &[
            ("FEZZ_RUNNER", &wrapper),
            ("HHRF_WATCH", Path::new("inotify")),
        ],
    );
    let old = sha256(&fixture_library());
    std::fs::write(&marker, "").unwrap();
    let address = hhrf.addr;
    let slow = std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .write_all(b"GET /rpc/fx@1/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        support::RawResponse::parse(&bytes)
    });
    wait_until("the slow call started", &hhrf, || started.exists());

    // Replaced in place, same inode, while the call's runner has not even loaded it yet.
    std::fs::write(
        root.folder("fx@1").join("libfx.so"),
        std::fs::read(todos_library()).unwrap(),
    )
    .unwrap();
    let new = sha256(&todos_library());
    wait_until("the new library served", &hhrf, || {
        entry(&hhrf, "fx@1").is_some_and(|entry| entry["sha256"] == new.as_str())
    });
    let response = slow.join().unwrap();
    assert_eq!(response.status, 200, "{}", hhrf.log());
    assert_eq!(
        response.header("x-fezz-library").as_deref(),
        Some(&old[..12])
    );
    assert_eq!(
        response.header("x-echo-path").as_deref(),
        Some("/slow"),
        "the fixture answered"
    );
    assert_eq!(
        hhrf.get("/rpc/fx@1/slow")
            .header("x-fezz-library")
            .as_deref(),
        Some(&new[..12])
    );
}

#[test]
fn a_folder_whose_routes_collide_is_not_served() {
    let root = Root::new();
    deploy_folder(
        &root,
        "fx@1",
        &manifest("fx", "1", r#"{"path": "/echo/..."}"#),
        &fixture_library(),
    );
    let hhrf = start(&root, "inotify");
    deploy_folder(
        &root,
        "other@1",
        &manifest(
            "other",
            "1",
            r#"{"path": "/mine"}, {"path": "/echo/:x/..."}, {"path": "/echo/..."}"#,
        ),
        &fixture_library(),
    );
    wait_until("the collision reported", &hhrf, || {
        entry(&hhrf, "other@1").is_some()
    });
    let listed = entry(&hhrf, "other@1").unwrap();
    assert_eq!(listed["status"], "refused", "{listed}");
    let problem = listed["problem"].as_str().unwrap();
    assert!(
        problem.contains("routes[2]") && problem.contains("collides"),
        "{problem}"
    );
    assert_eq!(hhrf.get("/rpc/other@1/a").status, 404);
    assert_eq!(
        hhrf.get("/mine").status,
        404,
        "no route of a refused folder is mounted"
    );
    assert_eq!(
        hhrf.get("/echo/x").header("x-fezz-function").as_deref(),
        Some("fx@1")
    );
    assert!(hhrf.log().contains("route collision"), "{}", hhrf.log());
}

#[test]
fn aliases_switch_atomically_and_roll_back_in_one_step() {
    let root = Root::new();
    deploy_folder(&root, "fx@1", &manifest("fx", "1", ""), &fixture_library());
    deploy_folder(&root, "fx@2", &manifest("fx", "2", ""), &todos_library());
    std::os::unix::fs::symlink("fx@1", root.folder("fx@stable")).unwrap();
    let hhrf = start(&root, "inotify");
    let served = |hhrf: &Hhrf| hhrf.get("/rpc/fx@stable/a").header("x-fezz-function");
    assert_eq!(served(&hhrf).as_deref(), Some("fx@1"), "{}", hhrf.log());
    let switch = |target: &str| {
        let next = root.folder(".fx@stable.next");
        std::os::unix::fs::symlink(target, &next).unwrap();
        std::fs::rename(&next, root.folder("fx@stable")).unwrap();
    };
    switch("fx@2");
    wait_until("the alias switched", &hhrf, || {
        served(&hhrf).as_deref() == Some("fx@2")
    });
    let body = functions(&hhrf);
    assert_eq!(body["aliases"][0]["name"], "fx@stable");
    assert_eq!(body["aliases"][0]["target"], "fx@2");
    assert_eq!(body["aliases"][0]["status"], "serving");
    assert_eq!(entry(&hhrf, "fx@2").unwrap()["aliases"][0], "fx@stable");
    switch("fx@1");
    wait_until("the alias rolled back", &hhrf, || {
        served(&hhrf).as_deref() == Some("fx@1")
    });

    // An alias to another id serves nothing and says why.
    std::os::unix::fs::symlink("fx@1", root.folder("other@stable")).unwrap();
    wait_until("the bad alias reported", &hhrf, || {
        functions(&hhrf)["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|alias| alias["name"] == "other@stable" && alias["status"] == "refused")
    });
    assert_eq!(hhrf.get("/rpc/other@stable/a").status, 404);
}

#[test]
fn polling_picks_up_changes_where_inotify_is_not_used() {
    let root = Root::new();
    let hhrf = Hhrf::start(
        &root,
        &[
            ("HHRF_WATCH", Path::new("poll")),
            ("HHRF_POLL_INTERVAL_MS", Path::new("100")),
        ],
    );
    assert_eq!(functions(&hhrf)["watch"], "poll");
    deploy_folder(&root, "fx@1", &manifest("fx", "1", ""), &fixture_library());
    let added = Instant::now();
    wait_until("served by polling", &hhrf, || {
        hhrf.get("/rpc/fx@1/a").status == 200
    });
    println!(
        "added and served by polling (100 ms) after {:?}",
        added.elapsed()
    );
    std::fs::remove_dir_all(root.folder("fx@1")).unwrap();
    wait_until("removed by polling", &hhrf, || {
        hhrf.get("/rpc/fx@1/a").status == 404
    });
    assert!(hhrf.log().contains("watch: polling"), "{}", hhrf.log());
}

fn hhrf_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args(args)
        .env_remove("HHRF_ROOT")
        .output()
        .expect("hhrf runs")
}

#[test]
fn hhrf_deploy_waits_until_served_and_hhrf_list_shows_it() {
    let root = Root::new();
    let hhrf = start(&root, "inotify");
    let server = format!("http://{}", hhrf.addr);
    let root_arg = root.path().to_str().unwrap();
    let fixture = fixture_library();
    let output = hhrf_cli(&[
        "deploy",
        fixture.to_str().unwrap(),
        "--id",
        "fx",
        "--version",
        "3",
        "--route",
        "GET",
        "/three",
        "--route",
        "*",
        "/any/...",
        "--root",
        root_arg,
        "--server",
        &server,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        hhrf.log()
    );
    // Served at once: deploy returned only once the server said so.
    let response = hhrf.get("/three");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    assert_eq!(response.header("x-fezz-function").as_deref(), Some("fx@3"));
    assert_eq!(hhrf.get("/any/x").status, 200);

    let listed = hhrf_cli(&["list", "--server", &server, "--json"]);
    assert_eq!(listed.status.code(), Some(0));
    let body: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(body["functions"][0]["name"], "fx@3");
    assert_eq!(body["functions"][0]["status"], "serving");
    assert_eq!(
        body["functions"][0]["routes"][1]["method"],
        serde_json::Value::Null
    );
    let text = hhrf_cli(&["list", "--root", root_arg]);
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("fx@3  serving  library "), "{text}");
    assert!(text.contains("routes: GET /three, * /any/..."), "{text}");

    // A new library for the same version replaces it; a truncated one is refused (exit 1).
    let todos = todos_library();
    let again = hhrf_cli(&[
        "deploy",
        todos.to_str().unwrap(),
        "--id",
        "fx",
        "--version",
        "3",
        "--root",
        root_arg,
        "--server",
        &server,
    ]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let new = sha256(&todos);
    assert_eq!(
        hhrf.get("/rpc/fx@3/").header("x-fezz-library").as_deref(),
        Some(&new[..12])
    );
    let broken = root.path().join("libbroken.so");
    std::fs::write(&broken, b"\x7fELF not really").unwrap();
    let refused = hhrf_cli(&[
        "deploy",
        broken.to_str().unwrap(),
        "--id",
        "fx",
        "--version",
        "3",
        "--root",
        root_arg,
        "--server",
        &server,
        "--wait-ms",
        "3000",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("was not served") && stderr.contains("cut short"),
        "{stderr}"
    );
    assert_eq!(
        hhrf.get("/rpc/fx@3/").header("x-fezz-library").as_deref(),
        Some(&new[..12])
    );

    // Usage errors: exit 2, nothing written.
    let bad = hhrf_cli(&[
        "deploy",
        todos.to_str().unwrap(),
        "--id",
        "fx",
        "--version",
        "4",
        "--route",
        "GET",
        "nope",
        "--root",
        root_arg,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(!root.folder("fx@4").exists());
    let usage = String::from_utf8_lossy(&hhrf_cli(&["--help"]).stdout).into_owned();
    assert!(
        usage.contains("--watch auto|inotify|poll") && usage.contains("--config FILE"),
        "{usage}"
    );
    assert!(
        usage.contains("  deploy ") && usage.contains("  list "),
        "{usage}"
    );
    for subcommand in ["deploy", "list"] {
        let help = hhrf_cli(&[subcommand, "--help"]);
        assert_eq!(help.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes"));
    }
}
