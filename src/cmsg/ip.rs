//! UDP and IP control messages (Linux), pure: typed values, their encoders on [`Encoder`] and
//! their decoders for [`ControlMessage`].
//!
//! | message | level | on send | on receive (socket option that enables it) |
//! | --- | --- | --- | --- |
//! | `UDP_SEGMENT` | `SOL_UDP` | `u16` segment size (GSO) | |
//! | `UDP_GRO` | `SOL_UDP` | | `int` segment size of a coalesced datagram (`UDP_GRO`) |
//! | `IP_PKTINFO` | `IPPROTO_IP` | `in_pktinfo`: source address, interface | `in_pktinfo`: destination (`IP_PKTINFO`) |
//! | `IPV6_PKTINFO` | `IPPROTO_IPV6` | `in6_pktinfo` | `in6_pktinfo` (`IPV6_RECVPKTINFO`) |
//! | `IP_TOS` | `IPPROTO_IP` | `int` | one byte (`IP_RECVTOS`) |
//! | `IP_RECVTOS` (FreeBSD, macOS) | `IPPROTO_IP` | | one byte (`IP_RECVTOS`) |
//! | `IPV6_TCLASS` | `IPPROTO_IPV6` | `int` | `int`, one byte on some macOS (`IPV6_RECVTCLASS`) |
//! | `IP_TTL` | `IPPROTO_IP` | `int` | `int` (`IP_RECVTTL`) |
//! | `IP_RECVTTL` (FreeBSD, macOS) | `IPPROTO_IP` | | one byte (`IP_RECVTTL`) |
//! | `IPV6_HOPLIMIT` | `IPPROTO_IPV6` | `int` | `int` (`IPV6_RECVHOPLIMIT`) |
//! | `SCM_TXTIME` | `SOL_SOCKET` | `u64` ns (needs `SO_TXTIME`) | |
//! | `SCM_TIMESTAMPNS` | `SOL_SOCKET` | | `timespec` (`SO_TIMESTAMPNS`) |
//! | `SO_RXQ_OVFL` | `SOL_SOCKET` | | `u32` drops so far (`SO_RXQ_OVFL`) |
//!
//! Received data is read byte-wise (`from_ne_bytes`), never through a reference into the
//! control buffer; a message shorter than its type is left [`ControlMessage::Raw`].
//!
//! References: [ip(7)](https://man7.org/linux/man-pages/man7/ip.7.html),
//! [ipv6(7)](https://man7.org/linux/man-pages/man7/ipv6.7.html),
//! [udp(7)](https://man7.org/linux/man-pages/man7/udp.7.html),
//! [socket(7)](https://man7.org/linux/man-pages/man7/socket.7.html).

use std::mem::size_of;
#[cfg(any(has_ip_pktinfo, has_ip_pktinfo8, has_ip_recvdstaddr))]
use std::net::IpAddr;
#[cfg(any(test, has_ip_pktinfo, has_ip_pktinfo8, has_ip_recvdstaddr))]
use std::net::Ipv4Addr;
use std::net::Ipv6Addr;
#[cfg(unix)]
use std::time::{Duration, SystemTime};

#[cfg(unix)]
use super::decode::ControlMessage;
use super::encode::Encoder;
use super::space;
use crate::Result;

const INT_LEN: usize = size_of::<libc::c_int>();
#[cfg(all(unix, any(has_ip_pktinfo, has_ip_pktinfo8)))]
const IN_PKTINFO_LEN: usize = size_of::<libc::in_pktinfo>();
/// `sizeof(IN_PKTINFO)`: `{ IN_ADDR ipi_addr; ULONG ipi_ifindex; }`, NetBSD's shape.
#[cfg(windows)]
const IN_PKTINFO_LEN: usize = in_pktinfo8::LEN;
#[cfg(unix)]
const IN6_PKTINFO_LEN: usize = size_of::<libc::in6_pktinfo>();
/// `sizeof(IN6_PKTINFO)`: `{ IN6_ADDR ipi6_addr; ULONG ipi6_ifindex; }` (checked against
/// `windows-sys` in `layout.rs`).
#[cfg(windows)]
const IN6_PKTINFO_LEN: usize = 20;

/// The levels and types of the messages that both Unix and Windows have.
mod sock {
    #[cfg(all(unix, any(has_ip_pktinfo, has_ip_pktinfo8)))]
    pub(super) use libc::{IPPROTO_IP, IP_PKTINFO};
    #[cfg(unix)]
    pub(super) use libc::{IPPROTO_IPV6, IPV6_PKTINFO};
    #[cfg(windows)]
    pub(super) use windows_sys::Win32::Networking::WinSock::{
        IPPROTO_IP, IPPROTO_IPV6, IPV6_PKTINFO, IP_PKTINFO,
    };
}

/// The space of a `UDP_SEGMENT` message (`u16`).
#[cfg(has_gso)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub const UDP_SEGMENT_SPACE: usize = space(size_of::<u16>());
/// The space of an `IP_PKTINFO` message (`struct in_pktinfo`: 12 bytes, 8 on NetBSD).
#[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "netbsd"
    )))
)]
pub const IP_PKTINFO_SPACE: usize = space(IN_PKTINFO_LEN);
/// The space of an `IPV6_PKTINFO` message (`struct in6_pktinfo`).
pub const IPV6_PKTINFO_SPACE: usize = space(IN6_PKTINFO_LEN);
/// The space of a message carrying one `int`: `IP_TOS`, `IPV6_TCLASS`, `IP_TTL`,
/// `IPV6_HOPLIMIT` as sent, `UDP_GRO` as received.
pub const INT_SPACE: usize = space(INT_LEN);
/// The space of an `SCM_TXTIME` message (`u64`).
#[cfg(has_txtime)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub const TXTIME_SPACE: usize = space(size_of::<u64>());

/// `struct in_pktinfo` (`IP_PKTINFO`).
///
/// On send, [`spec_dst`](Self::spec_dst) chooses the source address of the datagram and
/// [`ifindex`](Self::ifindex) (if not 0) the outgoing interface; `addr` is ignored. On receive,
/// `addr` is the destination address in the IP header, `spec_dst` the local address the kernel
/// would answer from, and `ifindex` the interface the datagram came in on.
#[doc(alias = "IP_PKTINFO")]
#[doc(alias = "in_pktinfo")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "IP_RECVPKTINFO")]
#[cfg(has_ip_pktinfo)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple")))
)]
pub struct Ipv4PktInfo {
    /// `ipi_ifindex`: the interface index, 0 for any.
    pub ifindex: u32,
    /// `ipi_spec_dst`: the local (source) address.
    pub spec_dst: Ipv4Addr,
    /// `ipi_addr`: the destination address of the header (receive only).
    pub addr: Ipv4Addr,
}

#[cfg(has_ip_pktinfo)]
impl Ipv4PktInfo {
    /// Send from this source address, on whatever interface the route chooses.
    pub const fn source(addr: Ipv4Addr) -> Self {
        Ipv4PktInfo {
            ifindex: 0,
            spec_dst: addr,
            addr: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// The bytes of `struct in_pktinfo`, as they travel in the message.
    fn to_bytes(self) -> [u8; IN_PKTINFO_LEN] {
        let mut b = [0u8; IN_PKTINFO_LEN];
        b[0..4].copy_from_slice(&(self.ifindex as libc::c_int).to_ne_bytes());
        b[4..8].copy_from_slice(&self.spec_dst.octets());
        b[8..12].copy_from_slice(&self.addr.octets());
        b
    }

    #[cfg(unix)]
    fn from_bytes(d: &[u8]) -> Option<Self> {
        let d: &[u8; IN_PKTINFO_LEN] = d.get(..IN_PKTINFO_LEN)?.try_into().ok()?;
        Some(Ipv4PktInfo {
            ifindex: libc::c_int::from_ne_bytes([d[0], d[1], d[2], d[3]]) as u32,
            spec_dst: Ipv4Addr::new(d[4], d[5], d[6], d[7]),
            addr: Ipv4Addr::new(d[8], d[9], d[10], d[11]),
        })
    }
}

/// NetBSD's `struct in_pktinfo` (`<netinet/in.h>`), 8 bytes:
///
/// ```c
/// struct in_pktinfo {
///         struct in_addr  ipi_addr;     /* src/dst address */
///         unsigned int    ipi_ifindex;  /* interface index */
/// };
/// ```
///
/// Its bytes are read and written here on every system, so that its tests run anywhere.
#[cfg(any(test, has_ip_pktinfo8))]
mod in_pktinfo8 {
    use std::net::Ipv4Addr;

    /// `sizeof(struct in_pktinfo)`.
    pub(super) const LEN: usize = 8;

    /// The bytes of `{ipi_addr, ipi_ifindex}`.
    pub(super) fn to_bytes(addr: Ipv4Addr, ifindex: u32) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0..4].copy_from_slice(&addr.octets());
        b[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        b
    }

    /// `(ipi_addr, ipi_ifindex)`; `None` if `d` is shorter than the struct.
    #[cfg(any(unix, test))]
    pub(super) fn from_bytes(d: &[u8]) -> Option<(Ipv4Addr, u32)> {
        let d: &[u8; LEN] = d.get(..LEN)?.try_into().ok()?;
        Some((
            Ipv4Addr::new(d[0], d[1], d[2], d[3]),
            u32::from_ne_bytes([d[4], d[5], d[6], d[7]]),
        ))
    }
}

// NetBSD's struct is the one written above.
#[cfg(all(unix, has_ip_pktinfo8))]
const _: () = {
    assert!(IN_PKTINFO_LEN == in_pktinfo8::LEN);
    assert!(std::mem::offset_of!(libc::in_pktinfo, ipi_addr) == 0);
    assert!(std::mem::offset_of!(libc::in_pktinfo, ipi_ifindex) == 4);
};

/// `struct in_pktinfo` (`IP_PKTINFO`) as NetBSD defines it: `{ipi_addr, ipi_ifindex}`, 8
/// bytes, without Linux's `ipi_spec_dst`; Windows's `IN_PKTINFO` has the same shape.
///
/// On send, [`addr`](Self::addr) chooses the source address of the datagram and
/// [`ifindex`](Self::ifindex) (if not 0) the outgoing interface. On receive (with
/// `IP_RECVPKTINFO` on), `addr` is the destination address in the IP header and `ifindex`
/// the interface the datagram came in on.
#[doc(alias = "IP_PKTINFO")]
#[doc(alias = "in_pktinfo")]
#[doc(alias = "IP_RECVPKTINFO")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg(has_ip_pktinfo8)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "netbsd", windows))))]
pub struct Ipv4PktInfo {
    /// `ipi_addr`: the source address on send, the destination address on receive.
    pub addr: Ipv4Addr,
    /// `ipi_ifindex`: the interface index, 0 for any.
    pub ifindex: u32,
}

#[cfg(has_ip_pktinfo8)]
impl Ipv4PktInfo {
    /// Send from this source address, on whatever interface the route chooses.
    pub const fn source(addr: Ipv4Addr) -> Self {
        Ipv4PktInfo { addr, ifindex: 0 }
    }

    /// The bytes of `struct in_pktinfo`, as they travel in the message.
    fn to_bytes(self) -> [u8; IN_PKTINFO_LEN] {
        in_pktinfo8::to_bytes(self.addr, self.ifindex)
    }

    #[cfg(unix)]
    fn from_bytes(d: &[u8]) -> Option<Self> {
        let (addr, ifindex) = in_pktinfo8::from_bytes(d)?;
        Some(Ipv4PktInfo { addr, ifindex })
    }
}

/// `struct in6_pktinfo` (`IPV6_PKTINFO`).
///
/// On send, [`addr`](Self::addr) chooses the source address (unspecified: the kernel's choice)
/// and [`ifindex`](Self::ifindex) (if not 0) the outgoing interface. On receive, `addr` is the
/// destination address of the datagram and `ifindex` the interface it came in on.
#[doc(alias = "IPV6_PKTINFO")]
#[doc(alias = "in6_pktinfo")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6PktInfo {
    /// `ipi6_addr`: the source address on send, the destination address on receive.
    pub addr: Ipv6Addr,
    /// `ipi6_ifindex`: the interface index, 0 for any.
    pub ifindex: u32,
}

impl Ipv6PktInfo {
    /// Send from this source address, on whatever interface the route chooses.
    pub const fn source(addr: Ipv6Addr) -> Self {
        Ipv6PktInfo { addr, ifindex: 0 }
    }

    fn to_bytes(self) -> [u8; IN6_PKTINFO_LEN] {
        let mut b = [0u8; IN6_PKTINFO_LEN];
        b[0..16].copy_from_slice(&self.addr.octets());
        b[16..20].copy_from_slice(&(self.ifindex as libc::c_uint).to_ne_bytes());
        b
    }

    #[cfg(unix)]
    fn from_bytes(d: &[u8]) -> Option<Self> {
        let d: &[u8; IN6_PKTINFO_LEN] = d.get(..IN6_PKTINFO_LEN)?.try_into().ok()?;
        let mut a = [0u8; 16];
        a.copy_from_slice(&d[0..16]);
        Some(Ipv6PktInfo {
            addr: Ipv6Addr::from(a),
            ifindex: libc::c_uint::from_ne_bytes([d[16], d[17], d[18], d[19]]),
        })
    }
}

/// A receive timestamp (`SCM_TIMESTAMPNS`): `CLOCK_REALTIME` when the datagram arrived.
#[cfg(unix)]
#[doc(alias = "SO_TIMESTAMPNS")]
#[doc(alias = "SCM_TIMESTAMPNS")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub sec: i64,
    /// Nanoseconds, below 1 000 000 000.
    pub nsec: u32,
}

#[cfg(unix)]
impl Timestamp {
    /// The timestamp as a [`SystemTime`]; `None` if it lies before the epoch.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let sec = u64::try_from(self.sec).ok()?;
        SystemTime::UNIX_EPOCH.checked_add(Duration::new(sec, self.nsec))
    }

    #[cfg(has_timestampns)]
    /// `struct timespec`: two 64-bit words (64-bit targets, `SO_TIMESTAMPNS_NEW`), or two 32-bit
    /// words (32-bit targets with a 32-bit `time_t`).
    #[cfg(unix)]
    fn from_bytes(d: &[u8]) -> Option<Self> {
        let (sec, nsec) = if d.len() >= 16 {
            let w = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&d[i..i + 8]);
                i64::from_ne_bytes(b)
            };
            (w(0), w(8))
        } else if d.len() == 8 {
            let w = |i: usize| i64::from(i32::from_ne_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]));
            (w(0), w(4))
        } else {
            return None;
        };
        let nsec = u32::try_from(nsec).ok().filter(|&n| n < 1_000_000_000)?;
        Some(Timestamp { sec, nsec })
    }
}

/// An `int`'s value if it is 0..=255.
#[cfg(unix)]
fn int_u8(d: &[u8]) -> Option<u8> {
    let w: [u8; INT_LEN] = d.get(..INT_LEN)?.try_into().ok()?;
    u8::try_from(libc::c_int::from_ne_bytes(w)).ok()
}

/// A one-byte field sent as one byte (a `u_char`: Linux's `IP_TOS`, FreeBSD's and macOS's
/// `IP_RECVTOS` and `IP_RECVTTL`) or as an `int`: the first byte of 1 to 3 bytes, else the
/// `int` if it is 0..=255.
#[cfg(unix)]
fn byte_or_int(d: &[u8]) -> Option<u8> {
    match d.len() {
        1..=3 => Some(d[0]),
        _ => int_u8(d),
    }
}

/// The traffic class of an `IPV6_TCLASS` message: an `int`, which macOS may send as one byte.
#[cfg(unix)]
fn tclass_of(d: &[u8]) -> Option<u8> {
    if cfg!(has_tclass_byte) {
        byte_or_int(d)
    } else {
        int_u8(d)
    }
}

#[cfg(has_rxq_ovfl)]
fn u32_of(d: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(d.get(..4)?.try_into().ok()?))
}

/// A `struct in_addr` (the address in network order, 4 bytes): the data of FreeBSD's
/// `IP_RECVDSTADDR` and `IP_SENDSRCADDR`.
#[cfg(any(test, has_ip_recvdstaddr))]
fn in_addr_of(d: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = d.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// The typed form of a UDP or IP message, or of `SCM_TIMESTAMPNS`/`SO_RXQ_OVFL`; `None` for
/// any other message and for one too short (or out of range) for its type.
#[cfg(unix)]
pub(crate) fn decode<'a>(
    level: libc::c_int,
    ty: libc::c_int,
    d: &[u8],
) -> Option<ControlMessage<'a>> {
    Some(match (level, ty) {
        #[cfg(has_gso)]
        (libc::SOL_UDP, libc::UDP_GRO) => {
            let w: [u8; INT_LEN] = d.get(..INT_LEN)?.try_into().ok()?;
            ControlMessage::UdpGro(u16::try_from(libc::c_int::from_ne_bytes(w)).ok()?)
        }
        #[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
            ControlMessage::IpPktInfo(Ipv4PktInfo::from_bytes(d)?)
        }
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
            ControlMessage::Ipv6PktInfo(Ipv6PktInfo::from_bytes(d)?)
        }
        #[cfg(has_ip_recvdstaddr)]
        (libc::IPPROTO_IP, libc::IP_RECVDSTADDR) => ControlMessage::IpRecvDstAddr(in_addr_of(d)?),
        // Linux sends one byte (ip_cmsg_recv_tos); accept an int as well.
        (libc::IPPROTO_IP, libc::IP_TOS) => ControlMessage::IpTos(byte_or_int(d)?),
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => ControlMessage::Ipv6TrafficClass(tclass_of(d)?),
        (libc::IPPROTO_IP, libc::IP_TTL) => ControlMessage::IpTtl(int_u8(d)?),
        // FreeBSD and macOS (ip_savecontrol): the IPv4 TOS and TTL under the names of the
        // options that ask for them, each one u_char.
        #[cfg(has_ip_recvtos_msg)]
        (libc::IPPROTO_IP, libc::IP_RECVTOS) => ControlMessage::IpTos(byte_or_int(d)?),
        #[cfg(has_ip_recvtos_msg)]
        (libc::IPPROTO_IP, libc::IP_RECVTTL) => ControlMessage::IpTtl(byte_or_int(d)?),
        #[cfg(has_ipv6_hoplimit)]
        (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => ControlMessage::Ipv6HopLimit(int_u8(d)?),
        #[cfg(has_timestampns)]
        (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
            ControlMessage::TimestampNs(Timestamp::from_bytes(d)?)
        }
        #[cfg(has_rxq_ovfl)]
        (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) => ControlMessage::RxqOverflow(u32_of(d)?),
        _ => return None,
    })
}

/// Typed UDP and IP messages for sending. Each writes one complete message or nothing, like
/// every push (see [`Encoder`]).
impl<'fd> Encoder<'_, 'fd> {
    /// `UDP_SEGMENT`: send the payload as datagrams of `size` bytes each, the last one possibly
    /// shorter (UDP GSO). Attach it only to payloads longer than `size`; the kernel takes at
    /// most 64 segments, 128 on newer kernels (see
    /// [`udp_max_segments`](crate::limits::udp_max_segments)).
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "UDP_SEGMENT")]
    #[cfg(has_gso)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn push_udp_segment(&mut self, size: u16) -> Result<&mut Self> {
        self.push_raw(libc::SOL_UDP, libc::UDP_SEGMENT, &size.to_ne_bytes())
    }

    /// `IP_PKTINFO`: choose the source address (and interface) of an IPv4 datagram.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IP_PKTINFO")]
    #[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
    #[cfg_attr(
        docsrs,
        doc(cfg(any(
            target_os = "linux",
            target_os = "android",
            target_vendor = "apple",
            target_os = "netbsd",
            windows
        )))
    )]
    pub fn push_ip_pktinfo(&mut self, info: Ipv4PktInfo) -> Result<&mut Self> {
        self.push_raw(sock::IPPROTO_IP, sock::IP_PKTINFO, &info.to_bytes())
    }

    /// `IPV6_PKTINFO`: choose the source address (and interface) of an IPv6 datagram.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IPV6_PKTINFO")]
    pub fn push_ipv6_pktinfo(&mut self, info: Ipv6PktInfo) -> Result<&mut Self> {
        self.push_raw(sock::IPPROTO_IPV6, sock::IPV6_PKTINFO, &info.to_bytes())
    }

    /// The source address of this datagram: `IP_PKTINFO` for IPv4, `IPV6_PKTINFO` for IPv6
    /// (the interface left to the route). NetBSD's `IP_PKTINFO` is its own 8-byte
    /// `in_pktinfo` with the address in `ipi_addr`.
    ///
    /// On Linux an IPv4 source on an IPv6 socket that sends to an IPv4-mapped address still
    /// goes as `IP_PKTINFO`, which the kernel accepts there.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
    #[cfg_attr(
        docsrs,
        doc(cfg(any(
            target_os = "linux",
            target_os = "android",
            target_vendor = "apple",
            target_os = "netbsd",
            windows
        )))
    )]
    pub fn push_source_ip(&mut self, ip: IpAddr) -> Result<&mut Self> {
        match ip {
            IpAddr::V4(a) => self.push_ip_pktinfo(Ipv4PktInfo::source(a)),
            IpAddr::V6(a) => self.push_ipv6_pktinfo(Ipv6PktInfo::source(a)),
        }
    }

    /// The source address of this datagram (FreeBSD): `IP_SENDSRCADDR` (a `struct in_addr`)
    /// for IPv4, `IPV6_PKTINFO` for IPv6. The IPv4 form works only on a socket bound to
    /// `INADDR_ANY` (or when the address is `INADDR_ANY`); the kernel refuses it otherwise.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IP_SENDSRCADDR")]
    #[cfg(has_ip_recvdstaddr)]
    #[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
    pub fn push_source_ip(&mut self, ip: IpAddr) -> Result<&mut Self> {
        match ip {
            IpAddr::V4(a) => self.push_raw(libc::IPPROTO_IP, libc::IP_SENDSRCADDR, &a.octets()),
            IpAddr::V6(a) => self.push_ipv6_pktinfo(Ipv6PktInfo::source(a)),
        }
    }

    /// `IP_TOS` (as an `int`): the type-of-service byte of an IPv4 datagram; its low two bits
    /// are the ECN field.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IP_TOS")]
    #[cfg(unix)]
    pub fn push_ip_tos(&mut self, tos: u8) -> Result<&mut Self> {
        self.push_int(libc::IPPROTO_IP, libc::IP_TOS, tos)
    }

    /// `IPV6_TCLASS` (an `int`): the traffic class of an IPv6 datagram; its low two bits are
    /// the ECN field.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IPV6_TCLASS")]
    #[cfg(unix)]
    pub fn push_ipv6_tclass(&mut self, tclass: u8) -> Result<&mut Self> {
        self.push_int(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tclass)
    }

    /// `IP_TTL` (an `int`): the time-to-live of an IPv4 datagram. The kernel refuses 0 with
    /// `EINVAL`.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IP_TTL")]
    #[cfg(unix)]
    pub fn push_ip_ttl(&mut self, ttl: u8) -> Result<&mut Self> {
        self.push_int(libc::IPPROTO_IP, libc::IP_TTL, ttl)
    }

    /// `IPV6_HOPLIMIT` (an `int`): the hop limit of an IPv6 datagram.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "IPV6_HOPLIMIT")]
    #[cfg(has_ipv6_hoplimit)]
    #[cfg_attr(docsrs, doc(cfg(not(target_os = "netbsd"))))]
    pub fn push_ipv6_hoplimit(&mut self, hops: u8) -> Result<&mut Self> {
        self.push_int(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, hops)
    }

    /// `SCM_TXTIME`: the time (in nanoseconds of the clock chosen with the socket option
    /// `SO_TXTIME`) at which to transmit. Without `SO_TXTIME` on the socket the kernel answers
    /// `EINVAL`.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage is too small.
    #[doc(alias = "SCM_TXTIME")]
    #[doc(alias = "SO_TXTIME")]
    #[cfg(has_txtime)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn push_txtime(&mut self, nanos: u64) -> Result<&mut Self> {
        self.push_raw(libc::SOL_SOCKET, libc::SCM_TXTIME, &nanos.to_ne_bytes())
    }

    #[cfg(unix)]
    fn push_int(&mut self, level: libc::c_int, ty: libc::c_int, v: u8) -> Result<&mut Self> {
        self.push_raw(level, ty, &libc::c_int::from(v).to_ne_bytes())
    }
}

// Linux's messages, compared with libc's CMSG_* on Linux.
#[cfg(all(test, linux_like))]
mod tests {
    use super::*;
    use crate::cmsg::{space, CmsgBuffer, ControlMessages, RawIter};

    /// One message written with libc's CMSG_FIRSTHDR / CMSG_DATA into 0xAA-filled storage.
    fn libc_message(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
        let mut buf = CmsgBuffer::<128>::new();
        buf.fill(0xAA);
        // SAFETY: msghdr is plain data; zero is valid.
        let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
        mh.msg_control = buf.as_mut_ptr().cast();
        mh.msg_controllen = space(data.len()) as _;
        // SAFETY: the buffer is 128 aligned bytes and msg_controllen covers one message of
        // data.len() <= 64 bytes.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&mh);
            std::ptr::write_bytes(c.cast::<u8>(), 0, space(data.len()));
            (*c).cmsg_len = libc::CMSG_LEN(data.len() as u32) as _;
            (*c).cmsg_level = level;
            (*c).cmsg_type = ty;
            std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(c), data.len());
        }
        buf[..space(data.len())].to_vec()
    }

    fn struct_bytes<T>(v: &T) -> Vec<u8> {
        // SAFETY: T is one of libc's plain-data structs with no padding (in_pktinfo,
        // in6_pktinfo); reading its bytes is reading initialized integers.
        unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
    }

    fn encoded(f: impl FnOnce(&mut Encoder<'_, '_>)) -> Vec<u8> {
        let mut st = CmsgBuffer::<128>::new();
        st.fill(0x55);
        let mut enc = st.encoder();
        f(&mut enc);
        enc.as_bytes().to_vec()
    }

    #[test]
    fn encodings_equal_libc_macros() {
        let v4 = Ipv4PktInfo {
            ifindex: 3,
            spec_dst: Ipv4Addr::new(127, 0, 0, 2),
            addr: Ipv4Addr::new(10, 1, 2, 3),
        };
        let c4 = libc::in_pktinfo {
            ipi_ifindex: 3,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 2]),
            },
            ipi_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([10, 1, 2, 3]),
            },
        };
        let v6 = Ipv6PktInfo {
            addr: Ipv6Addr::LOCALHOST,
            ifindex: 7,
        };
        let c6 = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: Ipv6Addr::LOCALHOST.octets(),
            },
            ipi6_ifindex: 7,
        };
        let int = |v: i32| v.to_ne_bytes().to_vec();
        let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (
                encoded(|e| {
                    e.push_udp_segment(1200).unwrap();
                }),
                libc_message(libc::SOL_UDP, libc::UDP_SEGMENT, &1200u16.to_ne_bytes()),
            ),
            (
                encoded(|e| {
                    e.push_ip_pktinfo(v4).unwrap();
                }),
                libc_message(libc::IPPROTO_IP, libc::IP_PKTINFO, &struct_bytes(&c4)),
            ),
            (
                encoded(|e| {
                    e.push_ipv6_pktinfo(v6).unwrap();
                }),
                libc_message(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &struct_bytes(&c6)),
            ),
            (
                encoded(|e| {
                    e.push_ip_tos(0xb9).unwrap();
                }),
                libc_message(libc::IPPROTO_IP, libc::IP_TOS, &int(0xb9)),
            ),
            (
                encoded(|e| {
                    e.push_ipv6_tclass(0x02).unwrap();
                }),
                libc_message(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, &int(2)),
            ),
            (
                encoded(|e| {
                    e.push_ip_ttl(64).unwrap();
                }),
                libc_message(libc::IPPROTO_IP, libc::IP_TTL, &int(64)),
            ),
            (
                encoded(|e| {
                    e.push_ipv6_hoplimit(255).unwrap();
                }),
                libc_message(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &int(255)),
            ),
            (
                encoded(|e| {
                    e.push_txtime(0x0102_0304_0506_0708).unwrap();
                }),
                libc_message(
                    libc::SOL_SOCKET,
                    libc::SCM_TXTIME,
                    &0x0102_0304_0506_0708u64.to_ne_bytes(),
                ),
            ),
        ];
        for (i, (ours, theirs)) in cases.iter().enumerate() {
            assert_eq!(ours, theirs, "case {i}");
        }
        assert_eq!(cases[0].0.len(), UDP_SEGMENT_SPACE);
        assert_eq!(cases[1].0.len(), IP_PKTINFO_SPACE);
        assert_eq!(cases[2].0.len(), IPV6_PKTINFO_SPACE);
        assert_eq!(cases[3].0.len(), INT_SPACE);
        assert_eq!(cases[7].0.len(), TXTIME_SPACE);
        assert_eq!(
            encoded(|e| {
                e.push_source_ip(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)))
                    .unwrap();
            }),
            encoded(|e| {
                e.push_ip_pktinfo(Ipv4PktInfo::source(Ipv4Addr::new(127, 0, 0, 3)))
                    .unwrap();
            })
        );
    }

    /// Decodes a buffer through the owning walk (no SCM_RIGHTS in it, so nothing to close).
    fn decode_all(bytes: &[u8]) -> Vec<String> {
        let mut b = bytes.to_vec();
        // SAFETY: the buffer holds no SCM_RIGHTS message.
        unsafe { ControlMessages::from_kernel(&mut b) }
            .map(|m| format!("{m:?}"))
            .collect()
    }

    #[test]
    fn decodes_every_type_and_falls_back_to_raw_when_short() {
        let mut st = CmsgBuffer::<512>::new();
        let mut e = st.encoder();
        e.push_raw(libc::SOL_UDP, libc::UDP_GRO, &1200i32.to_ne_bytes())
            .unwrap();
        e.push_ip_pktinfo(Ipv4PktInfo {
            ifindex: 1,
            spec_dst: Ipv4Addr::new(127, 0, 0, 1),
            addr: Ipv4Addr::new(127, 0, 0, 9),
        })
        .unwrap();
        e.push_ipv6_pktinfo(Ipv6PktInfo::source(Ipv6Addr::LOCALHOST))
            .unwrap();
        e.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[0x03]).unwrap(); // as the kernel sends it
        e.push_ip_tos(0x02).unwrap(); // as an int
        e.push_ipv6_tclass(0x01).unwrap();
        e.push_ip_ttl(64).unwrap();
        e.push_ipv6_hoplimit(9).unwrap();
        let mut ts = [0u8; 16];
        ts[..8].copy_from_slice(&1_700_000_000i64.to_ne_bytes());
        ts[8..].copy_from_slice(&5i64.to_ne_bytes());
        e.push_raw(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &ts)
            .unwrap();
        e.push_raw(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &7u32.to_ne_bytes())
            .unwrap();
        let got = decode_all(e.as_bytes());
        let want = [
            "UdpGro(1200)",
            "IpPktInfo(Ipv4PktInfo { ifindex: 1, spec_dst: 127.0.0.1, addr: 127.0.0.9 })",
            "Ipv6PktInfo(Ipv6PktInfo { addr: ::1, ifindex: 0 })",
            "IpTos(3)",
            "IpTos(2)",
            "Ipv6TrafficClass(1)",
            "IpTtl(64)",
            "Ipv6HopLimit(9)",
            "TimestampNs(Timestamp { sec: 1700000000, nsec: 5 })",
            "RxqOverflow(7)",
        ];
        assert_eq!(got, want);

        // Too short, or out of range for the type: raw.
        let mut st = CmsgBuffer::<512>::new();
        let mut e = st.encoder();
        e.push_raw(libc::SOL_UDP, libc::UDP_GRO, &[1, 2]).unwrap();
        e.push_raw(libc::SOL_UDP, libc::UDP_GRO, &(-1i32).to_ne_bytes())
            .unwrap();
        e.push_raw(libc::IPPROTO_IP, libc::IP_PKTINFO, &[0; 11])
            .unwrap();
        e.push_raw(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &[0; 19])
            .unwrap();
        e.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[]).unwrap();
        e.push_raw(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, &256i32.to_ne_bytes())
            .unwrap();
        e.push_raw(libc::IPPROTO_IP, libc::IP_TTL, &[1]).unwrap();
        e.push_raw(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &[0; 12])
            .unwrap();
        e.push_raw(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &[0; 3])
            .unwrap();
        let n = RawIter::new(e.as_bytes()).count();
        assert_eq!(n, 9);
        let got = decode_all(e.as_bytes());
        assert!(got.iter().all(|m| m.starts_with("Raw(")), "{got:?}");
    }

    #[test]
    fn timestamp_conversions() {
        let t = Timestamp { sec: 2, nsec: 500 };
        assert_eq!(
            t.to_system_time(),
            Some(SystemTime::UNIX_EPOCH + Duration::new(2, 500))
        );
        assert_eq!(Timestamp { sec: -1, nsec: 0 }.to_system_time(), None);
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&3i32.to_ne_bytes());
        b[4..].copy_from_slice(&4i32.to_ne_bytes());
        assert_eq!(
            Timestamp::from_bytes(&b),
            Some(Timestamp { sec: 3, nsec: 4 })
        );
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(&2_000_000_000i64.to_ne_bytes());
        assert_eq!(Timestamp::from_bytes(&b), None);
    }
}

// NetBSD's 8-byte in_pktinfo, written and read on any machine.
#[cfg(test)]
mod in_pktinfo8_tests {
    use super::in_pktinfo8;
    use std::net::Ipv4Addr;

    /// The bytes of `struct in_pktinfo { struct in_addr ipi_addr; unsigned int ipi_ifindex; }`
    /// (NetBSD `<netinet/in.h>`): the address in network order at 0, the index in the
    /// machine's order at 4, no padding.
    fn netbsd_bytes(addr: [u8; 4], ifindex: u32) -> [u8; 8] {
        let i = ifindex.to_ne_bytes();
        [addr[0], addr[1], addr[2], addr[3], i[0], i[1], i[2], i[3]]
    }

    #[test]
    fn netbsd_in_pktinfo_bytes() {
        let b = netbsd_bytes([127, 0, 0, 2], 3);
        assert_eq!(in_pktinfo8::to_bytes(Ipv4Addr::new(127, 0, 0, 2), 3), b);
        assert_eq!(
            in_pktinfo8::from_bytes(&b),
            Some((Ipv4Addr::new(127, 0, 0, 2), 3))
        );
        // A source-only value: any interface.
        assert_eq!(
            in_pktinfo8::to_bytes(Ipv4Addr::new(10, 1, 2, 3), 0),
            [10, 1, 2, 3, 0, 0, 0, 0]
        );
        // A little-endian machine stores ifindex 0x0102 as 02 01 00 00.
        if cfg!(target_endian = "little") {
            assert_eq!(
                in_pktinfo8::to_bytes(Ipv4Addr::new(192, 0, 2, 1), 0x0102),
                [192, 0, 2, 1, 2, 1, 0, 0]
            );
        }
        // Shorter than the struct (Linux's 12 bytes are longer: the first 8 are read).
        assert_eq!(in_pktinfo8::from_bytes(&b[..7]), None);
        assert_eq!(in_pktinfo8::from_bytes(&[]), None);
    }
}

// FreeBSD's IP_RECVDSTADDR/IP_SENDSRCADDR data, decoded on any machine.
#[cfg(test)]
mod in_addr_tests {
    #[test]
    fn freebsd_in_addr_bytes() {
        // struct in_addr: s_addr in network order; 127.0.0.2 is 7f 00 00 02.
        let d = [0x7f, 0, 0, 2];
        assert_eq!(
            super::in_addr_of(&d),
            Some(std::net::Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(super::in_addr_of(&d[..3]), None);
    }
}

// The TOS, TTL and traffic class data as FreeBSD and macOS send them (ip_savecontrol: the
// IPv4 TOS and TTL as one u_char under IP_RECVTOS / IP_RECVTTL; ip6_savecontrol: the traffic
// class and hop limit as an int, the traffic class as one byte on some macOS), read on any
// machine.
#[cfg(all(test, unix))]
mod bsd_header_tests {
    use super::{byte_or_int, int_u8, tclass_of};

    #[test]
    fn bsd_tos_ttl_tclass_bytes() {
        // IP_RECVTOS: one u_char, DSCP EF (46) with ECN CE: 0xbb.
        assert_eq!(byte_or_int(&[0xbb]), Some(0xbb));
        // IP_RECVTTL: one u_char.
        assert_eq!(byte_or_int(&[64]), Some(64));
        assert_eq!(byte_or_int(&[255]), Some(255));
        // IPV6_TCLASS and IPV6_HOPLIMIT: an int in the machine's order; ECT(0) is 2.
        let tclass = 0x02i32.to_ne_bytes();
        assert_eq!(int_u8(&tclass), Some(0x02));
        assert_eq!(byte_or_int(&tclass), Some(0x02));
        assert_eq!(int_u8(&255i32.to_ne_bytes()), Some(255));
        // macOS's one-byte IPV6_TCLASS.
        assert_eq!(byte_or_int(&[0x02]), Some(0x02));
        // An int is read as an int, not by its first byte (00 00 00 b9 on a big-endian one).
        if cfg!(target_endian = "little") {
            assert_eq!(0xb9i32.to_ne_bytes(), [0xb9, 0, 0, 0]);
        }
        assert_eq!(byte_or_int(&0xb9i32.to_ne_bytes()), Some(0xb9));
        // Nothing, or out of range for a byte: no value (the message stays raw).
        assert_eq!(byte_or_int(&[]), None);
        assert_eq!(byte_or_int(&256i32.to_ne_bytes()), None);
        assert_eq!(int_u8(&[64]), None);
        assert_eq!(int_u8(&(-1i32).to_ne_bytes()), None);
        // The native IPV6_TCLASS: one byte only where the system sends it so.
        assert_eq!(tclass_of(&tclass), Some(0x02));
        assert_eq!(tclass_of(&[0x02]).is_some(), cfg!(has_tclass_byte));
    }

    /// Each system's received forms, through the native decoder.
    #[cfg(has_ip_recvtos_msg)]
    #[test]
    fn native_recvtos_and_recvttl_messages() {
        use crate::cmsg::ControlMessage;
        let tos = super::decode(libc::IPPROTO_IP, libc::IP_RECVTOS, &[0xbb]);
        assert!(matches!(tos, Some(ControlMessage::IpTos(0xbb))), "{tos:?}");
        let ttl = super::decode(libc::IPPROTO_IP, libc::IP_RECVTTL, &[64]);
        assert!(matches!(ttl, Some(ControlMessage::IpTtl(64))), "{ttl:?}");
        let tc = super::decode(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, &2i32.to_ne_bytes());
        assert!(
            matches!(tc, Some(ControlMessage::Ipv6TrafficClass(2))),
            "{tc:?}"
        );
        let hl = super::decode(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, &9i32.to_ne_bytes());
        assert!(
            matches!(hl, Some(ControlMessage::Ipv6HopLimit(9))),
            "{hl:?}"
        );
    }
}
