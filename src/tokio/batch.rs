//! Async `sendmmsg`/`recvmmsg`: [`Batch`] and [`RecvBatch`], awaited.

use std::os::fd::BorrowedFd;

use ::tokio::io::Interest;

use super::{drive, run, runtime_error, unless_would_block, AsyncSocket};
use crate::batch::{Batch, BatchError, RecvBatch};
use crate::error::Result;
use crate::flags::{RecvFlags, SendFlags};

impl Batch<'_> {
    /// [`send`](Self::send) on a tokio socket (feature `tokio`): sends every queued
    /// datagram, waiting for room whenever the socket is full and resuming at the first
    /// datagram not sent; returns how many datagrams were sent, and leaves the batch empty.
    ///
    /// Each call passes `MSG_DONTWAIT` besides the batch's own flags (which are as they were
    /// when the future completes or is dropped).
    ///
    /// **Cancellation**: the datagrams sent before the future was dropped have left the
    /// batch; those not sent stay queued ([`len`](Self::len)), and calling again sends them.
    /// None is sent twice.
    ///
    /// ```
    /// use ancillary::batch::Batch;
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    /// rt.block_on(async {
    ///     let rx = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let tx = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let mut batch = Batch::new();
    ///     for i in 0..8u8 {
    ///         batch.push(rx.local_addr()?, if i % 2 == 0 { b"even" } else { b"odd" })?;
    ///     }
    ///     assert_eq!(batch.send_async(&tx).await?, 8);
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`send`](Self::send), with [`BatchError::sent`] counting the datagrams this call
    /// sent before the failure; never `EAGAIN`.
    pub async fn send_async<S: AsyncSocket + ?Sized>(
        &mut self,
        socket: &S,
    ) -> std::result::Result<usize, BatchError> {
        let mut sent = 0;
        let mut failed = 0;
        // A first try before waiting: a sender's socket is usually writable, and a would-block
        // here says where the batch stands, should tokio itself fail below.
        if let Some(result) = step(self, socket.fd(), &mut sent, &mut failed) {
            return result;
        }
        let result = drive(socket, Interest::WRITABLE, |fd| {
            step(self, fd, &mut sent, &mut failed)
        })
        .await;
        result.unwrap_or_else(|e| {
            Err(BatchError {
                sent,
                failed,
                error: runtime_error(e),
                asynchronous: false,
            })
        })
    }
}

/// One [`Batch::send`] with `MSG_DONTWAIT` added: `None` when it would block, having added
/// what it sent to `sent` and noted where it stopped in `failed`.
fn step(
    batch: &mut Batch<'_>,
    fd: BorrowedFd<'_>,
    sent: &mut usize,
    failed: &mut usize,
) -> Option<std::result::Result<usize, BatchError>> {
    let saved = batch.flags();
    // Neither call can fail: `saved` holds only flags the batch accepted, and DONTWAIT is
    // one it accepts. `saved` holds the defaults too, so the second gives back exactly the
    // flags there were.
    let _ = batch.set_flags(saved | SendFlags::DONTWAIT);
    let result = batch.send(fd);
    let _ = batch.set_flags(saved);
    match result {
        Ok(n) => Some(Ok(*sent + n)),
        Err(e) if e.is_would_block() => {
            *sent += e.sent;
            *failed = e.failed;
            None
        }
        Err(e) => Some(Err(BatchError {
            sent: *sent + e.sent,
            ..e
        })),
    }
}

impl RecvBatch {
    /// [`recv`](Self::recv) on a tokio socket (feature `tokio`): waits until the socket is
    /// readable and receives up to [`capacity`](Self::capacity) datagrams (those queued, at
    /// least one), with `MSG_DONTWAIT` added to the batch's flags for the call.
    ///
    /// **Cancellation safe**: the call is made and its count returned within one poll, so a
    /// future dropped before it completes received nothing; what a completed call received
    /// is owned by the batch until the next receive.
    ///
    /// # Errors
    /// As [`recv`](Self::recv); never `EAGAIN`.
    pub async fn recv_async<S: AsyncSocket + ?Sized>(&mut self, socket: &S) -> Result<usize> {
        run(socket, Interest::READABLE, |fd| {
            let saved = self.flags();
            self.set_flags(saved | RecvFlags::DONTWAIT);
            let result = self.recv(fd);
            // `saved` holds the defaults, so this gives back exactly the flags there were.
            self.set_flags(saved);
            unless_would_block(result)
        })
        .await
    }
}
