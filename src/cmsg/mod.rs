//! Control messages (ancillary data), pure: nothing in this module makes a system call.
//!
//! - Arithmetic: [`space`], [`len`], [`align`] are `const fn`s equal to libc's `CMSG_SPACE`,
//!   `CMSG_LEN` and `CMSG_ALIGN`; [`Layout`] holds the same arithmetic for other systems.
//! - Storage: [`CmsgBuffer`] is inline storage aligned for `cmsghdr` by construction;
//!   [`aligned_mut`] aligns a caller's byte slice forward.
//! - Encoding: [`Encoder`] appends `SCM_RIGHTS`, `SCM_CREDENTIALS`, the UDP and IP messages
//!   (`UDP_SEGMENT`, `IP_PKTINFO`, `IP_TOS`, ...) and raw messages.
//! - Decoding: [`RawIter`] walks any bytes without trusting a length and without touching a
//!   descriptor; `ControlMessages` is the owning view of what `recvmsg` received (Unix).
//!
//! On Windows the same module works on the `WSACMSGHDR` layout ([`Layout::WINDOWS_64`],
//! [`Layout::WINDOWS_32`]): the arithmetic (`WSA_CMSG_SPACE`, `WSA_CMSG_LEN`,
//! `WSA_CMSG_DATA`), [`CmsgBuffer`], the [`Encoder`] (raw messages, `IP_PKTINFO`,
//! `IPV6_PKTINFO`, and the Windows messages of `ancillary::windows::cmsg`) and the
//! [`RawIter`] walk are the same code. What
//! carries descriptors or credentials (`SCM_RIGHTS`, `SCM_CREDENTIALS`, `SCM_PIDFD`, the owning
//! `ControlMessages` walk) does not exist there: naming it does not compile.
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

use std::mem::align_of;
#[cfg(unix)]
use std::mem::size_of;
use std::ops::{Deref, DerefMut};

#[cfg(has_ucred)]
mod creds;
// Every system's layouts are compiled for the tests, which decode them on any machine.
#[cfg(any(all(test, unix), has_scm_creds))]
mod bsdcreds;
mod decode;
mod ecn;
mod encode;
mod ip;
mod layout;
#[cfg(unix)]
mod rights;

#[cfg(has_scm_creds)]
pub(crate) use bsdcreds::decode as decode_creds;
#[cfg(freebsd)]
pub use bsdcreds::ScmCreds;
#[cfg(has_scm_creds)]
pub use bsdcreds::{Groups, SenderCredentials};
#[cfg(has_ucred)]
pub use creds::Credentials;
#[cfg(unix)]
pub use decode::close_untaken;
#[cfg(unix)]
pub(crate) use decode::Carrier;
#[cfg(unix)]
pub use decode::{ControlMessage, ControlMessages};
pub use decode::{ForeignIter, RawCmsg, RawIter};
pub use ecn::Ecn;
pub use encode::{Encoder, ForeignEncoder};
#[cfg(unix)]
pub use ip::Timestamp;
#[cfg(has_txtime)]
pub use ip::TXTIME_SPACE;
#[cfg(has_gso)]
pub use ip::UDP_SEGMENT_SPACE;
#[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
pub use ip::{Ipv4PktInfo, IP_PKTINFO_SPACE};
pub use ip::{Ipv6PktInfo, INT_SPACE, IPV6_PKTINFO_SPACE};
pub use layout::Layout;
#[cfg(has_pidfd)]
pub use rights::Pidfd;
#[cfg(unix)]
pub use rights::Rights;

/// The typed form of a UDP, IP or socket-level message without descriptors (for the
/// accessors of [`Received`](crate::Received)).
#[cfg(has_recv_pktinfo)]
pub(crate) use ip::decode as decode_typed;

/// The alignment unit of `CMSG_ALIGN` on this target ([`Layout::NATIVE`]): 8 on 64-bit Linux,
/// 4 on 32-bit Linux and on Apple systems, 8 on 64-bit FreeBSD and 64-bit Windows.
pub const ALIGN: usize = Layout::NATIVE.alignment();

/// `sizeof(struct cmsghdr)` on this target (`sizeof(WSACMSGHDR)` on Windows).
#[doc(alias = "cmsghdr")]
#[doc(alias = "WSACMSGHDR")]
pub const HEADER_LEN: usize = Layout::NATIVE.header_len();

/// `CMSG_ALIGN(n)`: `n` rounded up to the control message alignment.
///
/// # Panics
/// If the result overflows `usize` (at compile time in `const` use); [`checked_align`]
/// returns `None` instead.
#[doc(alias = "CMSG_ALIGN")]
#[doc(alias = "WSA_CMSGHDR_ALIGN")]
#[inline]
pub const fn align(n: usize) -> usize {
    Layout::NATIVE.align(n)
}

/// `CMSG_ALIGN(n)`, `None` if the result overflows `usize`.
#[inline]
pub const fn checked_align(n: usize) -> Option<usize> {
    Layout::NATIVE.checked_align(n)
}

/// `CMSG_SPACE(n)`: the bytes a control message with `n` bytes of data occupies, padding
/// included. Storage for several messages is the sum of their spaces.
///
/// # Panics
/// If the result overflows `usize` (at compile time in `const` use, where it sizes arrays);
/// [`checked_space`] returns `None` instead.
#[doc(alias = "CMSG_SPACE")]
#[doc(alias = "WSA_CMSG_SPACE")]
#[inline]
pub const fn space(n: usize) -> usize {
    Layout::NATIVE.space(n)
}

/// `CMSG_SPACE(n)`, `None` if the result overflows `usize`.
#[inline]
pub const fn checked_space(n: usize) -> Option<usize> {
    Layout::NATIVE.checked_space(n)
}

/// `CMSG_LEN(n)`: the value of `cmsg_len` for a message with `n` bytes of data.
///
/// # Panics
/// If the result overflows `usize` (at compile time in `const` use); [`checked_len`]
/// returns `None` instead.
#[doc(alias = "CMSG_LEN")]
#[doc(alias = "WSA_CMSG_LEN")]
#[inline]
pub const fn len(n: usize) -> usize {
    Layout::NATIVE.len(n)
}

/// `CMSG_LEN(n)`, `None` if the result overflows `usize`.
#[inline]
pub const fn checked_len(n: usize) -> Option<usize> {
    Layout::NATIVE.checked_len(n)
}

/// The offset of the data in a control message: `CMSG_DATA(c) - c`.
#[doc(alias = "CMSG_DATA")]
#[doc(alias = "WSA_CMSG_DATA")]
pub const DATA_OFFSET: usize = Layout::NATIVE.data_offset();

/// The space of an `SCM_RIGHTS` message carrying `n` descriptors.
///
/// # Panics
/// If the result overflows `usize` (at compile time in `const` use, where it sizes arrays);
/// [`checked_space_for_fds`] returns `None` instead.
#[cfg(unix)]
#[inline]
pub const fn space_for_fds(n: usize) -> usize {
    match checked_space_for_fds(n) {
        Some(s) => s,
        None => panic!("space_for_fds overflows usize"),
    }
}

/// The space of an `SCM_RIGHTS` message carrying `n` descriptors, `None` if it overflows
/// `usize`.
#[cfg(unix)]
#[inline]
pub const fn checked_space_for_fds(n: usize) -> Option<usize> {
    match n.checked_mul(size_of::<libc::c_int>()) {
        Some(bytes) => checked_space(bytes),
        None => None,
    }
}

/// The space of an `SCM_CREDENTIALS` message (`struct ucred`).
#[cfg(has_ucred)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub const CREDENTIALS_SPACE: usize = space(size_of::<libc::ucred>());

/// The space of the `SCM_CREDS` message a FreeBSD sender attaches (`struct cmsgcred`, which
/// the kernel fills): see [`Encoder::push_creds`].
#[cfg(freebsd)]
#[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
#[doc(alias = "cmsgcred")]
pub const CMSGCRED_SPACE: usize = space(size_of::<libc::cmsgcred>());

/// `SCM_PIDFD` (Linux 6.5+): the type of the control message carrying a pidfd of the sender,
/// received with the socket option `SO_PASSPIDFD` on. Not in `libc` yet; the value is the same on
/// every Linux architecture (`include/linux/socket.h`). Linux only: the same number is another
/// message elsewhere (`SCM_BINTIME` on FreeBSD, `SCM_TIMESTAMP_MONOTONIC` on macOS).
#[cfg(has_pidfd)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub const SCM_PIDFD: libc::c_int = 0x04;

/// The space of an `SCM_PIDFD` message.
#[cfg(has_pidfd)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub const PIDFD_SPACE: usize = space(size_of::<libc::c_int>());

/// The space of one `SCM_RIGHTS` message with the most fds the kernel takes ([`MAX_FDS`]).
///
/// [`MAX_FDS`]: crate::limits::MAX_FDS
#[cfg(unix)]
pub const MAX_RIGHTS_SPACE: usize = space_for_fds(crate::limits::MAX_FDS);

/// The control message header of this target, for its alignment.
#[cfg(unix)]
type Header = libc::cmsghdr;
#[cfg(windows)]
type Header = windows_sys::Win32::Networking::WinSock::CMSGHDR;

/// Inline control storage of `N` bytes, aligned for `cmsghdr` (`WSACMSGHDR` on Windows) by
/// construction.
///
/// Zeroed when created, so every byte is initialized; use it for sending (through an
/// [`Encoder`]) and for receiving (as the control buffer of [`RecvMsg`](crate::RecvMsg)).
/// It dereferences to `[u8]`.
#[doc(alias = "msg_control")]
#[doc(alias = "cmsghdr")]
#[doc(alias = "WSACMSGHDR")]
#[repr(C)]
#[derive(Clone)]
pub struct CmsgBuffer<const N: usize> {
    _align: [Header; 0],
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

/// The largest part of `buf` that starts aligned for `cmsghdr` (`WSACMSGHDR` on Windows).
///
/// Empty when `buf` holds no aligned address; that empty slice then lies at the end of `buf`,
/// which need not be aligned (nothing can be read or written through it).
#[inline]
pub fn aligned_mut(buf: &mut [u8]) -> &mut [u8] {
    let skip = buf.as_ptr().align_offset(align_of::<Header>());
    let skip = skip.min(buf.len());
    &mut buf[skip..]
}

#[cfg(all(test, unix))]
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
        assert_eq!(checked_space(usize::MAX), None);
        assert_eq!(checked_len(usize::MAX), None);
        assert_eq!(checked_align(usize::MAX), None);
        assert_eq!(checked_len(1), Some(len(1)));
        assert_eq!(checked_align(5), Some(align(5)));
        assert_eq!(checked_space_for_fds(usize::MAX / 2), None);
        assert_eq!(checked_space_for_fds(usize::MAX), None);
        assert_eq!(checked_space_for_fds(3), Some(space_for_fds(3)));
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
        let b = CmsgBuffer::<{ space_for_fds(8) + space(12) }>::new();
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
