//! FreeBSD: `sendfile(2)` in its BSD form (with a header through `sf_hdtr`), `SO_DOMAIN`; no
//! UDP GSO.

use std::io::IoSlice;
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

/// `sendfile(2)` of `header` (at most `IOV_MAX` buffers, through `sf_hdtr`), then at
/// most `count` bytes (at least 1) of `file` at `*offset`, to `socket`: FreeBSD's form,
/// `sendfile(fd, s, offset, nbytes, hdtr, &sbytes, flags)`, where `nbytes` counts the file's
/// bytes only and `sbytes` everything written, header first. Returns that total: its first
/// `min(total, header length)` bytes are the header's, the rest the file's. `*offset` moves
/// past the file's bytes; the file position of `file` does not change.
///
/// A call interrupted or refused with `EAGAIN`/`EBUSY` after moving some bytes reports them
/// (`sbytes`) as a short count; `EINTR` with nothing moved is retried.
///
/// Unless `allow_sigpipe`, `SIGPIPE` is blocked in the calling thread for the call and one the
/// call raised is taken before the mask is restored, as on Linux.
pub(crate) fn sendfile_with_header(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    header: &[IoSlice<'_>],
    offset: &mut u64,
    count: usize,
    allow_sigpipe: bool,
) -> Result<usize, i32> {
    let off = libc::off_t::try_from(*offset).map_err(|_| libc::EOVERFLOW)?;
    let (header_len, mut hdtr) = super::bsd_sendfile::header_hdtr(header)?;
    let hdtr_ptr: *mut libc::sf_hdtr = if header.is_empty() {
        std::ptr::null_mut()
    } else {
        &mut hdtr
    };
    let blocked = (!allow_sigpipe).then(SigpipeBlocked::new);
    let result = loop {
        let mut sbytes: libc::off_t = 0;
        // SAFETY: both descriptors are borrowed, so open for the call; sbytes is a live off_t
        // the kernel writes; hdtr_ptr is null (no header or trailer) or points at a live
        // sf_hdtr whose hdr_cnt iovecs are the live, borrowed header buffers, no trailers.
        let r = unsafe {
            libc::sendfile(
                file.as_raw_fd(),
                socket.as_raw_fd(),
                off,
                count,
                hdtr_ptr,
                &mut sbytes,
                0,
            )
        };
        let sent = usize::try_from(sbytes)
            .unwrap_or(0)
            .min(header_len.saturating_add(count));
        if r == 0 || sent > 0 {
            break Ok(sent);
        }
        match errno() {
            libc::EINTR => continue,
            e => break Err(e),
        }
    };
    if let Ok(n) = result {
        *offset += n.saturating_sub(header_len) as u64;
    }
    if let Some(blocked) = blocked {
        if !matches!(result, Ok(n) if n == header_len.saturating_add(count)) {
            blocked.take_raised();
        }
    }
    result
}

/// The level of the Unix-domain socket options (`LOCAL_PEERCRED`, ...).
pub(crate) use libc::SOL_LOCAL;
