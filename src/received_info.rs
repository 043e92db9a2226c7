//! Typed accessors on [`Received`] for the messages the socket options of
//! [`sockopt`](crate::sockopt) switch on: each is one non-owning walk over the control data
//! (no descriptor is taken or closed), so they may be called in any order, any number of
//! times, before or after the descriptors are taken.

use std::net::IpAddr;

#[cfg(has_recv_tos)]
use crate::cmsg::Ecn;
#[cfg(linux_like)]
use crate::cmsg::Timestamp;
use crate::cmsg::{self, ControlMessage, RawIter};
use crate::recv::Received;

/// Where a datagram was sent: its destination address and the interface it came in on
/// (`IP_PKTINFO` / `IPV6_PKTINFO`, FreeBSD's `IP_RECVDSTADDR` for IPv4): see
/// [`Received::destination`].
#[doc(alias = "IP_PKTINFO")]
#[doc(alias = "IPV6_PKTINFO")]
#[doc(alias = "IP_RECVDSTADDR")]
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
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// The destination address in the datagram's IP header (`ipi_addr`, `ipi6_addr`): the
    /// address a server bound to a wildcard was asked on, and the one to answer from
    /// (give it to [`Encoder::push_source_ip`](crate::cmsg::Encoder::push_source_ip)) unless
    /// it is a broadcast or multicast address.
    pub ip: IpAddr,
    /// The index of the interface the datagram came in on (`ipi_ifindex`, `ipi6_ifindex`);
    /// 0, which names no interface, where the message does not carry it: FreeBSD's IPv4
    /// `IP_RECVDSTADDR` is the address alone.
    pub ifindex: u32,
}

impl Received<'_> {
    /// The first typed message for which `pick` gives a value (a walk that touches no
    /// descriptor).
    fn find_typed<T>(&self, mut pick: impl FnMut(ControlMessage<'_>) -> Option<T>) -> Option<T> {
        RawIter::new(self.control_bytes())
            .filter_map(|m| cmsg::decode_typed(m.level, m.ty, m.data))
            .find_map(&mut pick)
    }

    /// The destination address and incoming interface of the datagram (`IP_PKTINFO` for
    /// IPv4, `IPV6_PKTINFO` for IPv6; on FreeBSD `IP_RECVDSTADDR` for IPv4, without the
    /// interface: [`ifindex`](PacketInfo::ifindex) 0), with
    /// [`sockopt::set_recv_pktinfo`](crate::sockopt::set_recv_pktinfo) on; `None` if the
    /// message is not there. An IPv4 datagram on a dual-stack IPv6 socket, which the kernel
    /// reports as `::ffff:a.b.c.d`, gives its IPv4 address: the form
    /// [`Encoder::push_source_ip`](crate::cmsg::Encoder::push_source_ip) needs to answer
    /// from it.
    #[doc(alias = "IP_PKTINFO")]
    #[doc(alias = "IPV6_PKTINFO")]
    #[doc(alias = "IP_RECVDSTADDR")]
    pub fn destination(&self) -> Option<PacketInfo> {
        self.find_typed(|m| match m {
            #[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
            ControlMessage::IpPktInfo(p) => Some(PacketInfo {
                ip: IpAddr::V4(p.addr),
                ifindex: p.ifindex,
            }),
            #[cfg(has_ip_recvdstaddr)]
            ControlMessage::IpRecvDstAddr(a) => Some(PacketInfo {
                ip: IpAddr::V4(a),
                ifindex: 0,
            }),
            ControlMessage::Ipv6PktInfo(p) => Some(PacketInfo {
                ip: IpAddr::V6(p.addr).to_canonical(),
                ifindex: p.ifindex,
            }),
            _ => None,
        })
    }

    /// The TOS byte (IPv4: the message `IP_TOS` on Linux, `IP_RECVTOS` on FreeBSD and macOS)
    /// or traffic class (IPv6, `IPV6_TCLASS`) of the datagram, with
    /// [`sockopt::set_recv_tos`](crate::sockopt::set_recv_tos) on: its DSCP in the high six
    /// bits, its ECN codepoint in the low two ([`ecn`](Self::ecn)).
    #[doc(alias = "IP_TOS")]
    #[doc(alias = "IP_RECVTOS")]
    #[doc(alias = "IPV6_TCLASS")]
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
    pub fn tos(&self) -> Option<u8> {
        self.find_typed(|m| match m {
            ControlMessage::IpTos(t) | ControlMessage::Ipv6TrafficClass(t) => Some(t),
            _ => None,
        })
    }

    /// The ECN codepoint of the datagram, from its TOS byte or traffic class (see
    /// [`tos`](Self::tos)), with [`sockopt::set_recv_tos`](crate::sockopt::set_recv_tos) on.
    #[doc(alias = "ECN")]
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
    pub fn ecn(&self) -> Option<Ecn> {
        self.tos().map(Ecn::from_tos)
    }

    /// The TTL (IPv4: the message `IP_TTL` on Linux, `IP_RECVTTL` on FreeBSD and macOS) or hop
    /// limit (IPv6, `IPV6_HOPLIMIT`) the datagram arrived with, with
    /// [`sockopt::set_recv_ttl`](crate::sockopt::set_recv_ttl) on.
    #[doc(alias = "IP_TTL")]
    #[doc(alias = "IP_RECVTTL")]
    #[doc(alias = "IPV6_HOPLIMIT")]
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
    pub fn ttl(&self) -> Option<u8> {
        self.find_typed(|m| match m {
            ControlMessage::IpTtl(t) | ControlMessage::Ipv6HopLimit(t) => Some(t),
            _ => None,
        })
    }

    /// When the message arrived (`SCM_TIMESTAMPNS`), with
    /// [`sockopt::set_timestamp_ns`](crate::sockopt::set_timestamp_ns) on.
    #[doc(alias = "SCM_TIMESTAMPNS")]
    #[cfg(linux_like)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.find_typed(|m| match m {
            ControlMessage::TimestampNs(t) => Some(t),
            _ => None,
        })
    }

    /// The `UDP_GRO` segment size, if the kernel coalesced several datagrams into this one
    /// (with [`sockopt::set_udp_gro`](crate::sockopt::set_udp_gro) on); split them with
    /// [`split_gro`](crate::batch::split_gro).
    #[doc(alias = "UDP_GRO")]
    #[cfg(linux_like)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn gro_segment_size(&self) -> Option<usize> {
        self.find_typed(|m| match m {
            ControlMessage::UdpGro(s) if s > 0 => Some(usize::from(s)),
            _ => None,
        })
    }

    /// Datagrams the socket dropped so far for lack of receive buffer (`SO_RXQ_OVFL`), with
    /// [`sockopt::set_rxq_overflow`](crate::sockopt::set_rxq_overflow) on; the kernel
    /// attaches it once a drop happened.
    #[doc(alias = "SO_RXQ_OVFL")]
    #[cfg(linux_like)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn rxq_overflow(&self) -> Option<u32> {
        self.find_typed(|m| match m {
            ControlMessage::RxqOverflow(n) => Some(n),
            _ => None,
        })
    }
}
