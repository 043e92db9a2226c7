//! A Unix seqpacket socket on tokio, which has none.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;

use super::{private, AsyncSocket};

/// A Unix `SOCK_SEQPACKET` socket registered with tokio: records with boundaries, in order,
/// connected. tokio has no such type; this one is just enough for the async calls of this
/// crate ([`AsyncSendWithFd`](super::AsyncSendWithFd),
/// [`AsyncRecvWithFd`](super::AsyncRecvWithFd),
/// [`SendMsg::send_async`](crate::SendMsg::send_async),
/// [`RecvMsg::recv_async`](crate::RecvMsg::recv_async), ...).
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::os::fd::AsFd;
/// use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd, SeqPacket};
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
/// rt.block_on(async {
///     let (a, b) = SeqPacket::pair()?;
///     let file = std::fs::File::open("/dev/null")?;
///     a.send_with_fd(b"record", &[file.as_fd()]).await?;
///     let mut buf = [0u8; 16];
///     let mut fds = [None];
///     assert_eq!(b.recv_with_fd(&mut buf, &mut fds).await?, (6, 1));
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "SOCK_SEQPACKET")]
#[derive(Debug)]
pub struct SeqPacket {
    io: AsyncFd<OwnedFd>,
}

impl SeqPacket {
    /// `socketpair(2)`: a connected pair, non-blocking and close-on-exec from the start.
    ///
    /// # Errors
    /// The error of `socketpair` (`EMFILE`, ...) or of the registration with tokio.
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled, as [`AsyncFd::new`].
    #[doc(alias = "socketpair")]
    #[cfg(any(linux_like, freebsd, netbsd))]
    pub fn pair() -> io::Result<(SeqPacket, SeqPacket)> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        )?;
        Ok((Self::register(a)?, Self::register(b)?))
    }

    /// Wraps a seqpacket socket made elsewhere (accepted from a listener, received from
    /// another process, ...), switching it to non-blocking mode.
    ///
    /// # Errors
    /// The error of setting `O_NONBLOCK` or of the registration with tokio.
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled, as [`AsyncFd::new`].
    pub fn from_fd(fd: OwnedFd) -> io::Result<SeqPacket> {
        // std's set_nonblocking (FIONBIO) works on any socket; the type is only a vehicle.
        let socket = std::os::unix::net::UnixDatagram::from(fd);
        socket.set_nonblocking(true)?;
        Self::register(OwnedFd::from(socket))
    }

    fn register(fd: OwnedFd) -> io::Result<SeqPacket> {
        // Deprecated since tokio 1.54 for types whose descriptor may change or close under
        // the registration; an `OwnedFd` owned by the `AsyncFd` does neither (it is only
        // handed back by `into_inner`, which deregisters first). Its unsafe replacement is
        // not in the older tokio versions this crate supports.
        #[allow(deprecated)]
        Ok(SeqPacket {
            io: AsyncFd::with_interest(fd, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Deregisters the socket from tokio and gives it back (still non-blocking).
    pub fn into_inner(self) -> OwnedFd {
        self.io.into_inner()
    }
}

impl AsFd for SeqPacket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for SeqPacket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl private::Readiness for SeqPacket {
    #[inline]
    fn fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }

    #[inline]
    fn ready_io<R, F>(&self, interest: Interest, f: F) -> impl Future<Output = io::Result<R>> + Send
    where
        R: Send,
        F: FnMut(BorrowedFd<'_>) -> io::Result<R> + Send,
    {
        self.io.ready_io(interest, f)
    }
}

impl AsyncSocket for SeqPacket {}
