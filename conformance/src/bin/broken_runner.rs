//! `fezz-broken-runner LIBRARY`: a second, minimal runner, written from `spec/RUNNER.md` on the
//! codec alone, that breaks one requirement on demand, so the conformance suite can show that
//! it catches each broken runner (`conformance/tests/self_test.rs`).
//!
//! Without `FEZZ_BREAK` it follows the spec, apart from what the spec lets a runner leave out:
//! it does not contain the call (a SHOULD), and it refuses the sandbox and the user switch
//! (exit 16, which the spec allows a runner that cannot apply them). With
//! `FEZZ_BREAK=<name>` it breaks the one requirement of [`BREAKS`].

use std::ffi::{c_void, CString, OsString};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;

use fezz_abi::ffi::{FezzBuffer, FezzResult, FEZZ_RESULT_OK, RESULT_CODES};
use fezz_abi::frame::{frame_header, parse_frame_header, FrameError, FrameKind};
use fezz_abi::limits::{FRAME_HEADER_BYTES, MAX_MESSAGE_BYTES};
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{
    decode_error, decode_request, decode_response, encode_error, encode_response, WireError,
};

/// Every way this runner can be broken: the `FEZZ_BREAK` value and the requirement it breaks.
pub const BREAKS: &[(&str, &str)] = &[
    ("accepts-extra-arguments", "runner-usage"),
    ("searches-bare-names", "runner-library-path-exact"),
    ("keeps-stdout", "runner-protect-stdout"),
    ("keeps-stdin", "runner-protect-stdin"),
    ("keeps-signal-handlers", "runner-fatal-signals-default"),
    ("ignores-limits", "runner-limits-applied"),
    ("fails-on-limits", "runner-limits-tolerated"),
    ("lenient-limit-values", "runner-limits-value"),
    ("limits-after-load", "runner-limits-before-load"),
    ("loads-lazily", "runner-load-now"),
    ("accepts-abi-1", "runner-abi-version"),
    ("waits-for-a-request", "runner-report-before-reading"),
    ("accepts-response-frames", "runner-request-invalid"),
    ("forwards-invalid-responses", "runner-response-invalid"),
    ("ignores-function-errors", "runner-function-failed"),
    ("frees-twice", "runner-free-once"),
    ("frees-before-use", "runner-free-once"),
    ("re-encodes-responses", "runner-forward-unchanged"),
    ("dies-by-sigpipe", "runner-closed-stdout"),
    ("serves-after-a-failure", "runner-stop-after-failure"),
    ("skips-exit", "runner-exit-flushes"),
    ("reads-the-payload-first", "runner-length-before-payload"),
    ("plain-messages", "runner-error-messages"),
    ("exit-1", "runner-exit-codes"),
    ("runs-unconfined", "runner-sandbox-or-refuse"),
    ("runs-unconfined", "runner-sandbox-enforced"),
    ("lenient-sandbox-syntax", "runner-sandbox-syntax"),
    ("lenient-user-syntax", "runner-user-syntax"),
    ("ignores-the-user", "runner-user-switch"),
    ("loads-before-limits", "runner-startup-order"),
    ("missing-symbols-fail-to-load", "runner-symbols"),
    ("silent-stderr", "runner-stderr-line"),
    ("generic-frame-errors", "runner-frame-errors"),
    ("thread-per-call", "runner-one-thread"),
    ("two-frames-per-request", "runner-one-frame-per-request"),
    ("exit-1-at-the-end", "runner-clean-end"),
    ("sigpipe-default", "runner-sigpipe-ignored"),
    ("answers-at-the-end", "runner-answers-each-frame"),
];

struct Failure {
    exit: RunnerExit,
    message: String,
}

fn fail(exit: RunnerExit, message: impl Into<String>) -> Failure {
    Failure {
        exit,
        message: message.into(),
    }
}

fn broken(name: &str) -> bool {
    std::env::var("FEZZ_BREAK").is_ok_and(|value| value == name)
}

type VersionFn = unsafe extern "C" fn() -> u32;
type HandleFn = unsafe extern "C" fn(*const u8, usize, *mut FezzBuffer) -> FezzResult;
type FreeFn = unsafe extern "C" fn(FezzBuffer);

struct Library {
    handle: HandleFn,
    free: FreeFn,
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--list-breaks") {
        for (name, requirement) in BREAKS {
            println!("{name} {requirement}");
        }
        return;
    }
    if !broken("dies-by-sigpipe") && !broken("sigpipe-default") {
        // SAFETY: ignoring SIGPIPE only changes a signal disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    } else {
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let mut protocol: Box<dyn Write> = Box::new(std::io::stdout());
    let code = match run(&mut protocol) {
        Ok(()) if broken("exit-1-at-the-end") => 1,
        Ok(()) => 0,
        Err(failure) => {
            if !broken("silent-stderr") {
                eprintln!("{}: {}", failure.exit.error_code(), failure.message);
            }
            let message = if broken("plain-messages") {
                "something went wrong".to_owned()
            } else {
                failure.message
            };
            // An error's message is at most MAX_TEXT_BYTES: cut at a character boundary.
            let mut end = message.len().min(fezz_abi::limits::MAX_TEXT_BYTES);
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            let error = WireError::new(failure.exit.error_code(), &message[..end]);
            if let Ok(payload) = encode_error(&error) {
                let _ = protocol.write_all(&frame_header(FrameKind::Error, payload.len()));
                let _ = protocol.write_all(&payload);
                let _ = protocol.flush();
            }
            if broken("exit-1") {
                1
            } else {
                i32::from(failure.exit.code())
            }
        }
    };
    let _ = protocol.flush();
    if broken("skips-exit") {
        // SAFETY: _exit ends the process at once (the breakage: stdio is not flushed).
        unsafe { libc::_exit(code) };
    }
    std::process::exit(code);
}

fn run(protocol: &mut Box<dyn Write>) -> Result<(), Failure> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let usage = |text: &str| {
        fail(
            RunnerExit::Usage,
            format!("{text}; usage: fezz-broken-runner LIBRARY"),
        )
    };
    let path = match args.as_slice() {
        [path] if !path.is_empty() && !path.as_bytes().starts_with(b"-") => path.clone(),
        [path, ..] if broken("accepts-extra-arguments") && !path.is_empty() => path.clone(),
        [] => return Err(usage("no library path given")),
        [path] if path.is_empty() => return Err(usage("the library path is empty")),
        [path] => return Err(usage(&format!("unknown option {}", path.to_string_lossy()))),
        _ => return Err(usage("one argument only")),
    };
    // stdout: frames go to a private copy; fd 1 becomes a copy of fd 2.
    // Take everything that can run out first (the private copies and /dev/null), then move.
    let null = File::open("/dev/null").map_err(|e| fail(RunnerExit::Internal, e.to_string()))?;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) takes and returns descriptors only.
    let private_out = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    // SAFETY: as above.
    let private_in = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
    if private_out < 0 || private_in < 0 {
        return Err(fail(
            RunnerExit::Internal,
            "moving stdin and stdout: no descriptor left",
        ));
    }
    if !broken("keeps-stdout") {
        // SAFETY: dup2 takes descriptors only.
        if unsafe { libc::dup2(2, 1) } < 0 {
            return Err(fail(RunnerExit::Internal, "moving stdout failed"));
        }
        // SAFETY: `private_out` is a descriptor this process owns from here on.
        *protocol = Box::new(unsafe { File::from_raw_fd(private_out) });
    }
    let mut input: Box<dyn Read> = Box::new(std::io::stdin());
    if !broken("keeps-stdin") {
        // SAFETY: dup2 takes descriptors only.
        if unsafe { libc::dup2(null.into_raw_fd(), 0) } < 0 {
            return Err(fail(RunnerExit::Internal, "moving stdin failed"));
        }
        // SAFETY: `private_in` is ours.
        input = Box::new(unsafe { File::from_raw_fd(private_in) });
    }
    if !broken("keeps-signal-handlers") {
        for signal in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGABRT,
        ] {
            // SAFETY: resetting a disposition to the default.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
    }
    if broken("loads-before-limits") {
        load(&path)??;
    }
    check_sandbox_and_user()?;
    let limits = read_limits()?;
    if !broken("limits-after-load") {
        apply_limits(&limits)?;
    }
    let library = load(&path)?;
    if broken("limits-after-load") {
        apply_limits(&limits)?;
    }
    let mut input = BufReader::new(input);
    if broken("waits-for-a-request") {
        // Reads first, and only then reports what is wrong with the library.
        let mut first = [0u8; 1];
        let _ = input.read(&mut first);
    }
    let library = library?;
    serve(&library, &mut input, protocol)
}

fn check_sandbox_and_user() -> Result<(), Failure> {
    let on = std::env::var_os("FEZZ_SANDBOX");
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if broken("lenient-sandbox-syntax") {
            break;
        }
        if name.starts_with("FEZZ_SANDBOX_") && on.is_none() {
            return Err(fail(
                RunnerExit::Usage,
                format!("{name} is set without FEZZ_SANDBOX=1"),
            ));
        }
        if name == "FEZZ_SANDBOX_NETWORK"
            && !["none", "connect", "bind", "connect,bind"].contains(&&*value.to_string_lossy())
        {
            return Err(fail(
                RunnerExit::Usage,
                format!("{name}={value:?} is not none, connect, bind or connect,bind"),
            ));
        }
    }
    if on.is_some() && !broken("runs-unconfined") {
        return Err(fail(
            RunnerExit::Internal,
            "sandbox: this runner cannot apply a sandbox",
        ));
    }
    match (
        std::env::var_os("FEZZ_RUN_UID"),
        std::env::var_os("FEZZ_RUN_GID"),
    ) {
        (None, None) => Ok(()),
        _ if broken("ignores-the-user") => Ok(()),
        (Some(_), None) | (None, Some(_)) if broken("lenient-user-syntax") => Ok(()),
        (Some(_), Some(_)) => Err(fail(
            RunnerExit::Internal,
            "this runner cannot switch users",
        )),
        _ => Err(fail(
            RunnerExit::Usage,
            "FEZZ_RUN_UID and FEZZ_RUN_GID go together",
        )),
    }
}

const LIMITS: [(&str, libc::__rlimit_resource_t); 4] = [
    ("FEZZ_LIMIT_MEMORY_BYTES", libc::RLIMIT_AS),
    ("FEZZ_LIMIT_CPU_SECONDS", libc::RLIMIT_CPU),
    ("FEZZ_LIMIT_OPEN_FILES", libc::RLIMIT_NOFILE),
    ("FEZZ_LIMIT_PROCESSES", libc::RLIMIT_NPROC),
];

fn read_limits() -> Result<Vec<(libc::__rlimit_resource_t, u64)>, Failure> {
    let mut limits = Vec::new();
    if broken("fails-on-limits")
        && std::env::vars_os().any(|(name, _)| name.to_string_lossy().starts_with("FEZZ_LIMIT_"))
    {
        return Err(fail(
            RunnerExit::Internal,
            "this runner does not know resource limits",
        ));
    }
    for (name, resource) in LIMITS {
        let Some(value) = std::env::var_os(name) else {
            continue;
        };
        let text = value.to_string_lossy();
        let parsed = text
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| text.parse::<u64>().ok())
            .flatten()
            .filter(|value| *value > 0);
        match parsed {
            Some(value) => limits.push((resource, value)),
            None if broken("lenient-limit-values") => {}
            None => {
                return Err(fail(
                    RunnerExit::Usage,
                    format!("{name}={text:?} is not a positive decimal integer"),
                ))
            }
        }
    }
    if broken("ignores-limits") {
        limits.clear();
    }
    Ok(limits)
}

fn apply_limits(limits: &[(libc::__rlimit_resource_t, u64)]) -> Result<(), Failure> {
    for (resource, value) in limits {
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write the struct we pass.
        unsafe { libc::getrlimit(*resource, &mut current) };
        let value = (*value).min(current.rlim_max);
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(*resource, &limit) } != 0 {
            return Err(fail(RunnerExit::Internal, "setrlimit failed"));
        }
    }
    Ok(())
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by the loader.
    let text = unsafe { libc::dlerror() };
    if text.is_null() {
        return "unknown loader error".to_owned();
    }
    // SAFETY: non-NULL, NUL-terminated.
    unsafe { std::ffi::CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// Loads the library; a library that is not usable is the inner error (reported after
/// `waits-for-a-request` has read).
fn load(path: &OsString) -> Result<Result<Library, Failure>, Failure> {
    let mut bytes = path.as_bytes().to_vec();
    if !bytes.contains(&b'/') && !broken("searches-bare-names") {
        bytes.splice(0..0, *b"./");
    }
    let c_path =
        CString::new(bytes).map_err(|_| fail(RunnerExit::Usage, "the path holds a NUL byte"))?;
    let mode = if broken("loads-lazily") {
        libc::RTLD_LAZY
    } else {
        libc::RTLD_NOW
    } | libc::RTLD_LOCAL;
    // SAFETY: dlopen takes a NUL-terminated path; running the library's initialisers is the job.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), mode) };
    if handle.is_null() {
        return Ok(Err(fail(RunnerExit::LibraryLoadFailed, dlerror())));
    }
    let symbol = |name: &str| -> Result<*mut c_void, Failure> {
        let c_name = CString::new(name).expect("no NUL");
        // SAFETY: a handle from dlopen and a NUL-terminated name.
        let address = unsafe { libc::dlsym(handle, c_name.as_ptr()) };
        if address.is_null() && broken("missing-symbols-fail-to-load") {
            Err(fail(RunnerExit::LibraryLoadFailed, name.to_owned()))
        } else if address.is_null() {
            Err(fail(RunnerExit::SymbolMissing, name.to_owned()))
        } else {
            Ok(address)
        }
    };
    let inner = (|| {
        let version = symbol("fezz_abi_version")?;
        // SAFETY: the symbol has the ABI's signature (spec/ABI.md).
        let version = unsafe { std::mem::transmute::<*mut c_void, VersionFn>(version)() };
        if version < 2 && !broken("accepts-abi-1") {
            return Err(fail(
                RunnerExit::AbiVersionMismatch,
                format!("fezz_abi_version() returned {version}; this runner supports 2"),
            ));
        }
        let handle = symbol("fezz_handle_v2")?;
        let free = symbol("fezz_free_v2")?;
        // SAFETY: the symbols have the ABI's signatures.
        Ok(unsafe {
            Library {
                handle: std::mem::transmute::<*mut c_void, HandleFn>(handle),
                free: std::mem::transmute::<*mut c_void, FreeFn>(free),
            }
        })
    })();
    Ok(inner)
}

fn read_frame(input: &mut impl Read) -> Result<Option<(u8, Vec<u8>)>, Failure> {
    let invalid = |error: FrameError| {
        if broken("generic-frame-errors") {
            fail(RunnerExit::RequestInvalid, "bad frame")
        } else {
            fail(RunnerExit::RequestInvalid, error.to_string())
        }
    };
    let mut header = [0u8; FRAME_HEADER_BYTES];
    let mut read = 0;
    while read < header.len() {
        match input.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) => return Err(fail(RunnerExit::Internal, error.to_string())),
        }
    }
    if read == 0 {
        return Ok(None);
    }
    if read < FRAME_HEADER_BYTES {
        return Err(invalid(FrameError::Truncated {
            read,
            expected: FRAME_HEADER_BYTES,
        }));
    }
    let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut payload = Vec::new();
    if broken("reads-the-payload-first") {
        let _ = input.take(length as u64).read_to_end(&mut payload);
    }
    let (kind, length) = parse_frame_header(&header).map_err(invalid)?;
    if !broken("reads-the-payload-first") {
        let got = input
            .take(length as u64)
            .read_to_end(&mut payload)
            .map_err(|e| fail(RunnerExit::Internal, e.to_string()))?;
        if got < length {
            return Err(invalid(FrameError::Truncated {
                read: FRAME_HEADER_BYTES + got,
                expected: FRAME_HEADER_BYTES + length,
            }));
        }
    }
    Ok(Some((kind as u8, payload)))
}

fn serve(
    library: &Library,
    input: &mut impl Read,
    output: &mut Box<dyn Write>,
) -> Result<(), Failure> {
    let mut deferred: Option<Failure> = None;
    // With `answers-at-the-end`, the response frames wait here for the end of input.
    let mut held: Vec<u8> = Vec::new();
    loop {
        let frame = match read_frame(input) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(failure) if broken("serves-after-a-failure") => {
                deferred.get_or_insert(failure);
                break;
            }
            Err(failure) => return Err(failure),
        };
        let (kind, payload) = frame;
        if kind != FrameKind::Request as u8 && !broken("accepts-response-frames") {
            return Err(fail(
                RunnerExit::RequestInvalid,
                format!("frame-bad-kind: kind {kind} on stdin"),
            ));
        }
        if let Err(error) = decode_request(&payload) {
            if !broken("accepts-response-frames") {
                return Err(fail(RunnerExit::RequestInvalid, error.to_string()));
            }
        }
        match call(library, &payload) {
            Ok(response) => {
                let mut frame = frame_header(FrameKind::Response, response.len()).to_vec();
                frame.extend_from_slice(&response);
                let times = if broken("two-frames-per-request") {
                    2
                } else {
                    1
                };
                if broken("answers-at-the-end") {
                    held.extend_from_slice(&frame);
                    continue;
                }
                for _ in 0..times {
                    output
                        .write_all(&frame)
                        .and_then(|()| output.flush())
                        .map_err(|error| {
                            fail(
                                RunnerExit::Internal,
                                format!("writing a response frame failed: {error}"),
                            )
                        })?;
                }
            }
            Err(failure) if broken("serves-after-a-failure") => {
                deferred.get_or_insert(failure);
            }
            Err(failure) => return Err(failure),
        }
    }
    if !held.is_empty() {
        output
            .write_all(&held)
            .and_then(|()| output.flush())
            .map_err(|error| {
                fail(
                    RunnerExit::Internal,
                    format!("writing the response frames failed: {error}"),
                )
            })?;
    }
    match deferred {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

fn call(library: &Library, payload: &[u8]) -> Result<Vec<u8>, Failure> {
    let invoke = |payload: Vec<u8>, handle: HandleFn| {
        let mut buffer = FezzBuffer::EMPTY;
        // SAFETY: the request bytes outlive the call; the buffer is ours to receive.
        let result = unsafe { handle(payload.as_ptr(), payload.len(), &mut buffer) };
        (result, buffer)
    };
    let (result, buffer) = if broken("thread-per-call") {
        let handle = library.handle;
        let owned = payload.to_vec();
        let (result, data, len, capacity) = std::thread::spawn(move || {
            let (result, buffer) = invoke(owned, handle);
            (result, buffer.data as usize, buffer.len, buffer.capacity)
        })
        .join()
        .map_err(|_| fail(RunnerExit::Internal, "the call thread panicked"))?;
        (
            result,
            FezzBuffer {
                data: data as *mut u8,
                len,
                capacity,
            },
        )
    } else {
        invoke(payload.to_vec(), library.handle)
    };
    let copy = |buffer: &FezzBuffer| -> Option<Vec<u8>> {
        if buffer.data.is_null() {
            return None;
        }
        // SAFETY: the library says `len` bytes at `data` are valid until it is freed.
        Some(unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec())
    };
    let same = FezzBuffer {
        data: buffer.data,
        len: buffer.len,
        capacity: buffer.capacity,
    };
    let bytes = if broken("frees-before-use") {
        // SAFETY: the breakage: the buffer is released before its bytes are copied.
        unsafe { (library.free)(same) };
        copy(&buffer)
    } else {
        let bytes = copy(&buffer);
        // SAFETY: released once, after the copy.
        unsafe { (library.free)(same) };
        if broken("frees-twice") {
            // SAFETY: the breakage: a second release.
            unsafe {
                (library.free)(FezzBuffer {
                    data: buffer.data,
                    len: buffer.len,
                    capacity: buffer.capacity,
                })
            };
        }
        bytes
    };
    if result != FEZZ_RESULT_OK && !broken("ignores-function-errors") {
        let message = bytes
            .as_deref()
            .and_then(|bytes| decode_error(bytes).ok())
            .map(|error| format!("{}: {}", error.code, error.message))
            .unwrap_or_else(|| {
                let name = RESULT_CODES
                    .iter()
                    .find(|(code, _, _)| *code == result)
                    .map_or("FEZZ_RESULT_UNKNOWN", |(_, name, _)| *name);
                format!("fezz_handle_v2 returned {name} ({result})")
            });
        return Err(fail(RunnerExit::FunctionFailed, message));
    }
    let Some(bytes) = bytes else {
        return Err(fail(
            RunnerExit::ResponseInvalid,
            "fezz_handle_v2 returned FEZZ_RESULT_OK with a NULL buffer",
        ));
    };
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(fail(
            RunnerExit::ResponseInvalid,
            "too-large: the response is past MAX_MESSAGE_BYTES",
        ));
    }
    match decode_response(&bytes) {
        Ok(response) if broken("re-encodes-responses") => encode_response(&response)
            .map_err(|error| fail(RunnerExit::Internal, error.to_string())),
        Ok(_) => Ok(bytes),
        Err(_) if broken("forwards-invalid-responses") => Ok(bytes),
        Err(error) => Err(fail(RunnerExit::ResponseInvalid, error.to_string())),
    }
}
