//! The kernel's limits on one message, checked before every send, and what a kernel error
//! means for them. Pure: the numbers come from the system's table (`sys`), and those that must
//! be asked of the running system ([`optmem_max`], [`udp_max_segments`]) are found once by the
//! crate's probes and re-exported here.
//!
//! The kernel answers a message over a limit with a bare `EINVAL`, `ENOBUFS`, `ENOMEM` or
//! `EMSGSIZE`; the crate checks the same limits first and names the one hit (see
//! [`Error::Limit`]), and every send path maps a refusal back to the limit through one function.
//!
//! | system | fds per message | control buffer | iovecs |
//! | --- | --- | --- | --- |
//! | Linux | 253 (`EINVAL`) | below `net.core.optmem_max` (`ENOBUFS`; `ENOMEM` for a 32-bit process on a 64-bit kernel) | 1024 (`EMSGSIZE`) |
//! | FreeBSD | 254 (`EMSGSIZE`) | at most 2048 bytes, `MCLBYTES` (`EINVAL`) | 1024 |
//! | macOS | 254, in one `SCM_RIGHTS` message (`EINVAL`) | at most 1030 bytes (`EINVAL`) | 1024 |
//! | NetBSD | 1020 (`EINVAL`) | at most `PAGE_SIZE`, 4096 bytes (`EINVAL`) | 1024 |
//!
//! [`Error::Limit`]: crate::Error::Limit

use crate::error::{Error, Limit};
use crate::sys::{ControlCap, SendLimits, SEND_LIMITS};

/// The most file descriptors one message may carry, over all its `SCM_RIGHTS` control
/// messages: `SCM_MAX_FD`, 253, on Linux (`include/net/scm.h`; unix(7)); 254 on FreeBSD (one
/// message's `CMSG_SPACE` within `MCLBYTES`) and macOS (its control cap); 1020 on NetBSD (a
/// page).
#[doc(alias = "SCM_MAX_FD")]
pub const MAX_FDS: usize = SEND_LIMITS.max_fds;

/// `UIO_MAXIOV` (`IOV_MAX`): the most iovecs one `msghdr` may hold (Linux `__copy_msghdr`; 1024
/// on every system the crate supports).
#[doc(alias = "UIO_MAXIOV")]
#[doc(alias = "IOV_MAX")]
pub const MAX_IOVECS: usize = SEND_LIMITS.max_iovecs;

/// The most `SCM_RIGHTS` messages one send may carry: 1 on macOS (its `unp_internalize` takes
/// exactly one control message per `AF_UNIX` send), `usize::MAX` (no rule) elsewhere.
pub const MAX_RIGHTS_MESSAGES: usize = SEND_LIMITS.max_rights_messages;

/// What the kernel assumed for `net.core.optmem_max` before Linux 6.8; used when
/// `/proc/sys/net/core/optmem_max` cannot be read (and on systems without it).
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

/// The bytes a control buffer (as [`kernel_control_len`] counts it) must stay below on this
/// system: `net.core.optmem_max` on Linux, one more than the fixed cap elsewhere.
#[inline]
pub fn control_limit() -> usize {
    control_limit_of(&SEND_LIMITS, optmem_max)
}

#[inline]
fn control_limit_of(table: &SendLimits, optmem: impl FnOnce() -> usize) -> usize {
    match table.control {
        ControlCap::Optmem => optmem(),
        ControlCap::Bytes(cap) => cap.saturating_add(1),
    }
}

/// What a refused message carried, for [`kernel_limit_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Carried {
    fds: usize,
    /// The control buffer's size as the kernel counts it ([`kernel_control_len`]).
    control_len: usize,
    rights_messages: usize,
    iovecs: usize,
}

/// The limit a kernel's `errno` means for a message, in `table`: `(limit, needed, max)`, or
/// `None` when the errno means something else. `control_limit` is what the control buffer must
/// stay below ([`control_limit`]); `refusal` the errno for it under [`ControlCap::Optmem`].
///
/// Each errno is also the answer to other faults (a full queue, no memory, a bad flag): a limit
/// only when the message really exceeds it.
fn kernel_limit_in(
    table: &SendLimits,
    control_limit: usize,
    refusal: i32,
    errno: i32,
    m: Carried,
) -> Option<(Limit, usize, usize)> {
    if errno == table.fds_errno && m.fds > table.max_fds {
        return Some((Limit::Fds, m.fds, table.max_fds));
    }
    let control_refused = match table.control {
        ControlCap::Optmem => {
            errno == refusal && m.control_len > OPTMEM_EXEMPT && m.control_len >= control_limit
        }
        ControlCap::Bytes(_) => errno == table.control_errno && m.control_len >= control_limit,
    };
    if control_refused {
        return Some((Limit::ControlBuffer, m.control_len, control_limit));
    }
    if errno == table.rights_messages_errno && m.rights_messages > table.max_rights_messages {
        return Some((
            Limit::RightsMessages,
            m.rights_messages,
            table.max_rights_messages,
        ));
    }
    if errno == table.iovecs_errno && m.iovecs > table.max_iovecs {
        return Some((Limit::Iovecs, m.iovecs, table.max_iovecs));
    }
    None
}

/// The `SCM_RIGHTS` messages in `control`, counted only where the system limits them (elsewhere
/// 0, without a walk).
#[inline]
fn rights_messages(table: &SendLimits, control: &[u8]) -> usize {
    if table.max_rights_messages == usize::MAX {
        return 0;
    }
    crate::cmsg::RawIter::new(control)
        .filter(|m| m.level == libc::SOL_SOCKET && m.ty == libc::SCM_RIGHTS)
        .count()
}

/// The one mapping of a send's kernel error to a limit, for every send path: the
/// [`Error::Limit`] (with `kernel: Some(errno)`) when `errno` is this system's answer to a
/// limit the message (`fds` descriptors, `control`, `iovecs` iovecs) exceeds, else `None`.
#[cold]
pub(crate) fn kernel_limit(errno: i32, fds: usize, control: &[u8], iovecs: usize) -> Option<Error> {
    let m = Carried {
        fds,
        control_len: kernel_control_len(control),
        rights_messages: rights_messages(&SEND_LIMITS, control),
        iovecs,
    };
    let (limit, needed, max) = kernel_limit_in(
        &SEND_LIMITS,
        control_limit(),
        control_refusal_errno(),
        errno,
        m,
    )?;
    Some(Error::Limit {
        limit,
        needed,
        max,
        kernel: Some(errno),
    })
}

/// The system's rule on `SCM_RIGHTS` messages per send (macOS: one), checked before the call
/// unless `limits` turn the descriptor checks off (`max_fds` of `usize::MAX`). Nothing to do,
/// and no walk, on the other systems.
///
/// # Errors
/// [`Error::Limit`] with [`Limit::RightsMessages`].
#[inline]
pub(crate) fn check_rights_messages(limits: &Limits, control: &[u8]) -> crate::Result<()> {
    if MAX_RIGHTS_MESSAGES == usize::MAX || limits.max_fds == usize::MAX {
        return Ok(());
    }
    let n = rights_messages(&SEND_LIMITS, control);
    // Always false where there is no rule, which returned above.
    #[allow(clippy::absurd_extreme_comparisons)]
    if n > MAX_RIGHTS_MESSAGES {
        return Err(Error::Limit {
            limit: Limit::RightsMessages,
            needed: n,
            max: MAX_RIGHTS_MESSAGES,
            kernel: None,
        });
    }
    Ok(())
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
    /// in the size the kernel counts ([`kernel_control_len`]): `net.core.optmem_max` on
    /// Linux, one more than the system's fixed cap elsewhere ([`control_limit`]).
    pub optmem_max: usize,
    /// Most iovecs in one message.
    pub max_iovecs: usize,
}

impl Limits {
    /// The running system's limits: [`MAX_FDS`], [`control_limit()`] (Linux:
    /// [`optmem_max()`]), [`MAX_IOVECS`].
    #[inline]
    pub fn kernel() -> Self {
        Limits {
            max_fds: MAX_FDS,
            optmem_max: control_limit(),
            max_iovecs: MAX_IOVECS,
        }
    }

    /// No checks: every message goes to the kernel, which stays the judge (also of macOS's
    /// one `SCM_RIGHTS` message per send, [`MAX_RIGHTS_MESSAGES`], which a `max_fds` of
    /// `usize::MAX` turns off).
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
    /// [`Error::Limit`] naming the first limit exceeded.
    #[inline]
    pub fn check(&self, fds: usize, control_len: usize, iovecs: usize) -> crate::Result<()> {
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

    /// The errno-to-limit table of every system, run here: each limit is named only for its
    /// system's errno and only when the message exceeds it.
    #[test]
    fn kernel_limit_tables_per_system() {
        use crate::sys::{APPLE, FREEBSD, LINUX, NETBSD};
        let m = |fds, control_len, rights_messages, iovecs| Carried {
            fds,
            control_len,
            rights_messages,
            iovecs,
        };
        let ok = m(1, 24, 1, 1);
        let map = |t: &SendLimits, optmem: usize, refusal: i32, errno: i32, c: Carried| {
            kernel_limit_in(t, control_limit_of(t, || optmem), refusal, errno, c)
        };
        // Linux: 253 fds (EINVAL), optmem_max (ENOBUFS, or ENOMEM when widened), 1024 iovecs.
        let (o, nb) = (20480, libc::ENOBUFS);
        assert_eq!(
            map(&LINUX, o, nb, libc::EINVAL, m(254, 0, 1, 1)),
            Some((Limit::Fds, 254, 253))
        );
        assert_eq!(map(&LINUX, o, nb, libc::EINVAL, m(253, 0, 1, 1)), None);
        assert_eq!(
            map(&LINUX, o, nb, libc::ENOBUFS, m(0, 20480, 0, 1)),
            Some((Limit::ControlBuffer, 20480, 20480))
        );
        assert_eq!(map(&LINUX, o, nb, libc::ENOBUFS, m(0, 20479, 0, 1)), None);
        assert_eq!(map(&LINUX, o, nb, libc::ENOMEM, m(0, 20480, 0, 1)), None);
        assert_eq!(
            map(&LINUX, o, libc::ENOMEM, libc::ENOMEM, m(0, 20480, 0, 1)),
            Some((Limit::ControlBuffer, 20480, 20480))
        );
        // At most OPTMEM_EXEMPT bytes never meet optmem_max, however small.
        assert_eq!(map(&LINUX, 1, nb, nb, m(0, OPTMEM_EXEMPT, 0, 1)), None);
        assert_eq!(
            map(&LINUX, o, nb, libc::EMSGSIZE, m(0, 0, 0, 1025)),
            Some((Limit::Iovecs, 1025, 1024))
        );
        assert_eq!(map(&LINUX, o, nb, libc::EINVAL, m(1, 24, 5, 1)), None);
        // FreeBSD: 254 fds per message (EMSGSIZE), control over MCLBYTES (EINVAL).
        assert_eq!(
            map(&FREEBSD, o, nb, libc::EMSGSIZE, m(255, 0, 1, 1)),
            Some((Limit::Fds, 255, 254))
        );
        assert_eq!(map(&FREEBSD, o, nb, libc::EINVAL, m(255, 0, 1, 1)), None);
        assert_eq!(
            map(&FREEBSD, o, nb, libc::EINVAL, m(0, 2049, 0, 1)),
            Some((Limit::ControlBuffer, 2049, 2049))
        );
        assert_eq!(map(&FREEBSD, o, nb, libc::EINVAL, m(0, 2048, 0, 1)), None);
        assert_eq!(
            map(&FREEBSD, o, nb, libc::ENOBUFS, m(0, 1 << 20, 0, 1)),
            None
        );
        // macOS: control over 1030 bytes, 254 fds, one SCM_RIGHTS message, all EINVAL.
        assert_eq!(
            map(&APPLE, o, nb, libc::EINVAL, m(255, 12 + 1020, 1, 1)),
            Some((Limit::Fds, 255, 254))
        );
        assert_eq!(
            map(&APPLE, o, nb, libc::EINVAL, m(0, 1031, 0, 1)),
            Some((Limit::ControlBuffer, 1031, 1031))
        );
        assert_eq!(map(&APPLE, o, nb, libc::EINVAL, m(0, 1030, 0, 1)), None);
        assert_eq!(
            map(&APPLE, o, nb, libc::EINVAL, m(2, 32, 2, 1)),
            Some((Limit::RightsMessages, 2, 1))
        );
        assert_eq!(map(&APPLE, o, nb, libc::EMSGSIZE, m(2, 32, 2, 1)), None);
        // NetBSD: control over a page (EINVAL).
        assert_eq!(
            map(&NETBSD, o, nb, libc::EINVAL, m(0, 4097, 0, 1)),
            Some((Limit::ControlBuffer, 4097, 4097))
        );
        assert_eq!(
            map(&NETBSD, o, nb, libc::EINVAL, m(1021, 4096, 1, 1)),
            Some((Limit::Fds, 1021, 1020))
        );
        // A message within every limit is never a limit, whatever the errno.
        for t in [LINUX, FREEBSD, APPLE, NETBSD] {
            for errno in [libc::EINVAL, libc::ENOBUFS, libc::ENOMEM, libc::EMSGSIZE] {
                assert_eq!(map(&t, o, nb, errno, ok), None, "{t:?} {errno}");
            }
            // What the check before the call allows, the table allows too.
            let limits = Limits {
                max_fds: t.max_fds,
                optmem_max: control_limit_of(&t, || o),
                max_iovecs: t.max_iovecs,
            };
            assert!(limits.check(t.max_fds, 0, t.max_iovecs).is_ok());
            assert!(limits.check(0, limits.optmem_max - 1, 0).is_ok());
            assert!(limits.check(0, limits.optmem_max, 0).is_err());
        }
        // This system's table is the one in force.
        assert_eq!(MAX_FDS, SEND_LIMITS.max_fds);
        assert_eq!(Limits::kernel().max_fds, MAX_FDS);
    }

    /// The rights-message rule checks nothing where the system has none, and counts
    /// `SCM_RIGHTS` messages where it has (run here with the macOS table).
    #[test]
    fn rights_messages_counted_only_where_limited() {
        use crate::cmsg::CmsgBuffer;
        use crate::sys::{APPLE, LINUX};
        let mut st = CmsgBuffer::<256>::new();
        let mut enc = st.encoder();
        // SAFETY: 0, 1 and 2 are open for the whole test; the message is never sent.
        unsafe {
            enc.push_raw_rights(&[0]).unwrap();
            enc.push_raw_rights(&[1, 2]).unwrap();
        }
        enc.push_raw(libc::IPPROTO_IP, 1, &[0; 4]).unwrap();
        assert_eq!(rights_messages(&APPLE, enc.as_bytes()), 2);
        assert_eq!(rights_messages(&LINUX, enc.as_bytes()), 0);
        let r = check_rights_messages(&Limits::kernel(), enc.as_bytes());
        if MAX_RIGHTS_MESSAGES == 1 {
            assert!(matches!(
                r,
                Err(Error::Limit {
                    limit: Limit::RightsMessages,
                    needed: 2,
                    max: 1,
                    kernel: None
                })
            ));
        } else {
            assert!(r.is_ok());
        }
        assert!(check_rights_messages(&Limits::none(), enc.as_bytes()).is_ok());
    }
}
