//! The reference fezz runner as a library: load a function library, serve request frames,
//! report failures as error frames (`spec/RUNNER.md`). The `fezz-runner` binary is a thin
//! `main` over it; tests, the conformance suite and the fuzz targets call it in-process.
//!
//! # Usage
//!
//! 1. [`Function::load`] a library: it resolves and checks the three exports (a
//!    [`LoadError`] names the failing step and its [`RunnerExit`]).
//! 2. [`serve`] it: request frames from any reader, response frames to any writer, until the
//!    input ends or a call fails (then one error frame is written and the exit is returned).
//! 3. In a real runner process, call [`stdio::protect_stdio`] first so the function's own
//!    printing cannot reach the protocol, [`stdio::die_with_parent`], and
//!    then [`sandbox::prepare_from_env`], [`privileges::drop_from_env`],
//!    [`limits::apply_from_env`] and [`sandbox::Prepared::enforce`] before loading the library.
//!
//! ```no_run
//! use std::path::Path;
//!
//! let function = fezz_runner::Function::load(Path::new("target/debug/libfezz_fixture_rust.so"))
//!     .expect("the fixture loads");
//! let mut input: &[u8] = &[]; // request frames (fezz_abi::frame::write_frame)
//! let mut output = Vec::new(); // response frames, or one error frame at the end
//! let exit = fezz_runner::serve(&function, &mut input, &mut output);
//! assert_eq!(exit.code(), 0);
//! ```
//!
//! Not here: the frame format and the exit-code table themselves (`fezz_abi::frame`,
//! `fezz_abi::runner_protocol`), and the command line (`src/main.rs`).
#![deny(missing_docs)]

pub mod allocator;
pub mod containment;
pub mod failure;
pub mod library;
pub mod limits;
pub mod privileges;
pub mod sandbox;
pub mod serve;
pub mod signals;
pub mod stdio;

pub use failure::Failure;
pub use fezz_abi::runner_protocol::RunnerExit;
pub use library::{Call, Function, LoadError, Returned};
pub use serve::{serve, serve_requests};
