//! The Unix backend: one EINTR loop ([`retry`]), one `msghdr` builder ([`msghdr`]) with the
//! field widths that differ per system in [`width`], one `getsockopt`, and the calls every Unix
//! has. What differs per system lives in `linux.rs`, `freebsd.rs`, `apple.rs` and `netbsd.rs`,
//! each with the same names, so that the layers above compile against one set of functions.

use std::io::{IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::socket::SockaddrLike;

#[cfg(linux_like)]
mod linux;
#[cfg(linux_like)]
pub(crate) use linux::*;

#[cfg(has_mmsg)]
mod mmsg;
#[cfg(has_mmsg)]
pub(crate) use mmsg::*;

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

/// Runs a system call until it returns anything but -1 with `EINTR`: the value on success (any
/// non-negative return), the errno on failure. The crate's one `EINTR` loop.
#[inline]
pub(crate) fn retry<T: Copy + PartialOrd + Default>(mut call: impl FnMut() -> T) -> Result<T, i32> {
    loop {
        let r = call();
        if r >= T::default() {
            return Ok(r);
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// The C types of `msghdr.msg_iovlen` and `msghdr.msg_controllen`, which differ per system:
/// `size_t` both on glibc and Android; `int` and `socklen_t` on musl and the BSDs. Checked
/// against libc's `msghdr` at compile time below.
mod width {
    #[cfg(any(
        all(target_os = "linux", not(target_env = "musl")),
        target_os = "android"
    ))]
    pub(super) type IovLen = libc::size_t;
    #[cfg(any(
        all(target_os = "linux", not(target_env = "musl")),
        target_os = "android"
    ))]
    pub(super) type ControlLen = libc::size_t;
    #[cfg(not(any(
        all(target_os = "linux", not(target_env = "musl")),
        target_os = "android"
    )))]
    pub(super) type IovLen = libc::c_int;
    #[cfg(not(any(
        all(target_os = "linux", not(target_env = "musl")),
        target_os = "android"
    )))]
    pub(super) type ControlLen = libc::socklen_t;

    // A wrong alias fails to compile here, on the target where it is wrong.
    const _: fn(&mut libc::msghdr, IovLen, ControlLen) = |m, iov, control| {
        m.msg_iovlen = iov;
        m.msg_controllen = control;
    };
}

/// `msg_iovlen` for `n` iovecs (callers check `n` against `IOV_MAX` first; a count the type
/// cannot hold becomes its maximum, which the kernel refuses).
#[inline]
fn iov_len(n: usize) -> width::IovLen {
    width::IovLen::try_from(n).unwrap_or(width::IovLen::MAX)
}

/// `msg_controllen` for `n` bytes of control data (a buffer larger than the type holds is
/// offered only as far as the type reaches).
#[inline]
fn control_len(n: usize) -> width::ControlLen {
    width::ControlLen::try_from(n).unwrap_or(width::ControlLen::MAX)
}

/// `msg_controllen` as the kernel wrote it back.
#[inline]
#[allow(clippy::useless_conversion)] // the same type on glibc, a wider one on musl and the BSDs
fn control_len_back(n: width::ControlLen) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A `msghdr` over these buffers: the one place a `msghdr` is filled. Empty control data goes
/// as NULL with length 0 (NetBSD and macOS refuse a non-null empty buffer).
#[inline]
fn msghdr(
    name: *mut libc::c_void,
    namelen: libc::socklen_t,
    iov: *mut libc::iovec,
    iovlen: usize,
    control: *mut libc::c_void,
    controllen: usize,
) -> libc::msghdr {
    // SAFETY: msghdr is plain data (pointers and integers, explicit padding on some targets);
    // all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = name;
    msg.msg_namelen = namelen;
    msg.msg_iov = iov;
    msg.msg_iovlen = iov_len(iovlen);
    if controllen > 0 {
        msg.msg_control = control;
        msg.msg_controllen = control_len(controllen);
    }
    msg
}

/// `sendmsg(2)`, retried on `EINTR`.
#[inline]
pub(crate) fn sendmsg(
    fd: BorrowedFd<'_>,
    name: Option<Name<'_>>,
    iov: &[IoSlice<'_>],
    control: &[u8],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let (name_ptr, namelen) = name.map_or((std::ptr::null(), 0), |n| (n.ptr, n.len));
    // IoSlice is guaranteed ABI-compatible with struct iovec on Unix.
    let msg = msghdr(
        name_ptr as *mut libc::c_void,
        namelen,
        iov.as_ptr() as *mut libc::iovec,
        iov.len(),
        control.as_ptr() as *mut libc::c_void,
        control.len(),
    );
    // SAFETY: every pointer in msg comes from a borrow (name, iov, control) that outlives this
    // call, with the matching length; the kernel only reads through them for sendmsg.
    retry(|| unsafe { sendmsg_call(fd.as_raw_fd(), &msg, flags) }).map(|r| r as usize)
}

/// The C library's `sendmsg`.
///
/// # Safety
/// As `sendmsg(2)`: every pointer in `msg` valid for reads of its length.
#[cfg(not(target_env = "musl"))]
#[inline]
unsafe fn sendmsg_call(fd: libc::c_int, msg: &libc::msghdr, flags: libc::c_int) -> isize {
    // SAFETY: forwarded to the caller.
    unsafe { libc::sendmsg(fd, msg, flags) }
}

/// The `sendmsg` system call itself, not musl's wrapper: on 64-bit targets the wrapper copies
/// the control data into a 1056-byte stack buffer (to clear the padding of each `cmsg_len`)
/// and fails with `ENOMEM` above it, which would cap a message at 253 fds without credentials.
/// The kernel's `msghdr` and `cmsghdr` have `size_t` lengths where musl's have a 32-bit field
/// and explicit padding: [`msghdr`] starts from zeroes and the encoder zeroes each header's
/// padding, so the kernel reads the same lengths the wrapper would give it.
///
/// # Safety
/// As `sendmsg(2)`: every pointer in `msg` valid for reads of its length.
#[cfg(target_env = "musl")]
#[inline]
unsafe fn sendmsg_call(fd: libc::c_int, msg: &libc::msghdr, flags: libc::c_int) -> isize {
    // SAFETY: SYS_sendmsg takes (int, const struct msghdr *, int), passed as the longs
    // syscall(2) reads; the pointers in msg are valid (the caller's duty), and its padding
    // fields are zero.
    unsafe {
        libc::syscall(
            libc::SYS_sendmsg,
            libc::c_long::from(fd),
            msg as *const libc::msghdr,
            libc::c_long::from(flags),
        ) as isize
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
    // IoSliceMut is guaranteed ABI-compatible with struct iovec on Unix.
    let mut msg = msghdr(
        name.as_mut_ptr().cast(),
        size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        iov.as_mut_ptr().cast::<libc::iovec>(),
        iov.len(),
        control.as_mut_ptr().cast(),
        control.len(),
    );
    let fields = (msg.msg_namelen, msg.msg_controllen);
    let r = retry(|| {
        // The kernel rewrites these on a failed call too: every try starts from the buffers.
        (msg.msg_namelen, msg.msg_controllen, msg.msg_flags) = (fields.0, fields.1, 0);
        // SAFETY: every pointer in msg comes from an exclusive borrow (name, iov, control) that
        // outlives this call, with the matching length; the kernel writes at most that much
        // through each.
        unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) }
    })?;
    Ok(RecvOut {
        bytes: r as usize,
        namelen: msg
            .msg_namelen
            .min(size_of::<libc::sockaddr_storage>() as _),
        controllen: control_len_back(msg.msg_controllen).min(control.len()),
        flags: msg.msg_flags,
    })
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
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ready = retry(|| {
        // Each try waits for what is left of the time (an EINTR comes back here).
        let ms: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                // Round up so that a wait never ends before the deadline.
                let ms = left.as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        // SAFETY: pfd is one live pollfd, and we pass a count of 1.
        unsafe { libc::poll(&mut pfd, 1, ms) }
    })?;
    Ok(ready > 0)
}

/// Plain-data option values `getsockopt` may fill: valid for any bytes the kernel writes.
///
/// # Safety
/// Implementors are integers or `repr(C)` structs of integers.
pub(crate) unsafe trait OptionValue: Copy {}
// SAFETY: an integer is valid for any bit pattern.
unsafe impl OptionValue for libc::c_int {}

/// `getsockopt(2)` of one option of type `T`; fails with `EINVAL` if the kernel wrote less than
/// a whole `T`.
pub(crate) fn getsockopt<T: OptionValue>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> Result<T, i32> {
    let mut v = std::mem::MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: v and len are live locals, valid for writes of the sizes given.
    retry(|| unsafe {
        libc::getsockopt(fd.as_raw_fd(), level, name, v.as_mut_ptr().cast(), &mut len)
    })?;
    if (len as usize) < size_of::<T>() {
        return Err(libc::EINVAL);
    }
    // SAFETY: v started zeroed (a valid T: OptionValue types are valid for any bytes) and the
    // kernel wrote at most size_of::<T>() bytes of it.
    Ok(unsafe { v.assume_init() })
}

/// `getsockopt(SO_TYPE)`: `SOCK_STREAM`, `SOCK_DGRAM`, ...
pub(crate) fn socket_type(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt(fd, libc::SOL_SOCKET, libc::SO_TYPE)
}

/// `getsockopt(SO_ERROR)`: the socket's pending asynchronous error (0: none), which the call
/// clears.
pub(crate) fn take_socket_error(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR)
}

/// The calling process's pid, effective uid and effective gid.
pub(crate) fn current_ids() -> (libc::pid_t, libc::uid_t, libc::gid_t) {
    // SAFETY: getpid, geteuid and getegid cannot fail and touch no memory of ours.
    unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) }
}
