//! What the BSD-style `sendfile(2)` of FreeBSD and macOS share: the cap on one call, the
//! call without a header, and the `sf_hdtr` that carries a header.

use std::io::IoSlice;
use std::os::fd::BorrowedFd;

use super::sendfile_with_header;

/// The most bytes one `sendfile` call is asked for (a count of 0 would mean "to the end of the
/// file", so a count is never 0; this cap keeps a call short enough to resume).
pub(crate) const SENDFILE_MAX: usize = 0x7fff_f000;

/// `sendfile(2)` of at most `count` bytes (at least 1) from `file` at `*offset` to `socket`,
/// without a header: [`sendfile_with_header`] with none.
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
    allow_sigpipe: bool,
) -> Result<usize, i32> {
    sendfile_with_header(socket, file, &[], offset, count, allow_sigpipe)
}

/// The length of `header` and the `sf_hdtr` that points at it (no trailer); `EINVAL` when the
/// lengths overflow or there are more buffers than an `int` counts. The `sf_hdtr` borrows
/// `header` only as raw pointers: it must not outlive it (the callers use it within the call).
pub(super) fn header_hdtr(header: &[IoSlice<'_>]) -> Result<(usize, libc::sf_hdtr), i32> {
    let header_len = header
        .iter()
        .try_fold(0usize, |n, b| n.checked_add(b.len()))
        .ok_or(libc::EINVAL)?;
    let hdtr = libc::sf_hdtr {
        // IoSlice is an iovec on Unix (std guarantees the layout); the kernel only reads it.
        headers: header.as_ptr().cast_mut().cast::<libc::iovec>(),
        hdr_cnt: libc::c_int::try_from(header.len()).map_err(|_| libc::EINVAL)?,
        trailers: std::ptr::null_mut(),
        trl_cnt: 0,
    };
    Ok((header_len, hdtr))
}
