//! The decoder: walks received control data without trusting any length in it.
//!
//! Rules, for any bytes and any `msg_controllen`:
//! - a header is read only when all of it lies in the buffer, with `read_unaligned`;
//! - a `cmsg_len` below the header size ends the walk (the next header cannot be found);
//! - a `cmsg_len` past the end of the buffer is clamped to it (macOS reports the untruncated
//!   length after `MSG_CTRUNC`; Linux shrinks it but may cut the padding);
//! - the next header starts at `CMSG_ALIGN(cmsg_len)`, and a trailing partial header ends the walk.
//!
//! This is the walk of libc's `CMSG_FIRSTHDR`/`CMSG_NXTHDR` (glibc 2.36 and later, and the
//! `libc` crate's rewrite of them; the `cmsg_libc_diff` fuzz target compares them on arbitrary
//! bytes) with two differences:
//! - a message whose `cmsg_len` runs past the end is yielded with its data clamped, and the walk
//!   ends; libc hands it over with that `cmsg_len` unchecked (`CMSG_DATA` up to it overruns the
//!   buffer) and ends there too. glibc before 2.36 drops such a message unless it is the first,
//!   and also one whose padding alone runs past the end;
//! - a header whose `cmsg_len` is below the header size, first or not, ends the walk without
//!   being yielded; libc hands it over and stops after it.
//!
//! The `libc` crate's `CMSG_NXTHDR` (0.2.191) also overflows when `cmsg_len` is within 7 of
//! `usize::MAX`: it aborts where overflow checks are on, and elsewhere hands the same header back,
//! so a walk over such bytes never ends.

use std::ops::Range;

#[cfg(has_ucred)]
use super::creds::Credentials;
#[cfg(has_pidfd)]
use super::rights::Pidfd;
#[cfg(unix)]
use super::rights::Rights;
use super::{Layout, DATA_OFFSET};
#[cfg(unix)]
use super::{ALIGN, HEADER_LEN};

#[cfg(unix)]
const FD_LEN: usize = std::mem::size_of::<libc::c_int>();

/// One control message as bytes, not interpreted: what [`RawIter`] yields, and what
/// `ControlMessages` yields for messages it has no type for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawCmsg<'a> {
    /// `cmsg_level`: `SOL_SOCKET`, `IPPROTO_IP`, ...
    pub level: libc::c_int,
    /// `cmsg_type`: `SCM_RIGHTS`, `IP_TOS`, ...
    pub ty: libc::c_int,
    /// The data, clamped to the buffer.
    pub data: &'a [u8],
    /// The offset of the header in the buffer.
    pub offset: usize,
    /// `cmsg_len` as the header states it (may exceed what the buffer holds).
    pub cmsg_len: usize,
    /// `CMSG_DATA(c) - c` in the layout walked.
    data_offset: usize,
}

impl RawCmsg<'_> {
    /// Whether the header claims more data than the buffer holds (a truncated message).
    pub fn is_truncated(&self) -> bool {
        self.cmsg_len > self.data_offset + self.data.len()
    }
}

/// A header found at some offset, with ranges relative to the buffer walked.
#[derive(Debug, Clone)]
struct Found {
    level: libc::c_int,
    ty: libc::c_int,
    cmsg_len: usize,
    data: Range<usize>,
    /// Offset of the next header; may lie past the end.
    next: usize,
}

/// How a walk reads headers: this target's `struct cmsghdr` ([`Native`]), or any [`Layout`]
/// (little- or big-endian as this machine is), for other systems' bytes. Generic so that the
/// native walk is compiled with its layout as constants.
pub(super) trait HeaderFormat: Copy {
    /// Whether this is [`Native`] (so a layout equal to the native one still reads through the
    /// generic path).
    const NATIVE: bool;
    fn layout(self) -> Layout;
    /// `(cmsg_len, cmsg_level, cmsg_type)` of the header at the start of `rest`, which holds
    /// at least `layout().header_len()` bytes; `None` if `cmsg_len` does not fit `usize`.
    fn read(self, rest: &[u8]) -> Option<(usize, libc::c_int, libc::c_int)>;
    /// Writes a header into `dst`, exactly `layout().header_len()` bytes; `Err` if `cmsg_len`
    /// does not fit the header's field.
    fn write(
        self,
        dst: &mut [u8],
        cmsg_len: usize,
        level: libc::c_int,
        ty: libc::c_int,
    ) -> Result<(), ()>;
}

/// This target's `struct cmsghdr`, read and written as the C type (on Windows, whose
/// `WSACMSGHDR` is a `SIZE_T` and two `INT`s without padding, as the bytes of its [`Layout`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Native;

impl HeaderFormat for Native {
    const NATIVE: bool = true;

    #[inline(always)]
    fn layout(self) -> Layout {
        Layout::NATIVE
    }

    #[cfg(not(unix))]
    #[inline(always)]
    fn read(self, rest: &[u8]) -> Option<(usize, libc::c_int, libc::c_int)> {
        Layout::NATIVE.read(rest)
    }

    #[cfg(not(unix))]
    #[inline(always)]
    fn write(
        self,
        dst: &mut [u8],
        cmsg_len: usize,
        level: libc::c_int,
        ty: libc::c_int,
    ) -> Result<(), ()> {
        Layout::NATIVE.write(dst, cmsg_len, level, ty)
    }

    #[cfg(unix)]
    #[inline(always)]
    fn read(self, rest: &[u8]) -> Option<(usize, libc::c_int, libc::c_int)> {
        assert!(rest.len() >= HEADER_LEN);
        // SAFETY: rest holds at least size_of::<cmsghdr>() initialized bytes (asserted);
        // read_unaligned copies them out without alignment requirement; cmsghdr is plain
        // integers, valid for any bit pattern.
        let hdr = unsafe { std::ptr::read_unaligned(rest.as_ptr().cast::<libc::cmsghdr>()) };
        #[allow(clippy::useless_conversion)]
        let cmsg_len = usize::try_from(hdr.cmsg_len).ok()?;
        Some((cmsg_len, hdr.cmsg_level, hdr.cmsg_type))
    }

    #[cfg(unix)]
    #[inline(always)]
    fn write(
        self,
        dst: &mut [u8],
        cmsg_len: usize,
        level: libc::c_int,
        ty: libc::c_int,
    ) -> Result<(), ()> {
        super::encode::write_header(dst, cmsg_len, level, ty)
    }
}

/// Any layout: `cmsg_len` fills the header less its two 4-byte ints (8 bytes for
/// [`Layout::LINUX_64`]'s `size_t`, 4 for the `socklen_t` of the others), then `cmsg_level`
/// and `cmsg_type`, in this machine's byte order.
impl HeaderFormat for Layout {
    const NATIVE: bool = false;

    #[inline]
    fn layout(self) -> Layout {
        self
    }

    #[inline]
    fn read(self, rest: &[u8]) -> Option<(usize, libc::c_int, libc::c_int)> {
        let h = self.header_len();
        let int = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&rest[at..at + 4]);
            libc::c_int::from_ne_bytes(b)
        };
        let len = match h.checked_sub(8)? {
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&rest[..8]);
                usize::try_from(u64::from_ne_bytes(b)).ok()?
            }
            4 => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&rest[..4]);
                usize::try_from(u32::from_ne_bytes(b)).ok()?
            }
            _ => return None,
        };
        Some((len, int(h - 8), int(h - 4)))
    }

    #[inline]
    fn write(
        self,
        dst: &mut [u8],
        cmsg_len: usize,
        level: libc::c_int,
        ty: libc::c_int,
    ) -> Result<(), ()> {
        let h = self.header_len();
        match h.checked_sub(8) {
            Some(8) => dst[..8].copy_from_slice(&(cmsg_len as u64).to_ne_bytes()),
            Some(4) => {
                let len = u32::try_from(cmsg_len).map_err(|_| ())?;
                dst[..4].copy_from_slice(&len.to_ne_bytes());
            }
            _ => return Err(()),
        }
        dst[h - 8..h - 4].copy_from_slice(&level.to_ne_bytes());
        dst[h - 4..h].copy_from_slice(&ty.to_ne_bytes());
        Ok(())
    }
}

/// Reads the header at `off` in `buf`, if a whole valid one lies there.
#[inline]
fn find(buf: &[u8], off: usize) -> Option<Found> {
    find_in(Native, buf, off)
}

/// [`find`] for any header format.
#[inline(always)]
fn find_in<H: HeaderFormat>(h: H, buf: &[u8], off: usize) -> Option<Found> {
    let layout = h.layout();
    let rest = buf.get(off..)?;
    if rest.len() < layout.header_len() {
        return None;
    }
    let (cmsg_len, level, ty) = h.read(rest)?;
    if cmsg_len < layout.header_len() {
        return None;
    }
    let end = cmsg_len.min(rest.len());
    let start = layout.data_offset().min(end);
    let next = layout
        .checked_align(cmsg_len)
        .and_then(|a| off.checked_add(a))
        .unwrap_or(usize::MAX);
    Some(Found {
        level,
        ty,
        cmsg_len,
        data: off + start..off + end,
        next,
    })
}

/// A non-owning walk over control data: yields every message as [`RawCmsg`].
///
/// It never closes, duplicates or otherwise touches a descriptor whose number it sees, so it
/// may be run over any bytes: for tools, tests and fuzzing. It never panics and never reads
/// outside `buf`.
///
/// ```
/// use ancillary::cmsg::{CmsgBuffer, RawIter};
/// let mut st = CmsgBuffer::<64>::new();
/// let mut enc = st.encoder();
/// enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[0x02])?;
/// let m = RawIter::new(enc.as_bytes()).next().unwrap();
/// assert_eq!((m.level, m.ty, m.data), (libc::IPPROTO_IP, libc::IP_TOS, &[0x02][..]));
/// # Ok::<(), ancillary::Error>(())
/// ```
#[derive(Debug, Clone)]
#[doc(alias = "CMSG_FIRSTHDR")]
#[doc(alias = "CMSG_NXTHDR")]
#[doc(alias = "CMSG_DATA")]
pub struct RawIter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> RawIter<'a> {
    /// Walks `buf`, which holds exactly the control data (`msg_controllen` bytes).
    pub fn new(buf: &'a [u8]) -> Self {
        RawIter { buf, off: 0 }
    }

    /// Walks the first `controllen` bytes of `buf` (all of it if `controllen` is larger): for a
    /// `msg_controllen` that nothing has checked yet.
    pub fn with_controllen(buf: &'a [u8], controllen: usize) -> Self {
        RawIter::new(&buf[..controllen.min(buf.len())])
    }
}

impl<'a> Iterator for RawIter<'a> {
    type Item = RawCmsg<'a>;

    #[inline]
    fn next(&mut self) -> Option<RawCmsg<'a>> {
        let f = find(self.buf, self.off)?;
        Some(step(self.buf, &mut self.off, f, DATA_OFFSET))
    }
}

impl std::iter::FusedIterator for RawIter<'_> {}

/// [`RawIter`] over another system's control data: the walk of its `CMSG_FIRSTHDR` and
/// `CMSG_NXTHDR`, with its header size and alignment ([`Layout`]), under the same rules.
///
/// A tool for bytes from other systems (captures, tests, fuzzing): it reads `cmsg_len` as that
/// system's field (8 bytes for [`Layout::LINUX_64`], 4 for the others) in this machine's byte
/// order. Levels and types are that system's numbers (`SOL_SOCKET` is `0xffff` on the BSDs and
/// macOS), and [`RawCmsg::is_truncated`] is measured with this layout.
///
/// ```
/// use ancillary::cmsg::{ForeignIter, Layout};
/// // macOS: one SCM_RIGHTS message carrying fd 7, data at offset 12.
/// let bytes = [16, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0];
/// let m = ForeignIter::new(&bytes, Layout::APPLE).next().unwrap();
/// assert_eq!((m.level, m.ty, m.data), (0xffff, 1, &7i32.to_ne_bytes()[..]));
/// ```
#[derive(Debug, Clone)]
#[doc(alias = "CMSG_FIRSTHDR")]
#[doc(alias = "CMSG_NXTHDR")]
pub struct ForeignIter<'a> {
    buf: &'a [u8],
    off: usize,
    layout: Layout,
}

impl<'a> ForeignIter<'a> {
    /// Walks `buf`, which holds exactly the control data, as `layout` lays it out.
    pub fn new(buf: &'a [u8], layout: Layout) -> Self {
        ForeignIter {
            buf,
            off: 0,
            layout,
        }
    }
}

impl<'a> Iterator for ForeignIter<'a> {
    type Item = RawCmsg<'a>;

    fn next(&mut self) -> Option<RawCmsg<'a>> {
        let f = find_in(self.layout, self.buf, self.off)?;
        Some(step(self.buf, &mut self.off, f, self.layout.data_offset()))
    }
}

impl std::iter::FusedIterator for ForeignIter<'_> {}

/// The message `f` found at `*off` in `buf`, whose data starts `data_offset` bytes into it;
/// moves `*off` to the next message.
#[inline(always)]
fn step<'a>(buf: &'a [u8], off: &mut usize, f: Found, data_offset: usize) -> RawCmsg<'a> {
    let item = RawCmsg {
        level: f.level,
        ty: f.ty,
        data_offset,
        data: &buf[f.data],
        offset: *off,
        cmsg_len: f.cmsg_len,
    };
    *off = f.next;
    item
}

#[cfg(unix)]
/// A received control message, typed where the crate knows the type.
#[non_exhaustive]
#[derive(Debug)]
pub enum ControlMessage<'a> {
    /// `SCM_RIGHTS`: received descriptors, handed out owned as the [`Rights`] iterator yields
    /// them; those never taken are closed by the received message when it drops.
    #[doc(alias = "SCM_RIGHTS")]
    Rights(Rights<'a>),
    /// `SCM_CREDENTIALS`: the sender's credentials.
    #[doc(alias = "SCM_CREDENTIALS")]
    #[cfg(has_ucred)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    Credentials(Credentials),
    /// `SCM_PIDFD` (Linux 6.5+, with `SO_PASSPIDFD` on the receiving socket): the pidfd of the
    /// process whose pid the credentials carry (see [`Pidfd`] for what that proves), taken
    /// with [`Pidfd::take`]; closed by the received message when it drops if never taken.
    #[doc(alias = "SCM_PIDFD")]
    #[cfg(has_pidfd)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    Pidfd(Pidfd<'a>),
    /// `SCM_CREDS` (FreeBSD): the sender's credentials as the kernel wrote them, a `struct
    /// cmsgcred` or, with `LOCAL_CREDS` on the receiving socket, a `struct sockcred`: the
    /// receiver picks (see [`ScmCreds`](super::ScmCreds)).
    #[doc(alias = "SCM_CREDS")]
    #[cfg(freebsd)]
    #[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
    ScmCreds(super::ScmCreds<'a>),
    /// The sender's credentials as the kernel wrote them: FreeBSD's `SCM_CREDS2` (`struct
    /// sockcred2`, with `LOCAL_CREDS_PERSISTENT` on the receiving socket) and NetBSD's
    /// `SCM_CREDS` (`struct sockcred`, with `LOCAL_CREDS`).
    #[doc(alias = "SCM_CREDS2")]
    #[doc(alias = "SCM_CREDS")]
    #[cfg(has_scm_creds)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_os = "netbsd"))))]
    SenderCredentials(super::SenderCredentials<'a>),
    /// Any other message (or a known one too short for its type), as bytes.
    Raw(RawCmsg<'a>),
    /// `UDP_GRO`: the datagram is several coalesced ones of this size, the last possibly
    /// shorter (split it with [`split_gro`](crate::batch::split_gro)).
    #[doc(alias = "UDP_GRO")]
    #[cfg(has_gso)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    UdpGro(u16),
    /// `IP_PKTINFO`: the destination address and incoming interface of an IPv4 datagram
    /// (on NetBSD its own 8-byte `in_pktinfo`, with `IP_RECVPKTINFO` on).
    #[doc(alias = "IP_PKTINFO")]
    #[doc(alias = "IP_RECVPKTINFO")]
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
    IpPktInfo(super::Ipv4PktInfo),
    /// `IP_RECVDSTADDR` (FreeBSD, with the socket option of that name on): the destination
    /// address of an IPv4 datagram (a `struct in_addr`).
    #[doc(alias = "IP_RECVDSTADDR")]
    #[cfg(has_ip_recvdstaddr)]
    #[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
    IpRecvDstAddr(std::net::Ipv4Addr),
    /// `IPV6_PKTINFO`: the destination address and incoming interface of an IPv6 datagram.
    #[doc(alias = "IPV6_PKTINFO")]
    #[doc(alias = "IPV6_RECVPKTINFO")]
    Ipv6PktInfo(super::Ipv6PktInfo),
    /// `IP_TOS`: the type-of-service byte (DSCP and ECN) of an IPv4 datagram.
    #[doc(alias = "IP_TOS")]
    #[doc(alias = "IP_RECVTOS")]
    IpTos(u8),
    /// `IPV6_TCLASS`: the traffic class (DSCP and ECN) of an IPv6 datagram.
    #[doc(alias = "IPV6_TCLASS")]
    #[doc(alias = "IPV6_RECVTCLASS")]
    Ipv6TrafficClass(u8),
    /// `IP_TTL`: the time-to-live of an IPv4 datagram.
    #[doc(alias = "IP_TTL")]
    #[doc(alias = "IP_RECVTTL")]
    IpTtl(u8),
    /// `IPV6_HOPLIMIT`: the hop limit of an IPv6 datagram.
    #[doc(alias = "IPV6_HOPLIMIT")]
    #[doc(alias = "IPV6_RECVHOPLIMIT")]
    #[cfg(has_ipv6_hoplimit)]
    #[cfg_attr(docsrs, doc(cfg(not(target_os = "netbsd"))))]
    Ipv6HopLimit(u8),
    /// `SCM_TIMESTAMPNS`: when the datagram arrived.
    #[doc(alias = "SO_TIMESTAMPNS")]
    #[doc(alias = "SCM_TIMESTAMPNS")]
    #[cfg(has_timestampns)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    TimestampNs(super::Timestamp),
    /// `SO_RXQ_OVFL`: datagrams the socket dropped for lack of receive buffer, since it was
    /// created.
    #[doc(alias = "SO_RXQ_OVFL")]
    #[cfg(has_rxq_ovfl)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    RxqOverflow(u32),
}

#[cfg(unix)]
/// The owning walk over control data that `recvmsg(2)` received: descriptors come out as
/// [`OwnedFd`](std::os::fd::OwnedFd) when the caller takes them ([`Rights`] is an iterator of
/// them, `Pidfd::take` hands one out on Linux).
///
/// Taking a descriptor marks its slot in the buffer as taken (-1), so a descriptor is handed out
/// or closed exactly once, however many walks run over the same buffer. Walking past a message,
/// or dropping it, takes nothing: one kind of descriptor is never closed because another was
/// asked for. What is never taken stays in the buffer until its owner closes it:
/// [`Received`](crate::Received) and [`RecvBatch`](crate::RecvBatch) do so when they drop, and
/// code that calls `recvmsg` itself calls [`close_untaken`](super::close_untaken).
#[derive(Debug)]
#[doc(alias = "CMSG_FIRSTHDR")]
#[doc(alias = "CMSG_NXTHDR")]
#[doc(alias = "cmsghdr")]
pub struct ControlMessages<'a> {
    rest: &'a mut [u8],
    off: usize,
}

#[cfg(unix)]
impl<'a> ControlMessages<'a> {
    /// The owning walk over `buf`, the `msg_controllen` bytes of control data a `recvmsg` call
    /// returned.
    ///
    /// # Safety
    /// Every non-negative number in an `SCM_RIGHTS` or `SCM_PIDFD` message of `buf` must be a
    /// descriptor that the kernel installed for this process and that nothing else owns: the
    /// walk hands them out as `OwnedFd`s. Bytes written by `recvmsg` qualify, also after
    /// earlier owning walks (they mark what they took as -1); arbitrary bytes do not (use
    /// [`RawIter`]).
    pub unsafe fn from_kernel(buf: &'a mut [u8]) -> Self {
        ControlMessages { rest: buf, off: 0 }
    }
}

#[cfg(unix)]
/// A message as the descriptor walks see it: the two kinds that carry descriptors, or another.
pub(crate) enum Carrier<'a> {
    Rights(Rights<'a>),
    #[cfg(has_pidfd)]
    Pidfd(Pidfd<'a>),
    Other {
        level: libc::c_int,
        ty: libc::c_int,
        data: &'a mut [u8],
        offset: usize,
        cmsg_len: usize,
    },
}

#[cfg(unix)]
impl<'a> ControlMessages<'a> {
    /// The next message, typed only as far as descriptors go: the one walk under
    /// [`Iterator::next`], [`Fds`](crate::recv::Fds) and [`close_untaken`].
    #[inline]
    pub(crate) fn next_carrier(&mut self) -> Option<Carrier<'a>> {
        // `find`'s rules, at the start of what is left, with each bound derived from the one
        // before it so that the slicing below needs no further check: the message ends at the
        // next header (`CMSG_ALIGN(cmsg_len)`, past everything when that overflows) or the end
        // of the buffer, its data at `cmsg_len` or that.
        let len = self.rest.len();
        if len < HEADER_LEN {
            return None;
        }
        let (cmsg_len, level, ty) = Native.read(self.rest)?;
        if cmsg_len < HEADER_LEN {
            return None;
        }
        // `CMSG_ALIGN` saturating: a `cmsg_len` within `ALIGN - 1` of the top rounds down to
        // a multiple of `ALIGN` that is still larger than any buffer, so the end is `len`.
        let split = (cmsg_len.saturating_add(ALIGN - 1) & !(ALIGN - 1)).min(len);
        let end = cmsg_len.min(split);
        let rest = std::mem::take(&mut self.rest);
        let (this, after) = rest.split_at_mut(split);
        self.rest = after;
        let offset = self.off;
        self.off += split;
        let data = &mut this[DATA_OFFSET.min(end)..end];
        Some(match (level, ty) {
            (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                let whole = data.len() / FD_LEN * FD_LEN;
                // SAFETY: from_kernel's contract: the numbers in this SCM_RIGHTS message are
                // descriptors the kernel gave us and nothing else owns; taken ones are -1.
                Carrier::Rights(unsafe { Rights::from_kernel(&mut data[..whole]) })
            }
            // Linux only: (SOL_SOCKET, 4) is a timestamp elsewhere, and must never be taken
            // for a descriptor.
            #[cfg(has_pidfd)]
            (libc::SOL_SOCKET, super::SCM_PIDFD) if data.len() >= FD_LEN => {
                // SAFETY: from_kernel's contract covers SCM_PIDFD: the number in its first int,
                // if non-negative, is a pidfd the kernel installed for us that nothing else
                // owns; Pidfd marks it taken (-1) as it hands it out.
                Carrier::Pidfd(unsafe { Pidfd::from_kernel(&mut data[..FD_LEN]) })
            }
            (level, ty) => Carrier::Other {
                level,
                ty,
                data,
                offset,
                cmsg_len,
            },
        })
    }
}

#[cfg(unix)]
impl<'a> Iterator for ControlMessages<'a> {
    type Item = ControlMessage<'a>;

    fn next(&mut self) -> Option<ControlMessage<'a>> {
        Some(match self.next_carrier()? {
            Carrier::Rights(r) => ControlMessage::Rights(r),
            #[cfg(has_pidfd)]
            Carrier::Pidfd(p) => ControlMessage::Pidfd(p),
            #[cfg(has_ucred)]
            Carrier::Other {
                level: libc::SOL_SOCKET,
                ty: libc::SCM_CREDENTIALS,
                data,
                ..
            } if Credentials::from_bytes(data).is_some() => {
                ControlMessage::Credentials(Credentials::from_bytes(data).expect("checked"))
            }
            Carrier::Other {
                level,
                ty,
                data,
                offset,
                cmsg_len,
            } => match decode_typed(level, ty, data) {
                Some(typed) => typed,
                None => ControlMessage::Raw(RawCmsg {
                    level,
                    ty,
                    data_offset: DATA_OFFSET,
                    data,
                    offset,
                    cmsg_len,
                }),
            },
        })
    }
}

#[cfg(unix)]
impl std::iter::FusedIterator for ControlMessages<'_> {}

#[cfg(unix)]
/// The typed form of a message that carries no descriptor; `None` for one the crate has no
/// type for (or too short for its type).
#[inline]
fn decode_typed(level: libc::c_int, ty: libc::c_int, data: &[u8]) -> Option<ControlMessage<'_>> {
    #[cfg(has_scm_creds)]
    if let Some(creds) = super::bsdcreds::decode(level, ty, data) {
        return Some(creds);
    }
    super::ip::decode(level, ty, data)
}

#[cfg(unix)]
/// Closes every descriptor still in the `SCM_RIGHTS` and `SCM_PIDFD` messages of `buf`, control
/// data that `recvmsg(2)` received, and marks them taken: what [`Received`](crate::Received)
/// does when it drops, for code that calls `recvmsg` itself.
///
/// # Safety
/// As [`ControlMessages::from_kernel`].
#[inline]
pub unsafe fn close_untaken(buf: &mut [u8]) {
    // Shorter than a header: no message, nothing to walk (most received control data is empty).
    if buf.len() >= HEADER_LEN {
        // SAFETY: forwarded to the caller.
        unsafe { close_every(buf) }
    }
}

#[cfg(unix)]
/// The walk of [`close_untaken`], out of line.
///
/// # Safety
/// As [`ControlMessages::from_kernel`].
unsafe fn close_every(buf: &mut [u8]) {
    // SAFETY: forwarded to the caller.
    let mut walk = unsafe { ControlMessages::from_kernel(buf) };
    while let Some(m) = walk.next_carrier() {
        match m {
            Carrier::Rights(rights) => rights.for_each(drop),
            #[cfg(has_pidfd)]
            Carrier::Pidfd(mut pidfd) => drop(pidfd.take()),
            Carrier::Other { .. } => {}
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::cmsg::{space, CmsgBuffer};

    /// Writes a `cmsghdr` of this target at `off`; a `cmsg_len` wider than the target's field
    /// (a `socklen_t` on musl) is cut to it, as a kernel-written header would be.
    fn header(buf: &mut [u8], off: usize, cmsg_len: usize, level: i32, ty: i32) {
        // SAFETY: cmsghdr is plain integers (and, on musl, padding integers): all zero is valid.
        let mut h: libc::cmsghdr = unsafe { std::mem::zeroed() };
        #[allow(clippy::unnecessary_cast, clippy::cast_possible_truncation)]
        {
            h.cmsg_len = cmsg_len as _;
        }
        h.cmsg_level = level;
        h.cmsg_type = ty;
        let dst = &mut buf[off..off + HEADER_LEN];
        // SAFETY: dst is HEADER_LEN = size_of::<cmsghdr>() writable bytes (the slice index
        // checked it); write_unaligned needs no alignment.
        unsafe { std::ptr::write_unaligned(dst.as_mut_ptr().cast::<libc::cmsghdr>(), h) };
    }

    #[test]
    fn walks_encoded_messages() {
        let mut st = CmsgBuffer::<256>::new();
        let mut enc = st.encoder();
        enc.push_raw(1, 2, b"abc").unwrap();
        enc.push_raw(3, 4, b"").unwrap();
        enc.push_raw(5, 6, &[9; 17]).unwrap();
        let v: Vec<_> = RawIter::new(enc.as_bytes()).collect();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].level, v[0].ty, v[0].data), (1, 2, &b"abc"[..]));
        assert_eq!((v[1].offset, v[1].data.len()), (space(3), 0));
        assert_eq!(
            (v[2].offset, v[2].data),
            (space(3) + space(0), &[9; 17][..])
        );
        assert!(v.iter().all(|m| !m.is_truncated()));
    }

    #[test]
    fn clamps_lengths_and_stops_on_garbage() {
        let mut b = [0u8; 64];
        // A header claiming 1000 bytes: yielded clamped, then the walk ends.
        header(&mut b, 0, 1000, 1, 1);
        let v: Vec<_> = RawIter::new(&b).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].data.len(), 64 - DATA_OFFSET);
        assert!(v[0].is_truncated());
        // cmsg_len below the header size ends the walk at once.
        header(&mut b, 0, HEADER_LEN - 1, 1, 1);
        assert_eq!(RawIter::new(&b).count(), 0);
        // The largest cmsg_len the header holds does not overflow.
        header(&mut b, 0, usize::MAX, 1, 1);
        assert_eq!(RawIter::new(&b).count(), 1);
        // A trailing partial header is ignored.
        header(&mut b, 0, HEADER_LEN, 1, 1);
        assert_eq!(RawIter::new(&b[..HEADER_LEN + HEADER_LEN - 1]).count(), 1);
        assert_eq!(RawIter::with_controllen(&b, 10).count(), 0);
        assert_eq!(RawIter::with_controllen(&b, usize::MAX).count(), 1);
        assert_eq!(RawIter::new(&[]).count(), 0);
    }

    #[test]
    fn owning_walk_ends_where_raw_walk_ends_for_any_cmsg_len() {
        // The largest lengths the header holds, and the smallest ones around an alignment.
        let lens = [
            usize::MAX,
            usize::MAX - 1,
            usize::MAX - ALIGN + 1,
            usize::MAX - ALIGN,
            HEADER_LEN,
            HEADER_LEN + 1,
            40,
            64,
            65,
        ];
        for len in lens {
            let mut b = [0u8; 64];
            // A level no decoder knows: the walk yields the message raw.
            header(&mut b, 0, len, 0x7fff, 1);
            header(&mut b, 40, HEADER_LEN, 0x7fff, 2);
            let raw: Vec<_> = RawIter::new(&b).map(|m| (m.offset, m.ty, m.data)).collect();
            let mut owned = b;
            // SAFETY: no message is SCM_RIGHTS or SCM_PIDFD: nothing to hand out or close.
            let walked: Vec<_> = unsafe { ControlMessages::from_kernel(&mut owned) }
                .map(|m| match m {
                    ControlMessage::Raw(m) => (m.offset, m.ty, m.data.to_vec()),
                    other => panic!("{other:?}"),
                })
                .collect();
            let raw: Vec<_> = raw
                .into_iter()
                .map(|(o, t, d)| (o, t, d.to_vec()))
                .collect();
            assert_eq!(walked, raw, "cmsg_len {len}");
        }
    }

    #[test]
    fn odd_rights_bytes_count_whole_fds_only_and_negative_numbers_are_skipped() {
        let mut b = [0u8; 64];
        header(
            &mut b,
            0,
            DATA_OFFSET + 4 + 3,
            libc::SOL_SOCKET,
            libc::SCM_RIGHTS,
        );
        b[DATA_OFFSET..DATA_OFFSET + 4].copy_from_slice(&(-1i32).to_ne_bytes());
        // SAFETY: the only fd slot holds -1, which the walk neither hands out nor closes.
        let mut it = unsafe { ControlMessages::from_kernel(&mut b) };
        match it.next() {
            Some(ControlMessage::Rights(mut r)) => {
                assert_eq!(r.remaining(), 0);
                assert!(r.next().is_none());
            }
            other => panic!("{other:?}"),
        };
    }
}
