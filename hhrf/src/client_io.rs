//! A client connection's byte stream with a write timeout: a client that stops reading its
//! response cannot hold the connection, the response's memory reservation or anything else
//! for longer than [`WRITE_TIMEOUT`] (`spec/HTTP.md`, "Timeouts").
//!
//! What lives here: [`StalledWriteTimeout`], an `AsyncRead + AsyncWrite` wrapper. A write (or
//! flush) that makes no progress for the timeout fails with `TimedOut`, which ends the
//! connection; any progress restarts the clock. Reads are passed through untouched (the
//! request-head timeout is hyper's).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a write to a client may make no progress before the connection is closed.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// `inner` with a write timeout.
#[derive(Debug)]
pub struct StalledWriteTimeout<T> {
    inner: T,
    timeout: Duration,
    /// Armed while a write is pending.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StalledWriteTimeout<T> {
    /// Wraps `inner`; a write stalled for `timeout` fails.
    pub fn new(inner: T, timeout: Duration) -> Self {
        StalledWriteTimeout {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// On `Pending`, arms the clock (once) and fails when it has run out; on anything else,
    /// disarms it.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self.stalled.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(Instant::now() + timeout))
                });
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.stalled = None;
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client did not read its response in time",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

use std::future::Future as _;

impl<T: AsyncRead + Unpin> AsyncRead for StalledWriteTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StalledWriteTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_after_the_timeout() {
        // A pipe of 64 bytes nobody reads: the first 64 bytes go through, then it stalls.
        let (writer, _reader) = tokio::io::duplex(64);
        let mut stream = StalledWriteTimeout::new(writer, Duration::from_secs(5));
        let started = Instant::now();
        let error = stream.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_keeps_up_never_times_out() {
        let (writer, mut reader) = tokio::io::duplex(64);
        let mut stream = StalledWriteTimeout::new(writer, Duration::from_secs(5));
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            let mut chunk = [0u8; 16];
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match tokio::io::AsyncReadExt::read(&mut reader, &mut chunk).await {
                    Ok(0) | Err(_) => break sink.len(),
                    Ok(n) => sink.extend_from_slice(&chunk[..n]),
                }
            }
        });
        // 256 bytes at 16 bytes a second: far longer than 5 s in all, never stalled 5 s.
        stream.write_all(&[1u8; 256]).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);
        assert_eq!(drain.await.unwrap(), 256);
    }
}
