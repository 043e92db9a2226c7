//! Control messages on the Windows layout (`WSACMSGHDR`), pure: nothing here makes a call.
//!
//! A Windows control message is a `WSACMSGHDR { SIZE_T cmsg_len; INT cmsg_level; INT
//! cmsg_type; }` followed by its data, each aligned as `mswsock.h` says: the header to
//! `TYPE_ALIGNMENT(WSACMSGHDR)` and the data to `MAX_NATURAL_ALIGNMENT`. On 64-bit Windows
//! (x64 and ARM64) that is a 16-byte header and 8-byte alignment; on 32-bit x86 a 12-byte header
//! and 4-byte alignment ([`Layout`]). Windows is little-endian on every architecture it runs on,
//! so the numbers are written little-endian whatever machine runs this code (the tests run on
//! Linux too).
//!
//! - [`Encoder`] appends messages to aligned storage ([`Buffer`], or a caller's bytes aligned
//!   forward) and never writes past it: a message that does not fit is an [`Error::Capacity`]
//!   and leaves what was written unchanged.
//! - [`Iter`] walks received bytes without trusting any length, and [`ControlMessage`] names
//!   the messages Windows defines for UDP: `IP_PKTINFO`/`IPV6_PKTINFO`, `IP_ECN`/`IPV6_ECN`,
//!   `IP_TOS`/`IPV6_TCLASS`, `UDP_SEND_MSG_SIZE` (USO) and `UDP_COALESCED_INFO` (URO), with
//!   [`ControlMessage::Raw`] for any other, both ways.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use ancillary::windows::cmsg::{Buffer, ControlMessage, Encoder, Iter, IP_PKTINFO_SPACE, INT_SPACE};
//!
//! let mut storage = Buffer::<{ IP_PKTINFO_SPACE + INT_SPACE }>::new();
//! let mut control = Encoder::new(&mut storage);
//! control.push(&ControlMessage::PktInfoV4 { addr: Ipv4Addr::LOCALHOST, ifindex: 1 })?;
//! control.push(&ControlMessage::EcnV4(0b01))?;
//! let bytes = control.as_bytes();
//! let got: Vec<_> = Iter::new(bytes).collect();
//! assert_eq!(got[1], ControlMessage::EcnV4(0b01));
//! # Ok::<(), ancillary::windows::Error>(())
//! ```

use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::{Deref, DerefMut};

use super::Error;

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

/// The layout of a `WSACMSGHDR` and of the data after it, which depends on the width of
/// `SIZE_T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    header_len: usize,
    align: usize,
}

impl Layout {
    /// 64-bit Windows (x64, ARM64): `SIZE_T cmsg_len`, a 16-byte header, 8-byte alignment.
    pub const WIN64: Layout = Layout {
        header_len: 16,
        align: 8,
    };
    /// 32-bit Windows (x86): a 12-byte header, 4-byte alignment.
    pub const WIN32: Layout = Layout {
        header_len: 12,
        align: 4,
    };
    /// The layout of the target this crate is built for.
    #[cfg(target_pointer_width = "64")]
    pub const NATIVE: Layout = Layout::WIN64;
    /// The layout of the target this crate is built for.
    #[cfg(not(target_pointer_width = "64"))]
    pub const NATIVE: Layout = Layout::WIN32;

    /// `sizeof(WSACMSGHDR)`.
    #[inline]
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// The alignment of headers and data (`TYPE_ALIGNMENT(WSACMSGHDR)`, which equals
    /// `MAX_NATURAL_ALIGNMENT` on every Windows target).
    #[inline]
    pub const fn alignment(&self) -> usize {
        self.align
    }

    /// The width of `cmsg_len` (`SIZE_T`).
    const fn len_width(&self) -> usize {
        self.header_len - 2 * size_of::<i32>()
    }

    /// `WSA_CMSGHDR_ALIGN(n)`, `None` on overflow.
    #[inline]
    pub const fn checked_align(&self, n: usize) -> Option<usize> {
        match n.checked_add(self.align - 1) {
            Some(v) => Some(v & !(self.align - 1)),
            None => None,
        }
    }

    /// `WSA_CMSG_DATA(c) - c`: where the data starts.
    #[doc(alias = "WSA_CMSG_DATA")]
    #[inline]
    pub const fn data_offset(&self) -> usize {
        // The header length is a multiple of 4 and at most 16: no overflow.
        (self.header_len + self.align - 1) & !(self.align - 1)
    }

    /// `WSA_CMSG_SPACE(n)`: the bytes a message with `n` bytes of data occupies, padding
    /// included.
    ///
    /// # Panics
    /// If the result overflows `usize` (at compile time in `const` use).
    #[doc(alias = "WSA_CMSG_SPACE")]
    #[inline]
    pub const fn space(&self, n: usize) -> usize {
        match self.checked_space(n) {
            Some(v) => v,
            None => panic!("WSA_CMSG_SPACE overflows usize"),
        }
    }

    /// `WSA_CMSG_SPACE(n)`, `None` on overflow.
    #[inline]
    pub const fn checked_space(&self, n: usize) -> Option<usize> {
        match self.checked_align(n) {
            Some(a) => a.checked_add(self.data_offset()),
            None => None,
        }
    }

    /// `WSA_CMSG_LEN(n)`: the value of `cmsg_len` for a message with `n` bytes of data.
    ///
    /// # Panics
    /// If the result overflows `usize` (at compile time in `const` use).
    #[doc(alias = "WSA_CMSG_LEN")]
    #[inline]
    pub const fn len(&self, n: usize) -> usize {
        match self.data_offset().checked_add(n) {
            Some(v) => v,
            None => panic!("WSA_CMSG_LEN overflows usize"),
        }
    }
}

/// `WSA_CMSG_SPACE(n)` on this target.
///
/// # Panics
/// If the result overflows `usize` (at compile time in `const` use).
#[doc(alias = "WSA_CMSG_SPACE")]
#[inline]
pub const fn space(n: usize) -> usize {
    Layout::NATIVE.space(n)
}

/// `WSA_CMSG_LEN(n)` on this target.
///
/// # Panics
/// If the result overflows `usize` (at compile time in `const` use).
#[doc(alias = "WSA_CMSG_LEN")]
#[inline]
pub const fn len(n: usize) -> usize {
    Layout::NATIVE.len(n)
}

/// The space of an `IP_PKTINFO` message.
pub const IP_PKTINFO_SPACE: usize = space(IN_PKTINFO_LEN);
/// The space of an `IPV6_PKTINFO` message.
pub const IPV6_PKTINFO_SPACE: usize = space(IN6_PKTINFO_LEN);
/// The space of a message carrying one `INT` or `DWORD`: `IP_ECN`, `IPV6_ECN`, `IP_TOS`,
/// `IPV6_TCLASS`, `UDP_SEND_MSG_SIZE`, `UDP_COALESCED_INFO`.
pub const INT_SPACE: usize = space(size_of::<u32>());

/// Inline control storage of `N` bytes, zeroed and aligned for `WSACMSGHDR` by construction.
/// It dereferences to `[u8]`.
#[doc(alias = "WSACMSGHDR")]
#[repr(C, align(8))]
#[derive(Clone)]
pub struct Buffer<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> Buffer<N> {
    /// Zeroed storage.
    pub const fn new() -> Self {
        Buffer { bytes: [0; N] }
    }
}

impl<const N: usize> Default for Buffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for Buffer<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer").field("len", &N).finish()
    }
}

impl<const N: usize> Deref for Buffer<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl<const N: usize> DerefMut for Buffer<N> {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

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
        let int = || data.try_into().ok().map(u32::from_le_bytes);
        // The one-byte values Windows delivers as an INT keep their low byte.
        let byte = || int().map(|v| v as u8);
        let typed = match (level, ty) {
            (IPPROTO_IP, IP_PKTINFO) if data.len() == IN_PKTINFO_LEN => {
                Some(ControlMessage::PktInfoV4 {
                    addr: Ipv4Addr::new(data[0], data[1], data[2], data[3]),
                    ifindex: u32::from_le_bytes([data[4], data[5], data[6], data[7]]),
                })
            }
            (IPPROTO_IPV6, IPV6_PKTINFO) if data.len() == IN6_PKTINFO_LEN => {
                let mut addr = [0; 16];
                addr.copy_from_slice(&data[..16]);
                Some(ControlMessage::PktInfoV6 {
                    addr: Ipv6Addr::from(addr),
                    ifindex: u32::from_le_bytes([data[16], data[17], data[18], data[19]]),
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

    /// Writes the data into `out`, which is exactly the length [`header`](Self::header) gave.
    fn write_data(&self, out: &mut [u8]) {
        match *self {
            ControlMessage::PktInfoV4 { addr, ifindex } => {
                out[..4].copy_from_slice(&addr.octets());
                out[4..].copy_from_slice(&ifindex.to_le_bytes());
            }
            ControlMessage::PktInfoV6 { addr, ifindex } => {
                out[..16].copy_from_slice(&addr.octets());
                out[16..].copy_from_slice(&ifindex.to_le_bytes());
            }
            ControlMessage::EcnV4(v)
            | ControlMessage::EcnV6(v)
            | ControlMessage::TosV4(v)
            | ControlMessage::TclassV6(v) => out.copy_from_slice(&u32::from(v).to_le_bytes()),
            ControlMessage::SendMsgSize(v) | ControlMessage::CoalescedInfo(v) => {
                out.copy_from_slice(&v.to_le_bytes())
            }
            ControlMessage::Raw { data, .. } => out.copy_from_slice(data),
        }
    }
}

/// Appends control messages to aligned storage, in a layout ([`Layout::NATIVE`] unless told
/// otherwise). Padding is zeroed; a message that does not fit changes nothing.
#[derive(Debug)]
pub struct Encoder<'a> {
    buf: &'a mut [u8],
    len: usize,
    layout: Layout,
}

impl<'a> Encoder<'a> {
    /// An encoder over `storage` for this target, starting at its first byte aligned for
    /// `WSACMSGHDR` (a [`Buffer`] is aligned already; other bytes are used from there on).
    pub fn new(storage: &'a mut [u8]) -> Self {
        Self::with_layout(storage, Layout::NATIVE)
    }

    /// An encoder over `storage` in another `layout`: to build or check the bytes of another
    /// Windows target. The storage is aligned forward to the layout's alignment.
    pub fn with_layout(storage: &'a mut [u8], layout: Layout) -> Self {
        let skip = storage
            .as_ptr()
            .align_offset(layout.align)
            .min(storage.len());
        Encoder {
            buf: &mut storage[skip..],
            len: 0,
            layout,
        }
    }

    /// Appends a message.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage cannot hold it; nothing is written then.
    pub fn push(&mut self, msg: &ControlMessage<'_>) -> Result<(), Error> {
        let (level, ty, data_len) = msg.header();
        let layout = self.layout;
        let needed = layout
            .checked_space(data_len)
            .and_then(|s| s.checked_add(self.len))
            .ok_or(Error::Capacity {
                needed: usize::MAX,
                available: self.buf.len(),
            })?;
        if needed > self.buf.len() {
            return Err(Error::Capacity {
                needed,
                available: self.buf.len(),
            });
        }
        let out = &mut self.buf[self.len..needed];
        out.fill(0);
        let cmsg_len = layout.len(data_len);
        let w = layout.len_width();
        // As a u64: a WIN64 header has an 8-byte cmsg_len on a 32-bit host too.
        out[..w].copy_from_slice(&(cmsg_len as u64).to_le_bytes()[..w]);
        out[w..w + 4].copy_from_slice(&level.to_le_bytes());
        out[w + 4..w + 8].copy_from_slice(&ty.to_le_bytes());
        let start = layout.data_offset();
        msg.write_data(&mut out[start..start + data_len]);
        self.len = needed;
        Ok(())
    }

    /// Appends a message given as level, type and data.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage cannot hold it; nothing is written then.
    pub fn push_raw(&mut self, level: i32, ty: i32, data: &[u8]) -> Result<(), Error> {
        self.push(&ControlMessage::Raw { level, ty, data })
    }

    /// The messages written so far: the control buffer to send.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every message written, to reuse the storage.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// Walks control messages in received bytes (`WSA_CMSG_FIRSTHDR`/`WSA_CMSG_NXTHDR`), trusting no
/// length: a `cmsg_len` shorter than a header, or longer than what is left, ends the walk.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    bytes: &'a [u8],
    layout: Layout,
}

impl<'a> Iter<'a> {
    /// The messages in `bytes`, in this target's layout.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::with_layout(bytes, Layout::NATIVE)
    }

    /// The messages in `bytes`, in another `layout`.
    pub fn with_layout(bytes: &'a [u8], layout: Layout) -> Self {
        Iter { bytes, layout }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = ControlMessage<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let layout = self.layout;
        let bytes = self.bytes;
        if bytes.len() < layout.header_len {
            self.bytes = &[];
            return None;
        }
        let w = layout.len_width();
        let mut len = [0u8; 8];
        len[..w].copy_from_slice(&bytes[..w]);
        let cmsg_len = u64::from_le_bytes(len);
        let int = |at: usize| {
            i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let (level, ty) = (int(w), int(w + 4));
        let start = layout.data_offset();
        let end = match usize::try_from(cmsg_len) {
            Ok(end) if end >= start && end <= bytes.len() => end,
            _ => {
                self.bytes = &[];
                return None;
            }
        };
        let data = &bytes[start..end];
        // The next header starts at WSA_CMSGHDR_ALIGN(cmsg_len), or nowhere when that is past
        // the end.
        self.bytes = match layout.checked_align(end) {
            Some(next) if next <= bytes.len() => &bytes[next..],
            _ => &[],
        };
        Some(ControlMessage::decode(level, ty, data))
    }
}

/// The layout and constants above, checked against the Windows headers as `windows-sys` gives
/// them: a difference fails the build on the target where it is wrong.
#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Networking::WinSock as ws;
    assert!(size_of::<ws::CMSGHDR>() == Layout::NATIVE.header_len);
    assert!(std::mem::align_of::<ws::CMSGHDR>() == Layout::NATIVE.align);
    assert!(size_of::<ws::IN_PKTINFO>() == IN_PKTINFO_LEN);
    assert!(size_of::<ws::IN6_PKTINFO>() == IN6_PKTINFO_LEN);
    assert!(std::mem::offset_of!(ws::IN6_PKTINFO, ipi6_ifindex) == 16);
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

    /// Encodes `msgs` in `layout` into fresh aligned storage.
    fn encode(layout: Layout, msgs: &[ControlMessage<'_>]) -> Vec<u8> {
        let mut storage = Buffer::<256>::new();
        let mut enc = Encoder::with_layout(&mut storage, layout);
        for m in msgs {
            enc.push(m).unwrap();
        }
        enc.as_bytes().to_vec()
    }

    #[test]
    fn arithmetic_matches_mswsock_h() {
        // WSA_CMSG_SPACE(n) = WSA_CMSGDATA_ALIGN(sizeof(WSACMSGHDR) + WSA_CMSGHDR_ALIGN(n)),
        // WSA_CMSG_LEN(n) = WSA_CMSGDATA_ALIGN(sizeof(WSACMSGHDR)) + n, computed here from the
        // macros' own terms for every length.
        for (layout, hdr, type_align, natural) in
            [(Layout::WIN64, 16, 8, 8), (Layout::WIN32, 12, 4, 4)]
        {
            let round = |n: usize, a: usize| (n + a - 1) & !(a - 1);
            for n in 0..300 {
                assert_eq!(layout.space(n), round(hdr + round(n, type_align), natural));
                assert_eq!(layout.len(n), round(hdr, natural) + n);
            }
            assert_eq!(layout.data_offset(), hdr);
            assert_eq!(layout.checked_space(usize::MAX), None);
        }
        assert_eq!(Layout::WIN64.space(4), 24);
        assert_eq!(Layout::WIN64.space(8), 24);
        assert_eq!(Layout::WIN64.space(20), 40);
        assert_eq!(Layout::WIN32.space(4), 16);
        assert_eq!(Layout::WIN32.space(20), 32);
        assert_eq!(Layout::WIN32.len(8), 20);
    }

    #[test]
    fn pktinfo_v4_bytes() {
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
        assert_eq!(encode(Layout::WIN64, &[msg]), win64);
        #[rustfmt::skip]
        let win32 = [
            20, 0, 0, 0,
            0, 0, 0, 0,
            19, 0, 0, 0,
            127, 0, 0, 1,
            4, 3, 2, 1,
        ];
        assert_eq!(encode(Layout::WIN32, &[msg]), win32);
        assert_eq!(
            Iter::with_layout(&win64, Layout::WIN64).collect::<Vec<_>>(),
            [msg]
        );
        assert_eq!(
            Iter::with_layout(&win32, Layout::WIN32).collect::<Vec<_>>(),
            [msg]
        );
    }

    #[test]
    fn pktinfo_v6_bytes_and_padding() {
        let msg = ControlMessage::PktInfoV6 {
            addr: Ipv6Addr::LOCALHOST,
            ifindex: 7,
        };
        let mut want = vec![36, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0, 0, 19, 0, 0, 0];
        want.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want.extend_from_slice(&[7, 0, 0, 0]);
        want.extend_from_slice(&[0; 4]); // padding to WSA_CMSG_SPACE(20) = 40, zeroed
        assert_eq!(encode(Layout::WIN64, &[msg]), want);
        let mut want32 = vec![32, 0, 0, 0, 41, 0, 0, 0, 19, 0, 0, 0];
        want32.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want32.extend_from_slice(&[7, 0, 0, 0]);
        assert_eq!(encode(Layout::WIN32, &[msg]), want32);
    }

    #[test]
    fn ecn_and_uso_bytes() {
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
        assert_eq!(encode(Layout::WIN64, &msgs), win64);
        #[rustfmt::skip]
        let win32: Vec<u8> = [
            [16, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0, 2, 0, 0, 0],
            [16, 0, 0, 0, 41, 0, 0, 0, 50, 0, 0, 0, 3, 0, 0, 0],
            [16, 0, 0, 0, 17, 0, 0, 0, 2, 0, 0, 0, 0xb0, 0x04, 0, 0],
        ].concat();
        assert_eq!(encode(Layout::WIN32, &msgs), win32);
        assert_eq!(
            Iter::with_layout(&win64, Layout::WIN64).collect::<Vec<_>>(),
            msgs
        );
        assert_eq!(
            Iter::with_layout(&win32, Layout::WIN32).collect::<Vec<_>>(),
            msgs
        );
    }

    #[test]
    fn received_uro_tos_and_raw() {
        // As Windows delivers them: UDP_COALESCED_INFO, IP_TOS and an unknown message.
        #[rustfmt::skip]
        let win64: Vec<u8> = [
            &[20, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 3, 0, 0, 0, 0xdc, 0x05, 0, 0, 0, 0, 0, 0][..],
            &[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0xb8, 0, 0, 0, 0, 0, 0, 0],
            &[19, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 9, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0],
        ].concat();
        let got: Vec<_> = Iter::with_layout(&win64, Layout::WIN64).collect();
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
        let got: Vec<_> = Iter::with_layout(&win64[..48 + 19], Layout::WIN64).collect();
        assert_eq!(got.len(), 3);
        // Raw round-trips, padding zeroed.
        assert_eq!(encode(Layout::WIN64, &got), win64);
    }

    #[test]
    fn walk_trusts_no_length() {
        let good = encode(
            Layout::WIN64,
            &[ControlMessage::EcnV4(1), ControlMessage::EcnV4(2)],
        );
        for bad_len in [0u8, 15, 49, 255] {
            let mut bytes = good.clone();
            bytes[24] = bad_len; // the second message's cmsg_len
            let got: Vec<_> = Iter::with_layout(&bytes, Layout::WIN64).collect();
            assert_eq!(got, [ControlMessage::EcnV4(1)], "cmsg_len {bad_len}");
        }
        // A cmsg_len in the upper bytes of the 64-bit SIZE_T.
        let mut bytes = good.clone();
        bytes[7] = 0x80;
        assert_eq!(Iter::with_layout(&bytes, Layout::WIN64).count(), 0);
        // Every truncation ends the walk cleanly.
        for cut in 0..good.len() {
            let n = Iter::with_layout(&good[..cut], Layout::WIN64).count();
            assert_eq!(n, usize::from(cut >= 20) + usize::from(cut >= 44));
        }
        // A typed level/type with the wrong data length stays raw.
        let odd = encode(
            Layout::WIN64,
            &[ControlMessage::Raw {
                level: IPPROTO_IP,
                ty: IP_PKTINFO,
                data: &[1, 2, 3],
            }],
        );
        assert!(matches!(
            Iter::with_layout(&odd, Layout::WIN64).next(),
            Some(ControlMessage::Raw {
                data: [1, 2, 3],
                ..
            })
        ));
    }

    #[test]
    fn full_storage_changes_nothing() {
        let mut storage = Buffer::<{ 24 + 8 }>::new();
        let mut enc = Encoder::with_layout(&mut storage, Layout::WIN64);
        enc.push(&ControlMessage::EcnV4(1)).unwrap();
        let before = enc.as_bytes().to_vec();
        let err = enc.push(&ControlMessage::EcnV4(2)).unwrap_err();
        assert_eq!(
            err,
            Error::Capacity {
                needed: 48,
                available: 32
            }
        );
        assert_eq!(enc.as_bytes(), before);
        assert_eq!(storage[24..], [0; 8]);
    }

    #[test]
    fn unaligned_storage_is_aligned_forward() {
        let mut storage = Buffer::<64>::new();
        let enc = Encoder::with_layout(&mut storage[1..], Layout::WIN64);
        assert_eq!(enc.buf.as_ptr() as usize % 8, 0);
        assert_eq!(enc.buf.len(), 56);
    }
}
