//! The kernel's limits on one message, checked before every send. Pure: the numbers that must
//! be asked of the running system ([`optmem_max`], [`udp_max_segments`]) are found once by the
//! crate's probes and re-exported here.
//!
//! The kernel answers a message over a limit with a bare `EINVAL`, `ENOBUFS` or `EMSGSIZE`; the
//! crate checks the same limits first and names the one hit (see [`Error::Limit`]).
//!
//! [`Error::Limit`]: crate::Error::Limit

/// `SCM_MAX_FD`: the most file descriptors one message may carry, over all its `SCM_RIGHTS`
/// control messages (Linux `include/net/scm.h`; unix(7)).
#[doc(alias = "SCM_MAX_FD")]
pub const MAX_FDS: usize = 253;

/// `UIO_MAXIOV` (`IOV_MAX`): the most iovecs one `msghdr` may hold (Linux `__copy_msghdr`).
#[doc(alias = "UIO_MAXIOV")]
#[doc(alias = "IOV_MAX")]
pub const MAX_IOVECS: usize = 1024;

/// What the kernel assumed for `net.core.optmem_max` before Linux 6.8; used when
/// `/proc/sys/net/core/optmem_max` cannot be read.
pub const OPTMEM_MAX_FALLBACK: usize = 20480;

/// Control buffers up to this many bytes are copied through a stack buffer in `____sys_sendmsg`
/// and never meet the `optmem_max` check.
pub const OPTMEM_EXEMPT: usize = std::mem::size_of::<libc::cmsghdr>() + 20;

/// The largest UDP payload over IPv4, GSO segments together: 65535 less the IPv4 and UDP
/// headers (udp(7); `EMSGSIZE` beyond it).
pub const UDP_MAX_PAYLOAD_V4: usize = 65507;

/// The largest UDP payload over IPv6, GSO segments together: 65535 less the UDP header (the
/// IPv6 payload length does not count the IPv6 header; `EMSGSIZE` beyond it).
pub const UDP_MAX_PAYLOAD_V6: usize = 65527;

/// `UDP_MAX_SEGMENTS` of kernels before the cap was raised to 128; assumed when the probe of
/// [`udp_max_segments`] cannot run.
pub const UDP_MAX_SEGMENTS_FALLBACK: usize = 64;

/// Messages one `sendmmsg(2)` or `recvmmsg(2)` takes (`UIO_MAXIOV`): the kernel silently
/// clamps `vlen` to it.
#[doc(alias = "UIO_MAXIOV")]
pub const MAX_MMSG: usize = 1024;

pub use crate::probe::{
    kernel_widens_control, optmem_max, set_optmem_max, set_udp_max_segments, udp_max_segments,
};

/// The size of `control` after a 64-bit Linux kernel has widened it for a 32-bit process: the
/// sum, over its messages, of the 64-bit `CMSG_SPACE` of each message's data (the kernel's
/// `cmsghdr_from_user_compat_to_kern` rewrites every 12-byte header as 16 bytes and aligns
/// to 8, then checks that size against `net.core.optmem_max`). Pure arithmetic on this
/// target's layout; bytes after the last whole message count for nothing, as for the kernel.
///
/// In a 64-bit build it is the length of the messages as given.
#[doc(alias = "cmsghdr_from_user_compat_to_kern")]
pub fn widened_control_len(control: &[u8]) -> usize {
    use crate::cmsg::{Layout, RawIter, DATA_OFFSET};
    RawIter::new(control)
        .map(|m| {
            let data = m.cmsg_len.saturating_sub(DATA_OFFSET);
            Layout::LINUX_64.checked_space(data).unwrap_or(usize::MAX)
        })
        .fold(0, usize::saturating_add)
}

/// The size the running kernel checks `control` against `net.core.optmem_max` by: its length,
/// or its [widened length](widened_control_len) where the kernel widens this process's
/// control messages ([`kernel_widens_control`]). [`Limits::check`] wants this size.
#[inline]
pub fn kernel_control_len(control: &[u8]) -> usize {
    if kernel_widens_control() {
        widened_control_len(control)
    } else {
        control.len()
    }
}

/// The errno with which the kernel refuses control data for `net.core.optmem_max`: `ENOBUFS`,
/// or `ENOMEM` where it widens the messages first (its compat layer allocates the widened copy
/// and fails that way).
#[inline]
pub(crate) fn control_refusal_errno() -> i32 {
    if kernel_widens_control() {
        libc::ENOMEM
    } else {
        libc::ENOBUFS
    }
}

/// Whether a send's `errno` is the kernel refusing control data of `kernel_len` bytes (as
/// [`kernel_control_len`] counts them) for `net.core.optmem_max`. The same errno also means a
/// full queue, option memory held by something else, or no memory: a limit only when the
/// buffer really reaches `optmem_max` (the check before the call was loosened).
#[inline]
pub(crate) fn is_control_refusal(errno: i32, kernel_len: usize) -> bool {
    errno == control_refusal_errno() && kernel_len > OPTMEM_EXEMPT && kernel_len >= optmem_max()
}

/// The limits a send is checked against before the syscall.
///
/// [`Limits::kernel`] gives the running kernel's; a caller may tighten them, or loosen them to let
/// the kernel be the judge (its refusal is still reported as [`Error::Limit`]).
///
/// [`Error::Limit`]: crate::Error::Limit
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most fds over all `SCM_RIGHTS` of one message.
    pub max_fds: usize,
    /// The control buffer must be shorter than this (unless at most [`OPTMEM_EXEMPT`] bytes),
    /// in the size the kernel counts ([`kernel_control_len`]).
    pub optmem_max: usize,
    /// Most iovecs in one message.
    pub max_iovecs: usize,
}

impl Limits {
    /// The running kernel's limits: [`MAX_FDS`], [`optmem_max()`], [`MAX_IOVECS`].
    #[inline]
    pub fn kernel() -> Self {
        Limits {
            max_fds: MAX_FDS,
            optmem_max: optmem_max(),
            max_iovecs: MAX_IOVECS,
        }
    }

    /// No checks: every message goes to the kernel, which stays the judge.
    pub const fn none() -> Self {
        Limits {
            max_fds: usize::MAX,
            optmem_max: usize::MAX,
            max_iovecs: usize::MAX,
        }
    }

    /// Checks a message's fd count, control length and iovec count. `control_len` is the size
    /// the kernel counts, [`kernel_control_len`] of the control data (its length, except in a
    /// 32-bit process on a 64-bit kernel).
    ///
    /// # Errors
    /// [`Error::Limit`](crate::Error::Limit) naming the first limit exceeded.
    #[inline]
    pub fn check(&self, fds: usize, control_len: usize, iovecs: usize) -> crate::Result<()> {
        use crate::error::{Error, Limit};
        if fds > self.max_fds {
            return Err(Error::Limit {
                limit: Limit::Fds,
                needed: fds,
                max: self.max_fds,
                kernel: None,
            });
        }
        if control_len > OPTMEM_EXEMPT && control_len >= self.optmem_max {
            return Err(Error::Limit {
                limit: Limit::ControlBuffer,
                needed: control_len,
                max: self.optmem_max,
                kernel: None,
            });
        }
        if iovecs > self.max_iovecs {
            return Err(Error::Limit {
                limit: Limit::Iovecs,
                needed: iovecs,
                max: self.max_iovecs,
                kernel: None,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::kernel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Limit};

    #[test]
    fn checks_in_order_with_numbers() {
        let l = Limits {
            max_fds: 253,
            optmem_max: 131072,
            max_iovecs: 1024,
        };
        assert!(l.check(253, 131071, 1024).is_ok());
        assert!(matches!(
            l.check(254, 0, 0),
            Err(Error::Limit {
                limit: Limit::Fds,
                needed: 254,
                max: 253,
                kernel: None
            })
        ));
        assert!(matches!(
            l.check(0, 131072, 0),
            Err(Error::Limit {
                limit: Limit::ControlBuffer,
                needed: 131072,
                ..
            })
        ));
        assert!(matches!(
            l.check(0, 0, 1025),
            Err(Error::Limit {
                limit: Limit::Iovecs,
                needed: 1025,
                max: 1024,
                ..
            })
        ));
        let tiny = Limits {
            optmem_max: 10,
            ..l
        };
        assert!(tiny.check(0, OPTMEM_EXEMPT, 0).is_ok());
        assert!(tiny.check(0, OPTMEM_EXEMPT + 1, 0).is_err());
        assert!(Limits::none().check(10_000, 1 << 30, 1 << 20).is_ok());
    }

    /// The 64-bit `CMSG_SPACE` of a message with `n` bytes of data, written out.
    fn space64(n: usize) -> usize {
        16 + n.div_ceil(8) * 8
    }

    #[test]
    fn widened_length_is_the_sum_of_64_bit_spaces() {
        use crate::cmsg::{space, CmsgBuffer};
        let mut st = CmsgBuffer::<512>::new();
        let mut enc = st.encoder();
        assert_eq!(widened_control_len(enc.as_bytes()), 0);
        let mut want = 0;
        for (i, n) in [0usize, 1, 4, 12, 13].into_iter().enumerate() {
            enc.push_raw(libc::IPPROTO_IP, i as i32, &vec![7u8; n])
                .unwrap();
            want += space64(n);
            assert_eq!(widened_control_len(enc.as_bytes()), want, "after {n} bytes");
        }
        // A 32-bit layout grows by 4 bytes of header per message, plus alignment to 8.
        assert_eq!(space64(4), 24);
        assert_eq!(space64(12), 32);
        assert_eq!(space64(253 * 4), 1032);
        // On 64-bit Linux the widened length is the length.
        if space(0) == 16 {
            assert_eq!(widened_control_len(enc.as_bytes()), enc.len());
        }
        // Trailing bytes that hold no whole header count for nothing.
        let mut bytes = enc.as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 5]);
        assert_eq!(widened_control_len(&bytes), want);
        // A kernel-checked size is never below the length.
        assert!(kernel_control_len(enc.as_bytes()) >= enc.len());
    }
}
