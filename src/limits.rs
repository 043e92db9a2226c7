//! The kernel's limits on one message, checked before every send.
//!
//! The kernel answers a message over a limit with a bare `EINVAL`, `ENOBUFS` or `EMSGSIZE`; the
//! crate checks the same limits first and names the one hit (see [`Error::Limit`]).
//!
//! [`Error::Limit`]: crate::Error::Limit

use std::sync::atomic::{AtomicUsize, Ordering};

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

/// 0 means "not read yet".
static OPTMEM_MAX: AtomicUsize = AtomicUsize::new(0);

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

/// 0 means "not probed yet".
static UDP_MAX_SEGMENTS: AtomicUsize = AtomicUsize::new(0);

/// `UDP_MAX_SEGMENTS`: the most segments one `UDP_SEGMENT` (GSO) send may carry, 64 or 128
/// depending on the kernel.
///
/// The kernel does not publish it, so it is probed on first use, once per process: a private
/// socket on 127.0.0.1 sends 128 one-byte segments to itself (64 when the kernel answers
/// `EINVAL`) and is closed, with whatever it received. No socket of the caller is touched and
/// no socket option is set. [`UDP_MAX_SEGMENTS_FALLBACK`] if the probe cannot run (no
/// loopback, no GSO). [`set_udp_max_segments`] overrides it.
#[doc(alias = "UDP_MAX_SEGMENTS")]
pub fn udp_max_segments() -> usize {
    match UDP_MAX_SEGMENTS.load(Ordering::Relaxed) {
        0 => {
            let v = crate::sys::probe_udp_max_segments().unwrap_or(UDP_MAX_SEGMENTS_FALLBACK);
            match UDP_MAX_SEGMENTS.compare_exchange(0, v, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => v,
                Err(other) => other,
            }
        }
        v => v,
    }
}

/// Overrides the segment cap that GSO sends are planned and checked against, for the whole
/// process. A value of 0 makes the next use probe again.
pub fn set_udp_max_segments(value: usize) {
    UDP_MAX_SEGMENTS.store(value, Ordering::Relaxed);
}

/// `net.core.optmem_max`: the control buffer of a `sendmsg` must stay below it.
///
/// Read from `/proc/sys/net/core/optmem_max` on first use, once per process;
/// [`OPTMEM_MAX_FALLBACK`] if that cannot be read. [`set_optmem_max`] overrides it (the sysctl
/// is per network namespace, and a process may know better).
#[doc(alias = "net.core.optmem_max")]
#[inline]
pub fn optmem_max() -> usize {
    match OPTMEM_MAX.load(Ordering::Relaxed) {
        0 => init_optmem_max(),
        v => v,
    }
}

#[cold]
fn init_optmem_max() -> usize {
    let v = read_optmem_max().unwrap_or(OPTMEM_MAX_FALLBACK);
    // Keep an override that raced with us.
    match OPTMEM_MAX.compare_exchange(0, v, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => v,
        Err(other) => other,
    }
}

/// Overrides the `net.core.optmem_max` value that sends are checked against, for the whole
/// process. A value of 0 makes the next check read the sysctl again.
pub fn set_optmem_max(value: usize) {
    OPTMEM_MAX.store(value, Ordering::Relaxed);
}

fn read_optmem_max() -> Option<usize> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    let mut f = std::fs::File::open("/proc/sys/net/core/optmem_max").ok()?;
    let n = f.read(&mut buf).ok()?;
    let s = std::str::from_utf8(&buf[..n]).ok()?;
    s.trim().parse().ok().filter(|&v| v > 0)
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
    fn probes_the_segment_cap() {
        let v = udp_max_segments();
        assert!(v == 64 || v == 128, "{v}");
        assert_eq!(crate::sys::probe_udp_max_segments(), Some(v));
    }

    #[test]
    fn reads_sysctl() {
        let v = read_optmem_max().expect("this machine has the sysctl");
        assert!(v >= 10240, "{v}");
    }

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
