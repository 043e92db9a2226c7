//! The only module that calls the kernel's socket functions. Every raw `msghdr` and `mmsghdr`
//! is built here, inside one function call, from borrows the compiler tracks, so no pointer in
//! it outlives what it points to.

use std::io::{IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::sys::socket::SockaddrLike;

use crate::cmsg::Credentials;

/// A socket address borrowed for `'a`, as `msg_name` wants it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Name<'a> {
    ptr: *const libc::sockaddr,
    len: libc::socklen_t,
    _borrow: PhantomData<&'a ()>,
}

// SAFETY: a Name is a shared borrow of a `Sync` address (the bound on `Name::new`), so it may be
// sent to and shared with other threads like the `&'a A` it stands for.
unsafe impl Send for Name<'_> {}
// SAFETY: as for Send.
unsafe impl Sync for Name<'_> {}

impl<'a> Name<'a> {
    #[inline]
    pub(crate) fn new<A: SockaddrLike + Sync + ?Sized>(addr: &'a A) -> Self {
        Name {
            ptr: addr.as_ptr(),
            len: addr.len(),
            _borrow: PhantomData,
        }
    }
}

#[cold]
fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `sendmsg(2)`, retried on `EINTR`. Empty control data goes as NULL with length 0.
#[inline]
pub(crate) fn sendmsg(
    fd: BorrowedFd<'_>,
    name: Option<Name<'_>>,
    iov: &[IoSlice<'_>],
    control: &[u8],
    flags: libc::c_int,
) -> Result<usize, i32> {
    // SAFETY: msghdr is plain data (pointers and integers, explicit padding on some targets);
    // all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(n) = name {
        msg.msg_name = n.ptr as *mut libc::c_void;
        msg.msg_namelen = n.len;
    }
    // IoSlice is guaranteed ABI-compatible with struct iovec on Unix.
    msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = iov.len() as _;
    if !control.is_empty() {
        msg.msg_control = control.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.len() as _;
    }
    loop {
        // SAFETY: every pointer in msg comes from a borrow (name, iov, control) that outlives
        // this call, with the matching length; the kernel only reads through them for sendmsg.
        let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
        if r >= 0 {
            return Ok(r as usize);
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// What `recvmsg(2)` reported besides the data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecvOut {
    pub(crate) bytes: usize,
    pub(crate) namelen: libc::socklen_t,
    pub(crate) controllen: usize,
    pub(crate) flags: libc::c_int,
}

/// `recvmsg(2)`, retried on `EINTR`. `msg_controllen` and `msg_namelen` are clamped to the
/// buffers given, whatever the kernel writes back.
#[inline]
pub(crate) fn recvmsg(
    fd: BorrowedFd<'_>,
    name: &mut std::mem::MaybeUninit<libc::sockaddr_storage>,
    iov: &mut [IoSliceMut<'_>],
    control: &mut [u8],
    flags: libc::c_int,
) -> Result<RecvOut, i32> {
    loop {
        // SAFETY: as in sendmsg.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = name.as_mut_ptr().cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // IoSliceMut is guaranteed ABI-compatible with struct iovec on Unix.
        msg.msg_iov = iov.as_mut_ptr().cast::<libc::iovec>();
        msg.msg_iovlen = iov.len() as _;
        if !control.is_empty() {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = control.len() as _;
        }
        // SAFETY: every pointer in msg comes from an exclusive borrow (name, iov, control) that
        // outlives this call, with the matching length; the kernel writes at most that much
        // through each.
        let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
        if r >= 0 {
            return Ok(RecvOut {
                bytes: r as usize,
                namelen: msg
                    .msg_namelen
                    .min(size_of::<libc::sockaddr_storage>() as _),
                #[allow(clippy::unnecessary_cast)]
                controllen: (msg.msg_controllen as usize).min(control.len()),
                flags: msg.msg_flags,
            });
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// The most bytes one `sendfile(2)` moves (`MAX_RW_COUNT`); the kernel clamps larger counts.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const SENDFILE_MAX: usize = 0x7fff_f000;

/// `sendfile(2)` of at most `count` bytes from `file` at `*offset` to `socket`, retried on
/// `EINTR`. `*offset` moves past what was sent; the file position of `file` does not change.
///
/// `sendfile` takes no `MSG_NOSIGNAL`: unless `allow_sigpipe`, `SIGPIPE` is blocked in the
/// calling thread for the call (see [`SigpipeBlocked`]), and a `SIGPIPE` the call raised is
/// taken before the mask is restored.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
    allow_sigpipe: bool,
) -> Result<usize, i32> {
    let mut off = libc::off_t::try_from(*offset).map_err(|_| libc::EOVERFLOW)?;
    let blocked = (!allow_sigpipe).then(SigpipeBlocked::new);
    let result = loop {
        // SAFETY: both descriptors are borrowed, so open for the call; `off` is a live off_t the
        // kernel reads and writes back; no other memory of ours is touched.
        let r = unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
        if r >= 0 {
            // The kernel only moves the offset forward from a non-negative value.
            *offset = off as u64;
            break Ok(r as usize);
        }
        match errno() {
            libc::EINTR => continue,
            e => break Err(e),
        }
    };
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
#[cfg(any(target_os = "linux", target_os = "android"))]
struct SigpipeBlocked {
    only: libc::sigset_t,
    was_blocked: bool,
    was_pending: bool,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
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

#[cfg(any(target_os = "linux", target_os = "android"))]
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
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sigpipe_pending() -> bool {
    // SAFETY: sigset_t is plain data; sigpending fills it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live sigset_t we own; sigpending fails only for a bad pointer.
    unsafe { libc::sigpending(&mut set) == 0 && libc::sigismember(&set, libc::SIGPIPE) == 1 }
}

/// `poll(2)` on one descriptor: `Ok(true)` once any of `events` (or an error or hang-up, which
/// the next call on it reports) is ready, `Ok(false)` when `timeout` passes first. `None` (or
/// a timeout too long for the clock to represent) waits without limit. `EINTR` is retried with
/// the time that is left.
pub(crate) fn poll_one(
    fd: BorrowedFd<'_>,
    events: libc::c_short,
    timeout: Option<std::time::Duration>,
) -> Result<bool, i32> {
    let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
    loop {
        let ms: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                // Round up so that a wait never ends before the deadline.
                let ms = left.as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: pfd is one live pollfd, and we pass a count of 1.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// `getsockopt(SO_TYPE)`: `SOCK_STREAM`, `SOCK_DGRAM`, ...
pub(crate) fn socket_type(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    let mut ty: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: ty and len are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok(ty)
    } else {
        Err(errno())
    }
}

/// `getsockopt` of one `int` option.
fn getsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> Result<libc::c_int, i32> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are live locals, valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok(v)
    } else {
        Err(errno())
    }
}

/// `getsockopt(SO_DOMAIN)`: `AF_INET`, `AF_INET6`, `AF_UNIX`, ...
pub(crate) fn socket_domain(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)
}

/// `getsockopt(SO_ERROR)`: the socket's pending asynchronous error (0: none), which the call
/// clears.
pub(crate) fn take_socket_error(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR)
}

/// The calling process's pid and effective uid and gid.
pub(crate) fn current_credentials() -> Credentials {
    // SAFETY: getpid, geteuid and getegid cannot fail and touch no memory of ours.
    unsafe {
        Credentials {
            pid: libc::getpid(),
            uid: libc::geteuid(),
            gid: libc::getegid(),
        }
    }
}

/// Storage for the raw headers of one `sendmmsg`/`recvmmsg` call.
///
/// It is empty between calls: headers are written into it inside one call of [`sendmmsg`] or
/// [`recvmmsg`], from borrows that outlive that call, and cleared before the call returns.
/// Only the capacity is kept, so a warm batch allocates nothing.
#[derive(Default)]
pub(crate) struct MmsgScratch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
}

// SAFETY: the vectors are empty outside a call (see the type's docs), so no pointer in them is
// ever reachable from another thread; what remains is an allocation of plain memory.
unsafe impl Send for MmsgScratch {}
// SAFETY: as for Send; a shared reference allows no access to the contents at all.
unsafe impl Sync for MmsgScratch {}

impl std::fmt::Debug for MmsgScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmsgScratch")
            .field("capacity", &self.hdrs.capacity())
            .finish()
    }
}

/// One message of a `sendmmsg`: everything borrowed for `'a`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutMsg<'a> {
    pub(crate) name: Option<Name<'a>>,
    pub(crate) iov: &'a [IoSlice<'a>],
    pub(crate) control: &'a [u8],
}

/// `sendmmsg(2)` of `msgs` (at most [`MAX_MMSG`](crate::limits::MAX_MMSG) of them), retried on
/// `EINTR`: how many messages the kernel took, from the first, and the bytes it took of the
/// last of them (`msg_len`). Empty control data goes as NULL with length 0.
pub(crate) fn sendmmsg<'a>(
    fd: BorrowedFd<'_>,
    scratch: &mut MmsgScratch,
    msgs: impl IntoIterator<Item = OutMsg<'a>>,
    flags: libc::c_int,
) -> Result<(usize, usize), i32> {
    let hdrs = &mut scratch.hdrs;
    hdrs.clear();
    for m in msgs {
        // SAFETY: mmsghdr is plain data (pointers and integers); all-zero is a valid value.
        let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
        if let Some(n) = m.name {
            h.msg_hdr.msg_name = n.ptr as *mut libc::c_void;
            h.msg_hdr.msg_namelen = n.len;
        }
        // IoSlice is guaranteed ABI-compatible with struct iovec on Unix.
        h.msg_hdr.msg_iov = m.iov.as_ptr() as *mut libc::iovec;
        h.msg_hdr.msg_iovlen = m.iov.len() as _;
        if !m.control.is_empty() {
            h.msg_hdr.msg_control = m.control.as_ptr() as *mut libc::c_void;
            h.msg_hdr.msg_controllen = m.control.len() as _;
        }
        hdrs.push(h);
    }
    let result = loop {
        // SAFETY: every pointer in the headers comes from a borrow of an OutMsg<'a>, and 'a
        // outlives this call; lengths match the borrowed slices; the kernel only reads through
        // them, and writes msg_len into the headers, which we own.
        let r = unsafe {
            libc::sendmmsg(
                fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                hdrs.len() as libc::c_uint,
                flags,
            )
        };
        if r >= 0 {
            let k = r as usize;
            let last = k
                .checked_sub(1)
                .and_then(|i| hdrs.get(i))
                .map_or(0, |h| h.msg_len as usize);
            break Ok((k, last));
        }
        match errno() {
            libc::EINTR => continue,
            e => break Err(e),
        }
    };
    hdrs.clear();
    result
}

/// One message slot of a `recvmmsg`: everything exclusively borrowed for `'a`.
#[derive(Debug)]
pub(crate) struct InMsg<'a> {
    pub(crate) name: &'a mut libc::sockaddr_storage,
    pub(crate) buf: &'a mut [u8],
    pub(crate) control: &'a mut [u8],
}

/// `recvmmsg(2)` into `msgs` (at most [`MAX_MMSG`](crate::limits::MAX_MMSG)), without timeout,
/// retried on `EINTR`; writes what each received message reported into `out` (as long as
/// `msgs`) and returns how many messages arrived.
///
/// Every header is built anew from the full buffers on each call, so `msg_controllen`,
/// `msg_namelen` and `msg_flags` never carry over from an earlier call (nix#2813); the lengths
/// the kernel writes back are clamped to the buffers given.
pub(crate) fn recvmmsg<'a>(
    fd: BorrowedFd<'_>,
    scratch: &mut MmsgScratch,
    msgs: impl IntoIterator<Item = InMsg<'a>>,
    out: &mut [RecvOut],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let MmsgScratch { hdrs, iovs } = scratch;
    hdrs.clear();
    iovs.clear();
    for (m, o) in msgs.into_iter().zip(out.iter_mut()) {
        // SAFETY: mmsghdr is plain data; all-zero is valid.
        let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
        h.msg_hdr.msg_name = (m.name as *mut libc::sockaddr_storage).cast();
        h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        iovs.push(libc::iovec {
            iov_base: m.buf.as_mut_ptr().cast(),
            iov_len: m.buf.len(),
        });
        h.msg_hdr.msg_iovlen = 1;
        if !m.control.is_empty() {
            h.msg_hdr.msg_control = m.control.as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = m.control.len() as _;
        }
        o.controllen = m.control.len();
        hdrs.push(h);
    }
    // The iovecs are in place now: point each header at its own.
    let base = iovs.as_mut_ptr();
    for (i, h) in hdrs.iter_mut().enumerate() {
        h.msg_hdr.msg_iov = base.wrapping_add(i);
    }
    let result = loop {
        // SAFETY: every pointer in the headers comes from an exclusive borrow of an InMsg<'a>
        // ('a outlives this call) or points into `iovs`, which is not touched until the call
        // returns; each length matches its buffer, and the kernel writes at most that much.
        let r = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                hdrs.len() as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if r >= 0 {
            break Ok(r as usize);
        }
        match errno() {
            libc::EINTR => continue,
            e => break Err(e),
        }
    };
    if let Ok(n) = result {
        for (h, o) in hdrs.iter().zip(out.iter_mut()).take(n) {
            o.bytes = h.msg_len as usize;
            o.namelen = h
                .msg_hdr
                .msg_namelen
                .min(size_of::<libc::sockaddr_storage>() as _);
            #[allow(clippy::unnecessary_cast)]
            {
                o.controllen = (h.msg_hdr.msg_controllen as usize).min(o.controllen);
            }
            o.flags = h.msg_hdr.msg_flags;
        }
    }
    hdrs.clear();
    iovs.clear();
    result
}

/// `getsockopt(SOL_UDP, UDP_SEGMENT)`: the socket's default GSO segment size (0: none). An
/// error (`ENOPROTOOPT`, `EOPNOTSUPP`) means the socket cannot do UDP GSO.
pub(crate) fn udp_segment_option(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok(v)
    } else {
        Err(errno())
    }
}

/// The kernel's `UDP_MAX_SEGMENTS`, found by sending on a private socket on 127.0.0.1 to
/// itself: 128 one-byte segments, then 64 if the kernel refused with `EINVAL`. The socket is
/// closed with whatever it received; no option is set on it. `None` if neither went.
pub(crate) fn probe_udp_max_segments() -> Option<usize> {
    use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    let to: nix::sys::socket::SockaddrIn = match sock.local_addr().ok()? {
        SocketAddr::V4(a) => a.into(),
        SocketAddr::V6(_) => return None,
    };
    let mut storage = crate::cmsg::CmsgBuffer::<{ crate::cmsg::UDP_SEGMENT_SPACE }>::new();
    let mut control = storage.encoder();
    control.push_udp_segment(1).ok()?;
    let payload = [0u8; 128];
    for n in [128, 64] {
        let iov = [IoSlice::new(&payload[..n])];
        match sendmsg(
            sock.as_fd(),
            Some(Name::new(&to)),
            &iov,
            control.as_bytes(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        ) {
            Ok(_) => return Some(n),
            Err(libc::EINVAL) => continue,
            Err(_) => return None,
        }
    }
    None
}
