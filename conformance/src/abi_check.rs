//! The function level's in-process checks: requirements of `spec/ABI.md` that no runner
//! exercises, because a runner never makes the call (`fezz_free_v2` of an all-zero buffer
//! before any call, `fezz_handle_v2` with a NULL `response`).
//!
//! Each check runs in a process of its own (`fezz-conformance abi-check CHECK LIBRARY`, started
//! by [`run_isolated`]), so a function that crashes fails the case instead of the suite.

use std::ffi::{c_void, CString};
use std::path::Path;
use std::time::Duration;

use fezz_abi::ffi::{FezzBuffer, FEZZ_RESULT_NULL_ARGUMENT};

use crate::process::{self, RunOptions, RunnerCommand};

/// The checks, by name: what each calls and expects.
pub const CHECKS: [(&str, &str); 2] = [
    (
        "free-zero-buffer",
        "fezz_free_v2 of an all-zero buffer returns and does nothing",
    ),
    (
        "null-response-argument",
        "fezz_handle_v2 with a NULL response returns FEZZ_RESULT_NULL_ARGUMENT (1)",
    ),
];

type HandleFn = unsafe extern "C" fn(*const u8, usize, *mut FezzBuffer) -> i32;
type FreeFn = unsafe extern "C" fn(FezzBuffer);

fn symbol(library: *mut c_void, name: &str) -> Result<*mut c_void, String> {
    let name_c = CString::new(name).map_err(|error| error.to_string())?;
    // SAFETY: `library` is a handle from dlopen and `name_c` a NUL-terminated string.
    let address = unsafe { libc::dlsym(library, name_c.as_ptr()) };
    if address.is_null() {
        return Err(format!("the library does not export {name}"));
    }
    Ok(address)
}

/// Runs check `name` against `library` in this process (the child's side of
/// [`run_isolated`]).
pub fn run_here(name: &str, library: &Path) -> Result<(), String> {
    let path =
        CString::new(library.as_os_str().as_encoded_bytes()).map_err(|error| error.to_string())?;
    // SAFETY: dlopen takes a NUL-terminated path; the library's initialisers are what is tested.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("dlopen of {} failed", library.display()));
    }
    match name {
        "free-zero-buffer" => {
            let free = symbol(handle, "fezz_free_v2")?;
            // SAFETY: the symbol has the ABI's signature (spec/ABI.md); an all-zero buffer is
            // what every library must accept.
            unsafe {
                let free: FreeFn = std::mem::transmute::<*mut c_void, FreeFn>(free);
                free(FezzBuffer::EMPTY);
            }
            Ok(())
        }
        "null-response-argument" => {
            let handle_fn = symbol(handle, "fezz_handle_v2")?;
            let request = fezz_abi::encode_request(&fezz_abi::Request::new("GET", "/"))
                .map_err(|error| error.to_string())?;
            // SAFETY: the symbol has the ABI's signature; a NULL response is the case checked.
            let result = unsafe {
                let handle_fn: HandleFn = std::mem::transmute::<*mut c_void, HandleFn>(handle_fn);
                handle_fn(request.as_ptr(), request.len(), std::ptr::null_mut())
            };
            if result == FEZZ_RESULT_NULL_ARGUMENT {
                Ok(())
            } else {
                Err(format!(
                    "fezz_handle_v2 with a NULL response returned {} ({result}), not FEZZ_RESULT_NULL_ARGUMENT (1)",
                    fezz_abi::ffi::RESULT_CODES
                        .iter()
                        .find(|(code, _, _)| *code == result)
                        .map_or("FEZZ_RESULT_UNKNOWN", |(_, name, _)| *name)
                ))
            }
        }
        _ => Err(format!("unknown abi check {name}")),
    }
}

/// The AddressSanitizer runtime: `$FEZZ_ASAN_RUNTIME`, else what `$CC -print-file-name` names.
fn sanitizer_runtime() -> Option<std::ffi::OsString> {
    if let Some(runtime) = std::env::var_os("FEZZ_ASAN_RUNTIME") {
        return Some(runtime);
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let output = std::process::Command::new(compiler)
        .arg("-print-file-name=libasan.so")
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Path::new(&path).is_absolute().then(|| path.into())
}

/// Runs check `name` against `library` in a new process of this executable; a crash or a hang
/// of the function fails it.
pub fn run_isolated(name: &str, library: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let command = RunnerCommand::program(exe);
    let options = RunOptions {
        args: Some(vec![
            "abi-check".into(),
            name.into(),
            library.as_os_str().to_owned(),
        ]),
        ..RunOptions::default()
    };
    let mut outcome = process::run_with(&command, &options, Vec::new(), Duration::from_secs(20))
        .map_err(|error| error.to_string())?;
    // A library built with AddressSanitizer loads only into a process whose first library is
    // the sanitizer runtime: preload it, as conformance/asan/fezz-asan-runner does for runners.
    if String::from_utf8_lossy(&outcome.stderr).contains("ASan runtime does not come first") {
        if let Some(runtime) = sanitizer_runtime() {
            let mut options = options.clone();
            options.env.push(("LD_PRELOAD".into(), runtime));
            options.env.push((
                "ASAN_OPTIONS".into(),
                "detect_leaks=0:abort_on_error=1".into(),
            ));
            outcome = process::run_with(&command, &options, Vec::new(), Duration::from_secs(20))
                .map_err(|error| error.to_string())?;
        }
    }
    if outcome.status.success() && !outcome.timed_out {
        return Ok(());
    }
    let description = CHECKS
        .iter()
        .find(|(check, _)| *check == name)
        .map_or("", |(_, description)| description);
    Err(format!(
        "{description}: not so ({}; {})",
        outcome.describe_status(),
        outcome.stderr_tail()
    ))
}
