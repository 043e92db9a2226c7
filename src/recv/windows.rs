//! [`RecvMsg`] and [`Received`] on Windows: the same builder over `WSARecvMsg`.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::windows::io::AsSocket;

use crate::cmsg;
use crate::sys;
use crate::windows::cmsg::Iter;
use crate::windows::{check_counts, RecvFlags};
use crate::{Error, Result};

/// A `WSARecvMsg` call: data buffers, a control buffer and flags. Reusable: every call starts
/// from the full buffers again.
///
/// The Windows form of the Unix builder: the control data comes back on the `WSACMSGHDR`
/// layout, read with [`Received::messages`] (a Windows [`cmsg::Iter`](crate::windows::cmsg::Iter));
/// the flags are the ones Windows has ([`RecvFlags`](crate::windows::RecvFlags)); there are
/// no descriptors to own. `WSARecvMsg` takes datagram and raw sockets only.
///
/// ```no_run
/// use std::io::IoSliceMut;
/// use std::net::UdpSocket;
/// use ancillary::cmsg::{CmsgBuffer, IP_PKTINFO_SPACE};
/// use ancillary::windows::cmsg::ControlMessage;
/// use ancillary::windows::{set_recv_option, RecvOption};
/// use ancillary::RecvMsg;
///
/// let socket = UdpSocket::bind("127.0.0.1:4433")?;
/// set_recv_option(&socket, RecvOption::PktInfoV4, true)?;
/// let mut data = [0u8; 1500];
/// let mut iov = [IoSliceMut::new(&mut data)];
/// let mut space = CmsgBuffer::<IP_PKTINFO_SPACE>::new();
/// let mut recv = RecvMsg::new(&mut iov).control(&mut space);
/// let msg = recv.recv(&socket)?;
/// msg.check()?; // neither data nor control truncated
/// for m in msg.messages() {
///     if let ControlMessage::PktInfoV4 { addr, ifindex } = m {
///         println!("{} bytes from {:?} to {addr} on {ifindex}", msg.len(), msg.socket_addr());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [`WSARecvMsg`](https://learn.microsoft.com/en-us/windows/win32/api/mswsock/nc-mswsock-lpfn_wsarecvmsg)
#[doc(alias = "WSAMSG")]
#[doc(alias = "WSARecvMsg")]
#[doc(alias = "recvmsg")]
#[derive(Debug)]
pub struct RecvMsg<'a, 'b> {
    iov: &'a mut [IoSliceMut<'b>],
    control: &'a mut [u8],
    flags: RecvFlags,
    /// `WSAMSG.name`: written by Windows, read only as far as its `namelen` says.
    name: MaybeUninit<sys::NameStorage>,
}

impl<'a, 'b> RecvMsg<'a, 'b> {
    /// A receive into these buffers, in order, with no room for control data.
    #[inline]
    pub fn new(iov: &'a mut [IoSliceMut<'b>]) -> Self {
        RecvMsg {
            iov,
            control: &mut [],
            flags: RecvFlags::empty(),
            name: MaybeUninit::uninit(),
        }
    }

    /// Receives control data into `buf`, aligned forward for `WSACMSGHDR` (a
    /// [`CmsgBuffer`](crate::cmsg::CmsgBuffer) already is). Size it with
    /// [`cmsg::space`](crate::cmsg::space): what does not fit is truncated (`MSG_CTRUNC`).
    #[inline]
    #[doc(alias = "Control")]
    pub fn control(mut self, buf: &'a mut [u8]) -> Self {
        self.control = cmsg::aligned_mut(buf);
        self
    }

    /// Adds these flags (`MSG_PEEK`) to the call. Repeated calls add up.
    #[inline]
    pub fn flags(mut self, flags: RecvFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// `WSARecvMsg`: receives one datagram, blocking or not as the socket is.
    ///
    /// `WSARecvMsg` is not exported by Windows: it is looked up once with
    /// `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_WSARECVMSG)` and kept.
    ///
    /// # Errors
    /// [`Error::Limit`] when the buffers do not fit one `WSAMSG`; [`Error::Os`] with the
    /// code of `WSAIoctl` or `WSARecvMsg` (`WSAEWOULDBLOCK`, `WSAEMSGSIZE` for a datagram
    /// larger than the buffers, `WSAECONNRESET` after an ICMP port unreachable, ...).
    /// Truncation is not an error here: see [`Received::check`].
    #[inline]
    pub fn recv<S: AsSocket>(&mut self, socket: S) -> Result<Received<'_>> {
        check_counts(self.iov.len(), self.control.len())?;
        let out = sys::recvmsg(
            socket.as_socket(),
            &mut self.name,
            self.iov,
            self.control,
            self.flags.bits(),
        )
        .map_err(|e| Error::os("WSARecvMsg", e))?;
        let capacity = self.control.len();
        Ok(Received {
            first: self.iov.first().map_or(&[][..], |b| &b[..]),
            iov: self.iov,
            bytes: out.bytes,
            flags: RecvFlags::from_bits_retain(out.flags),
            from: sys::socket_addr(&self.name, out.namelen),
            capacity,
            control: &self.control[..out.controllen],
        })
    }
}

/// What one `WSARecvMsg` received: the data length, flags, source address and control data.
#[derive(Debug)]
pub struct Received<'c> {
    iov: &'c [IoSliceMut<'c>],
    first: &'c [u8],
    bytes: usize,
    flags: RecvFlags,
    from: Option<SocketAddr>,
    capacity: usize,
    control: &'c [u8],
}

impl<'c> Received<'c> {
    /// Bytes of data received.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// Whether no data arrived.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The data buffers the message was received into; the first [`len`](Self::len) bytes over
    /// them hold the data.
    pub fn buffers(&self) -> &[IoSliceMut<'c>] {
        self.iov
    }

    /// The received data when it lies in the first buffer (always with a single buffer);
    /// `None` when it spilled into later buffers (read those with [`buffers`](Self::buffers)).
    #[inline]
    pub fn data(&self) -> Option<&[u8]> {
        let fitted = self.bytes.min(self.first.len());
        (self.bytes <= self.first.len() || self.iov.len() <= 1).then(|| &self.first[..fitted])
    }

    /// `WSAMSG.dwFlags` as Windows returned it: `MSG_TRUNC`, `MSG_CTRUNC`, `MSG_BCAST`,
    /// `MSG_MCAST`.
    pub fn flags(&self) -> RecvFlags {
        self.flags
    }

    /// Whether the data was truncated (`MSG_TRUNC`): the datagram was longer than the buffers.
    #[doc(alias = "MSG_TRUNC")]
    pub fn is_data_truncated(&self) -> bool {
        self.flags.contains(RecvFlags::TRUNC)
    }

    /// Whether the control data was truncated (`MSG_CTRUNC`): some was lost.
    #[doc(alias = "MSG_CTRUNC")]
    pub fn is_control_truncated(&self) -> bool {
        self.flags.contains(RecvFlags::CTRUNC)
    }

    /// Fails if anything was truncated, so that a short control buffer cannot pass unnoticed.
    /// What did arrive stays available either way.
    ///
    /// # Errors
    /// [`Error::ControlTruncated`] for `MSG_CTRUNC`, [`Error::DataTruncated`] for `MSG_TRUNC`.
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.is_control_truncated() {
            return Err(Error::ControlTruncated {
                delivered: self.control.len(),
                capacity: self.capacity,
            });
        }
        if self.is_data_truncated() {
            let room: usize = self.iov.iter().map(|b| b.len()).sum();
            return Err(Error::DataTruncated {
                received: self.bytes.min(room),
            });
        }
        Ok(())
    }

    /// The source address, when it is IPv4 or IPv6.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.from
    }

    /// The control data as received (`WSAMSG.Control.len` bytes).
    #[inline]
    pub fn control_bytes(&self) -> &[u8] {
        self.control
    }

    /// The control messages as bytes, walked by the crate's [`RawIter`](cmsg::RawIter), as
    /// on Unix.
    #[inline]
    pub fn raw_messages(&self) -> cmsg::RawIter<'_> {
        cmsg::RawIter::new(self.control)
    }

    /// The control messages, typed (`IP_PKTINFO`, `IP_ECN`, `UDP_COALESCED_INFO`, ...).
    #[doc(alias = "WSA_CMSG_FIRSTHDR")]
    #[doc(alias = "WSA_CMSG_NXTHDR")]
    pub fn messages(&self) -> Iter<'_> {
        Iter::new(self.control)
    }
}
