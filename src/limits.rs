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

pub use crate::probe::{optmem_max, set_optmem_max, set_udp_max_segments, udp_max_segments};

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
    /// The control buffer must be shorter than this (unless at most [`OPTMEM_EXEMPT`] bytes).
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

    /// Checks a message's fd count, control length and iovec count.
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
}
