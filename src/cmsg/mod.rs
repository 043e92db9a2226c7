//! Control messages (ancillary data), pure: nothing in this module makes a system call.
//!
//! - Arithmetic: [`space`], [`len`], [`align`] are `const fn`s equal to libc's `CMSG_SPACE`,
//!   `CMSG_LEN` and `CMSG_ALIGN`; [`Layout`] holds the same arithmetic for other systems.
//! - Storage: [`CmsgBuffer`] is inline storage aligned for `cmsghdr` by construction;
//!   [`aligned_mut`] aligns a caller's byte slice forward.
//! - Encoding: [`Encoder`] appends `SCM_RIGHTS`, `SCM_CREDENTIALS`, the UDP and IP messages
//!   (`UDP_SEGMENT`, `IP_PKTINFO`, `IP_TOS`, ...) and raw messages.
//! - Decoding: [`RawIter`] walks any bytes without trusting a length and without touching a
//!   descriptor; [`ControlMessages`] is the owning view of what `recvmsg` received.
//!
//! Size storage for a known set of messages with `const` arithmetic:
//!
//! ```
//! use ancillary::cmsg::{space_for_fds, CmsgBuffer, CREDENTIALS_SPACE};
//! // Room for 8 fds and the sender's credentials, on the stack.
//! let buf = CmsgBuffer::<{ space_for_fds(8) + CREDENTIALS_SPACE }>::new();
//! let (on_64_bit, on_32_bit) = (48 + 32, 44 + 24);
//! let want = if cfg!(target_pointer_width = "64") { on_64_bit } else { on_32_bit };
//! assert_eq!(buf.len(), want);
//! ```

use std::mem::{align_of, size_of};
use std::ops::{Deref, DerefMut};

mod creds;
mod decode;
mod encode;
mod ip;
mod rights;

pub use creds::Credentials;
pub use decode::close_untaken;
pub use decode::{ControlMessage, ControlMessages, RawCmsg, RawIter};
pub use encode::Encoder;
pub use ip::{
    Ipv4PktInfo, Ipv6PktInfo, Timestamp, INT_SPACE, IPV6_PKTINFO_SPACE, IP_PKTINFO_SPACE,
    TXTIME_SPACE, UDP_SEGMENT_SPACE,
};
pub use rights::{Pidfd, Rights};

/// The alignment unit of `CMSG_ALIGN` on this target: `sizeof(size_t)` on Linux (glibc and musl).
pub const ALIGN: usize = size_of::<usize>();

/// `sizeof(struct cmsghdr)` on this target.
pub const HEADER_LEN: usize = size_of::<libc::cmsghdr>();

/// `CMSG_ALIGN(n)`: `n` rounded up to the control message alignment.
///
/// Panics (at compile time in `const` use) if the result overflows `usize`; see
/// [`Layout::checked_align`] for a checked form.
#[doc(alias = "CMSG_ALIGN")]
#[inline]
pub const fn align(n: usize) -> usize {
    Layout::NATIVE.align(n)
}

/// `CMSG_SPACE(n)`: the bytes a control message with `n` bytes of data occupies, padding
/// included. Storage for several messages is the sum of their spaces.
#[doc(alias = "CMSG_SPACE")]
#[inline]
pub const fn space(n: usize) -> usize {
    Layout::NATIVE.space(n)
}

/// `CMSG_LEN(n)`: the value of `cmsg_len` for a message with `n` bytes of data.
#[doc(alias = "CMSG_LEN")]
#[inline]
pub const fn len(n: usize) -> usize {
    Layout::NATIVE.len(n)
}

/// The offset of the data in a control message: `CMSG_DATA(c) - c`.
#[doc(alias = "CMSG_DATA")]
pub const DATA_OFFSET: usize = align(HEADER_LEN);

/// The space of an `SCM_RIGHTS` message carrying `n` descriptors.
///
/// Panics (at compile time in `const` use) if the result overflows `usize`.
#[inline]
pub const fn space_for_fds(n: usize) -> usize {
    match n.checked_mul(size_of::<libc::c_int>()) {
        Some(bytes) => space(bytes),
        None => panic!("space_for_fds overflows usize"),
    }
}

/// The space of an `SCM_CREDENTIALS` message (`struct ucred`).
pub const CREDENTIALS_SPACE: usize = space(size_of::<libc::ucred>());

/// `SCM_PIDFD` (Linux 6.5+): the type of the control message carrying a pidfd of the sender,
/// received with the socket option `SO_PASSPIDFD` on. Not in `libc` yet; the value is the same on
/// every Linux architecture (`include/linux/socket.h`).
pub const SCM_PIDFD: libc::c_int = 0x04;

/// The space of an `SCM_PIDFD` message.
pub const PIDFD_SPACE: usize = space(size_of::<libc::c_int>());

/// The space of one `SCM_RIGHTS` message with the most fds the kernel takes ([`MAX_FDS`]).
///
/// [`MAX_FDS`]: crate::limits::MAX_FDS
pub const MAX_RIGHTS_SPACE: usize = space_for_fds(crate::limits::MAX_FDS);

/// The control message layout of a system: header size and alignment.
///
/// The crate encodes and decodes with [`Layout::NATIVE`]; the others document (and test) how the
/// same arithmetic comes out elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `sizeof(struct cmsghdr)`.
    pub header_len: usize,
    /// The unit `CMSG_ALIGN` rounds to.
    pub align: usize,
}

impl Layout {
    /// This target.
    pub const NATIVE: Layout = Layout {
        header_len: HEADER_LEN,
        align: ALIGN,
    };
    /// Linux on 64-bit targets (glibc and musl): `size_t cmsg_len`, 8-byte alignment.
    pub const LINUX_64: Layout = Layout {
        header_len: 16,
        align: 8,
    };
    /// Linux on 32-bit targets.
    pub const LINUX_32: Layout = Layout {
        header_len: 12,
        align: 4,
    };
    /// macOS and iOS: `socklen_t cmsg_len`, 4-byte alignment.
    pub const APPLE: Layout = Layout {
        header_len: 12,
        align: 4,
    };
    /// FreeBSD and OpenBSD on amd64/arm64: a 12-byte header aligned to 8.
    pub const FREEBSD_64: Layout = Layout {
        header_len: 12,
        align: 8,
    };
    /// NetBSD on arm64: a 12-byte header aligned to 16.
    pub const NETBSD_ARM64: Layout = Layout {
        header_len: 12,
        align: 16,
    };

    /// `CMSG_ALIGN(n)` for this layout. Panics if the result overflows `usize`.
    #[inline]
    pub const fn align(&self, n: usize) -> usize {
        match self.checked_align(n) {
            Some(v) => v,
            None => panic!("CMSG_ALIGN overflows usize"),
        }
    }

    /// `CMSG_ALIGN(n)`, `None` on overflow.
    #[inline]
    pub const fn checked_align(&self, n: usize) -> Option<usize> {
        match n.checked_add(self.align - 1) {
            Some(v) => Some(v & !(self.align - 1)),
            None => None,
        }
    }

    /// `CMSG_SPACE(n)` for this layout. Panics if the result overflows `usize`.
    #[inline]
    pub const fn space(&self, n: usize) -> usize {
        match self.checked_space(n) {
            Some(v) => v,
            None => panic!("CMSG_SPACE overflows usize"),
        }
    }

    /// `CMSG_SPACE(n)`, `None` on overflow.
    #[inline]
    pub const fn checked_space(&self, n: usize) -> Option<usize> {
        match self.checked_align(n) {
            Some(a) => a.checked_add(self.align(self.header_len)),
            None => None,
        }
    }

    /// `CMSG_LEN(n)` for this layout. Panics if the result overflows `usize`.
    #[inline]
    pub const fn len(&self, n: usize) -> usize {
        match self.align(self.header_len).checked_add(n) {
            Some(v) => v,
            None => panic!("CMSG_LEN overflows usize"),
        }
    }
}

/// Inline control storage of `N` bytes, aligned for `cmsghdr` by construction.
///
/// Zeroed when created, so every byte is initialized; use it for sending (through an
/// [`Encoder`]) and for receiving (as the control buffer of [`RecvMsg`](crate::RecvMsg)).
/// It dereferences to `[u8]`.
#[doc(alias = "msg_control")]
#[doc(alias = "cmsghdr")]
#[repr(C)]
#[derive(Clone)]
pub struct CmsgBuffer<const N: usize> {
    _align: [libc::cmsghdr; 0],
    bytes: [u8; N],
}

impl<const N: usize> CmsgBuffer<N> {
    /// Zeroed storage.
    #[inline]
    pub const fn new() -> Self {
        CmsgBuffer {
            _align: [],
            bytes: [0; N],
        }
    }

    /// An encoder that writes into this storage from its start.
    #[inline]
    pub fn encoder<'fd>(&mut self) -> Encoder<'_, 'fd> {
        Encoder::new(&mut self.bytes)
    }
}

impl<const N: usize> Default for CmsgBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for CmsgBuffer<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmsgBuffer").field("len", &N).finish()
    }
}

impl<const N: usize> Deref for CmsgBuffer<N> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl<const N: usize> DerefMut for CmsgBuffer<N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

/// The largest part of `buf` that starts aligned for `cmsghdr`.
///
/// Empty when `buf` holds no aligned address; that empty slice then lies at the end of `buf`,
/// which need not be aligned (nothing can be read or written through it).
#[inline]
pub fn aligned_mut(buf: &mut [u8]) -> &mut [u8] {
    let skip = buf.as_ptr().align_offset(align_of::<libc::cmsghdr>());
    let skip = skip.min(buf.len());
    &mut buf[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_equals_libc_for_every_length() {
        for n in 0..=65536usize {
            // SAFETY: CMSG_SPACE and CMSG_LEN are pure arithmetic.
            let (s, l) = unsafe { (libc::CMSG_SPACE(n as u32), libc::CMSG_LEN(n as u32)) };
            assert_eq!(space(n), s as usize, "CMSG_SPACE({n})");
            assert_eq!(len(n), l as usize, "CMSG_LEN({n})");
            assert_eq!(Layout::NATIVE.checked_space(n), Some(space(n)));
        }
        assert_eq!(Layout::NATIVE.checked_space(usize::MAX), None);
        assert_eq!(
            Layout::NATIVE.checked_space(usize::MAX - (DATA_OFFSET - 1)),
            None
        );
        assert_eq!(
            Layout::NATIVE.checked_space(usize::MAX - DATA_OFFSET - (ALIGN - 1)),
            Some(usize::MAX - (ALIGN - 1))
        );
        assert!(std::panic::catch_unwind(|| space(usize::MAX - 3)).is_err());
        assert!(std::panic::catch_unwind(|| space_for_fds(usize::MAX / 2)).is_err());
        assert!(std::panic::catch_unwind(|| len(usize::MAX)).is_err());
    }

    #[test]
    fn data_offset_equals_cmsg_data() {
        let mut buf = CmsgBuffer::<64>::new();
        let p = buf.as_mut_ptr().cast::<libc::cmsghdr>();
        // SAFETY: p points at 64 aligned bytes; CMSG_DATA only computes an address.
        let d = unsafe { libc::CMSG_DATA(p) };
        assert_eq!(d as usize - p as usize, DATA_OFFSET);
    }

    #[test]
    fn other_layouts() {
        // FreeBSD amd64: _ALIGN(12) = 16, CMSG_SPACE(4) = 24, CMSG_LEN(4) = 20.
        assert_eq!(Layout::FREEBSD_64.space(4), 24);
        assert_eq!(Layout::FREEBSD_64.len(4), 20);
        // macOS: header 12, CMSG_SPACE(4) = 16, CMSG_LEN(4) = 16.
        assert_eq!(Layout::APPLE.space(4), 16);
        assert_eq!(Layout::APPLE.len(4), 16);
        assert_eq!(Layout::APPLE.space(5), 20);
        // NetBSD arm64: header rounded to 16, CMSG_SPACE(4) = 32.
        assert_eq!(Layout::NETBSD_ARM64.space(4), 32);
        assert_eq!(Layout::NETBSD_ARM64.len(4), 20);
        assert_eq!(Layout::LINUX_32.space(12), 24);
        assert_eq!(Layout::LINUX_64.space(12), 32);
    }

    #[test]
    fn storage_is_aligned_and_sized() {
        assert_eq!(align_of::<CmsgBuffer<3>>(), align_of::<libc::cmsghdr>());
        let b = CmsgBuffer::<{ space_for_fds(8) + CREDENTIALS_SPACE }>::new();
        assert_eq!(b.len(), space(32) + space(12));
        assert_eq!(b.as_ptr() as usize % align_of::<libc::cmsghdr>(), 0);
        let mut raw = [0u8; 40];
        for start in 0..8 {
            let a = aligned_mut(&mut raw[start..]);
            assert_eq!(a.as_ptr() as usize % align_of::<libc::cmsghdr>(), 0);
            assert!(a.len() + 8 >= 40 - start);
        }
        assert!(aligned_mut(&mut []).is_empty());
        // Too short to reach an aligned address: empty, and an encoder over it has no room.
        let a = align_of::<libc::cmsghdr>();
        let mut st = CmsgBuffer::<16>::new();
        for start in 1..a {
            let short = &mut st[start..a];
            let end = short.as_ptr() as usize + short.len();
            let a = aligned_mut(short);
            assert!(a.is_empty());
            assert_eq!(a.as_ptr() as usize, end);
        }
        let mut enc = Encoder::new(&mut st[1..a]);
        assert_eq!(enc.capacity(), 0);
        assert_eq!(
            enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[])
                .unwrap_err(),
            crate::Error::Capacity {
                needed: space(0),
                available: 0
            }
        );
    }
}
