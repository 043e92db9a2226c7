//! Linux (and Android): `sendfile(2)`, UDP GSO, `SO_DOMAIN`.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::{getsockopt, retry, SigpipeBlocked};

/// The most bytes one `sendfile(2)` moves (`MAX_RW_COUNT`); the kernel clamps larger counts.
pub(crate) const SENDFILE_MAX: usize = 0x7fff_f000;

/// `sendfile(2)` of at most `count` bytes from `file` at `*offset` to `socket`, retried on
/// `EINTR`. `*offset` moves past what was sent; the file position of `file` does not change.
///
/// `sendfile` takes no `MSG_NOSIGNAL`: unless `allow_sigpipe`, `SIGPIPE` is blocked in the
/// calling thread for the call (see [`SigpipeBlocked`]), and a `SIGPIPE` the call raised is
/// taken before the mask is restored.
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
    allow_sigpipe: bool,
) -> Result<usize, i32> {
    let mut off = libc::off_t::try_from(*offset).map_err(|_| libc::EOVERFLOW)?;
    let blocked = (!allow_sigpipe).then(SigpipeBlocked::new);
    // SAFETY: both descriptors are borrowed, so open for the call; `off` is a live off_t the
    // kernel reads and writes back; no other memory of ours is touched.
    let result =
        retry(|| unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut off, count) })
            .map(|r| {
                // The kernel only moves the offset forward from a non-negative value.
                *offset = off as u64;
                r as usize
            });
    if let Some(blocked) = blocked {
        // The kernel raises SIGPIPE where a write fails with EPIPE. sendfile writes in steps
        // and returns the bytes of the steps that went even when a later step failed (and
        // raised the signal), so a short count is checked too; only a call that moved all it
        // was asked for surely raised nothing.
        if !matches!(result, Ok(n) if n == count) {
            blocked.take_raised();
        }
    }
    result
}

/// `getsockopt(SO_DOMAIN)`: `AF_INET`, `AF_INET6`, `AF_UNIX`, ...
pub(crate) fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)
}

/// UDP GSO (`UDP_SEGMENT`) and GRO (`UDP_GRO`) exist here (the running kernel may still lack
/// them: 4.18 and 5.0).
pub(crate) const HAS_GSO: bool = true;

/// `getsockopt(SOL_UDP, UDP_SEGMENT)`: the socket's default GSO segment size (0: none). An
/// error (`ENOPROTOOPT`, `EOPNOTSUPP`) means the socket cannot do UDP GSO.
pub(crate) fn udp_segment_option(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt(fd, libc::SOL_UDP, libc::UDP_SEGMENT)
}

/// `SO_PASSPIDFD` (Linux 6.5+), which `libc` does not define yet: 76 in asm-generic (and on
/// alpha, mips and powerpc, which keep the generic number for it), 0x55 on sparc (each
/// arch/*/include/uapi/asm/socket.h; parisc's 0x404A has no Rust target).
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
pub(crate) const SO_PASSPIDFD: libc::c_int = 76;
/// `SO_PASSPIDFD` on sparc.
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
pub(crate) const SO_PASSPIDFD: libc::c_int = 0x55;

/// `SO_PEERPIDFD` (Linux 6.5+), which `libc` does not define yet: 77 in asm-generic (alpha,
/// mips and powerpc too), 0x56 on sparc (parisc's 0x404B has no Rust target).
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
pub(crate) const SO_PEERPIDFD: libc::c_int = 77;
/// `SO_PEERPIDFD` on sparc.
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
pub(crate) const SO_PEERPIDFD: libc::c_int = 0x56;

/// `getsockopt(SO_PEERCRED)`: the pid, uid and gid of the peer when it connected (or when
/// the pair was made).
pub(crate) fn peer_credentials(
    fd: BorrowedFd<'_>,
) -> Result<(libc::pid_t, libc::uid_t, libc::gid_t), i32> {
    let c: libc::ucred = getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    Ok((c.pid, c.uid, c.gid))
}

/// `getsockopt(SO_PEERPIDFD)`: a new pidfd of the peer's process, owned at once. The kernel
/// opens it close-on-exec.
pub(crate) fn peer_pidfd(fd: BorrowedFd<'_>) -> Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::FromRawFd;
    let pidfd: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, SO_PEERPIDFD)?;
    if pidfd < 0 {
        // Older 6.5 kernels could hand back a negative error number as the value.
        return Err(pidfd.checked_neg().unwrap_or(libc::EINVAL));
    }
    // SAFETY: a successful SO_PEERPIDFD installs a new descriptor in this process and returns
    // its number, which nothing else owns; it is wrapped before anything else can fail.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd) })
}

/// `uname(2)`: calls `f` with the machine name (`x86_64`, `i686`, ...); `None` if the call
/// failed. Asked only where a 32-bit process must know whether its kernel is 64-bit.
#[cfg(target_pointer_width = "32")]
pub(crate) fn machine<T>(f: impl FnOnce(&[u8]) -> T) -> Option<T> {
    // SAFETY: utsname is plain arrays of c_char; all zero is valid.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a live utsname we own; uname writes only into it.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    // SAFETY: c_char and u8 have the same size and alignment, and every byte of the array is
    // initialized (zeroed, then written by uname).
    let bytes: &[u8] =
        unsafe { std::slice::from_raw_parts(u.machine.as_ptr().cast(), u.machine.len()) };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Some(f(&bytes[..end]))
}
