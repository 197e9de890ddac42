//! The two floors without HTTP, each run by `fezz-bench loop` in a process of its own so that
//! its CPU time (and that of everything it started) is the process tree's `getrusage`:
//!
//! - **limit A** ([`Kind::Spawn`]): spawn the runner on the hello library, as hhrf does
//!   (cleared environment, the function folder as working directory, a process group of its
//!   own, three pipes, the sandbox and user variables hhrf would pass), write one request
//!   frame, close stdin, read the response, wait. `workers` threads do it side by side.
//! - **limit F** ([`Kind::Fork`]): load the hello library once, then `workers` single-threaded
//!   processes each fork a child per call; the child calls `fezz_handle_v2` on the request,
//!   writes the response bytes to a pipe and exits; the parent reads them and waits. The
//!   floor of a prefork mode.
//!
//! Each loop runs for a fixed time and reports its calls and their latencies as one JSON
//! line on stdout ([`LoopReport`]).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fezz_abi::frame::{frame_header, FrameKind};
use fezz_abi::{Request, RequestContext};
use serde::{Deserialize, Serialize};

/// Which floor a loop measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Limit A: spawn + exec of the runner per call.
    Spawn,
    /// Limit F: fork of a process that already loaded the library, per call.
    Fork,
}

/// What one loop did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoopReport {
    /// Calls completed (each one checked).
    pub calls: u64,
    /// Each call's latency in microseconds.
    pub latencies_us: Vec<u32>,
    /// The wall time of the loop, in seconds.
    pub seconds: f64,
}

/// The request every system answers: `GET /world`, as hhrf would send it for
/// `/rpc/hello-c@1/world` (with a context).
pub fn hello_request() -> anyhow::Result<Vec<u8>> {
    let mut request = Request::new("GET", "/world");
    request
        .headers
        .push(fezz_abi::Header::new("host", "127.0.0.1"));
    request.context = RequestContext {
        function_id: "hello-c".to_owned(),
        function_version: "1".to_owned(),
        request_id: "bench-00000001".to_owned(),
        deadline_unix_ms: Some(4_102_444_800_000),
        client_address: Some("127.0.0.1:40000".to_owned()),
        scheme: Some("http".to_owned()),
        host: Some("127.0.0.1".to_owned()),
    };
    Ok(fezz_abi::encode_request(&request)?)
}

/// Checks that `payload` is the hello function's answer to [`hello_request`].
pub fn check_hello_response(payload: &[u8]) -> anyhow::Result<()> {
    let response = fezz_abi::decode_response(payload)?;
    if response.status != 200 || !response.body.starts_with(b"hello world") {
        bail!(
            "unexpected answer: status {} body {:?}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    Ok(())
}

/// How limit A starts the runner.
#[derive(Debug, Clone)]
pub struct SpawnSetup {
    /// The runner program.
    pub runner: PathBuf,
    /// The hello library.
    pub library: PathBuf,
    /// Whether the sandbox variables are passed (as hhrf does for a sandboxed function).
    pub sandbox: bool,
    /// The scratch folder named in `TMPDIR` (and granted, with the sandbox).
    pub scratch: PathBuf,
    /// `FEZZ_RUN_UID` and `FEZZ_RUN_GID`, when the runner switches user (hhrf as root).
    pub run_as: Option<(u32, u32)>,
}

impl SpawnSetup {
    /// The environment hhrf would give the runner of the hello function.
    fn env(&self) -> Vec<(&'static str, OsString)> {
        let folder = self.library.parent().unwrap_or(Path::new("/"));
        let mut env = vec![("TMPDIR", self.scratch.clone().into_os_string())];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH", path));
        }
        if self.sandbox {
            env.extend([
                ("FEZZ_SANDBOX", OsString::from("1")),
                ("FEZZ_SANDBOX_READ", folder.as_os_str().to_owned()),
                ("FEZZ_SANDBOX_WRITE", OsString::new()),
                (
                    "FEZZ_SANDBOX_SCRATCH",
                    self.scratch.clone().into_os_string(),
                ),
                ("FEZZ_SANDBOX_NETWORK", OsString::from("none")),
                ("FEZZ_SANDBOX_FILE_BYTES", OsString::from("1073741824")),
            ]);
        }
        if let Some((uid, gid)) = self.run_as {
            env.push(("FEZZ_RUN_UID", uid.to_string().into()));
            env.push(("FEZZ_RUN_GID", gid.to_string().into()));
        }
        env
    }

    /// One call: spawn, write the frame, read the answer, wait. Returns the response payload.
    pub fn call(&self, frame: &[u8]) -> anyhow::Result<Vec<u8>> {
        let folder = self.library.parent().unwrap_or(Path::new("/"));
        let mut child = Command::new(&self.runner)
            .arg(&self.library)
            .current_dir(folder)
            .env_clear()
            .envs(self.env())
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {}", self.runner.display()))?;
        let mut stdin = child.stdin.take().expect("piped");
        let _ = stdin.write_all(frame);
        drop(stdin);
        let mut stdout = Vec::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_end(&mut stdout)?;
        let mut stderr = Vec::new();
        child
            .stderr
            .take()
            .expect("piped")
            .read_to_end(&mut stderr)?;
        let status = child.wait()?;
        if !status.success() {
            bail!(
                "the runner ended with {status}: {}",
                String::from_utf8_lossy(&stderr).trim()
            );
        }
        let (kind, payload, rest) = fezz_abi::frame::split_frame(&stdout)
            .map_err(|error| anyhow::anyhow!("runner output: {error}"))?;
        if kind != FrameKind::Response || !rest.is_empty() {
            bail!(
                "the runner wrote a {kind:?} frame and {} more bytes",
                rest.len()
            );
        }
        Ok(payload.to_vec())
    }
}

/// The request frame: header and payload.
fn request_frame() -> anyhow::Result<Vec<u8>> {
    let payload = hello_request()?;
    let mut frame = frame_header(FrameKind::Request, payload.len()).to_vec();
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Limit A: `workers` threads spawning the runner for `seconds`.
pub fn spawn_loop(setup: &SpawnSetup, workers: usize, seconds: f64) -> anyhow::Result<LoopReport> {
    let frame = request_frame()?;
    check_hello_response(&setup.call(&frame)?)?;
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    let reports = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<LoopReport> {
                    let mut report = LoopReport::default();
                    while Instant::now() < end {
                        let call = Instant::now();
                        let payload = setup.call(&frame)?;
                        report.latencies_us.push(micros(call.elapsed()));
                        report.calls += 1;
                        if report.calls == 1 {
                            check_hello_response(&payload)?;
                        }
                    }
                    Ok(report)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a loop thread panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    Ok(merge(reports, started.elapsed()))
}

fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

fn merge(reports: Vec<LoopReport>, elapsed: Duration) -> LoopReport {
    let mut merged = LoopReport {
        seconds: elapsed.as_secs_f64(),
        ..LoopReport::default()
    };
    for report in reports {
        merged.calls += report.calls;
        merged.latencies_us.extend(report.latencies_us);
    }
    merged
}

/// The three exports of a loaded function library.
struct Loaded {
    handle: fezz_abi::ffi::FezzHandleV2Fn,
    free: fezz_abi::ffi::FezzFreeV2Fn,
    _library: libloading::Library,
}

fn load(library: &Path) -> anyhow::Result<Loaded> {
    // SAFETY: loading the benchmark's own hello library runs its initialisers, which is the
    // point; the symbols have the signatures spec/ABI.md gives them.
    unsafe {
        let loaded = libloading::Library::new(library)
            .with_context(|| format!("loading {}", library.display()))?;
        let handle = *loaded.get::<fezz_abi::ffi::FezzHandleV2Fn>(b"fezz_handle_v2")?;
        let free = *loaded.get::<fezz_abi::ffi::FezzFreeV2Fn>(b"fezz_free_v2")?;
        Ok(Loaded {
            handle,
            free,
            _library: loaded,
        })
    }
}

/// Limit F: loads `library`, then `workers` single-threaded processes fork a child per call
/// for `seconds`. Call it from a single-threaded process (`fezz-bench loop`).
pub fn fork_loop(library: &Path, workers: usize, seconds: f64) -> anyhow::Result<LoopReport> {
    let loaded = load(library)?;
    let request = hello_request()?;
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    let mut pipes = Vec::new();
    for _ in 0..workers.max(1) {
        let (read, write) = pipe()?;
        // SAFETY: this process is single-threaded (the contract above), so the child may run
        // any code.
        match unsafe { libc::fork() } {
            -1 => bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {
                drop(read);
                let code = match fork_worker(&loaded, &request, end) {
                    Ok(report) => {
                        let mut out = write;
                        let ok = serde_json::to_writer(&mut out, &report).is_ok();
                        i32::from(!ok)
                    }
                    Err(error) => {
                        eprintln!("fezz-bench: limit F worker: {error:#}");
                        1
                    }
                };
                // SAFETY: _exit ends the forked worker without running the parent's exit code.
                unsafe { libc::_exit(code) };
            }
            pid => {
                drop(write);
                pipes.push((pid, read));
            }
        }
    }
    let mut reports = Vec::new();
    for (pid, mut read) in pipes {
        let mut text = String::new();
        read.read_to_string(&mut text)?;
        let status = wait(pid)?;
        if status != 0 {
            bail!("a limit F worker failed (status {status})");
        }
        reports.push(serde_json::from_str::<LoopReport>(&text)?);
    }
    Ok(merge(reports, started.elapsed()))
}

fn pipe() -> anyhow::Result<(std::fs::File, std::fs::File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        bail!("pipe failed: {}", std::io::Error::last_os_error());
    }
    use std::os::fd::FromRawFd;
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

fn wait(pid: libc::pid_t) -> anyhow::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into a local.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != -1 {
            return Ok(status);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            bail!("waitpid failed: {error}");
        }
    }
}

/// One limit F worker: fork, call in the child, read its answer, wait, until `end`.
fn fork_worker(loaded: &Loaded, request: &[u8], end: Instant) -> anyhow::Result<LoopReport> {
    let mut report = LoopReport::default();
    while Instant::now() < end {
        let call = Instant::now();
        let (mut read, write) = pipe()?;
        // SAFETY: the worker is single-threaded; the child only calls the library, writes to
        // the pipe and _exits.
        let pid = unsafe { libc::fork() };
        if pid == -1 {
            bail!("fork failed: {}", std::io::Error::last_os_error());
        }
        if pid == 0 {
            let mut buffer = fezz_abi::ffi::FezzBuffer::EMPTY;
            // SAFETY: the request is request.len() readable bytes and the buffer is writable,
            // as spec/ABI.md asks; the library is the benchmark's hello function.
            let result = unsafe { (loaded.handle)(request.as_ptr(), request.len(), &mut buffer) };
            let mut code = 1;
            if result == fezz_abi::ffi::FEZZ_RESULT_OK && !buffer.data.is_null() {
                // SAFETY: a non-null buffer holds len readable bytes until fezz_free_v2.
                let bytes = unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) };
                let mut out = &write;
                if out.write_all(bytes).is_ok() {
                    code = 0;
                }
            }
            // SAFETY: the buffer this call wrote, released once.
            unsafe { (loaded.free)(buffer) };
            // SAFETY: ends the child without the worker's exit code.
            unsafe { libc::_exit(code) };
        }
        drop(write);
        let mut payload = Vec::new();
        read.read_to_end(&mut payload)?;
        let status = wait(pid)?;
        if status != 0 {
            bail!("a limit F child failed (status {status})");
        }
        report.latencies_us.push(micros(call.elapsed()));
        report.calls += 1;
        if report.calls == 1 {
            check_hello_response(&payload)?;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_frame_carries_a_decodable_request() {
        let frame = request_frame().unwrap();
        let (kind, payload, rest) = fezz_abi::frame::split_frame(&frame).unwrap();
        assert_eq!(kind, FrameKind::Request);
        assert!(rest.is_empty());
        let request = fezz_abi::decode_request(payload).unwrap();
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/world")
        );
    }

    #[test]
    fn only_the_hello_answer_passes_the_check() {
        let mut response = fezz_abi::Response::new(200);
        response.body = b"hello world from C at /world\n".to_vec();
        check_hello_response(&fezz_abi::encode_response(&response).unwrap()).unwrap();
        response.status = 500;
        assert!(check_hello_response(&fezz_abi::encode_response(&response).unwrap()).is_err());
        assert!(check_hello_response(b"junk").is_err());
    }

    #[test]
    fn the_sandboxed_environment_is_what_hhrf_passes() {
        let setup = SpawnSetup {
            runner: "/bin/true".into(),
            library: "/srv/functions/hello-c@1/libhello_c.so".into(),
            sandbox: true,
            scratch: "/tmp/s".into(),
            run_as: Some((61792, 61792)),
        };
        let env = setup.env();
        let get = |name: &str| {
            env.iter()
                .find(|(own, _)| *own == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(
            get("FEZZ_SANDBOX_READ").unwrap(),
            "/srv/functions/hello-c@1"
        );
        assert_eq!(get("FEZZ_SANDBOX_SCRATCH").unwrap(), "/tmp/s");
        assert_eq!(get("TMPDIR").unwrap(), "/tmp/s");
        assert_eq!(get("FEZZ_RUN_UID").unwrap(), "61792");
        let open = SpawnSetup {
            sandbox: false,
            run_as: None,
            ..setup
        };
        assert!(open
            .env()
            .iter()
            .all(|(name, _)| !name.starts_with("FEZZ_")));
    }
}
