//! The panic boundary of request handling: a panic anywhere in a call's handling becomes
//! an outcome (500 `internal-error`, `spec/HTTP.md`, "Errors") instead of killing the
//! connection task, which would leave the client with an empty reply.
//!
//! What lives here: [`catch_panic`], [`panic_message`]. What does not: the outcome
//! (`outcome::Outcome::Internal`) and where the boundary is placed (`server`, around each
//! request's handling).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Poll;

/// Runs `future` to completion, or returns the payload of the panic that interrupted it.
/// After a panic the future is never polled again (and dropped).
pub async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await
}

/// The text of a panic payload (`&str` or `String`), else a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_after_an_await_is_caught_and_named() {
        let result = catch_panic(async {
            tokio::task::yield_now().await;
            if std::hint::black_box(true) {
                panic!("boom {}", 7);
            }
            1
        })
        .await;
        let payload = result.expect_err("the panic is caught");
        assert_eq!(panic_message(payload.as_ref()), "boom 7");
    }

    #[tokio::test]
    async fn a_future_that_does_not_panic_passes_through() {
        assert_eq!(catch_panic(async { 5 }).await.ok(), Some(5));
        let payload: Box<dyn Any + Send> = Box::new(3u8);
        assert_eq!(
            panic_message(payload.as_ref()),
            "a panic with a non-text payload"
        );
    }
}
