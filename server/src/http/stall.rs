//! A connection whose client stops reading cannot hold the server: [`StallGuard`] wraps
//! each accepted socket and fails a write (or flush) that has made no progress for the
//! stall timeout, so hyper drops the connection and closes the socket.
//!
//! Why here and not in a handler: hyper writes a response body from its own buffer, and
//! stops asking the body for more while the socket is full. An event stream
//! (`GET /api/meetings/{id}/events`) whose client stalls can end its body, but hyper then
//! waits forever to write the last bytes — holding the socket, its buffers, and the
//! graceful shutdown. Upgraded websockets ride on the same socket and are covered too
//! (their own send timeout, shorter, normally fires first). The accept loop
//! (`crate::accept`) wraps every socket in one. Answers no request itself.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// An IO whose writes fail after `timeout` without progress.
pub struct StallGuard<T> {
    /// The socket.
    inner: T,
    /// How long a write may wait for room.
    timeout: Duration,
    /// Armed while a write or flush is pending; cleared by any progress.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, timeout: Duration) -> StallGuard<T> {
        StallGuard {
            inner,
            timeout,
            deadline: None,
        }
    }

    /// The wrapped IO.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped IO, unwrapped (an upgraded websocket has its own send timeout).
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// Turns a pending write into an error once the deadline has passed.
    fn stalled<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(r) => {
                self.deadline = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let deadline = self
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.deadline = None;
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client stopped reading",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.stalled(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.stalled(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.stalled(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.stalled(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_write_without_progress_fails_and_progress_resets_the_clock() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(a, Duration::from_millis(200));
        // Room for 64 bytes: the first write goes through at once.
        guarded.write_all(&[0; 64]).await.unwrap();
        // Nobody reads: the next write stalls, then fails.
        let e = guarded.write_all(&[0; 64]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // A reader that keeps up keeps the writer going, however long it takes overall.
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 64 + 640 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                total += b.read(&mut buf).await.unwrap();
            }
        });
        for _ in 0..10 {
            guarded.write_all(&[1; 64]).await.unwrap();
        }
        reader.await.unwrap();
    }
}
