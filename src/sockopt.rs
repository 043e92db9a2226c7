//! Socket options behind the control messages the crate decodes, typed: no `setsockopt`
//! with a magic number, no `unsafe`.
//!
//! Each option has a setter (`set_*`) and a getter; the peer queries (`peer_credentials`
//! where the system has it, `peer_pidfd` on Linux) ask who is at the other end of a Unix
//! socket.
//! Every function takes any socket (`impl AsFd`) and reports a failure as
//! [`Error::Os`] with `call` `"setsockopt"` or `"getsockopt"`; `ENOPROTOOPT` means the
//! running kernel does not have the option (`SO_PASSPIDFD` and `SO_PEERPIDFD` need Linux
//! 6.5), `EOPNOTSUPP` that this kind of socket does not take it.
//!
//! | function | option | what arrives ([`Received`](crate::Received) accessor) |
//! | --- | --- | --- |
#![cfg_attr(
    linux_like,
    doc = "| [`set_pass_credentials`] | `SO_PASSCRED` | `SCM_CREDENTIALS` ([`credentials`](crate::Received::credentials)) |"
)]
#![cfg_attr(
    has_pidfd,
    doc = "| [`set_pass_pidfd`] | `SO_PASSPIDFD` | `SCM_PIDFD` ([`pidfd`](crate::Received::pidfd)) |"
)]
//! | [`set_recv_pktinfo`] | `IP_PKTINFO` / `IPV6_RECVPKTINFO` (the IPv4 option per system) | destination address, interface ([`destination`](crate::Received::destination)) |
#![cfg_attr(
    has_recv_tos,
    doc = "| [`set_recv_tos`] | `IP_RECVTOS` / `IPV6_RECVTCLASS` | TOS / traffic class ([`ecn`](crate::Received::ecn), [`tos`](crate::Received::tos)) |"
)]
#![cfg_attr(
    has_recv_tos,
    doc = "| [`set_recv_ttl`] | `IP_RECVTTL` / `IPV6_RECVHOPLIMIT` | TTL / hop limit ([`ttl`](crate::Received::ttl)) |"
)]
#![cfg_attr(
    has_gso,
    doc = "| [`set_udp_gro`] | `UDP_GRO` | segment size ([`gro_segment_size`](crate::Received::gro_segment_size)) |"
)]
#![cfg_attr(
    linux_like,
    doc = "| [`set_timestamp_ns`] | `SO_TIMESTAMPNS` | arrival time ([`timestamp`](crate::Received::timestamp)) |"
)]
#![cfg_attr(
    linux_like,
    doc = "| [`set_rxq_overflow`] | `SO_RXQ_OVFL` | drops so far ([`rxq_overflow`](crate::Received::rxq_overflow)) |"
)]
//!
//! The IP options pick the IPv4 or the IPv6 option by the socket's family (`SO_DOMAIN`). On
//! Linux, IPv4 datagrams reaching a dual-stack IPv6 socket (from `::ffff:a.b.c.d`) carry
//! `IPV6_PKTINFO` but not the IPv6 TOS and TTL messages: for those the setters of an IPv6
//! socket set the IPv4 option too (`set_recv_tos`, `set_recv_ttl`), and such a datagram
//! brings `IP_TOS` and `IP_TTL`. FreeBSD and macOS give such a datagram the IPv6 messages
//! (`ip6_savecontrol_v4`), so there only the IPv6 option is set. A socket of another family
//! gets `EOPNOTSUPP`.
//!
//! ```
//! # #[cfg(any(target_os = "linux", target_os = "android"))] {
//! use std::net::UdpSocket;
//! use ancillary::sockopt;
//!
//! let socket = UdpSocket::bind("127.0.0.1:0")?;
//! sockopt::set_recv_pktinfo(&socket, true)?;
//! sockopt::set_recv_tos(&socket, true)?;
//! assert!(sockopt::recv_pktinfo(&socket)? && sockopt::recv_tos(&socket)?);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # References
//! [socket(7)](https://man7.org/linux/man-pages/man7/socket.7.html),
//! [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html),
//! [ip(7)](https://man7.org/linux/man-pages/man7/ip.7.html),
//! [ipv6(7)](https://man7.org/linux/man-pages/man7/ipv6.7.html),
//! [udp(7)](https://man7.org/linux/man-pages/man7/udp.7.html)

#![cfg_attr(not(linux_like), allow(unused_imports))]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

#[cfg(has_ucred)]
use crate::cmsg::Credentials;
use crate::error::{Error, Result};
use crate::sys;

/// `setsockopt` of a boolean `int` option.
#[cfg(any(has_recv_pktinfo, has_scm_creds))]
fn set_flag(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, on: bool) -> Result<()> {
    sys::setsockopt(fd, level, name, libc::c_int::from(on)).map_err(|e| Error::os("setsockopt", e))
}

/// `getsockopt` of a boolean `int` option.
#[cfg(any(has_recv_pktinfo, has_scm_creds))]
fn flag(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> Result<bool> {
    sys::getsockopt::<libc::c_int>(fd, level, name)
        .map(|v| v != 0)
        .map_err(|e| Error::os("getsockopt", e))
}

/// An IP option, by family: IPv4 and IPv6 `(level, name)`.
#[cfg(has_recv_pktinfo)]
#[derive(Clone, Copy)]
struct IpOption {
    v4: libc::c_int,
    v6: libc::c_int,
    /// Whether an IPv6 socket needs the IPv4 option too for its IPv4 datagrams (the kernel
    /// gives them the IPv6 message for `IPV6_RECVPKTINFO`, not for the others).
    dual: bool,
}

/// Whether `fd` is an IPv6 socket (`false`: IPv4); `EOPNOTSUPP` for another family.
#[cfg(has_recv_pktinfo)]
fn is_ipv6(fd: BorrowedFd<'_>, call: &'static str) -> Result<bool> {
    match sys::socket_domain(fd).map_err(|e| Error::os(call, e))? {
        libc::AF_INET => Ok(false),
        libc::AF_INET6 => Ok(true),
        _ => Err(Error::os(call, libc::EOPNOTSUPP)),
    }
}

#[cfg(has_recv_pktinfo)]
fn set_ip_flag(fd: BorrowedFd<'_>, o: IpOption, on: bool) -> Result<()> {
    if !is_ipv6(fd, "setsockopt")? {
        return set_flag(fd, libc::IPPROTO_IP, o.v4, on);
    }
    set_flag(fd, libc::IPPROTO_IPV6, o.v6, on)?;
    if o.dual {
        // IPv4 datagrams of a dual-stack socket carry the IPv4 message.
        set_flag(fd, libc::IPPROTO_IP, o.v4, on)?;
    }
    Ok(())
}

#[cfg(has_recv_pktinfo)]
fn ip_flag(fd: BorrowedFd<'_>, o: IpOption) -> Result<bool> {
    if is_ipv6(fd, "getsockopt")? {
        flag(fd, libc::IPPROTO_IPV6, o.v6)
    } else {
        flag(fd, libc::IPPROTO_IP, o.v4)
    }
}

/// `SO_PASSCRED`: receive the sender's credentials (`SCM_CREDENTIALS`) with every message on
/// this Unix socket, whether the sender attached them or not; read them with
/// [`Received::credentials`](crate::Received::credentials). Count
/// [`CREDENTIALS_SPACE`](crate::cmsg::CREDENTIALS_SPACE) in every control buffer.
///
/// On a connected stream the credentials ride on each `recvmsg` that returns data from another
/// sender call: a stream never merges data of different credentials into one read.
///
/// ```
/// # #[cfg(any(target_os = "linux", target_os = "android"))] {
/// use std::os::unix::net::UnixDatagram;
/// use ancillary::sockopt;
///
/// let (a, b) = UnixDatagram::pair()?;
/// sockopt::set_pass_credentials(&b, true)?;
/// assert!(sockopt::pass_credentials(&b)?);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `EOPNOTSUPP` or `ENOPROTOOPT` on a socket that is not
/// a Unix (or netlink) socket, `EBADF`, `ENOTSOCK`.
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_PASSCRED")]
pub fn set_pass_credentials(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(socket.as_fd(), libc::SOL_SOCKET, libc::SO_PASSCRED, on)
}

/// Whether `SO_PASSCRED` is on (see [`set_pass_credentials`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`).
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_PASSCRED")]
pub fn pass_credentials(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), libc::SOL_SOCKET, libc::SO_PASSCRED)
}

/// `SO_PASSPIDFD` (Linux 6.5+): receive a pidfd of the sender (`SCM_PIDFD`) with every
/// message on this Unix socket, taken with [`Received::pidfd`](crate::Received::pidfd). Count
/// [`PIDFD_SPACE`](crate::cmsg::PIDFD_SPACE) in every control buffer. `libc` does not define
/// the option; the crate does, per architecture.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `ENOPROTOOPT` on a kernel before 6.5; `EOPNOTSUPP`
/// on a socket that is not a Unix socket.
#[cfg(has_pidfd)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_PASSPIDFD")]
#[doc(alias = "SCM_PIDFD")]
pub fn set_pass_pidfd(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(socket.as_fd(), libc::SOL_SOCKET, sys::SO_PASSPIDFD, on)
}

/// Whether `SO_PASSPIDFD` is on (see [`set_pass_pidfd`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `ENOPROTOOPT` on a kernel before 6.5.
#[cfg(has_pidfd)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_PASSPIDFD")]
pub fn pass_pidfd(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), libc::SOL_SOCKET, sys::SO_PASSPIDFD)
}

/// The options behind [`set_recv_pktinfo`]: the IPv4 one differs per system (Linux's and
/// macOS's `IP_PKTINFO`, NetBSD's `IP_RECVPKTINFO`, FreeBSD's `IP_RECVDSTADDR`), the IPv6 one
/// is `IPV6_RECVPKTINFO` everywhere.
#[cfg(has_recv_pktinfo)]
const PKTINFO: IpOption = IpOption {
    #[cfg(any(linux_like, apple))]
    v4: libc::IP_PKTINFO,
    #[cfg(netbsd)]
    v4: libc::IP_RECVPKTINFO,
    #[cfg(freebsd)]
    v4: libc::IP_RECVDSTADDR,
    v6: libc::IPV6_RECVPKTINFO,
    dual: false,
};
/// The options behind [`set_recv_tos`]; only Linux needs the IPv4 one on an IPv6 socket.
#[cfg(has_recv_tos)]
const TOS: IpOption = IpOption {
    v4: libc::IP_RECVTOS,
    v6: libc::IPV6_RECVTCLASS,
    dual: cfg!(linux_like),
};
/// The options behind [`set_recv_ttl`]; only Linux needs the IPv4 one on an IPv6 socket.
#[cfg(has_recv_tos)]
const TTL: IpOption = IpOption {
    v4: libc::IP_RECVTTL,
    v6: libc::IPV6_RECVHOPLIMIT,
    dual: cfg!(linux_like),
};

/// `IP_PKTINFO` (IPv4) / `IPV6_RECVPKTINFO` (IPv6): receive the destination address of each
/// datagram and the interface it came in on, read with
/// [`Received::destination`](crate::Received::destination): what a server bound to a
/// wildcard address answers from. Count
/// [`IPV6_PKTINFO_SPACE`](crate::cmsg::IPV6_PKTINFO_SPACE) (the larger of the two) in every
/// control buffer. Picks the option by the socket's family (see the [module](self) docs).
///
/// The IPv4 option is the system's own, behind the same call and accessor:
///
/// | system | IPv4 option | message | interface index |
/// | --- | --- | --- | --- |
/// | Linux, Android | `IP_PKTINFO` | `IP_PKTINFO` (`in_pktinfo`, 12 bytes) | yes |
/// | macOS, iOS | `IP_PKTINFO` | `IP_PKTINFO` (`in_pktinfo`, Linux's fields) | yes |
/// | NetBSD | `IP_RECVPKTINFO` | `IP_PKTINFO` (`in_pktinfo`, 8 bytes) | yes |
/// | FreeBSD | `IP_RECVDSTADDR` | `IP_RECVDSTADDR` (`in_addr`) | no: [`PacketInfo::ifindex`](crate::PacketInfo::ifindex) is 0 |
///
/// IPv6 is `IPV6_RECVPKTINFO` with `IPV6_PKTINFO` (`in6_pktinfo`) on every system. On Linux
/// the IPv4 datagrams of a dual-stack IPv6 socket bring `IPV6_PKTINFO` with the mapped
/// address; elsewhere that is the kernel's choice (FreeBSD's brings none).
///
/// ```
/// # #[cfg(any(target_os = "linux", target_os = "android"))] {
/// use std::io::IoSliceMut;
/// use std::net::UdpSocket;
/// use ancillary::{cmsg::{CmsgBuffer, IPV6_PKTINFO_SPACE}, sockopt, RecvMsg};
///
/// let rx = UdpSocket::bind("0.0.0.0:0")?;
/// sockopt::set_recv_pktinfo(&rx, true)?;
/// let tx = UdpSocket::bind("127.0.0.1:0")?;
/// tx.send_to(b"hello", ("127.0.0.1", rx.local_addr()?.port()))?;
///
/// let mut data = [0u8; 16];
/// let mut iov = [IoSliceMut::new(&mut data)];
/// let mut room = CmsgBuffer::<IPV6_PKTINFO_SPACE>::new();
/// let mut recv = RecvMsg::new(&mut iov).control(&mut room);
/// let msg = recv.recv(&rx)?;
/// let to = msg.destination().expect("IP_PKTINFO");
/// assert_eq!(to.ip, std::net::Ipv4Addr::LOCALHOST);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `EOPNOTSUPP` for a socket that is neither IPv4 nor
/// IPv6.
#[cfg(has_recv_pktinfo)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd"
    )))
)]
#[doc(alias = "IP_PKTINFO")]
#[doc(alias = "IP_RECVPKTINFO")]
#[doc(alias = "IP_RECVDSTADDR")]
#[doc(alias = "IPV6_RECVPKTINFO")]
pub fn set_recv_pktinfo(socket: impl AsFd, on: bool) -> Result<()> {
    set_ip_flag(socket.as_fd(), PKTINFO, on)
}

/// Whether the socket receives its IPv4 destination message / `IPV6_PKTINFO` (see
/// [`set_recv_pktinfo`] for the option per system; on an IPv6 socket, the IPv6 option).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `EOPNOTSUPP` for a socket that is neither IPv4 nor
/// IPv6.
#[cfg(has_recv_pktinfo)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd"
    )))
)]
#[doc(alias = "IP_PKTINFO")]
#[doc(alias = "IP_RECVPKTINFO")]
#[doc(alias = "IP_RECVDSTADDR")]
#[doc(alias = "IPV6_RECVPKTINFO")]
pub fn recv_pktinfo(socket: impl AsFd) -> Result<bool> {
    ip_flag(socket.as_fd(), PKTINFO)
}

/// `IP_RECVTOS` (IPv4) / `IPV6_RECVTCLASS` (IPv6): receive the TOS byte or traffic class of
/// each datagram (its DSCP and ECN bits), read with [`Received::ecn`](crate::Received::ecn)
/// and [`Received::tos`](crate::Received::tos). Count
/// [`INT_SPACE`](crate::cmsg::INT_SPACE) in every control buffer. Picks the option by the
/// socket's family; on an IPv6 socket on Linux it sets `IP_RECVTOS` as well, for the IPv4
/// datagrams of a dual-stack socket (see the [module](self) docs). The IPv4 message is
/// `IP_TOS` on Linux, `IP_RECVTOS` on FreeBSD and macOS: the accessors read either.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `EOPNOTSUPP` for a socket that is neither IPv4 nor
/// IPv6.
#[cfg(has_recv_tos)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )))
)]
#[doc(alias = "IP_RECVTOS")]
#[doc(alias = "IPV6_RECVTCLASS")]
pub fn set_recv_tos(socket: impl AsFd, on: bool) -> Result<()> {
    set_ip_flag(socket.as_fd(), TOS, on)
}

/// Whether the socket receives the TOS byte / traffic class (see [`set_recv_tos`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`).
#[cfg(has_recv_tos)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )))
)]
#[doc(alias = "IP_RECVTOS")]
#[doc(alias = "IPV6_RECVTCLASS")]
pub fn recv_tos(socket: impl AsFd) -> Result<bool> {
    ip_flag(socket.as_fd(), TOS)
}

/// `IP_RECVTTL` (IPv4) / `IPV6_RECVHOPLIMIT` (IPv6): receive the TTL or hop limit each
/// datagram arrived with, read with [`Received::ttl`](crate::Received::ttl). Count
/// [`INT_SPACE`](crate::cmsg::INT_SPACE) in every control buffer. Picks the option by the
/// socket's family; on an IPv6 socket on Linux it sets `IP_RECVTTL` as well, for the IPv4
/// datagrams of a dual-stack socket (see the [module](self) docs). The IPv4 message is
/// `IP_TTL` on Linux, `IP_RECVTTL` on FreeBSD and macOS: the accessor reads either.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `EOPNOTSUPP` for a socket that is neither IPv4 nor
/// IPv6.
#[cfg(has_recv_tos)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )))
)]
#[doc(alias = "IP_RECVTTL")]
#[doc(alias = "IPV6_RECVHOPLIMIT")]
pub fn set_recv_ttl(socket: impl AsFd, on: bool) -> Result<()> {
    set_ip_flag(socket.as_fd(), TTL, on)
}

/// Whether the socket receives the TTL / hop limit (see [`set_recv_ttl`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`).
#[cfg(has_recv_tos)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )))
)]
#[doc(alias = "IP_RECVTTL")]
#[doc(alias = "IPV6_RECVHOPLIMIT")]
pub fn recv_ttl(socket: impl AsFd) -> Result<bool> {
    ip_flag(socket.as_fd(), TTL)
}

/// `UDP_GRO` (Linux 5.0+): let the kernel coalesce datagrams of one flow into one receive,
/// with their segment size in a `UDP_GRO` message
/// ([`Received::gro_segment_size`](crate::Received::gro_segment_size); split them with
/// [`split_gro`](crate::batch::split_gro)). Give receives buffers of 64 KiB, and count
/// [`INT_SPACE`](crate::cmsg::INT_SPACE) in every control buffer: a coalesced datagram
/// received into a smaller buffer is truncated.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `ENOPROTOOPT` on a kernel without it, `EOPNOTSUPP`
/// on a socket that is not UDP.
#[cfg(has_gso)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "UDP_GRO")]
pub fn set_udp_gro(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(socket.as_fd(), libc::SOL_UDP, libc::UDP_GRO, on)
}

/// Whether `UDP_GRO` is on (see [`set_udp_gro`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `ENOPROTOOPT` on a kernel that cannot tell.
#[cfg(has_gso)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "UDP_GRO")]
pub fn udp_gro(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), libc::SOL_UDP, libc::UDP_GRO)
}

/// `SO_TIMESTAMPNS`: receive the time each message arrived (`SCM_TIMESTAMPNS`, a
/// `timespec` of the realtime clock), read with
/// [`Received::timestamp`](crate::Received::timestamp). Count
/// [`space`](crate::cmsg::space)`(16)` in every control buffer.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`).
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_TIMESTAMPNS")]
#[doc(alias = "SCM_TIMESTAMPNS")]
pub fn set_timestamp_ns(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(socket.as_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, on)
}

/// Whether `SO_TIMESTAMPNS` is on (see [`set_timestamp_ns`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`).
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_TIMESTAMPNS")]
pub fn timestamp_ns(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS)
}

/// `SO_RXQ_OVFL`: receive with each datagram the count of datagrams this socket dropped so
/// far for lack of receive buffer (`u32`), read with
/// [`Received::rxq_overflow`](crate::Received::rxq_overflow). Count
/// [`INT_SPACE`](crate::cmsg::INT_SPACE) in every control buffer. The kernel attaches it only
/// once a drop happened.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`).
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_RXQ_OVFL")]
pub fn set_rxq_overflow(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(socket.as_fd(), libc::SOL_SOCKET, libc::SO_RXQ_OVFL, on)
}

/// Whether `SO_RXQ_OVFL` is on (see [`set_rxq_overflow`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`).
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_RXQ_OVFL")]
pub fn rxq_overflow(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), libc::SOL_SOCKET, libc::SO_RXQ_OVFL)
}

/// `SO_PEERCRED`: the credentials of the process at the other end of a connected Unix
/// socket, as they were when it called `connect` (or `listen`, seen from the connecting
/// side), or when `socketpair` made the pair: the kernel's record, which the peer cannot
/// choose, unlike the credentials of a message.
///
/// The pid may since belong to another process; [`peer_pidfd`] names the process itself.
///
/// ```
/// # #[cfg(any(target_os = "linux", target_os = "android"))] {
/// use std::os::unix::net::UnixStream;
/// use ancillary::{cmsg::Credentials, sockopt};
///
/// let (a, _b) = UnixStream::pair()?;
/// assert_eq!(sockopt::peer_credentials(&a)?, Credentials::current());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `ENOTCONN`, `EBADF`, `ENOTSOCK`. A socket with no
/// peer process (not a Unix socket, or a Unix socket never connected) gives pid 0 rather than
/// an error.
#[cfg(has_ucred)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_PEERCRED")]
#[doc(alias = "ucred")]
pub fn peer_credentials(socket: impl AsFd) -> Result<Credentials> {
    let (pid, uid, gid) =
        sys::peer_credentials(socket.as_fd()).map_err(|e| Error::os("getsockopt", e))?;
    Ok(Credentials { pid, uid, gid })
}

/// `SO_PEERPIDFD` (Linux 6.5+): a pidfd of the process at the other end of a connected Unix
/// socket (the process [`peer_credentials`] names), owned at once and close-on-exec (the
/// kernel opens it `O_CLOEXEC`). Unlike a pid it cannot come to name another process: wait
/// on it with `poll`, signal it with `pidfd_send_signal`, or check it is still alive.
/// `libc` does not define the option; the crate does, per architecture.
///
/// ```
/// # #[cfg(any(target_os = "linux", target_os = "android"))] {
/// use std::os::unix::net::UnixStream;
/// use ancillary::sockopt;
///
/// let (a, _b) = UnixStream::pair()?;
/// match sockopt::peer_pidfd(&a) {
///     Ok(pidfd) => drop(pidfd), // this process: the pair's peer
///     Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {} // before Linux 6.5
///     Err(e) => return Err(e.into()),
/// }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `ENOPROTOOPT` before Linux 6.5, `ENODATA` for a
/// socket with no peer process (never connected, or not a Unix socket), `ESRCH` when the
/// peer process is gone, `EMFILE` when this process has no descriptor left.
#[cfg(has_pidfd)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[doc(alias = "SO_PEERPIDFD")]
#[doc(alias = "pidfd")]
pub fn peer_pidfd(socket: impl AsFd) -> Result<OwnedFd> {
    sys::peer_pidfd(socket.as_fd()).map_err(|e| Error::os("getsockopt", e))
}

/// `LOCAL_CREDS`: the kernel attaches the sender's credentials to what this Unix socket
/// receives, as `SCM_CREDS` with a `struct sockcred`, whatever the sender sends.
///
/// - FreeBSD: once, to the first message received after the option is set (on a listening
///   socket, inherited by the accepted ones); read it with
///   `Received::scm_creds` and `ScmCreds::sockcred`. For every message, use
///   `set_local_creds_persistent`.
/// - NetBSD: read it with [`Received::sender_credentials`](crate::Received::sender_credentials).
///
/// Count `SOCKCREDSIZE(ngroups)` (20 + 4 × groups bytes on FreeBSD, 24 + 4 × groups on NetBSD)
/// in the receive control buffer.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `ENOPROTOOPT` or `EOPNOTSUPP` on a socket that is not
/// a Unix socket, `EBADF`, `ENOTSOCK`.
#[cfg(has_scm_creds)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_os = "netbsd"))))]
#[doc(alias = "LOCAL_CREDS")]
#[doc(alias = "sockcred")]
pub fn set_local_creds(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(socket.as_fd(), sys::SOL_LOCAL, libc::LOCAL_CREDS, on)
}

/// Whether `LOCAL_CREDS` is on (see [`set_local_creds`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`), as [`set_local_creds`].
#[cfg(has_scm_creds)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_os = "netbsd"))))]
#[doc(alias = "LOCAL_CREDS")]
pub fn local_creds(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), sys::SOL_LOCAL, libc::LOCAL_CREDS)
}

/// `LOCAL_CREDS_PERSISTENT` (FreeBSD 13+): the kernel attaches the sender's credentials to
/// every message this Unix socket receives, as `SCM_CREDS2` with a `struct sockcred2` (pid
/// included); read them with
/// [`Received::sender_credentials`](crate::Received::sender_credentials). Count
/// `SOCKCRED2SIZE(ngroups)` (28 + 4 × groups bytes) in the receive control buffer.
///
/// # Errors
/// [`Error::Os`] (`call: "setsockopt"`): `ENOPROTOOPT` before FreeBSD 13 or on a socket that is
/// not a Unix socket, `EBADF`, `ENOTSOCK`.
#[cfg(freebsd)]
#[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
#[doc(alias = "LOCAL_CREDS_PERSISTENT")]
#[doc(alias = "SCM_CREDS2")]
#[doc(alias = "sockcred2")]
pub fn set_local_creds_persistent(socket: impl AsFd, on: bool) -> Result<()> {
    set_flag(
        socket.as_fd(),
        sys::SOL_LOCAL,
        libc::LOCAL_CREDS_PERSISTENT,
        on,
    )
}

/// Whether `LOCAL_CREDS_PERSISTENT` is on (see [`set_local_creds_persistent`]).
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`), as [`set_local_creds_persistent`].
#[cfg(freebsd)]
#[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
#[doc(alias = "LOCAL_CREDS_PERSISTENT")]
pub fn local_creds_persistent(socket: impl AsFd) -> Result<bool> {
    flag(socket.as_fd(), sys::SOL_LOCAL, libc::LOCAL_CREDS_PERSISTENT)
}

/// The credentials of the process at the other end of a connected Unix socket, as the kernel
/// recorded them at `connect`/`listen` (`struct xucred`): see [`peer_credentials`].
#[doc(alias = "xucred")]
#[cfg(any(test, has_local_peercred))]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_vendor = "apple"))))]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerCred {
    /// Effective user id (`cr_uid`).
    pub uid: libc::uid_t,
    /// The peer's process id (`cr_pid`, FreeBSD 13+); `None` on macOS, whose `xucred` has none
    /// (ask `peer_pid` there).
    pub pid: Option<libc::pid_t>,
    ngroups: usize,
    groups: [libc::gid_t; XU_NGROUPS],
}

/// `XU_NGROUPS`: the most groups a `struct xucred` holds.
#[cfg(any(test, has_local_peercred))]
const XU_NGROUPS: usize = 16;

/// `struct xucred` (FreeBSD `sys/ucred.h`, macOS `sys/ucred.h`): `u_int cr_version` @0, `uid_t
/// cr_uid` @4, `short cr_ngroups` @8, `gid_t cr_groups[XU_NGROUPS]` @12 (76 bytes on macOS);
/// FreeBSD 13+ adds `union { void *_cr_unused1; pid_t cr_pid; }` after them, aligned for a
/// pointer (@80 on LP64, @76 on 32-bit).
#[cfg(any(test, has_local_peercred))]
mod xucred {
    pub(super) const VERSION: usize = 0;
    pub(super) const UID: usize = 4;
    pub(super) const NGROUPS: usize = 8;
    pub(super) const GROUPS: usize = 12;
    /// Bytes up to the end of `cr_groups`: all of macOS's `xucred`.
    pub(super) const BASE_LEN: usize = 76;
    /// Where FreeBSD puts `cr_pid`.
    #[cfg(any(test, freebsd))]
    pub(super) const FREEBSD_PID: usize = if cfg!(target_pointer_width = "64") {
        80
    } else {
        76
    };
    /// `XUCRED_VERSION`.
    pub(super) const CURRENT: u32 = 0;
}

#[cfg(any(test, has_local_peercred))]
impl PeerCred {
    /// Decodes the bytes of a `struct xucred` with `cr_pid` at `pid_at` (FreeBSD) or without
    /// one (macOS); `None` if too short or of another `cr_version`.
    fn from_xucred(d: &[u8], pid_at: Option<usize>) -> Option<PeerCred> {
        let word = |at: usize| -> Option<[u8; 4]> { d.get(at..at + 4)?.try_into().ok() };
        if d.len() < xucred::BASE_LEN
            || u32::from_ne_bytes(word(xucred::VERSION)?) != xucred::CURRENT
        {
            return None;
        }
        let n: [u8; 2] = d
            .get(xucred::NGROUPS..xucred::NGROUPS + 2)?
            .try_into()
            .ok()?;
        let ngroups = usize::try_from(i16::from_ne_bytes(n))
            .unwrap_or(0)
            .min(XU_NGROUPS);
        let mut groups = [0; XU_NGROUPS];
        for (i, g) in groups.iter_mut().enumerate().take(ngroups) {
            *g = libc::gid_t::from_ne_bytes(word(xucred::GROUPS + 4 * i)?);
        }
        let pid = match pid_at {
            Some(at) => Some(libc::pid_t::from_ne_bytes(word(at)?)),
            None => None,
        };
        Some(PeerCred {
            uid: libc::uid_t::from_ne_bytes(word(xucred::UID)?),
            pid,
            ngroups,
            groups,
        })
    }

    /// The peer's groups (`cr_groups`, at most 16; the first is its effective group id).
    pub fn groups(&self) -> &[libc::gid_t] {
        &self.groups[..self.ngroups]
    }
}

#[cfg(freebsd)]
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(libc::xucred, cr_version) == xucred::VERSION);
    assert!(offset_of!(libc::xucred, cr_uid) == xucred::UID);
    assert!(offset_of!(libc::xucred, cr_ngroups) == xucred::NGROUPS);
    assert!(offset_of!(libc::xucred, cr_groups) == xucred::GROUPS);
    assert!(offset_of!(libc::xucred, cr_pid__c_anonymous_union) == xucred::FREEBSD_PID);
    assert!(libc::XU_NGROUPS as usize == XU_NGROUPS && libc::XUCRED_VERSION == xucred::CURRENT);
};

#[cfg(apple)]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<libc::xucred>() == xucred::BASE_LEN);
    assert!(offset_of!(libc::xucred, cr_version) == xucred::VERSION);
    assert!(offset_of!(libc::xucred, cr_uid) == xucred::UID);
    assert!(offset_of!(libc::xucred, cr_ngroups) == xucred::NGROUPS);
    assert!(offset_of!(libc::xucred, cr_groups) == xucred::GROUPS);
    assert!(libc::XUCRED_VERSION == xucred::CURRENT);
};

/// `LOCAL_PEERCRED`: the credentials of the process at the other end of a connected Unix
/// stream socket (or the one that listened, for the connecting side), as the kernel recorded
/// them when the connection was made (`struct xucred`): effective uid, groups and, on FreeBSD
/// 13+, pid.
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `ENOTCONN` for a socket without a peer (never
/// connected, or a datagram socket), `EINVAL` for a socket that is not a Unix stream socket or
/// an `xucred` of another version, `EBADF`, `ENOTSOCK`.
#[cfg(has_local_peercred)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_vendor = "apple"))))]
#[doc(alias = "LOCAL_PEERCRED")]
#[doc(alias = "xucred")]
#[doc(alias = "getpeereid")]
pub fn peer_credentials(socket: impl AsFd) -> Result<PeerCred> {
    let mut buf = [0u8; std::mem::size_of::<libc::xucred>()];
    let n = sys::getsockopt_bytes(
        socket.as_fd(),
        sys::SOL_LOCAL,
        libc::LOCAL_PEERCRED,
        &mut buf,
    )
    .map_err(|e| Error::os("getsockopt", e))?;
    #[cfg(freebsd)]
    let pid_at = Some(xucred::FREEBSD_PID);
    #[cfg(not(freebsd))]
    let pid_at = None;
    PeerCred::from_xucred(&buf[..n], pid_at).ok_or(Error::os("getsockopt", libc::EINVAL))
}

/// `LOCAL_PEERPID` (macOS): the process id of the peer of a connected Unix socket, as the
/// kernel recorded it when the connection was made.
///
/// # Errors
/// [`Error::Os`] (`call: "getsockopt"`): `ENOTCONN` for a socket without a peer, `EBADF`,
/// `ENOTSOCK`, `ENOPROTOOPT` for a socket that is not a Unix socket.
#[cfg(apple)]
#[cfg_attr(docsrs, doc(cfg(target_vendor = "apple")))]
#[doc(alias = "LOCAL_PEERPID")]
pub fn peer_pid(socket: impl AsFd) -> Result<libc::pid_t> {
    sys::getsockopt::<libc::c_int>(socket.as_fd(), sys::SOL_LOCAL, libc::LOCAL_PEERPID)
        .map_err(|e| Error::os("getsockopt", e))
}

#[cfg(test)]
mod xucred_tests {
    use super::*;

    /// Native-order bytes of 4-byte words.
    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    /// An `xucred`: version, uid 501, ngroups `n` (a short, then 2 bytes of padding), groups.
    fn xucred_bytes(version: u32, n: i16, groups: &[u32]) -> Vec<u8> {
        let mut d = words(&[version, 501]);
        d.extend_from_slice(&n.to_ne_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend(words(groups));
        d.resize(xucred::BASE_LEN, 0);
        d
    }

    #[test]
    fn macos_xucred_bytes() {
        // macOS: 76 bytes, no pid.
        let d = xucred_bytes(0, 3, &[20, 12, 61]);
        let c = PeerCred::from_xucred(&d, None).unwrap();
        assert_eq!((c.uid, c.pid, c.groups()), (501, None, &[20, 12, 61][..]));
        // Another version, a short buffer, a count out of range.
        assert_eq!(PeerCred::from_xucred(&xucred_bytes(1, 3, &[]), None), None);
        assert_eq!(PeerCred::from_xucred(&d[..75], None), None);
        let c = PeerCred::from_xucred(&xucred_bytes(0, 99, &[1; 16]), None).unwrap();
        assert_eq!(c.groups().len(), 16);
        let c = PeerCred::from_xucred(&xucred_bytes(0, -2, &[1]), None).unwrap();
        assert!(c.groups().is_empty());
    }

    #[test]
    fn freebsd_amd64_xucred_bytes() {
        // FreeBSD amd64: 4 bytes of padding after cr_groups, then the cr_pid union (8 bytes):
        // 88 bytes in all.
        let mut d = xucred_bytes(0, 1, &[0]);
        d.extend_from_slice(&[0xaa; 4]);
        d.extend(words(&[1234, 0]));
        assert_eq!(d.len(), 88);
        let on_this_width = if cfg!(target_pointer_width = "64") {
            80
        } else {
            76
        };
        assert_eq!(xucred::FREEBSD_PID, on_this_width);
        let c = PeerCred::from_xucred(&d, Some(80)).unwrap();
        assert_eq!((c.uid, c.pid, c.groups()), (501, Some(1234), &[0][..]));
        // A kernel without cr_pid (FreeBSD 12) writes 76 bytes: not enough here.
        assert_eq!(PeerCred::from_xucred(&d[..76], Some(80)), None);
    }
}
