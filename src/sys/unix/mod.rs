//! The Unix backend: one EINTR loop ([`retry`]), one `msghdr` builder ([`MsgFields`]) with the
//! field widths that differ per system in [`width`], one `getsockopt`, and the calls every Unix
//! has. What differs per system lives in `linux.rs`, `freebsd.rs`, `apple.rs` and `netbsd.rs`,
//! each with the same names, so that the layers above compile against one set of functions.

use std::io::{IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::socket::SockaddrLike;

mod limits;
pub(crate) use limits::*;

#[cfg(any(freebsd, apple))]
mod bsd_sendfile;
#[cfg(any(freebsd, apple))]
pub(crate) use bsd_sendfile::{sendfile, SENDFILE_MAX};

#[cfg(linux_like)]
mod linux;
#[cfg(linux_like)]
pub(crate) use linux::*;

#[cfg(freebsd)]
mod freebsd;
#[cfg(freebsd)]
pub(crate) use freebsd::*;

#[cfg(netbsd)]
mod netbsd;
#[cfg(netbsd)]
pub(crate) use netbsd::*;

#[cfg(apple)]
mod apple;
#[cfg(apple)]
pub(crate) use apple::*;

#[cfg(has_mmsg)]
mod mmsg;
#[cfg(has_mmsg)]
pub(crate) use mmsg::*;

// Where the system has no sendmmsg/recvmmsg: the same functions as a loop of single calls.
#[cfg(not(has_mmsg))]
mod mmsg_loop;
#[cfg(not(has_mmsg))]
pub(crate) use mmsg_loop::*;

// The flags the crate passes by default, where the system defines them; where it does not,
// the system's file defines a value of its own that `send_flags`/`recv_flags` carry out and
// never pass to the kernel.
#[cfg(has_cmsg_cloexec)]
pub(crate) use libc::MSG_CMSG_CLOEXEC;
#[cfg(has_msg_nosignal)]
pub(crate) use libc::MSG_NOSIGNAL;
#[cfg(has_mmsg)]
pub(crate) use libc::MSG_WAITFORONE;

/// The flags to pass to the kernel for a send with `flags` on `fd`: all of them, where the
/// system has `MSG_NOSIGNAL`.
#[cfg(has_msg_nosignal)]
#[inline(always)]
fn send_flags(_fd: BorrowedFd<'_>, flags: libc::c_int) -> Result<libc::c_int, i32> {
    Ok(flags)
}

/// The flags to pass to the kernel for a receive with `flags`, and whether received
/// descriptors must be made close-on-exec afterwards: never, where the system has
/// `MSG_CMSG_CLOEXEC`.
#[cfg(has_cmsg_cloexec)]
#[inline(always)]
fn recv_flags(flags: libc::c_int) -> (libc::c_int, bool) {
    (flags, false)
}

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

/// Consecutive messages of a `sendmmsg` with the same name and control data, each of the same
/// number of iovecs taken in order from one slice: everything borrowed for `'a`. Made only by
/// [`one`](Self::one) and [`each`](Self::each), so the messages cover the slice exactly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutRun<'a> {
    name: Option<Name<'a>>,
    iov: &'a [IoSlice<'a>],
    control: &'a [u8],
    /// Iovecs per message.
    per: usize,
    messages: usize,
}

impl<'a> OutRun<'a> {
    /// One message of all of `iov`.
    #[inline]
    pub(crate) fn one(name: Option<Name<'a>>, iov: &'a [IoSlice<'a>], control: &'a [u8]) -> Self {
        OutRun {
            name,
            iov,
            control,
            per: iov.len(),
            messages: 1,
        }
    }

    /// A message of one iovec for each of `iov`.
    #[inline]
    pub(crate) fn each(name: Option<Name<'a>>, iov: &'a [IoSlice<'a>], control: &'a [u8]) -> Self {
        OutRun {
            name,
            iov,
            control,
            per: 1,
            messages: iov.len(),
        }
    }
}

/// A Unix socket address (`sockaddr_un`) held inline: what a std
/// [`SocketAddr`](std::os::unix::net::SocketAddr) names, as `msg_name` wants it.
#[derive(Clone, Copy)]
pub(crate) struct UnixName {
    addr: libc::sockaddr_un,
    len: libc::socklen_t,
}

/// The offset of `sun_path` in `sockaddr_un`.
const SUN_PATH: usize = std::mem::offset_of!(libc::sockaddr_un, sun_path);

impl UnixName {
    /// The address of `a`: its path, its abstract name (Linux), or only the family for an
    /// unnamed address (which a send refuses with `EINVAL`).
    pub(crate) fn from_std(a: &std::os::unix::net::SocketAddr) -> Self {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: sockaddr_un is plain data (a family and bytes); all-zero is valid.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        // std checked the length of the name when it made the address: it fits sun_path.
        let (lead, bytes): (usize, &[u8]) = match (a.as_pathname(), abstract_name(a)) {
            (Some(p), _) => (0, p.as_os_str().as_bytes()),
            (None, Some(name)) => (1, name),
            (None, None) => (0, &[]),
        };
        let room = addr.sun_path.len().saturating_sub(lead);
        let bytes = &bytes[..bytes.len().min(room)];
        for (d, s) in addr.sun_path[lead..].iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        let used = if bytes.is_empty() && lead == 0 {
            0
        } else {
            lead + bytes.len()
        };
        UnixName {
            addr,
            len: (SUN_PATH + used) as libc::socklen_t,
        }
    }

    /// The address as `msg_name`.
    pub(crate) fn name(&self) -> Name<'_> {
        Name {
            ptr: (&self.addr as *const libc::sockaddr_un).cast(),
            len: self.len,
            _borrow: PhantomData,
        }
    }
}

impl std::fmt::Debug for UnixName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = &self.addr.sun_path[..(self.len as usize).saturating_sub(SUN_PATH)];
        #[allow(clippy::unnecessary_cast)] // c_char is i8 on x86 and u8 on aarch64
        let bytes: Vec<u8> = path.iter().map(|&c| c as u8).collect();
        f.debug_struct("UnixName")
            .field("sun_path", &String::from_utf8_lossy(&bytes))
            .finish()
    }
}

#[cfg(target_os = "linux")]
fn abstract_name(a: &std::os::unix::net::SocketAddr) -> Option<&[u8]> {
    std::os::linux::net::SocketAddrExt::as_abstract_name(a)
}
#[cfg(target_os = "android")]
fn abstract_name(a: &std::os::unix::net::SocketAddr) -> Option<&[u8]> {
    std::os::android::net::SocketAddrExt::as_abstract_name(a)
}
#[cfg(not(linux_like))]
fn abstract_name(_: &std::os::unix::net::SocketAddr) -> Option<&[u8]> {
    None
}

/// The std form of a Unix socket address that `recvmsg` wrote (its first `namelen` bytes):
/// `None` for another family and for an unnamed address (std cannot make one).
pub(crate) fn unix_socket_addr(name: &[u8]) -> Option<std::os::unix::net::SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let family = name.get(..size_of::<libc::sa_family_t>())?;
    let family = libc::sa_family_t::from_ne_bytes(family.try_into().ok()?);
    if libc::c_int::from(family) != libc::AF_UNIX {
        return None;
    }
    let path = name.get(SUN_PATH..)?;
    match path.split_first() {
        None => None,
        Some((0, _name)) => {
            #[cfg(target_os = "linux")]
            return <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(_name).ok();
            #[cfg(target_os = "android")]
            return <std::os::unix::net::SocketAddr as std::os::android::net::SocketAddrExt>::from_abstract_name(_name).ok();
            #[cfg(not(linux_like))]
            return None;
        }
        Some(_) => {
            // The kernel may or may not count a terminating NUL.
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            let p = std::ffi::OsStr::from_bytes(&path[..end]);
            std::os::unix::net::SocketAddr::from_pathname(p).ok()
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

/// What a `msghdr` is set from: every field a call reads, in Rust's widths. [`set`](Self::set)
/// is the one place a `msghdr` is filled. Empty control data goes as NULL with length 0
/// (NetBSD and macOS refuse a non-null empty buffer).
#[derive(Debug, Clone, Copy)]
struct MsgFields {
    name: *mut libc::c_void,
    namelen: libc::socklen_t,
    iov: *mut libc::iovec,
    iovlen: usize,
    control: *mut libc::c_void,
    controllen: usize,
}

impl MsgFields {
    /// A `msghdr` holding these, its padding fields zero.
    #[inline]
    fn header(self) -> libc::msghdr {
        // SAFETY: msghdr is plain data (pointers and integers, explicit padding on some
        // targets); all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        self.set(&mut msg);
        msg
    }

    /// Sets every field of `msg` that a call reads or writes back (name, iovecs, control data,
    /// flags); padding fields are left as they are (zero in a header made by
    /// [`header`](Self::header) or zeroed).
    #[inline]
    fn set(self, msg: &mut libc::msghdr) {
        msg.msg_name = self.name;
        msg.msg_namelen = self.namelen;
        msg.msg_iov = self.iov;
        msg.msg_iovlen = iov_len(self.iovlen);
        (msg.msg_control, msg.msg_controllen) = self.control_field();
        msg.msg_flags = 0;
    }

    /// Whether `msg` holds what [`set`](Self::set) writes.
    #[cfg(has_mmsg)]
    #[inline]
    fn is_in(self, msg: &libc::msghdr) -> bool {
        msg.msg_name == self.name
            && msg.msg_namelen == self.namelen
            && msg.msg_iov == self.iov
            && msg.msg_iovlen == iov_len(self.iovlen)
            && (msg.msg_control, msg.msg_controllen) == self.control_field()
            && msg.msg_flags == 0
    }

    /// `msg_control` and `msg_controllen`: NULL and 0 when empty.
    #[inline]
    fn control_field(self) -> (*mut libc::c_void, width::ControlLen) {
        if self.controllen > 0 {
            (self.control, control_len(self.controllen))
        } else {
            (std::ptr::null_mut(), 0)
        }
    }
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
    let flags = send_flags(fd, flags)?;
    sendmsg_as_is(fd, name, iov, control, flags)
}

/// `sendmsg(2)` with `flags` passed to the kernel as they are (`send_flags` applied already),
/// retried on `EINTR`.
#[inline]
fn sendmsg_as_is(
    fd: BorrowedFd<'_>,
    name: Option<Name<'_>>,
    iov: &[IoSlice<'_>],
    control: &[u8],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let (name_ptr, namelen) = name.map_or((std::ptr::null(), 0), |n| (n.ptr, n.len));
    // IoSlice is guaranteed ABI-compatible with struct iovec on Unix.
    let msg = MsgFields {
        name: name_ptr as *mut libc::c_void,
        namelen,
        iov: iov.as_ptr() as *mut libc::iovec,
        iovlen: iov.len(),
        control: control.as_ptr() as *mut libc::c_void,
        controllen: control.len(),
    }
    .header();
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
/// and explicit padding: [`MsgFields::header`] starts from zeroes and the encoder zeroes each
/// header's padding, so the kernel reads the same lengths the wrapper would give it.
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

/// The buffers of a `recvmmsg` as equal slots: slot `i` receives its source address into
/// `names[i]`, its data into `data[i * buf_size..][..buf_size]` and its control data into
/// `control[i * control_size..][..control_size]`; everything exclusively borrowed for `'a`.
/// Each data slot is offered as one iovec per entry of `split`, in order and adjacent (their
/// sizes sum to `buf_size`). The sizes at one address never change (`recvmmsg` keeps headers
/// built for them from call to call).
#[derive(Debug)]
pub(crate) struct InSlots<'a> {
    pub(crate) names: &'a mut [libc::sockaddr_storage],
    pub(crate) data: &'a mut [u8],
    pub(crate) buf_size: usize,
    pub(crate) split: &'a [usize],
    pub(crate) control: &'a mut [u8],
    pub(crate) control_size: usize,
}

/// What `recvmsg(2)` reported besides the data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecvOut {
    pub(crate) bytes: usize,
    pub(crate) namelen: libc::socklen_t,
    pub(crate) controllen: usize,
    pub(crate) flags: libc::c_int,
    /// Not the call's but a `RecvBatch` slot's: set when the datagram's drop closed whatever
    /// its control data still held, so that the batch's next call need not walk it again.
    /// False as the call leaves it; the batch clears it before each call.
    pub(crate) released: bool,
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
    let mut msg = MsgFields {
        name: name.as_mut_ptr().cast(),
        namelen: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        iov: iov.as_mut_ptr().cast::<libc::iovec>(),
        iovlen: iov.len(),
        control: control.as_mut_ptr().cast(),
        controllen: control.len(),
    }
    .header();
    let fields = (msg.msg_namelen, msg.msg_controllen);
    let (flags, cloexec) = recv_flags(flags);
    let r = retry(|| {
        // The kernel rewrites these on a failed call too: every try starts from the buffers.
        (msg.msg_namelen, msg.msg_controllen, msg.msg_flags) = (fields.0, fields.1, 0);
        // SAFETY: every pointer in msg comes from an exclusive borrow (name, iov, control) that
        // outlives this call, with the matching length; the kernel writes at most that much
        // through each.
        unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) }
    })?;
    let controllen = control_len_back(msg.msg_controllen).min(control.len());
    if cloexec {
        set_cloexec_received(&control[..controllen]);
    }
    Ok(RecvOut {
        bytes: r as usize,
        namelen: msg
            .msg_namelen
            .min(size_of::<libc::sockaddr_storage>() as _),
        controllen,
        flags: msg.msg_flags,
        released: false,
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
// SAFETY: struct ucred is three integers (pid, uid, gid), valid for any bit pattern.
#[cfg(linux_like)]
unsafe impl OptionValue for libc::ucred {}

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

/// `getsockopt(2)` of an option into `buf`; the bytes the kernel wrote (a prefix of `buf`).
#[cfg(any(apple, freebsd))]
pub(crate) fn getsockopt_bytes(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    buf: &mut [u8],
) -> Result<usize, i32> {
    let mut len = libc::socklen_t::try_from(buf.len()).map_err(|_| libc::EINVAL)?;
    // SAFETY: buf is live and writable for len bytes, len a live local the kernel updates.
    retry(|| unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    Ok((len as usize).min(buf.len()))
}

/// `setsockopt(2)` of one option of type `T`.
#[cfg_attr(apple, allow(dead_code))] // no typed option to set there so far
pub(crate) fn setsockopt<T: OptionValue>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> Result<(), i32> {
    let len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live local of `len` bytes; the kernel only reads it.
    retry(|| unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const T).cast(),
            len,
        )
    })
    .map(drop)
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

/// The address family of the socket's own address (`getsockname(2)`): `AF_INET`, `AF_INET6`,
/// `AF_UNIX`, ..., for systems without `SO_DOMAIN`.
#[cfg(any(apple, netbsd))]
fn socket_family(fd: BorrowedFd<'_>) -> Result<libc::c_int, i32> {
    let mut ss = std::mem::MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: ss and len are live locals; the kernel writes at most `len` bytes into ss.
    retry(|| unsafe { libc::getsockname(fd.as_raw_fd(), ss.as_mut_ptr().cast(), &mut len) })?;
    // SAFETY: ss started zeroed (a valid sockaddr_storage) and the kernel wrote bytes into it.
    let ss = unsafe { ss.assume_init() };
    Ok(libc::c_int::from(ss.ss_family))
}

/// The calling process's pid, effective uid and effective gid.
#[cfg(has_ucred)]
pub(crate) fn current_ids() -> (libc::pid_t, libc::uid_t, libc::gid_t) {
    // SAFETY: getpid, geteuid and getegid cannot fail and touch no memory of ours.
    unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) }
}

#[cfg(any(linux_like, freebsd))]
/// `SIGPIPE` blocked in the calling thread while this lives, and whether one was pending when
/// it was blocked; dropping it restores the thread's signal mask as it was for `SIGPIPE`.
pub(super) struct SigpipeBlocked {
    only: libc::sigset_t,
    was_blocked: bool,
    was_pending: bool,
}

#[cfg(any(linux_like, freebsd))]
impl SigpipeBlocked {
    pub(super) fn new() -> Self {
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
    pub(super) fn take_raised(&self) {
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

#[cfg(any(linux_like, freebsd))]
impl Drop for SigpipeBlocked {
    fn drop(&mut self) {
        if !self.was_blocked {
            // SAFETY: `only` is an initialised sigset_t; a null old set is allowed; this
            // unblocks SIGPIPE in this thread only, as it was before `new`.
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &self.only, std::ptr::null_mut()) };
        }
    }
}

#[cfg(any(linux_like, freebsd))]
/// Whether `SIGPIPE` is pending for the calling thread (or the process).
fn sigpipe_pending() -> bool {
    // SAFETY: sigset_t is plain data; sigpending fills it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live sigset_t we own; sigpending fails only for a bad pointer.
    unsafe { libc::sigpending(&mut set) == 0 && libc::sigismember(&set, libc::SIGPIPE) == 1 }
}

/// Sets `FD_CLOEXEC` on every descriptor in the `SCM_RIGHTS` messages of `control`, control
/// data that `recvmsg` just received: close-on-exec where the system has no
/// `MSG_CMSG_CLOEXEC`. Not atomic: a `fork` in another thread between the receive and this
/// call lets the child inherit the descriptors. The walk takes its arithmetic from the
/// system's own `CMSG_LEN`/`CMSG_SPACE` (from `libc`), ends at any header shorter than a
/// header, and clamps a length past the end (macOS reports the untruncated length after
/// `MSG_CTRUNC`).
#[cfg_attr(not(apple), allow(dead_code))]
fn set_cloexec_received(control: &[u8]) {
    let hdr_len = size_of::<libc::cmsghdr>();
    // SAFETY: CMSG_LEN and CMSG_SPACE are arithmetic on their argument.
    let (data_off, align) = unsafe {
        (
            libc::CMSG_LEN(0) as usize,
            (libc::CMSG_SPACE(1) - libc::CMSG_SPACE(0)) as usize,
        )
    };
    let fd_len = size_of::<libc::c_int>();
    let mut off = 0usize;
    // Every message takes at least hdr_len bytes: the walk is bounded by the buffer.
    for _ in 0..control.len() / hdr_len {
        let Some(head) = control.get(off..).filter(|r| r.len() >= hdr_len) else {
            return;
        };
        // SAFETY: `head` holds at least a whole cmsghdr; read_unaligned copies it out whatever
        // the buffer's alignment; cmsghdr is plain integers, valid for any bytes.
        let h = unsafe { std::ptr::read_unaligned(head.as_ptr().cast::<libc::cmsghdr>()) };
        #[allow(clippy::useless_conversion)]
        let len = usize::try_from(h.cmsg_len).unwrap_or(usize::MAX);
        if len < hdr_len {
            return;
        }
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
            let data = head.get(data_off..len.min(head.len())).unwrap_or(&[]);
            for slot in data.chunks_exact(fd_len) {
                let fd = libc::c_int::from_ne_bytes(slot.try_into().expect("an int's bytes"));
                if fd >= 0 {
                    // SAFETY: fd is a descriptor the kernel installed for this process in
                    // this receive; F_SETFD sets only its close-on-exec flag (the one
                    // descriptor flag) and touches no memory of ours.
                    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
                }
            }
        }
        match len
            .checked_add(align - 1)
            .and_then(|l| off.checked_add(l & !(align - 1)))
        {
            Some(next) => off = next,
            None => return,
        }
    }
}
