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
