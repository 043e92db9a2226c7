//! The one-call forms, async: bytes with file descriptors out, bytes with up to N in.

use std::future::Future;
use std::io::IoSlice;
use std::os::fd::{BorrowedFd, OwnedFd};

use ::tokio::io::Interest;

use super::{run, unless_would_block, AsyncSocket};
use crate::cmsg::CmsgBuffer;
use crate::error::Result;
use crate::fds::{finish, one_fd, recv_into, rights, Sink, SEND_ROOM};
use crate::flags::RecvFlags;
use crate::stream::{RecvExact, SendAll};

/// What every async one-call receive passes: close-on-exec descriptors, never blocking.
const FLAGS: RecvFlags = RecvFlags::CMSG_CLOEXEC.union(RecvFlags::DONTWAIT);

/// Sends bytes with file descriptors in one call on a tokio socket: the async form of
/// [`SendWithFd`](crate::SendWithFd) (feature `tokio`). Implemented for every
/// [`AsyncSocket`].
///
/// ```
/// use std::os::fd::AsFd;
/// use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd};
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
/// rt.block_on(async {
///     let (a, b) = tokio::net::UnixStream::pair()?;
///     // Halves of a split stream work as the whole does.
///     let (_a_read, a_write) = a.into_split();
///     let (b_read, _b_write) = b.into_split();
///     let file = std::fs::File::open("/dev/null")?;
///     a_write.send_fd(file.as_fd()).await?;
///     let got: std::os::fd::OwnedFd = b_read.recv_fd().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsyncSendWithFd: AsyncSocket {
    /// Sends every byte of `data` with `fds` on the first byte, waiting for room; returns
    /// `data.len()`. The async form of
    /// [`SendWithFd::send_with_fd`](crate::SendWithFd::send_with_fd).
    ///
    /// **Cancellation**: on a datagram or seqpacket socket the message is one call, made
    /// within one poll: a dropped future sent nothing. On a stream, a future dropped after
    /// a partial write leaves the peer with the bytes written (and the descriptors, sent
    /// once, with the first of them) and the rest unsent; to resume after a cancellation,
    /// send with a [`SendAll`] that outlives the future
    /// ([`SendAll::send_all_async`]).
    ///
    /// # Errors
    /// As [`SendWithFd::send_with_fd`](crate::SendWithFd::send_with_fd); never `EAGAIN`.
    #[doc(alias = "send_with_fds")]
    fn send_with_fd(
        &self,
        data: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Sends one descriptor with a single zero byte: the counterpart of
    /// [`AsyncRecvWithFd::recv_fd`]. Cancellation as for
    /// [`send_with_fd`](Self::send_with_fd) (one byte: never partial).
    ///
    /// # Errors
    /// As [`send_with_fd`](Self::send_with_fd).
    fn send_fd(&self, fd: BorrowedFd<'_>) -> impl Future<Output = Result<()>> + Send;
}

/// Receives bytes with file descriptors in one call on a tokio socket: the async form of
/// [`RecvWithFd`](crate::RecvWithFd) (feature `tokio`), with the same guarantees:
/// descriptors owned at once and close-on-exec, those beyond the caller's room closed and
/// reported, truncation an error. Implemented for every [`AsyncSocket`].
pub trait AsyncRecvWithFd: AsyncSocket {
    /// One receive into `buf`, the descriptors into the `None` slots of `fds`, waiting for
    /// data; returns the bytes received and the descriptors stored.
    ///
    /// **Cancellation safe**: the call is made, and its descriptors stored in `fds`, within
    /// one poll: a dropped future received nothing.
    ///
    /// # Errors
    /// As [`RecvWithFd::recv_with_fd`](crate::RecvWithFd::recv_with_fd); never `EAGAIN`.
    #[doc(alias = "recv_with_fds")]
    fn recv_with_fd(
        &self,
        buf: &mut [u8],
        fds: &mut [Option<OwnedFd>],
    ) -> impl Future<Output = Result<(usize, usize)>> + Send;

    /// One receive into `buf`, every descriptor appended to `fds`; returns the bytes
    /// received. **Cancellation safe**, as [`recv_with_fd`](Self::recv_with_fd).
    ///
    /// # Errors
    /// As [`RecvWithFd::recv_with_fd_vec`](crate::RecvWithFd::recv_with_fd_vec).
    fn recv_with_fd_vec(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Receives one byte and exactly one descriptor: the counterpart of
    /// [`AsyncSendWithFd::send_fd`]. **Cancellation safe**, as
    /// [`recv_with_fd`](Self::recv_with_fd).
    ///
    /// # Errors
    /// As [`RecvWithFd::recv_fd`](crate::RecvWithFd::recv_fd).
    fn recv_fd(&self) -> impl Future<Output = Result<OwnedFd>> + Send;

    /// Reads exactly `buf.len()` bytes of a stream, collecting into the `None` slots of `fds`
    /// every descriptor that arrives with them; returns the descriptors stored.
    ///
    /// **Cancellation**: a dropped future leaves what arrived in `buf` and `fds` (every
    /// descriptor owned), but the count of bytes is lost with it; to resume after a
    /// cancellation, use a [`RecvExact`] that outlives the future
    /// ([`RecvExact::recv_all_async`]).
    ///
    /// # Errors
    /// As [`RecvWithFd::recv_exact_with_fd`](crate::RecvWithFd::recv_exact_with_fd).
    fn recv_exact_with_fd(
        &self,
        buf: &mut [u8],
        fds: &mut [Option<OwnedFd>],
    ) -> impl Future<Output = Result<usize>> + Send;
}

impl<S: AsyncSocket + Sync + ?Sized> AsyncSendWithFd for S {
    async fn send_with_fd(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize> {
        let mut room = CmsgBuffer::<SEND_ROOM>::new();
        let control = rights(&mut room, fds)?;
        let iov = [IoSlice::new(data)];
        SendAll::new(&iov)
            .control(&control)
            .send_all_async(self)
            .await
    }

    async fn send_fd(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.send_with_fd(&[0], &[fd]).await.map(drop)
    }
}

impl<S: AsyncSocket + Sync + ?Sized> AsyncRecvWithFd for S {
    async fn recv_with_fd(
        &self,
        buf: &mut [u8],
        fds: &mut [Option<OwnedFd>],
    ) -> Result<(usize, usize)> {
        let got = run(self, Interest::READABLE, |fd| {
            unless_would_block(recv_into(fd, buf, &mut Sink::slots(fds), FLAGS))
        })
        .await?;
        finish(got)
    }

    async fn recv_with_fd_vec(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize> {
        let got = run(self, Interest::READABLE, |fd| {
            unless_would_block(recv_into(fd, buf, &mut Sink::Vec(fds), FLAGS))
        })
        .await?;
        finish(got).map(|(bytes, _)| bytes)
    }

    async fn recv_fd(&self) -> Result<OwnedFd> {
        let mut slot = [None];
        let got = run(self, Interest::READABLE, |fd| {
            unless_would_block(recv_into(fd, &mut [0], &mut Sink::slots(&mut slot), FLAGS))
        })
        .await?;
        one_fd(self.fd(), got, slot)
    }

    async fn recv_exact_with_fd(
        &self,
        buf: &mut [u8],
        fds: &mut [Option<OwnedFd>],
    ) -> Result<usize> {
        RecvExact::new(buf).fds(fds).recv_all_async(self).await
    }
}
