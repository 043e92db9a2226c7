//! The Windows control messages, typed: the `IP_PKTINFO`/`IPV6_PKTINFO`, ECN, TOS, traffic
//! class and UDP offload messages of `WSASendMsg` and `WSARecvMsg`, pure: nothing here makes a
//! call.
//!
//! The layout, arithmetic, storage, encoder and walk are the crate's own, in
//! [`crate::cmsg`], on the `WSACMSGHDR` layout ([`Layout::WINDOWS_64`] on x64 and ARM64: a
//! 16-byte header and 8-byte alignment; [`Layout::WINDOWS_32`] on x86: 12 and 4): a
//! [`CmsgBuffer`](crate::cmsg::CmsgBuffer) holds the messages, an
//! [`Encoder`] writes them (its `push` takes a [`ControlMessage`]), and
//! [`Iter`] walks received bytes with the crate's [`RawIter`](crate::cmsg::RawIter) walk and
//! types what it finds. What is here is what only Windows has: the numbers of its levels and
//! types, and [`ControlMessage`], which names the messages Windows defines for UDP both ways,
//! with [`ControlMessage::Raw`] for any other.
//!
//! ```
//! # #[cfg(windows)] {
//! use std::net::Ipv4Addr;
//! use ancillary::cmsg::{CmsgBuffer, INT_SPACE, IP_PKTINFO_SPACE};
//! use ancillary::windows::cmsg::{ControlMessage, Iter};
//!
//! let mut storage = CmsgBuffer::<{ IP_PKTINFO_SPACE + INT_SPACE }>::new();
//! let mut control = storage.encoder();
//! control.push(&ControlMessage::PktInfoV4 { addr: Ipv4Addr::LOCALHOST, ifindex: 1 })?;
//! control.push(&ControlMessage::EcnV4(0b01))?;
//! let got: Vec<_> = Iter::new(control.as_bytes()).collect();
//! assert_eq!(got[1], ControlMessage::EcnV4(0b01));
//! # }
//! # Ok::<(), ancillary::Error>(())
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cmsg::{Encoder, ForeignIter, Layout};
use crate::Result;

/// `IPPROTO_IP`: the level of the IPv4 messages.
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_IPV6`: the level of the IPv6 messages.
pub const IPPROTO_IPV6: i32 = 41;
/// `IPPROTO_UDP`: the level of the UDP offload messages.
pub const IPPROTO_UDP: i32 = 17;
/// `IP_TOS`: the IPv4 type of service, received with `IP_RECVTOS` (an `INT`).
pub const IP_TOS: i32 = 3;
/// `IP_PKTINFO`: `IN_PKTINFO`, the local address and interface of a datagram.
pub const IP_PKTINFO: i32 = 19;
/// `IP_ECN`: the ECN bits of an IPv4 datagram, sent or received with `IP_RECVECN` (an `INT`).
pub const IP_ECN: i32 = 50;
/// `IPV6_TCLASS`: the IPv6 traffic class, received with `IPV6_RECVTCLASS` (an `INT`).
pub const IPV6_TCLASS: i32 = 39;
/// `IPV6_PKTINFO`: `IN6_PKTINFO`, the local address and interface of a datagram.
pub const IPV6_PKTINFO: i32 = 19;
/// `IPV6_ECN`: the ECN bits of an IPv6 datagram, sent or received with `IPV6_RECVECN`.
pub const IPV6_ECN: i32 = 50;
/// `UDP_SEND_MSG_SIZE` (USO): on send, the size of each datagram the payload is cut into (a
/// `DWORD`).
pub const UDP_SEND_MSG_SIZE: i32 = 2;
/// `UDP_COALESCED_INFO` (URO): on receive, the size of each datagram that Windows joined into
/// the one received (a `DWORD`).
pub const UDP_COALESCED_INFO: i32 = 3;

/// `sizeof(IN_PKTINFO)`: `{ IN_ADDR ipi_addr; ULONG ipi_ifindex; }`.
pub const IN_PKTINFO_LEN: usize = 8;
/// `sizeof(IN6_PKTINFO)`: `{ IN6_ADDR ipi6_addr; ULONG ipi6_ifindex; }`.
pub const IN6_PKTINFO_LEN: usize = 20;

/// The `WSACMSGHDR` layout of a Windows target as wide as this one: [`Layout::NATIVE`] on
/// Windows; elsewhere (the tests of this module run on any system) the Windows layout of the
/// same pointer width.
#[cfg(windows)]
const LAYOUT: Layout = Layout::NATIVE;
#[cfg(not(windows))]
const LAYOUT: Layout = if cfg!(target_pointer_width = "64") {
    Layout::WINDOWS_64
} else {
    Layout::WINDOWS_32
};

/// One control message, typed where Windows defines it, raw otherwise.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlMessage<'a> {
    /// `IP_PKTINFO`: on receive, the address the datagram was sent to and the interface it came
    /// in on; on send, the source address and interface to use.
    #[doc(alias = "IP_PKTINFO")]
    #[doc(alias = "IN_PKTINFO")]
    PktInfoV4 {
        /// `ipi_addr`.
        addr: Ipv4Addr,
        /// `ipi_ifindex` (0: any).
        ifindex: u32,
    },
    /// `IPV6_PKTINFO`: as [`PktInfoV4`](Self::PktInfoV4), for IPv6.
    #[doc(alias = "IPV6_PKTINFO")]
    #[doc(alias = "IN6_PKTINFO")]
    PktInfoV6 {
        /// `ipi6_addr`.
        addr: Ipv6Addr,
        /// `ipi6_ifindex` (0: any).
        ifindex: u32,
    },
    /// `IP_ECN`: the two ECN bits of an IPv4 datagram.
    #[doc(alias = "IP_ECN")]
    EcnV4(u8),
    /// `IPV6_ECN`: the two ECN bits of an IPv6 datagram.
    #[doc(alias = "IPV6_ECN")]
    EcnV6(u8),
    /// `IP_TOS`: the whole type-of-service byte of a received IPv4 datagram (`IP_RECVTOS`).
    #[doc(alias = "IP_TOS")]
    TosV4(u8),
    /// `IPV6_TCLASS`: the traffic class of a received IPv6 datagram (`IPV6_RECVTCLASS`).
    #[doc(alias = "IPV6_TCLASS")]
    TclassV6(u8),
    /// `UDP_SEND_MSG_SIZE` (USO): cut the payload into datagrams of this many bytes.
    #[doc(alias = "UDP_SEND_MSG_SIZE")]
    SendMsgSize(u32),
    /// `UDP_COALESCED_INFO` (URO): the received bytes are datagrams of this size joined
    /// together (the last may be shorter).
    #[doc(alias = "UDP_COALESCED_INFO")]
    CoalescedInfo(u32),
    /// Any message, as its level, type and data bytes.
    Raw {
        /// `cmsg_level`.
        level: i32,
        /// `cmsg_type`.
        ty: i32,
        /// The data.
        data: &'a [u8],
    },
}

impl<'a> ControlMessage<'a> {
    /// The message a header and data stand for: typed when level, type and data length match
    /// one Windows defines, [`Raw`](Self::Raw) otherwise.
    pub fn decode(level: i32, ty: i32, data: &'a [u8]) -> Self {
        let int = || data.try_into().ok().map(u32::from_ne_bytes);
        // The one-byte values Windows delivers as an INT keep their low byte.
        let byte = || int().map(|v| v as u8);
        let typed = match (level, ty) {
            (IPPROTO_IP, IP_PKTINFO) if data.len() == IN_PKTINFO_LEN => {
                Some(ControlMessage::PktInfoV4 {
                    addr: Ipv4Addr::new(data[0], data[1], data[2], data[3]),
                    ifindex: u32::from_ne_bytes([data[4], data[5], data[6], data[7]]),
                })
            }
            (IPPROTO_IPV6, IPV6_PKTINFO) if data.len() == IN6_PKTINFO_LEN => {
                let mut addr = [0; 16];
                addr.copy_from_slice(&data[..16]);
                Some(ControlMessage::PktInfoV6 {
                    addr: Ipv6Addr::from(addr),
                    ifindex: u32::from_ne_bytes([data[16], data[17], data[18], data[19]]),
                })
            }
            (IPPROTO_IP, IP_ECN) => byte().map(ControlMessage::EcnV4),
            (IPPROTO_IPV6, IPV6_ECN) => byte().map(ControlMessage::EcnV6),
            (IPPROTO_IP, IP_TOS) => byte().map(ControlMessage::TosV4),
            (IPPROTO_IPV6, IPV6_TCLASS) => byte().map(ControlMessage::TclassV6),
            (IPPROTO_UDP, UDP_SEND_MSG_SIZE) => int().map(ControlMessage::SendMsgSize),
            (IPPROTO_UDP, UDP_COALESCED_INFO) => int().map(ControlMessage::CoalescedInfo),
            _ => None,
        };
        typed.unwrap_or(ControlMessage::Raw { level, ty, data })
    }

    /// The level, type and data length of the message.
    fn header(&self) -> (i32, i32, usize) {
        match *self {
            ControlMessage::PktInfoV4 { .. } => (IPPROTO_IP, IP_PKTINFO, IN_PKTINFO_LEN),
            ControlMessage::PktInfoV6 { .. } => (IPPROTO_IPV6, IPV6_PKTINFO, IN6_PKTINFO_LEN),
            ControlMessage::EcnV4(_) => (IPPROTO_IP, IP_ECN, 4),
            ControlMessage::EcnV6(_) => (IPPROTO_IPV6, IPV6_ECN, 4),
            ControlMessage::TosV4(_) => (IPPROTO_IP, IP_TOS, 4),
            ControlMessage::TclassV6(_) => (IPPROTO_IPV6, IPV6_TCLASS, 4),
            ControlMessage::SendMsgSize(_) => (IPPROTO_UDP, UDP_SEND_MSG_SIZE, 4),
            ControlMessage::CoalescedInfo(_) => (IPPROTO_UDP, UDP_COALESCED_INFO, 4),
            ControlMessage::Raw { level, ty, data } => (level, ty, data.len()),
        }
    }

    /// Calls `f` with the message's level, type and data bytes (the typed ones laid out on the
    /// stack as Windows reads them; integers in this machine's byte order, which on Windows is
    /// little-endian).
    pub(crate) fn with_bytes<R>(&self, f: impl FnOnce(i32, i32, &[u8]) -> R) -> R {
        let (level, ty, len) = self.header();
        let mut typed = [0u8; IN6_PKTINFO_LEN];
        let out = &mut typed[..len.min(IN6_PKTINFO_LEN)];
        match *self {
            ControlMessage::PktInfoV4 { addr, ifindex } => {
                out[..4].copy_from_slice(&addr.octets());
                out[4..].copy_from_slice(&ifindex.to_ne_bytes());
            }
            ControlMessage::PktInfoV6 { addr, ifindex } => {
                out[..16].copy_from_slice(&addr.octets());
                out[16..].copy_from_slice(&ifindex.to_ne_bytes());
            }
            ControlMessage::EcnV4(v)
            | ControlMessage::EcnV6(v)
            | ControlMessage::TosV4(v)
            | ControlMessage::TclassV6(v) => out.copy_from_slice(&u32::from(v).to_ne_bytes()),
            ControlMessage::SendMsgSize(v) | ControlMessage::CoalescedInfo(v) => {
                out.copy_from_slice(&v.to_ne_bytes())
            }
            ControlMessage::Raw { data, .. } => return f(level, ty, data),
        }
        f(level, ty, out)
    }
}

/// The Windows messages on the crate's encoder.
#[cfg(any(windows, test))]
impl Encoder<'_, '_> {
    /// Appends a typed Windows message (`IP_PKTINFO`, `IP_ECN`, `UDP_SEND_MSG_SIZE`, ...), or a
    /// [`ControlMessage::Raw`] one as it is: a whole message or nothing, like every push.
    ///
    /// # Errors
    /// [`Error::Capacity`](crate::Error::Capacity) if the storage cannot hold it; nothing is
    /// written then.
    #[doc(alias = "IP_ECN")]
    #[doc(alias = "IPV6_ECN")]
    #[doc(alias = "UDP_SEND_MSG_SIZE")]
    pub fn push(&mut self, msg: &ControlMessage<'_>) -> Result<&mut Self> {
        msg.with_bytes(|level, ty, data| self.push_raw(level, ty, data).map(|_| ()))?;
        Ok(self)
    }
}

/// Walks control messages in received bytes (`WSA_CMSG_FIRSTHDR`/`WSA_CMSG_NXTHDR`) with the
/// crate's walk ([`ForeignIter`] over the `WSACMSGHDR` layout), typing each message
/// ([`ControlMessage::decode`]). It trusts no length: a `cmsg_len` shorter than a header, or
/// longer than what is left (a truncated message), ends the walk.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    raw: ForeignIter<'a>,
}

impl<'a> Iter<'a> {
    /// The messages in `bytes`, in this target's layout.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::with_layout(bytes, LAYOUT)
    }

    /// The messages in `bytes`, in another `layout` ([`Layout::WINDOWS_64`] or
    /// [`Layout::WINDOWS_32`]): to read the bytes of another Windows target.
    pub fn with_layout(bytes: &'a [u8], layout: Layout) -> Self {
        Iter {
            raw: ForeignIter::new(bytes, layout),
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = ControlMessage<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let m = self.raw.next()?;
        if m.is_truncated() {
            // Past the end: nothing follows it either (the next header would start beyond the
            // bytes), so the walk is over.
            self.raw = ForeignIter::new(&[], LAYOUT);
            return None;
        }
        Some(ControlMessage::decode(m.level, m.ty, m.data))
    }
}

impl std::iter::FusedIterator for Iter<'_> {}

/// The constants above, checked against the Windows headers as `windows-sys` gives them: a
/// difference fails the build on the target where it is wrong. (The layout is checked in
/// `crate::cmsg`.)
#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Networking::WinSock as ws;
    assert!(std::mem::size_of::<ws::IN_PKTINFO>() == IN_PKTINFO_LEN);
    assert!(std::mem::size_of::<ws::IN6_PKTINFO>() == IN6_PKTINFO_LEN);
    assert!(ws::IPPROTO_IP == IPPROTO_IP && ws::IPPROTO_IPV6 == IPPROTO_IPV6);
    assert!(ws::IPPROTO_UDP == IPPROTO_UDP);
    assert!(ws::IP_TOS == IP_TOS && ws::IP_PKTINFO == IP_PKTINFO && ws::IP_ECN == IP_ECN);
    assert!(ws::IPV6_TCLASS == IPV6_TCLASS && ws::IPV6_PKTINFO == IPV6_PKTINFO);
    assert!(ws::IPV6_ECN == IPV6_ECN);
    assert!(ws::UDP_SEND_MSG_SIZE == UDP_SEND_MSG_SIZE);
    assert!(ws::UDP_COALESCED_INFO as i32 == UDP_COALESCED_INFO);
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmsg::{CmsgBuffer, ForeignEncoder};

    /// Encodes `msgs` in `layout` with the crate's encoder for other layouts.
    fn encode(layout: Layout, msgs: &[ControlMessage<'_>]) -> Vec<u8> {
        let mut storage = [0xAAu8; 256];
        let mut enc = ForeignEncoder::new(&mut storage, layout);
        for m in msgs {
            m.with_bytes(|level, ty, data| enc.push_raw(level, ty, data).map(|_| ()))
                .unwrap();
        }
        enc.as_bytes().to_vec()
    }

    /// The vectors below are Windows's bytes, little-endian; the crate writes this machine's
    /// byte order.
    fn big_endian() -> bool {
        if cfg!(target_endian = "big") {
            println!("skipped: the Windows vectors are little-endian");
        }
        cfg!(target_endian = "big")
    }

    #[test]
    fn pktinfo_v4_bytes() {
        if big_endian() {
            return;
        }
        let msg = ControlMessage::PktInfoV4 {
            addr: Ipv4Addr::new(127, 0, 0, 1),
            ifindex: 0x0102_0304,
        };
        #[rustfmt::skip]
        let win64 = [
            24, 0, 0, 0, 0, 0, 0, 0, // cmsg_len = WSA_CMSG_LEN(8)
            0, 0, 0, 0,              // IPPROTO_IP
            19, 0, 0, 0,             // IP_PKTINFO
            127, 0, 0, 1,            // ipi_addr, network order
            4, 3, 2, 1,              // ipi_ifindex
        ];
        assert_eq!(encode(Layout::WINDOWS_64, &[msg]), win64);
        #[rustfmt::skip]
        let win32 = [
            20, 0, 0, 0,
            0, 0, 0, 0,
            19, 0, 0, 0,
            127, 0, 0, 1,
            4, 3, 2, 1,
        ];
        assert_eq!(encode(Layout::WINDOWS_32, &[msg]), win32);
        assert_eq!(
            Iter::with_layout(&win64, Layout::WINDOWS_64).collect::<Vec<_>>(),
            [msg]
        );
        assert_eq!(
            Iter::with_layout(&win32, Layout::WINDOWS_32).collect::<Vec<_>>(),
            [msg]
        );
    }

    #[test]
    fn pktinfo_v6_bytes_and_padding() {
        if big_endian() {
            return;
        }
        let msg = ControlMessage::PktInfoV6 {
            addr: Ipv6Addr::LOCALHOST,
            ifindex: 7,
        };
        let mut want = vec![36, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0, 0, 19, 0, 0, 0];
        want.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want.extend_from_slice(&[7, 0, 0, 0]);
        want.extend_from_slice(&[0; 4]); // padding to WSA_CMSG_SPACE(20) = 40, zeroed
        assert_eq!(encode(Layout::WINDOWS_64, &[msg]), want);
        let mut want32 = vec![32, 0, 0, 0, 41, 0, 0, 0, 19, 0, 0, 0];
        want32.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want32.extend_from_slice(&[7, 0, 0, 0]);
        assert_eq!(encode(Layout::WINDOWS_32, &[msg]), want32);
    }

    #[test]
    fn ecn_and_uso_bytes() {
        if big_endian() {
            return;
        }
        // What wine accepts but ignores on send: ECN and USO, checked here by their bytes.
        let msgs = [
            ControlMessage::EcnV4(0b10),
            ControlMessage::EcnV6(0b11),
            ControlMessage::SendMsgSize(1200),
        ];
        #[rustfmt::skip]
        let win64: Vec<u8> = [
            [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
            [20, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0, 0, 50, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0],
            [20, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 2, 0, 0, 0, 0xb0, 0x04, 0, 0, 0, 0, 0, 0],
        ].concat();
        assert_eq!(encode(Layout::WINDOWS_64, &msgs), win64);
        #[rustfmt::skip]
        let win32: Vec<u8> = [
            [16, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0, 2, 0, 0, 0],
            [16, 0, 0, 0, 41, 0, 0, 0, 50, 0, 0, 0, 3, 0, 0, 0],
            [16, 0, 0, 0, 17, 0, 0, 0, 2, 0, 0, 0, 0xb0, 0x04, 0, 0],
        ].concat();
        assert_eq!(encode(Layout::WINDOWS_32, &msgs), win32);
        assert_eq!(
            Iter::with_layout(&win64, Layout::WINDOWS_64).collect::<Vec<_>>(),
            msgs
        );
        assert_eq!(
            Iter::with_layout(&win32, Layout::WINDOWS_32).collect::<Vec<_>>(),
            msgs
        );
    }

    #[test]
    fn received_uro_tos_and_raw() {
        if big_endian() {
            return;
        }
        // As Windows delivers them: UDP_COALESCED_INFO, IP_TOS and an unknown message.
        #[rustfmt::skip]
        let win64: Vec<u8> = [
            &[20, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 3, 0, 0, 0, 0xdc, 0x05, 0, 0, 0, 0, 0, 0][..],
            &[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0xb8, 0, 0, 0, 0, 0, 0, 0],
            &[19, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 9, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0],
        ].concat();
        let got: Vec<_> = Iter::with_layout(&win64, Layout::WINDOWS_64).collect();
        assert_eq!(
            got,
            [
                ControlMessage::CoalescedInfo(1500),
                ControlMessage::TosV4(0xb8),
                ControlMessage::Raw {
                    level: 0xffff,
                    ty: 9,
                    data: &[1, 2, 3]
                },
            ]
        );
        // The last message needs no padding after it.
        let got: Vec<_> = Iter::with_layout(&win64[..48 + 19], Layout::WINDOWS_64).collect();
        assert_eq!(got.len(), 3);
        // Raw round-trips, padding zeroed.
        assert_eq!(encode(Layout::WINDOWS_64, &got), win64);
    }

    #[test]
    fn walk_trusts_no_length() {
        if big_endian() {
            return;
        }
        let good = encode(
            Layout::WINDOWS_64,
            &[ControlMessage::EcnV4(1), ControlMessage::EcnV4(2)],
        );
        for bad_len in [0u8, 15, 49, 255] {
            let mut bytes = good.clone();
            bytes[24] = bad_len; // the second message's cmsg_len
            let got: Vec<_> = Iter::with_layout(&bytes, Layout::WINDOWS_64).collect();
            assert_eq!(got, [ControlMessage::EcnV4(1)], "cmsg_len {bad_len}");
        }
        // A cmsg_len in the upper bytes of the 64-bit SIZE_T.
        let mut bytes = good.clone();
        bytes[7] = 0x80;
        assert_eq!(Iter::with_layout(&bytes, Layout::WINDOWS_64).count(), 0);
        // Every truncation ends the walk cleanly.
        for cut in 0..good.len() {
            let n = Iter::with_layout(&good[..cut], Layout::WINDOWS_64).count();
            assert_eq!(n, usize::from(cut >= 20) + usize::from(cut >= 44));
        }
        // A typed level/type with the wrong data length stays raw.
        let odd = encode(
            Layout::WINDOWS_64,
            &[ControlMessage::Raw {
                level: IPPROTO_IP,
                ty: IP_PKTINFO,
                data: &[1, 2, 3],
            }],
        );
        assert!(matches!(
            Iter::with_layout(&odd, Layout::WINDOWS_64).next(),
            Some(ControlMessage::Raw {
                data: [1, 2, 3],
                ..
            })
        ));
    }

    #[test]
    fn full_storage_changes_nothing() {
        let mut storage = [0u8; 24 + 8];
        let mut enc = ForeignEncoder::new(&mut storage, Layout::WINDOWS_64);
        let mut push = |m: ControlMessage<'_>| {
            m.with_bytes(|level, ty, data| enc.push_raw(level, ty, data).map(|_| ()))
        };
        push(ControlMessage::EcnV4(1)).unwrap();
        let err = push(ControlMessage::EcnV4(2)).unwrap_err();
        assert_eq!(
            err,
            crate::Error::Capacity {
                needed: 48,
                available: 32
            }
        );
        assert_eq!(enc.len(), 24);
        assert_eq!(storage[24..], [0; 8]);
    }

    /// The crate's own encoder, over this target's layout, takes the typed Windows messages and
    /// aligns unaligned storage forward.
    #[test]
    fn crate_encoder_pushes_windows_messages() {
        let mut storage = CmsgBuffer::<64>::new();
        let mut enc = Encoder::new(&mut storage[1..]);
        // One byte in, the encoder starts at the next header boundary: the storage loses the
        // header's alignment on this target (4 on musl, whose cmsghdr holds no size_t).
        assert_eq!(enc.capacity(), 64 - std::mem::align_of::<CmsgBuffer<64>>());
        enc.push(&ControlMessage::SendMsgSize(1200))
            .unwrap()
            .push(&ControlMessage::PktInfoV4 {
                addr: Ipv4Addr::new(127, 0, 0, 1),
                ifindex: 3,
            })
            .unwrap();
        assert_eq!(enc.len(), crate::cmsg::space(4) + crate::cmsg::space(8));
        let got: Vec<_> = Iter::with_layout(enc.as_bytes(), Layout::NATIVE).collect();
        assert_eq!(
            got,
            [
                ControlMessage::SendMsgSize(1200),
                ControlMessage::PktInfoV4 {
                    addr: Ipv4Addr::new(127, 0, 0, 1),
                    ifindex: 3
                }
            ]
        );
    }
}
