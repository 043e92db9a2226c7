//! [`SendMsg`] on Windows: the same builder over `WSASendMsg`.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::windows::io::AsSocket;

use crate::cmsg::Encoder;
use crate::sys;
use crate::windows::{check_counts, SendFlags};
use crate::{Carried, Error, Result};

/// One message for `WSASendMsg`: data (buffers), control data, an optional destination and
/// flags.
///
/// The Windows form of the Unix builder: the control data comes from the crate's
/// [`Encoder`], which writes the `WSACMSGHDR` layout on Windows (`IP_PKTINFO`, and the
/// Windows messages `IP_ECN`, `UDP_SEND_MSG_SIZE`, ... of
/// [`windows::cmsg`](crate::windows::cmsg)),
/// the flags are the ones Windows has ([`SendFlags`](crate::windows::SendFlags): no
/// `MSG_NOSIGNAL`, as Windows raises no signal), and [`send`](Self::send) takes any
/// [`AsSocket`]. `WSASendMsg` takes datagram and raw sockets only. Built without allocation.
///
/// ```no_run
/// use std::io::IoSlice;
/// use std::net::UdpSocket;
/// use ancillary::cmsg::{CmsgBuffer, INT_SPACE};
/// use ancillary::windows::cmsg::ControlMessage;
/// use ancillary::SendMsg;
///
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// let mut storage = CmsgBuffer::<INT_SPACE>::new();
/// let mut control = storage.encoder();
/// control.push(&ControlMessage::EcnV4(0b10))?; // ECT(0)
/// let sent = SendMsg::new(&[IoSlice::new(b"hello")])
///     .control(&control)
///     .to_addr("127.0.0.1:4433".parse()?)
///     .send(&socket)?;
/// assert_eq!(sent, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [`WSASendMsg`](https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasendmsg)
#[doc(alias = "WSAMSG")]
#[doc(alias = "WSASendMsg")]
#[doc(alias = "sendmsg")]
#[derive(Debug, Clone, Copy)]
#[must_use = "a SendMsg does nothing until send() is called"]
pub struct SendMsg<'a> {
    iov: &'a [IoSlice<'a>],
    control: &'a [u8],
    dest: Option<sys::SockAddr>,
    flags: SendFlags,
}

impl<'a> SendMsg<'a> {
    /// A message carrying these buffers, in order.
    #[inline]
    pub fn new(iov: &'a [IoSlice<'a>]) -> Self {
        SendMsg {
            iov,
            control: &[],
            dest: None,
            flags: SendFlags::empty(),
        }
    }

    /// Attaches the control messages of `control`.
    #[inline]
    #[doc(alias = "Control")]
    pub fn control(mut self, control: &'a Encoder<'_, '_>) -> Self {
        self.control = control.as_bytes();
        self
    }

    /// Attaches control data already encoded on the `WSACMSGHDR` layout of this target (for
    /// instance the bytes of an [`Encoder`] kept elsewhere), aligned for `WSACMSGHDR`.
    #[inline]
    pub fn control_bytes(mut self, control: &'a [u8]) -> Self {
        self.control = control;
        self
    }

    /// Sends to an IP address (`WSAMSG.name`).
    #[inline]
    pub fn to_addr(mut self, addr: SocketAddr) -> Self {
        self.dest = Some(addr.into());
        self
    }

    /// Adds these flags (`MSG_*`) to the call. Repeated calls add up.
    #[inline]
    pub fn flags(mut self, flags: SendFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// The flags the call will pass.
    pub fn send_flags(&self) -> SendFlags {
        self.flags
    }

    /// Checks that the message fits one `WSAMSG` (its counts are 32-bit) without sending it.
    ///
    /// # Errors
    /// [`Error::Limit`] naming what does not fit ([`Limit::Iovecs`](crate::Limit::Iovecs), [`Limit::ControlBuffer`](crate::Limit::ControlBuffer)).
    #[inline]
    pub fn check(&self) -> Result<()> {
        check_counts(self.iov.len(), self.control.len())
    }

    /// `WSASendMsg`: sends the message on `socket`, blocking or not as the socket is; returns
    /// the bytes of data sent.
    ///
    /// # Errors
    /// [`Error::Limit`] before the call when the message does not fit one `WSAMSG`;
    /// [`Error::Os`] with the code of `WSASendMsg` (`WSAEWOULDBLOCK`, `WSAEMSGSIZE`,
    /// `WSAENOBUFS`, ...) and what to do about it.
    #[inline]
    pub fn send<S: AsSocket>(&self, socket: S) -> Result<usize> {
        self.check()?;
        let name = self.dest.as_ref().map(sys::Name::new);
        sys::sendmsg(
            socket.as_socket(),
            name,
            self.iov,
            self.control,
            self.flags.bits(),
        )
        .map_err(|e| {
            let carried = Carried::message(self.control, self.dest.is_some());
            Error::os_carrying("WSASendMsg", e, carried)
        })
    }
}
