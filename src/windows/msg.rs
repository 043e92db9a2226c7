//! `WSASendMsg`, `WSARecvMsg` and the socket options their control messages need.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::ops::{BitOr, BitOrAssign};
use std::os::windows::io::AsSocket;

use windows_sys::Win32::Networking::WinSock as ws;

use super::{Error, Result};
use crate::sys;
use crate::Limit;

/// Flags of [`send_msg`] (`WSASendMsg`'s `dwFlags`): the `send` flags Windows has. There is no
/// `MSG_NOSIGNAL` (Windows raises no signal) and no `MSG_DONTWAIT` (make the socket
/// non-blocking instead, with `set_nonblocking`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct SendFlags(u32);

impl SendFlags {
    /// `MSG_OOB`: out-of-band data, on stream sockets only (`WSASendMsg`, which takes datagram
    /// and raw sockets, answers `WSAEOPNOTSUPP`).
    #[doc(alias = "MSG_OOB")]
    pub const OOB: Self = Self(ws::MSG_OOB as u32);
    /// `MSG_DONTROUTE`: send to hosts on directly connected networks only (providers may
    /// ignore it).
    #[doc(alias = "MSG_DONTROUTE")]
    pub const DONTROUTE: Self = Self(ws::MSG_DONTROUTE as u32);
    /// `MSG_PARTIAL`: the buffers hold only part of a message, for the message-oriented
    /// transports that support partial messages (not UDP or TCP).
    #[doc(alias = "MSG_PARTIAL")]
    pub const PARTIAL: Self = Self(ws::MSG_PARTIAL);

    /// No flag.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// The raw `MSG_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for SendFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for SendFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// Flags of [`recv_msg`] (`WSAMSG.dwFlags` on input).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct RecvFlags(u32);

impl RecvFlags {
    /// `MSG_PEEK`: leave the datagram queued; the next receive gets it again.
    #[doc(alias = "MSG_PEEK")]
    pub const PEEK: Self = Self(ws::MSG_PEEK as u32);
    /// `MSG_TRUNC` (returned): the datagram was larger than the buffers; the rest is lost.
    #[doc(alias = "MSG_TRUNC")]
    pub const TRUNC: Self = Self(ws::MSG_TRUNC);
    /// `MSG_CTRUNC` (returned): control messages did not fit the control buffer.
    #[doc(alias = "MSG_CTRUNC")]
    pub const CTRUNC: Self = Self(ws::MSG_CTRUNC);
    /// `MSG_BCAST` (returned): the datagram was sent to a broadcast address.
    #[doc(alias = "MSG_BCAST")]
    pub const BCAST: Self = Self(ws::MSG_BCAST);
    /// `MSG_MCAST` (returned): the datagram was sent to a multicast address.
    #[doc(alias = "MSG_MCAST")]
    pub const MCAST: Self = Self(ws::MSG_MCAST);

    /// No flag.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// The raw `MSG_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// These raw bits, known flags or not (`WSAMSG.dwFlags` as Windows returned it).
    pub const fn from_bits_retain(bits: u32) -> Self {
        Self(bits)
    }
    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for RecvFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for RecvFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// `WSASendMsg`: sends the data in `bufs` with the control messages in `control` (built with
/// the crate's [`Encoder`](crate::cmsg::Encoder), aligned for `WSACMSGHDR`), to `to` or, when
/// `None`, to the connected peer. Returns the bytes sent.
///
/// A datagram socket sends the buffers as one datagram (or, with a `UDP_SEND_MSG_SIZE`
/// message, as datagrams of that size). Blocking or not as the socket is.
///
/// # Errors
/// [`Error::Limit`] when `bufs` or `control` do not fit the 32-bit counts of `WSAMSG`
/// (nothing sent); [`Error::Os`] with the code of `WSASendMsg` (`WSAEWOULDBLOCK`,
/// `WSAEMSGSIZE`, ...).
///
/// # Examples
/// ```no_run
/// use std::io::IoSlice;
/// use std::net::UdpSocket;
/// use ancillary::cmsg::{CmsgBuffer, INT_SPACE};
/// use ancillary::windows::{cmsg, send_msg, SendFlags};
///
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// let mut storage = CmsgBuffer::<INT_SPACE>::new();
/// let mut control = storage.encoder();
/// control.push(&cmsg::ControlMessage::EcnV4(0b10))?; // ECT(0)
/// let to = "127.0.0.1:4433".parse()?;
/// send_msg(&socket, &[IoSlice::new(b"hello")], control.as_bytes(), Some(to), SendFlags::empty())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "WSASendMsg")]
#[doc(alias = "sendmsg")]
pub fn send_msg(
    socket: impl AsSocket,
    bufs: &[IoSlice<'_>],
    control: &[u8],
    to: Option<SocketAddr>,
    flags: SendFlags,
) -> Result<usize> {
    check_counts(bufs.len(), control.len())?;
    let addr = to.map(sys::SockAddr::from);
    let name = addr.as_ref().map(sys::Name::new);
    sys::sendmsg(socket.as_socket(), name, bufs, control, flags.0).map_err(|e| {
        let carried = crate::Carried::message(control, to.is_some());
        Error::os_carrying("WSASendMsg", e, carried)
    })
}

/// The counts `WSAMSG` holds as 32-bit numbers: more buffers or control bytes are an
/// [`Error::Limit`] ([`Limit::Iovecs`], [`Limit::ControlBuffer`]) before the call.
pub(crate) fn check_counts(bufs: usize, control: usize) -> Result<()> {
    let over = |limit, needed| Error::Limit {
        limit,
        needed,
        max: u32::MAX as usize,
        kernel: None,
    };
    if u32::try_from(bufs).is_err() {
        return Err(over(Limit::Iovecs, bufs));
    }
    if u32::try_from(control).is_err() {
        return Err(over(Limit::ControlBuffer, control));
    }
    Ok(())
}

/// What [`recv_msg`] received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    bytes: usize,
    from: Option<SocketAddr>,
    control_len: usize,
    flags: u32,
}

impl Received {
    /// Bytes of data written into the buffers.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// The sender's address, when it is IPv4 or IPv6.
    pub fn from(&self) -> Option<SocketAddr> {
        self.from
    }
    /// Bytes of control data written: walk `&control[..control_len()]` with
    /// [`cmsg::Iter`](super::cmsg::Iter).
    pub fn control_len(&self) -> usize {
        self.control_len
    }
    /// `MSG_TRUNC`: the datagram was larger than the buffers; the rest is lost.
    #[doc(alias = "MSG_TRUNC")]
    pub fn is_truncated(&self) -> bool {
        self.flags & ws::MSG_TRUNC != 0
    }
    /// `MSG_CTRUNC`: control messages did not fit the control buffer.
    #[doc(alias = "MSG_CTRUNC")]
    pub fn is_control_truncated(&self) -> bool {
        self.flags & ws::MSG_CTRUNC != 0
    }
    /// `MSG_BCAST`: the datagram was sent to a broadcast address.
    #[doc(alias = "MSG_BCAST")]
    pub fn is_broadcast(&self) -> bool {
        self.flags & ws::MSG_BCAST != 0
    }
    /// `MSG_MCAST`: the datagram was sent to a multicast address.
    #[doc(alias = "MSG_MCAST")]
    pub fn is_multicast(&self) -> bool {
        self.flags & ws::MSG_MCAST != 0
    }
    /// The raw `WSAMSG.dwFlags` Windows returned.
    pub fn flags(&self) -> u32 {
        self.flags
    }
}

/// `WSARecvMsg`: receives one datagram into `bufs`, its control messages into `control`
/// (aligned for `WSACMSGHDR`: a [`CmsgBuffer`](crate::cmsg::CmsgBuffer)) and its sender's
/// address. Blocking or not as the socket is.
///
/// `WSARecvMsg` is not exported by Windows: it is looked up once with
/// `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_WSARECVMSG)` and kept.
///
/// # Errors
/// [`Error::Limit`] when `bufs` or `control` do not fit the 32-bit counts of `WSAMSG`;
/// [`Error::Os`] with the code of `WSAIoctl` or `WSARecvMsg` (`WSAEWOULDBLOCK`,
/// `WSAEMSGSIZE` for a datagram larger than the buffers, `WSAECONNRESET` after an ICMP port
/// unreachable, ...).
///
/// # Examples
/// ```no_run
/// use std::io::IoSliceMut;
/// use std::net::UdpSocket;
/// use ancillary::cmsg::{CmsgBuffer, IP_PKTINFO_SPACE};
/// use ancillary::windows::{cmsg, recv_msg, set_recv_option, RecvFlags, RecvOption};
///
/// let socket = UdpSocket::bind("127.0.0.1:4433")?;
/// set_recv_option(&socket, RecvOption::PktInfoV4, true)?;
/// let (mut data, mut control) = ([0u8; 1500], CmsgBuffer::<IP_PKTINFO_SPACE>::new());
/// let got = recv_msg(&socket, &mut [IoSliceMut::new(&mut data)], &mut control, RecvFlags::empty())?;
/// for msg in cmsg::Iter::new(&control[..got.control_len()]) {
///     if let cmsg::ControlMessage::PktInfoV4 { addr, ifindex } = msg {
///         println!("{} bytes from {:?} to {addr} on interface {ifindex}", got.bytes(), got.from());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "WSARecvMsg")]
#[doc(alias = "recvmsg")]
pub fn recv_msg(
    socket: impl AsSocket,
    bufs: &mut [IoSliceMut<'_>],
    control: &mut [u8],
    flags: RecvFlags,
) -> Result<Received> {
    check_counts(bufs.len(), control.len())?;
    let mut name = MaybeUninit::zeroed();
    let socket = socket.as_socket();
    let out = sys::recvmsg(socket, &mut name, bufs, control, flags.0)
        .map_err(|e| Error::os("WSARecvMsg", e))?;
    Ok(Received {
        bytes: out.bytes,
        from: sys::socket_addr(&name, out.namelen),
        control_len: out.controllen,
        flags: out.flags,
    })
}

/// The socket options that ask Windows for a control message with every datagram received.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecvOption {
    /// `IP_PKTINFO`: the destination address and arriving interface, as
    /// [`ControlMessage::PktInfoV4`](super::cmsg::ControlMessage::PktInfoV4).
    #[doc(alias = "IP_PKTINFO")]
    PktInfoV4,
    /// `IPV6_PKTINFO`: as [`ControlMessage::PktInfoV6`](super::cmsg::ControlMessage::PktInfoV6).
    #[doc(alias = "IPV6_PKTINFO")]
    PktInfoV6,
    /// `IP_RECVECN`: the ECN bits, as [`ControlMessage::EcnV4`](super::cmsg::ControlMessage::EcnV4).
    #[doc(alias = "IP_RECVECN")]
    EcnV4,
    /// `IPV6_RECVECN`: as [`ControlMessage::EcnV6`](super::cmsg::ControlMessage::EcnV6).
    #[doc(alias = "IPV6_RECVECN")]
    EcnV6,
    /// `IP_RECVTOS`: the type-of-service byte, as
    /// [`ControlMessage::TosV4`](super::cmsg::ControlMessage::TosV4).
    #[doc(alias = "IP_RECVTOS")]
    TosV4,
    /// `IPV6_RECVTCLASS`: the traffic class, as
    /// [`ControlMessage::TclassV6`](super::cmsg::ControlMessage::TclassV6).
    #[doc(alias = "IPV6_RECVTCLASS")]
    TclassV6,
}

impl RecvOption {
    fn level_name(self) -> (i32, i32, &'static str) {
        match self {
            RecvOption::PktInfoV4 => (ws::IPPROTO_IP, ws::IP_PKTINFO, "setsockopt(IP_PKTINFO)"),
            RecvOption::PktInfoV6 => (
                ws::IPPROTO_IPV6,
                ws::IPV6_PKTINFO,
                "setsockopt(IPV6_PKTINFO)",
            ),
            RecvOption::EcnV4 => (ws::IPPROTO_IP, ws::IP_RECVECN, "setsockopt(IP_RECVECN)"),
            RecvOption::EcnV6 => (
                ws::IPPROTO_IPV6,
                ws::IPV6_RECVECN,
                "setsockopt(IPV6_RECVECN)",
            ),
            RecvOption::TosV4 => (ws::IPPROTO_IP, ws::IP_RECVTOS, "setsockopt(IP_RECVTOS)"),
            RecvOption::TclassV6 => (
                ws::IPPROTO_IPV6,
                ws::IPV6_RECVTCLASS,
                "setsockopt(IPV6_RECVTCLASS)",
            ),
        }
    }
}

/// `setsockopt(option, on)`: asks for (or stops) a control message with every datagram.
///
/// # Errors
/// [`Error::Os`] with the code of `setsockopt` (`WSAENOPROTOOPT` where this Windows or this
/// socket's family lacks the option).
#[doc(alias = "setsockopt")]
pub fn set_recv_option(socket: impl AsSocket, option: RecvOption, on: bool) -> Result<()> {
    let (level, name, call) = option.level_name();
    sys::set_recv_flag(socket.as_socket(), level, name, on).map_err(|e| Error::os(call, e))
}

/// Whether the socket takes UDP send offload (USO: a `UDP_SEND_MSG_SIZE` message cuts one
/// send into many datagrams). Asks with `getsockopt(UDP_SEND_MSG_SIZE)`, which changes
/// nothing.
///
/// # Errors
/// [`Error::Os`] with the code of `getsockopt` for other failures than "no such option"
/// (`WSAENOPROTOOPT`, `WSAEINVAL`, `WSAEOPNOTSUPP`), which give `Ok(false)`.
#[doc(alias = "UDP_SEND_MSG_SIZE")]
pub fn supports_send_offload(socket: impl AsSocket) -> Result<bool> {
    match sys::udp_send_msg_size(socket.as_socket()) {
        Ok(_) => Ok(true),
        Err(ws::WSAENOPROTOOPT | ws::WSAEINVAL | ws::WSAEOPNOTSUPP) => Ok(false),
        Err(e) => Err(Error::os("getsockopt(UDP_SEND_MSG_SIZE)", e)),
    }
}

/// `setsockopt(UDP_RECV_MAX_COALESCED_SIZE, max_bytes)`: lets Windows join datagrams of one
/// flow into receives of up to `max_bytes` (URO; 0 turns it off). Each joined receive carries
/// a [`ControlMessage::CoalescedInfo`](super::cmsg::ControlMessage::CoalescedInfo) with the
/// datagram size.
///
/// # Errors
/// [`Error::Os`] with the code of `setsockopt` (`WSAENOPROTOOPT` or `WSAEINVAL` where Windows
/// has no URO).
#[doc(alias = "UDP_RECV_MAX_COALESCED_SIZE")]
pub fn set_recv_coalescing(socket: impl AsSocket, max_bytes: u32) -> Result<()> {
    sys::set_udp_recv_max_coalesced_size(socket.as_socket(), max_bytes)
        .map_err(|e| Error::os("setsockopt(UDP_RECV_MAX_COALESCED_SIZE)", e))
}
