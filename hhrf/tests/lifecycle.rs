//! Process lifecycle, black box: runner selection through `FEZZ_RUNNER`, what the runner is
//! given (argv, working directory, environment), killing calls whose client went away,
//! graceful shutdown on SIGTERM, and an accept loop that survives running out of file
//! descriptors.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{assert_group_gone, wait_for_lines, Hhrf, Root};

#[test]
fn fezz_runner_names_a_wrapper_that_gets_the_library_folder_and_a_clean_env() {
    let root = Root::new();
    let folder = root.add_fixture(10_000);
    let record = root.path().join("invocation");
    let runner = support::runner();
    let wrapper = root.script(
        "wrapper",
        &format!(
            "{{ printf '%s\\n' \"$0\" \"$@\"; pwd -P; tr '\\0' '\\n' < /proc/$$/environ; }} > '{}'\nexec '{}' \"$@\"\n",
            record.display(),
            runner.display()
        ),
    );
    let hhrf = Hhrf::start(
        &root,
        &[("FEZZ_RUNNER", &wrapper), ("SECRET_TOKEN", &wrapper)],
    );
    let response = hhrf.get("/rpc/fx@1/through-the-wrapper");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    assert_eq!(
        response.header("x-echo-path").as_deref(),
        Some("/through-the-wrapper")
    );

    let recorded = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = recorded.lines().collect();
    let folder = folder.canonicalize().unwrap();
    assert_eq!(lines[0], wrapper.to_str().unwrap());
    // argv[1] is the absolute path of the server's private copy of the library (hot deploy:
    // spec/HTTP.md, "Hot deploy"), with the same name and bytes.
    let library = Path::new(lines[1]);
    assert!(library.is_absolute(), "{recorded}");
    assert_eq!(library.file_name(), Some("libfx.so".as_ref()), "{recorded}");
    assert_ne!(library, folder.join("libfx.so"), "not the folder's file");
    assert!(
        library
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .ends_with("libraries"),
        "{recorded}"
    );
    assert_eq!(
        std::fs::read(library).unwrap(),
        std::fs::read(folder.join("libfx.so")).unwrap(),
        "argv[1] holds the library"
    );
    // argv[0], the one argument, the working directory, then exactly the variables below
    // (`FEZZ_RUN_…` only when hhrf is root and so runners switch user).
    let as_root = nix::unistd::geteuid().is_root();
    let mut expected = vec![
        "FEZZ_RUN_GID",
        "FEZZ_RUN_UID",
        "FEZZ_SANDBOX",
        "FEZZ_SANDBOX_FILE_BYTES",
        "FEZZ_SANDBOX_NETWORK",
        "FEZZ_SANDBOX_READ",
        "FEZZ_SANDBOX_SCRATCH",
        "FEZZ_SANDBOX_WRITE",
        "FX_MODE",
        "PATH",
        "TMPDIR",
    ];
    if !as_root {
        expected.retain(|name| !name.starts_with("FEZZ_RUN_"));
    }
    assert_eq!(lines.len(), 3 + expected.len(), "{recorded}");
    assert_eq!(
        lines[2],
        folder.to_str().unwrap(),
        "the working directory is the function folder"
    );
    let mut env: Vec<&str> = lines[3..]
        .iter()
        .map(|line| line.split('=').next().unwrap())
        .collect();
    env.sort_unstable();
    assert_eq!(env, expected, "{recorded}");
    assert!(lines.contains(&"FX_MODE=test"));
    assert!(hhrf
        .log()
        .contains(&format!("runner: {}", wrapper.display())));
}

#[test]
fn a_client_that_goes_away_ends_its_call() {
    let root = Root::new();
    root.add_fixture(60_000);
    let runner = root.recording_runner("sleep 600 &");
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let mut stream = TcpStream::connect(hhrf.addr).unwrap();
    stream
        .write_all(b"GET /rpc/fx@1/hang HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    wait_for_lines(&root.path().join("pids"), 1, Duration::from_secs(10));
    let pid = root.recorded_pids()[0];
    let closed = Instant::now();
    drop(stream);
    assert_group_gone(pid);
    assert!(closed.elapsed() < Duration::from_secs(5));
    hhrf.wait_for_log("outcome=client-gone", Duration::from_secs(5));
    hhrf.assert_no_children();
    assert_eq!(hhrf.get("/rpc/fx@1/after").status, 200);
}

#[test]
fn sigterm_drains_in_flight_calls_then_exits() {
    let root = Root::new();
    root.add_fixture(1_500);
    let runner = root.recording_runner("");
    let mut hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let addr = hhrf.addr;
    let in_flight = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /rpc/fx@1/hang HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut bytes).unwrap();
        support::RawResponse::parse(&bytes)
    });
    wait_for_lines(&root.path().join("pids"), 1, Duration::from_secs(10));
    hhrf.signal(Signal::SIGTERM);
    hhrf.wait_for_log("stopping (SIGTERM)", Duration::from_secs(5));
    // The listener is closed at once.
    let refused = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        TcpStream::connect(addr).is_err()
    });
    assert!(refused, "hhrf still accepts connections after SIGTERM");
    // The call in flight still gets its answer (here: its timeout).
    let response = in_flight.join().unwrap();
    response.assert_error(504, "timeout");
    assert_eq!(hhrf.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(hhrf.log().contains("hhrf: stopped"));
    assert_group_gone(root.recorded_pids()[0]);
}

#[test]
fn a_second_signal_ends_the_drain() {
    let root = Root::new();
    root.add_fixture(60_000);
    let runner = root.recording_runner("");
    let mut hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let mut stream = TcpStream::connect(hhrf.addr).unwrap();
    stream
        .write_all(b"GET /rpc/fx@1/hang HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    wait_for_lines(&root.path().join("pids"), 1, Duration::from_secs(10));
    hhrf.signal(Signal::SIGTERM);
    hhrf.wait_for_log("stopping (SIGTERM)", Duration::from_secs(5));
    let started = Instant::now();
    hhrf.signal(Signal::SIGINT);
    assert_eq!(hhrf.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_group_gone(root.recorded_pids()[0]);
}

#[test]
fn the_accept_loop_survives_running_out_of_file_descriptors() {
    let root = Root::new();
    root.add_fixture(10_000);
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 48 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_hhrf"));
    let hhrf = Hhrf::start_command(command, &root, &[]);
    // Hold more connections than the server has descriptors for.
    let held: Vec<TcpStream> = (0..80)
        .filter_map(|_| TcpStream::connect(hhrf.addr).ok())
        .collect();
    hhrf.wait_for_log("accept failed", Duration::from_secs(10));
    drop(held);
    // Once descriptors are free again, the server answers.
    let started = Instant::now();
    loop {
        let response = hhrf.get("/rpc/fx@1/back");
        if response.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            hhrf.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    hhrf.assert_no_children();
}
