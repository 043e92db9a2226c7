//! What each system's kernel refuses in one `sendmsg(2)`, and with which errno: the table the
//! crate's limit checks and its errno-to-limit mapping read. Every system's table is plain
//! `const` data built from this target's errno numbers, so each can be exercised anywhere.
#![cfg_attr(not(test), allow(dead_code))]

/// How a system caps the control buffer (`msg_controllen`) of one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlCap {
    /// Linux: `net.core.optmem_max`, read at run time; buffers of at most the in-stack size
    /// (`sizeof(struct cmsghdr) + 20`) never meet it; refused with `ENOBUFS` (`ENOMEM` where a
    /// 64-bit kernel widens a 32-bit process's messages first).
    Optmem,
    /// A fixed number of bytes the buffer may not exceed (`len > cap` is refused).
    Bytes(usize),
}

/// One system's limits on a send, and the errno its kernel answers each with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendLimits {
    /// Most descriptors in one message, over all its `SCM_RIGHTS` messages.
    pub max_fds: usize,
    /// The errno for too many descriptors.
    pub fds_errno: i32,
    /// The cap on the control buffer.
    pub control: ControlCap,
    /// The errno for a control buffer over a fixed cap ([`ControlCap::Optmem`] has its own).
    pub control_errno: i32,
    /// Most iovecs in one message (`IOV_MAX`).
    pub max_iovecs: usize,
    /// The errno for too many iovecs.
    pub iovecs_errno: i32,
    /// Most `SCM_RIGHTS` messages in one send (`usize::MAX`: no such rule).
    pub max_rights_messages: usize,
    /// The errno for too many `SCM_RIGHTS` messages.
    pub rights_messages_errno: i32,
}

/// Linux (glibc and musl, 64 and 32 bit): `SCM_MAX_FD` 253 (`EINVAL`), `optmem_max`,
/// `UIO_MAXIOV` 1024 (`EMSGSIZE`).
pub(crate) const LINUX: SendLimits = SendLimits {
    max_fds: 253,
    fds_errno: libc::EINVAL,
    control: ControlCap::Optmem,
    control_errno: libc::ENOBUFS,
    max_iovecs: 1024,
    iovecs_errno: libc::EMSGSIZE,
    max_rights_messages: usize::MAX,
    rights_messages_errno: libc::EINVAL,
};

/// FreeBSD: `sockargs` refuses control data over `MCLBYTES` (2048) with `EINVAL`;
/// `unp_internalize` refuses an `SCM_RIGHTS` message whose `CMSG_SPACE(n * sizeof(void *))`
/// exceeds `MCLBYTES` with `EMSGSIZE`: 254 descriptors with 8-byte pointers (one message).
pub(crate) const FREEBSD: SendLimits = SendLimits {
    max_fds: (2048 - 16) / 8,
    fds_errno: libc::EMSGSIZE,
    control: ControlCap::Bytes(2048),
    control_errno: libc::EINVAL,
    max_iovecs: 1024,
    iovecs_errno: libc::EMSGSIZE,
    max_rights_messages: usize::MAX,
    rights_messages_errno: libc::EINVAL,
};

/// macOS and the other Apple systems: `sockargs` refuses control data that, widened for a
/// 64-bit kernel, exceeds `MCLBYTES`: 1030 bytes (`EINVAL`), so at most (1030 - 12) / 4 = 254
/// descriptors; `unp_internalize` takes exactly one control message, `SCM_RIGHTS`, per
/// `AF_UNIX` send (`EINVAL` otherwise).
pub(crate) const APPLE: SendLimits = SendLimits {
    max_fds: (1030 - 12) / 4,
    fds_errno: libc::EINVAL,
    control: ControlCap::Bytes(1030),
    control_errno: libc::EINVAL,
    max_iovecs: 1024,
    iovecs_errno: libc::EMSGSIZE,
    max_rights_messages: 1,
    rights_messages_errno: libc::EINVAL,
};

/// NetBSD: `sockargs` refuses control data over `PAGE_SIZE` (4096 on amd64, i386, arm and
/// aarch64) with `EINVAL`; the descriptors fit the same page: (4096 - 16) / 4 = 1020.
pub(crate) const NETBSD: SendLimits = SendLimits {
    max_fds: (4096 - 16) / 4,
    fds_errno: libc::EINVAL,
    control: ControlCap::Bytes(4096),
    control_errno: libc::EINVAL,
    max_iovecs: 1024,
    iovecs_errno: libc::EMSGSIZE,
    max_rights_messages: usize::MAX,
    rights_messages_errno: libc::EINVAL,
};

/// This system's table.
#[cfg(linux_like)]
pub(crate) const SEND_LIMITS: SendLimits = LINUX;
/// This system's table.
#[cfg(freebsd)]
pub(crate) const SEND_LIMITS: SendLimits = FREEBSD;
/// This system's table.
#[cfg(apple)]
pub(crate) const SEND_LIMITS: SendLimits = APPLE;
/// This system's table.
#[cfg(netbsd)]
pub(crate) const SEND_LIMITS: SendLimits = NETBSD;
