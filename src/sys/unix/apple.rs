//! macOS (and the other Apple systems): no `MSG_NOSIGNAL` the crate relies on, no
//! `MSG_CMSG_CLOEXEC`, no `sendmmsg`/`recvmmsg` (see `mmsg_loop.rs`), no `SO_DOMAIN`, no UDP
//! GSO; `sendfile(2)` in its BSD form (with a header through `sf_hdtr`).
//!
//! The flags the crate passes by default are carried out here instead of by the kernel:
//! - `MSG_NOSIGNAL`: the socket option `SO_NOSIGPIPE` is set on the socket before the send.
//!   Blocking `SIGPIPE` around each call, as `sendfile` does on Linux, would cost three more
//!   system calls per send and needs `sigtimedwait`, which macOS lacks; `SO_NOSIGPIPE` costs
//!   one `setsockopt` per send call (per batch, not per datagram), is what `std` sets on every
//!   socket it creates on macOS, and only ever turns a signal into `EPIPE`. It stays set: the
//!   one socket option the crate sets on a caller's socket, documented on `SendFlags::NOSIGNAL`.
//!   libc's `MSG_NOSIGNAL` value (0x80000) marks the request and is never passed to the kernel
//!   (older kernels do not know it).
//! - `MSG_CMSG_CLOEXEC`: `FD_CLOEXEC` is set with `fcntl` on every received `SCM_RIGHTS`
//!   descriptor before the receive returns; not atomic (a `fork` in another thread in between
//!   lets the child inherit them).
//! - `MSG_WAITFORONE`: the receive loop passes `MSG_DONTWAIT` after its first datagram.
//!
//! The last two are bits of the crate's own, chosen outside every `MSG_*` value of the system
//! (asserted below), and stripped before any call.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{errno, retry};

/// No UDP GSO (`UDP_SEGMENT`) or GRO (`UDP_GRO`) on this system.
pub(crate) const HAS_GSO: bool = false;

/// The socket cannot do UDP GSO here: `ENOPROTOOPT`, as a kernel without it answers.
pub(crate) fn udp_segment_option(_fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    Err(libc::ENOPROTOOPT)
}

/// The socket's address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...), from `getsockname`:
/// macOS has no `SO_DOMAIN`.
pub(crate) fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    super::socket_family(fd)
}

/// The crate's "no `SIGPIPE`" request: libc's value, carried out with `SO_NOSIGPIPE`.
pub(crate) use libc::MSG_NOSIGNAL;
/// The crate's "close-on-exec" request for received descriptors (no such flag here).
pub(crate) const MSG_CMSG_CLOEXEC: libc::c_int = 0x4000_0000;
/// The crate's "block for the first datagram only" request to the receive loop.
pub(crate) const MSG_WAITFORONE: libc::c_int = 0x1000_0000;

// The crate's own bits never collide with a flag of the system.
const _: () = {
    let system = [
        libc::MSG_OOB,
        libc::MSG_PEEK,
        libc::MSG_DONTROUTE,
        libc::MSG_EOR,
        libc::MSG_TRUNC,
        libc::MSG_CTRUNC,
        libc::MSG_WAITALL,
        libc::MSG_DONTWAIT,
        libc::MSG_EOF,
        libc::MSG_FLUSH,
        libc::MSG_HOLD,
        libc::MSG_SEND,
        libc::MSG_HAVEMORE,
        libc::MSG_RCVMORE,
        libc::MSG_NEEDSA,
        libc::MSG_NOSIGNAL,
    ];
    let mut all = 0;
    let mut i = 0;
    while i < system.len() {
        all |= system[i];
        i += 1;
    }
    assert!(all & (MSG_CMSG_CLOEXEC | MSG_WAITFORONE) == 0);
    assert!(MSG_CMSG_CLOEXEC & MSG_WAITFORONE == 0);
};

/// `setsockopt(SO_NOSIGPIPE, 1)`: a send on this socket to a closed peer fails with `EPIPE`
/// instead of raising `SIGPIPE`.
fn set_nosigpipe(fd: BorrowedFd<'_>) -> Result<(), i32> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live int and we pass its size; the kernel only reads it.
    retry(|| unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// The flags to pass to the kernel for a send with `flags` on `fd`: `MSG_NOSIGNAL` becomes
/// `SO_NOSIGPIPE` on the socket (see the module's documentation).
#[inline]
pub(super) fn send_flags(fd: BorrowedFd<'_>, flags: libc::c_int) -> Result<libc::c_int, i32> {
    if flags & MSG_NOSIGNAL == 0 {
        return Ok(flags);
    }
    set_nosigpipe(fd)?;
    Ok(flags & !MSG_NOSIGNAL)
}

/// The flags to pass to the kernel for one `recvmsg` with `flags` (the crate's own bits
/// removed), and whether received descriptors must be made close-on-exec afterwards.
#[inline]
pub(super) fn recv_flags(flags: libc::c_int) -> (libc::c_int, bool) {
    (
        flags & !(MSG_CMSG_CLOEXEC | MSG_WAITFORONE),
        flags & MSG_CMSG_CLOEXEC != 0,
    )
}

/// `sendfile(2)` of `header` (at most `IOV_MAX` buffers, through `sf_hdtr`), then at most
/// `count` bytes (at least 1) of `file` at `*offset`, to `socket`: macOS's form,
/// `sendfile(fd, s, offset, &len, hdtr, flags)`, where `len` counts header and file bytes
/// together, both going in and coming back. Returns the total written, header first: its
/// first `min(total, header length)` bytes are the header's, the rest the file's. `*offset`
/// moves past the file's bytes; the file position of `file` does not change.
///
/// A call interrupted or refused with `EAGAIN` after moving some bytes reports them (`len`)
/// as a short count; `EINTR` with nothing moved is retried.
///
/// Unless `allow_sigpipe`, `SO_NOSIGPIPE` is set on the socket first, as for every send here.
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
    let total = header_len.saturating_add(count);
    let want = libc::off_t::try_from(total).unwrap_or(libc::off_t::MAX);
    let hdtr_ptr: *mut libc::sf_hdtr = if header.is_empty() {
        std::ptr::null_mut()
    } else {
        &mut hdtr
    };
    if !allow_sigpipe {
        set_nosigpipe(socket)?;
    }
    let result = loop {
        let mut len = want;
        // SAFETY: both descriptors are borrowed, so open for the call; len is a live off_t the
        // kernel reads and writes back; hdtr_ptr is null (no header or trailer) or points at a
        // live sf_hdtr whose hdr_cnt iovecs are the live, borrowed header buffers, no
        // trailers.
        let r = unsafe {
            libc::sendfile(
                file.as_raw_fd(),
                socket.as_raw_fd(),
                off,
                &mut len,
                hdtr_ptr,
                0,
            )
        };
        let sent = usize::try_from(len).unwrap_or(0).min(total);
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
    result
}

/// The level of the Unix-domain socket options (`LOCAL_PEERCRED`, ...).
pub(crate) use libc::SOL_LOCAL;
