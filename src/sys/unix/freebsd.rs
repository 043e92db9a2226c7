//! FreeBSD: `sendfile(2)` in its BSD form, `SO_DOMAIN`; no UDP GSO.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::{errno, getsockopt, SigpipeBlocked};

/// No UDP GSO (`UDP_SEGMENT`) or GRO (`UDP_GRO`) on this system.
pub(crate) const HAS_GSO: bool = false;

/// The socket cannot do UDP GSO here: `ENOPROTOOPT`, as a kernel without it answers.
pub(crate) fn udp_segment_option(_fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    Err(libc::ENOPROTOOPT)
}

/// `getsockopt(SO_DOMAIN)`: `AF_INET`, `AF_INET6`, `AF_UNIX`, ...
pub(crate) fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)
}

/// The most bytes one `sendfile` call is asked for (`nbytes` of 0 would mean "to the end of
/// the file", so a count is never 0; this cap keeps a call short enough to resume).
pub(crate) const SENDFILE_MAX: usize = 0x7fff_f000;

/// `sendfile(2)` of at most `count` bytes (at least 1) from `file` at `*offset` to `socket`:
/// FreeBSD's form, `sendfile(fd, s, offset, nbytes, hdtr, &sbytes, flags)`, without headers
/// (`sf_hdtr`): the portable layer sends the header itself first. `*offset` moves past what
/// was sent; the file position of `file` does not change.
///
/// A call interrupted or refused with `EAGAIN`/`EBUSY` after moving some bytes reports them
/// (`sbytes`) as a short count; `EINTR` with nothing moved is retried.
///
/// Unless `allow_sigpipe`, `SIGPIPE` is blocked in the calling thread for the call and one the
/// call raised is taken before the mask is restored, as on Linux.
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
    allow_sigpipe: bool,
) -> Result<usize, i32> {
    let off = libc::off_t::try_from(*offset).map_err(|_| libc::EOVERFLOW)?;
    let blocked = (!allow_sigpipe).then(SigpipeBlocked::new);
    let result = loop {
        let mut sbytes: libc::off_t = 0;
        // SAFETY: both descriptors are borrowed, so open for the call; sbytes is a live off_t
        // the kernel writes; a null sf_hdtr sends no header or trailer.
        let r = unsafe {
            libc::sendfile(
                file.as_raw_fd(),
                socket.as_raw_fd(),
                off,
                count,
                std::ptr::null_mut(),
                &mut sbytes,
                0,
            )
        };
        let sent = usize::try_from(sbytes).unwrap_or(0);
        if r == 0 || sent > 0 {
            break Ok(sent);
        }
        match errno() {
            libc::EINTR => continue,
            e => break Err(e),
        }
    };
    if let Ok(n) = result {
        *offset += n as u64;
    }
    if let Some(blocked) = blocked {
        if !matches!(result, Ok(n) if n == count) {
            blocked.take_raised();
        }
    }
    result
}

/// The level of the Unix-domain socket options (`LOCAL_PEERCRED`, ...).
pub(crate) use libc::SOL_LOCAL;
