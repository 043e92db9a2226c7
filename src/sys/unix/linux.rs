//! Linux (and Android): `sendfile(2)`, UDP GSO, `SO_DOMAIN`.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::{errno, getsockopt, retry};

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

/// `SIGPIPE` blocked in the calling thread while this lives, and whether one was pending when
/// it was blocked; dropping it restores the thread's signal mask as it was for `SIGPIPE`.
struct SigpipeBlocked {
    only: libc::sigset_t,
    was_blocked: bool,
    was_pending: bool,
}

impl SigpipeBlocked {
    fn new() -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset then initialises it fully.
        let mut only: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `only` and `old` are live sigset_t values we own; SIGPIPE is a valid signal,
        // so neither call can fail; pthread_sigmask changes only this thread's mask.
        let was_blocked = unsafe {
            libc::sigemptyset(&mut only);
            libc::sigaddset(&mut only, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &only, &mut old);
            libc::sigismember(&old, libc::SIGPIPE) == 1
        };
        SigpipeBlocked {
            only,
            was_blocked,
            was_pending: sigpipe_pending(),
        }
    }

    /// Takes a `SIGPIPE` that became pending while blocked; one pending before stays pending.
    fn take_raised(&self) {
        if self.was_pending || !sigpipe_pending() {
            return;
        }
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // A zero timeout never waits; EINTR (another signal's handler ran) is tried again,
        // a few times at most.
        for _ in 0..4 {
            // SAFETY: `only` is an initialised sigset_t and `zero` a live timespec; a null
            // siginfo pointer is allowed. SIGPIPE is blocked in this thread, as sigtimedwait
            // requires.
            let r = unsafe { libc::sigtimedwait(&self.only, std::ptr::null_mut(), &zero) };
            if r >= 0 || errno() != libc::EINTR {
                return;
            }
        }
    }
}

impl Drop for SigpipeBlocked {
    fn drop(&mut self) {
        if !self.was_blocked {
            // SAFETY: `only` is an initialised sigset_t; a null old set is allowed; this
            // unblocks SIGPIPE in this thread only, as it was before `new`.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &self.only, std::ptr::null_mut()) };
        }
    }
}

/// Whether `SIGPIPE` is pending for the calling thread (or the process).
fn sigpipe_pending() -> bool {
    // SAFETY: sigset_t is plain data; sigpending fills it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live sigset_t we own; sigpending fails only for a bad pointer.
    unsafe { libc::sigpending(&mut set) == 0 && libc::sigismember(&set, libc::SIGPIPE) == 1 }
}

/// `getsockopt(SO_DOMAIN)`: `AF_INET`, `AF_INET6`, `AF_UNIX`, ...
pub(crate) fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)
}

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
