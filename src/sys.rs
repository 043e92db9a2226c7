//! The only module that calls the kernel's socket functions. Every raw `msghdr` is built here,
//! inside one function call, from borrows the compiler tracks, so no pointer in it outlives
//! what it points to.

use std::io::{IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

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
#[derive(Debug, Clone, Copy)]
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
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> Result<usize, i32> {
    let mut off = libc::off_t::try_from(*offset).map_err(|_| libc::EOVERFLOW)?;
    loop {
        // SAFETY: both descriptors are borrowed, so open for the call; `off` is a live off_t the
        // kernel reads and writes back; no other memory of ours is touched.
        let r = unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
        if r >= 0 {
            // The kernel only moves the offset forward from a non-negative value.
            *offset = off as u64;
            return Ok(r as usize);
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// `poll(2)` on one descriptor: `Ok(true)` once any of `events` (or an error or hang-up, which
/// the next call on it reports) is ready, `Ok(false)` when `timeout` passes first. `None` waits
/// without limit. `EINTR` is retried with the time that is left.
pub(crate) fn poll_one(
    fd: BorrowedFd<'_>,
    events: libc::c_short,
    timeout: Option<std::time::Duration>,
) -> Result<bool, i32> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
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
