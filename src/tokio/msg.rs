//! Async `sendmsg`/`recvmsg`, send-all and receive-exact: the sync builders, awaited.

use ::tokio::io::Interest;

use super::{run, unless_would_block, AsyncSocket};
use crate::error::Result;
use crate::flags::{RecvFlags, SendFlags};
use crate::recv::{Received, RecvMsg};
use crate::send::SendMsg;
use crate::stream::{Progress, RecvExact, SendAll};

impl SendMsg<'_> {
    /// [`send`](Self::send), awaiting room on a tokio socket (feature `tokio`): waits until
    /// the socket is writable and makes the call with `MSG_DONTWAIT` added.
    ///
    /// **Cancellation safe**: the call is made and its result returned within one poll, so
    /// a future dropped before it completes sent nothing.
    ///
    /// ```
    /// use std::io::IoSlice;
    /// use std::os::fd::AsFd;
    /// use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, SendMsg};
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    /// rt.block_on(async {
    ///     let (a, _b) = tokio::net::UnixDatagram::pair()?;
    ///     let file = std::fs::File::open("/dev/null")?;
    ///     let mut storage = CmsgBuffer::<{ space_for_fds(1) }>::new();
    ///     let mut control = storage.encoder();
    ///     control.push_rights(&[file.as_fd()])?;
    ///     let sent = SendMsg::new(&[IoSlice::new(b"x")]).control(&control).send_async(&a).await?;
    ///     assert_eq!(sent, 1);
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`send`](Self::send); `EAGAIN` never comes back (the future waits instead).
    pub async fn send_async<S: AsyncSocket + ?Sized>(&self, socket: &S) -> Result<usize> {
        let msg = self.flags(SendFlags::DONTWAIT);
        run(socket, Interest::WRITABLE, |fd| {
            unless_would_block(msg.send(fd))
        })
        .await
    }
}

impl RecvMsg<'_, '_> {
    /// [`recv`](Self::recv), awaiting data on a tokio socket (feature `tokio`): waits until
    /// the socket is readable and makes the call with `MSG_DONTWAIT` added.
    ///
    /// **Cancellation safe**: the call is made and the [`Received`] that owns its descriptors
    /// built within one poll, so a future dropped before it completes received nothing.
    ///
    /// # Errors
    /// As [`recv`](Self::recv); `EAGAIN` never comes back (the future waits instead).
    /// Truncation is not an error here: see [`Received::check`].
    pub async fn recv_async<S: AsyncSocket + ?Sized>(
        &mut self,
        socket: &S,
    ) -> Result<Received<'_>> {
        let out = run(socket, Interest::READABLE, |fd| {
            unless_would_block(self.recv_raw(fd, RecvFlags::DONTWAIT))
        })
        .await?;
        Ok(self.received(out))
    }
}

impl SendAll<'_, '_> {
    /// [`send_all`](Self::send_all) on a tokio socket (feature `tokio`): writes every byte,
    /// the control data with the first one written and never again, waiting for room
    /// between partial writes; returns the bytes written in all (by this and earlier calls).
    ///
    /// **Cancellation**: what was written before the future was dropped stays written and
    /// counted in this `SendAll` ([`sent`](Self::sent), [`control_pending`](Self::control_pending)):
    /// the descriptors went at most once, and calling again writes the rest.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_all_async<S: AsyncSocket + ?Sized>(&mut self, socket: &S) -> Result<usize> {
        run(socket, Interest::WRITABLE, |fd| {
            match self.send_adding(fd, SendFlags::DONTWAIT) {
                Ok(Progress::Done) => Some(Ok(self.sent())),
                Ok(Progress::WouldBlock) => None,
                Err(e) => Some(Err(e)),
            }
        })
        .await
    }
}

impl RecvExact<'_> {
    /// [`recv_all`](Self::recv_all) on a tokio socket (feature `tokio`): reads every byte
    /// expected, collecting the descriptors that come with them, waiting for data between
    /// partial reads; returns the descriptors stored in all.
    ///
    /// **Cancellation**: what arrived before the future was dropped stays in the caller's
    /// buffer and slots, counted here ([`received`](Self::received),
    /// [`fd_count`](Self::fd_count)); every descriptor is owned; calling again reads the
    /// rest.
    ///
    /// ```
    /// use std::os::fd::{AsFd, OwnedFd};
    /// use ancillary::{tokio::AsyncSendWithFd, RecvExact};
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    /// rt.block_on(async {
    ///     let (a, b) = tokio::net::UnixStream::pair()?;
    ///     let file = std::fs::File::open("/dev/null")?;
    ///     a.send_with_fd(b"hea", &[file.as_fd()]).await?;
    ///     a.send_with_fd(b"der", &[file.as_fd()]).await?;
    ///     let mut header = [0u8; 6];
    ///     let mut fds: [Option<OwnedFd>; 2] = Default::default();
    ///     let count = RecvExact::new(&mut header).fds(&mut fds).recv_all_async(&b).await?;
    ///     assert_eq!((&header, count), (b"header", 2));
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub async fn recv_all_async<S: AsyncSocket + ?Sized>(&mut self, socket: &S) -> Result<usize> {
        run(socket, Interest::READABLE, |fd| {
            match self.recv_adding(fd, RecvFlags::DONTWAIT) {
                Ok(Progress::Done) => Some(Ok(self.fd_count())),
                Ok(Progress::WouldBlock) => None,
                Err(e) => Some(Err(e)),
            }
        })
        .await
    }
}
