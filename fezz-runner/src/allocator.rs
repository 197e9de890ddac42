//! The runner's own allocator: the system allocator, except that a failed allocation ends the
//! runner as `runner-internal` (exit 16) with an error frame whose message starts
//! `out-of-memory`, instead of Rust's abort (`SIGABRT`), which a host would report as the
//! function crashing (`spec/RUNNER.md`, "Resource limits").
//!
//! Only the runner's allocations come here: a C library calls `malloc` itself and a Rust
//! library has its own global allocator, so a function that runs out of memory still fails in
//! its own way. The error frame is encoded at start-up ([`prepare`]), because nothing can be
//! allocated once memory has run out; it goes to the protocol descriptor
//! ([`set_protocol_fd`]), or to fd 1 before the protocol was moved there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use fezz_abi::frame::{frame_header, FrameKind};
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{encode_error, WireError};

/// The message of the error frame (and of the line on stderr).
pub const MESSAGE: &str = "out-of-memory: the runner could not allocate memory for its own work (reading or checking a frame); FEZZ_LIMIT_MEMORY_BYTES is too small for this call";

static FRAME: OnceLock<Vec<u8>> = OnceLock::new();
static PROTOCOL_FD: AtomicI32 = AtomicI32::new(1);

/// [`System`], ending the process as `runner-internal` when an allocation fails.
pub struct RunnerAllocator;

/// Encodes the error frame while memory is still there. Call it first thing in `main`.
pub fn prepare() {
    let error = WireError::new(RunnerExit::Internal.error_code(), MESSAGE);
    if let Ok(payload) = encode_error(&error) {
        let mut frame = frame_header(FrameKind::Error, payload.len()).to_vec();
        frame.extend_from_slice(&payload);
        let _ = FRAME.set(frame);
    }
}

/// The descriptor frames go to from now on (after `stdio::protect_stdio`).
pub fn set_protocol_fd(fd: i32) {
    PROTOCOL_FD.store(fd, Ordering::Relaxed);
}

fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: write reads `bytes.len()` bytes from a live slice.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written <= 0 {
            return;
        }
        bytes = &bytes[written as usize..];
    }
}

#[cold]
fn out_of_memory() -> ! {
    if let Some(frame) = FRAME.get() {
        write_all(PROTOCOL_FD.load(Ordering::Relaxed), frame);
    }
    write_all(2, b"runner-internal: ");
    write_all(2, MESSAGE.as_bytes());
    write_all(2, b"\n");
    // SAFETY: _exit ends the process without running anything that could allocate.
    unsafe { libc::_exit(i32::from(RunnerExit::Internal.code())) }
}

// SAFETY: every method forwards to `System` with the same arguments and returns its result;
// a null result (a failed allocation) ends the process instead of being returned.
unsafe impl GlobalAlloc for RunnerAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller's contract is `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if pointer.is_null() {
            out_of_memory();
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if pointer.is_null() {
            out_of_memory();
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let grown = unsafe { System.realloc(pointer, layout, new_size) };
        if grown.is_null() {
            out_of_memory();
        }
        grown
    }
}
