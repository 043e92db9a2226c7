//! Async forms of the calls, on tokio's sockets (feature `tokio`).
//!
//! Every async call here is the sync call of the crate, made non-blocking (`MSG_DONTWAIT`,
//! besides the `O_NONBLOCK` that tokio's sockets have) and run when tokio says the socket is
//! ready (`async_io` with [`Interest::READABLE`] or [`Interest::WRITABLE`]). There is no
//! second implementation of the socket logic: limits, flags, truncation checks, descriptor
//! ownership and errors are those of [`SendMsg`](crate::SendMsg),
//! [`RecvMsg`](crate::RecvMsg), [`SendAll`](crate::SendAll),
//! [`RecvExact`](crate::RecvExact), [`Batch`](crate::Batch) and
//! [`RecvBatch`](crate::RecvBatch). When a call would block, tokio is told so (an
//! [`io::ErrorKind::WouldBlock`] inside `async_io`), which clears the readiness it had
//! reported, and the future waits for the next event instead of spinning. The sync defaults
//! hold: received descriptors are close-on-exec (`MSG_CMSG_CLOEXEC`), sends pass
//! `MSG_NOSIGNAL` and raise no `SIGPIPE`.
//!
//! What is async here:
//! - the builders: [`SendMsg::send_async`](crate::SendMsg::send_async),
//!   [`RecvMsg::recv_async`](crate::RecvMsg::recv_async),
//!   [`SendAll::send_all_async`](crate::SendAll::send_all_async),
//!   [`RecvExact::recv_all_async`](crate::RecvExact::recv_all_async),
//!   [`Batch::send_async`](crate::Batch::send_async),
//!   [`RecvBatch::recv_async`](crate::RecvBatch::recv_async);
//! - the one-call forms, [`AsyncSendWithFd`] and [`AsyncRecvWithFd`] (`send_with_fd`,
//!   `recv_with_fd`, `send_fd`, `recv_fd`, ...);
//! - on every [`AsyncSocket`]: tokio's [`UnixStream`], [`UnixDatagram`] and [`UdpSocket`],
//!   the halves of a split `UnixStream` ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`],
//!   [`OwnedWriteHalf`]), any [`AsyncFd`] over a socket, and [`SeqPacket`] (tokio has no
//!   seqpacket socket).
//!
//! # Cancellation
//! Each future says what dropping it before it completes does. In short: a future that
//! makes one call ([`SendMsg::send_async`](crate::SendMsg::send_async),
//! [`RecvMsg::recv_async`](crate::RecvMsg::recv_async),
//! [`RecvBatch::recv_async`](crate::RecvBatch::recv_async), the one-call receives) is
//! cancellation safe: the call is made inside a poll and its result returned by that same
//! poll, so a dropped future sent or received nothing, and received descriptors are owned
//! before the poll returns. A future that makes several calls keeps its progress in the
//! builder ([`SendAll`](crate::SendAll), [`RecvExact`](crate::RecvExact),
//! [`Batch`](crate::Batch)): what went or came stays counted there, descriptors go once
//! and arrive owned, and calling again resumes.
//!
//! ```
//! use std::os::fd::{AsFd, OwnedFd};
//! use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd};
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
//! rt.block_on(async {
//!     let (a, b) = tokio::net::UnixStream::pair()?;
//!     let file = std::fs::File::open("/dev/null")?;
//!     a.send_with_fd(b"one file", &[file.as_fd()]).await?;
//!
//!     let mut buf = [0u8; 16];
//!     let mut fds: [Option<OwnedFd>; 4] = Default::default();
//!     let (bytes, count) = b.recv_with_fd(&mut buf, &mut fds).await?;
//!     assert_eq!((&buf[..bytes], count), (&b"one file"[..], 1));
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;
use ::tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use ::tokio::net::{UdpSocket, UnixDatagram, UnixStream};

use crate::error::{Error, Result};

mod batch;
mod fds;
mod msg;
mod seqpacket;

pub use fds::{AsyncRecvWithFd, AsyncSendWithFd};
pub use seqpacket::SeqPacket;

mod private {
    use super::*;

    /// What the async calls need of a socket: run a non-blocking operation whenever tokio
    /// reports the socket ready, until it stops answering `WouldBlock`.
    pub trait Readiness {
        /// The socket's descriptor.
        fn fd(&self) -> BorrowedFd<'_>;

        /// tokio's `async_io`, with the socket's descriptor handed to `f`.
        fn ready_io<R, F>(
            &self,
            interest: Interest,
            f: F,
        ) -> impl Future<Output = io::Result<R>> + Send
        where
            R: Send,
            F: FnMut(BorrowedFd<'_>) -> io::Result<R> + Send;
    }
}

/// A tokio socket the async calls of this crate run on: tokio's [`UnixStream`],
/// [`UnixDatagram`], [`UdpSocket`], the halves of a split `UnixStream`, [`SeqPacket`], and
/// [`AsyncFd`] over any socket.
///
/// Sealed: the crate relies on how each waits for readiness.
pub trait AsyncSocket: private::Readiness {}

macro_rules! via_async_io {
    ($($ty:ty => |$s:ident| $stream:expr),* $(,)?) => {$(
        impl private::Readiness for $ty {
            #[inline]
            fn fd(&self) -> BorrowedFd<'_> {
                let $s = self;
                $stream.as_fd()
            }

            #[inline]
            fn ready_io<R, F>(
                &self,
                interest: Interest,
                mut f: F,
            ) -> impl Future<Output = io::Result<R>> + Send
            where
                R: Send,
                F: FnMut(BorrowedFd<'_>) -> io::Result<R> + Send,
            {
                let $s = self;
                let socket = $stream;
                socket.async_io(interest, move || f(socket.as_fd()))
            }
        }

        impl AsyncSocket for $ty {}
    )*};
}

via_async_io! {
    UnixStream => |s| s,
    UnixDatagram => |s| s,
    UdpSocket => |s| s,
    ReadHalf<'_> => |s| AsRef::<UnixStream>::as_ref(s),
    WriteHalf<'_> => |s| AsRef::<UnixStream>::as_ref(s),
    OwnedReadHalf => |s| AsRef::<UnixStream>::as_ref(s),
    OwnedWriteHalf => |s| AsRef::<UnixStream>::as_ref(s),
}

impl<T: AsRawFd + AsFd + Sync> private::Readiness for AsyncFd<T> {
    #[inline]
    fn fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }

    #[inline]
    fn ready_io<R, F>(
        &self,
        interest: Interest,
        mut f: F,
    ) -> impl Future<Output = io::Result<R>> + Send
    where
        R: Send,
        F: FnMut(BorrowedFd<'_>) -> io::Result<R> + Send,
    {
        self.async_io(interest, move |inner| f(inner.as_fd()))
    }
}

/// Any socket registered with tokio by hand (`AsyncFd::new` over a non-blocking socket).
impl<T: AsRawFd + AsFd + Sync> AsyncSocket for AsyncFd<T> {}

/// `Some` for a result to return, `None` when the call would block.
#[inline]
pub(crate) fn unless_would_block<R>(result: Result<R>) -> Option<Result<R>> {
    match result {
        Err(e) if e.is_would_block() => None,
        r => Some(r),
    }
}

/// Runs `op` on `socket` whenever tokio reports it ready for `interest`, until `op` returns
/// `Some`. `None` (the call would block) becomes a `WouldBlock` inside `async_io`, which
/// clears the readiness and waits for the next event. The outer error is tokio's own
/// (the runtime shutting down).
#[inline]
pub(crate) async fn drive<S, R, E, F>(
    socket: &S,
    interest: Interest,
    mut op: F,
) -> io::Result<std::result::Result<R, E>>
where
    S: AsyncSocket + ?Sized,
    R: Send,
    E: Send,
    F: FnMut(BorrowedFd<'_>) -> Option<std::result::Result<R, E>> + Send,
{
    socket
        .ready_io(interest, |fd| {
            op(fd).ok_or_else(|| io::Error::from(io::ErrorKind::WouldBlock))
        })
        .await
}

/// The crate's error for a failure of tokio itself (its reactor is gone: the runtime is
/// shutting down).
#[cold]
pub(crate) fn runtime_error(e: io::Error) -> Error {
    Error::os("tokio", e.raw_os_error().unwrap_or(libc::ECANCELED))
}

/// [`drive`] for operations whose error is the crate's [`Error`].
#[inline]
pub(crate) async fn run<S, R, F>(socket: &S, interest: Interest, op: F) -> Result<R>
where
    S: AsyncSocket + ?Sized,
    R: Send,
    F: FnMut(BorrowedFd<'_>) -> Option<Result<R>> + Send,
{
    drive(socket, interest, op)
        .await
        .unwrap_or_else(|e| Err(runtime_error(e)))
}
