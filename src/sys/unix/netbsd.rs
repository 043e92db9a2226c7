//! NetBSD: no UDP GSO, no `SO_DOMAIN` (the family comes from `getsockname`), no `sendfile`.

use std::os::fd::BorrowedFd;

/// No UDP GSO (`UDP_SEGMENT`) or GRO (`UDP_GRO`) on this system.
pub(crate) const HAS_GSO: bool = false;

/// The socket cannot do UDP GSO here: `ENOPROTOOPT`, as a kernel without it answers.
pub(crate) fn udp_segment_option(_fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    Err(libc::ENOPROTOOPT)
}

/// The socket's address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...), from `getsockname`:
/// NetBSD has no `SO_DOMAIN`.
pub(crate) fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    super::socket_family(fd)
}

/// The level of the Unix-domain socket options (`LOCAL_CREDS`): 0, which NetBSD's `uipc_usrreq.c`
/// checks for (`sopt_level != 0` is `ENOPROTOOPT`); `libc` has no name for it here.
pub(crate) const SOL_LOCAL: libc::c_int = 0;
