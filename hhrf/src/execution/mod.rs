//! How a call runs, by the function's execution mode (`spec/HTTP.md`, "Execution modes";
//! `spec/RUNNER.md`, "Warm mode"): the one seam between the server and the runner processes.
//!
//! What lives here: [`Execution`] (the runner program and the warm pools; [`Execution::call`]
//! picks the mode) and [`Called`] (a call's output, and whether a runner was started for it).
//! Fresh mode is [`Runner::call`] itself (`runner`), unchanged; warm mode is [`warm`]. What
//! does not: what the output means (`outcome`), which is the same in every mode: a warm call
//! ends with a [`RunOutput`] that a fresh call with the same runner behaviour would have given.

pub mod warm;

use std::io;
use std::sync::Arc;

use tokio::time::Instant;

use crate::manifest::mode::ExecutionMode;
use crate::registry::Function;
use crate::runner::{RunOutput, Runner};

/// What one call gave: the runner's output, and whether a runner process was started for it
/// (a cold start: every fresh call; a warm call that found no idle instance).
#[derive(Debug)]
pub struct Called {
    /// The output, as fresh mode reports it.
    pub output: RunOutput,
    /// Whether a runner process was started for this call.
    pub cold: bool,
}

/// The runner program and the warm pools of every function in warm mode.
#[derive(Debug)]
pub struct Execution {
    runner: Runner,
    warm: Arc<warm::WarmPools>,
}

impl Execution {
    /// Calls run with `runner`.
    pub fn new(runner: Runner) -> Self {
        Execution {
            runner,
            warm: Arc::new(warm::WarmPools::default()),
        }
    }

    /// The runner program.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The warm pools.
    pub fn warm(&self) -> &Arc<warm::WarmPools> {
        &self.warm
    }

    /// Runs one call of `function` in its mode: the request `payload` (an encoded
    /// `fezz-request`), answered by `deadline`. Fails as [`Runner::call`] does: when no
    /// runner could be started, or when the payload does not fit in a frame.
    pub async fn call(
        &self,
        function: &Arc<Function>,
        payload: &[u8],
        deadline: Instant,
    ) -> io::Result<Called> {
        match function.mode {
            ExecutionMode::Fresh => {
                let output = self.runner.call(function, payload, deadline).await?;
                Ok(Called { output, cold: true })
            }
            ExecutionMode::Warm(settings) => {
                self.warm
                    .call(&self.runner, function, settings, payload, deadline)
                    .await
            }
        }
    }
}
