//! `sendmsg(2)`: a message builder that checks every limit before the syscall. On Windows the
//! same builder over `WSASendMsg`.

#[cfg(unix)]
use std::io::IoSlice;
#[cfg(unix)]
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::AsFd;

#[cfg(unix)]
use nix::sys::socket::{SockaddrIn, SockaddrIn6, SockaddrLike};

#[cfg(unix)]
use crate::cmsg::Encoder;
#[cfg(unix)]
use crate::error::{Carried, Error, Result};
#[cfg(unix)]
use crate::flags::SendFlags;
#[cfg(unix)]
use crate::limits::{self, Limits, MAX_FDS, MAX_IOVECS, OPTMEM_EXEMPT};
#[cfg(unix)]
use crate::sys::{self, Name};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::SendMsg;

/// The destination of a message: borrowed from the caller, or an IP address kept inline.
#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
enum Dest<'a> {
    None,
    Borrowed(Name<'a>),
    V4(SockaddrIn),
    V6(SockaddrIn6),
    Unix(sys::UnixName),
}

/// One message for `sendmsg(2)`: data (iovecs), control data, an optional destination and flags.
///
/// Built without allocation; [`send`](Self::send) checks the kernel's limits (253 fds,
/// `net.core.optmem_max`, 1024 iovecs, control data with an empty payload on a stream socket)
/// and reports a violation as a typed [`Error`] with nothing sent. `MSG_NOSIGNAL` is on unless
/// [`allow_sigpipe`](Self::allow_sigpipe) turns it off, so a closed peer gives `EPIPE`, not
/// `SIGPIPE`.
///
/// ```
/// use std::io::IoSlice;
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
/// use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, SendMsg};
///
/// let (a, _b) = UnixStream::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// let mut storage = CmsgBuffer::<{ space_for_fds(1) }>::new();
/// let mut control = storage.encoder();
/// control.push_rights(&[file.as_fd()])?;
/// let sent = SendMsg::new(&[IoSlice::new(b"x")]).control(&control).send(&a)?;
/// assert_eq!(sent, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [sendmsg(2)](https://man7.org/linux/man-pages/man2/sendmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html),
/// [cmsg(3)](https://man7.org/linux/man-pages/man3/cmsg.3.html)
#[doc(alias = "msghdr")]
#[doc(alias = "sendmsg")]
#[derive(Debug, Clone, Copy)]
#[must_use = "a SendMsg does nothing until send() is called"]
#[cfg(unix)]
pub struct SendMsg<'a> {
    iov: &'a [IoSlice<'a>],
    control: &'a [u8],
    fds: usize,
    dest: Dest<'a>,
    flags: SendFlags,
    limits: Option<Limits>,
}

#[cfg(unix)]
impl<'a> SendMsg<'a> {
    /// A message carrying these buffers, in order.
    #[inline]
    pub fn new(iov: &'a [IoSlice<'a>]) -> Self {
        SendMsg {
            iov,
            control: &[],
            fds: 0,
            dest: Dest::None,
            flags: SendFlags::NOSIGNAL,
            limits: None,
        }
    }

    /// Attaches the control messages of `control`.
    ///
    /// The borrow keeps every descriptor in it open until the message is gone.
    #[inline]
    #[doc(alias = "msg_control")]
    #[doc(alias = "msg_controllen")]
    pub fn control(mut self, control: &'a Encoder<'_, '_>) -> Self {
        self.control = control.as_bytes();
        self.fds = control.fd_count();
        self
    }

    /// Sends to `addr` (`msg_name`): any nix address (`UnixAddr`, `SockaddrIn`, ...).
    ///
    /// For std addresses, prefer [`to_addr`](Self::to_addr) (IP) and
    /// [`to_unix`](Self::to_unix) (Unix), which need no nix type.
    #[inline]
    pub fn to<A: SockaddrLike + Sync + ?Sized>(mut self, addr: &'a A) -> Self {
        self.dest = Dest::Borrowed(Name::new(addr));
        self
    }

    /// Sends to an IP address (`msg_name`).
    #[inline]
    pub fn to_addr(mut self, addr: SocketAddr) -> Self {
        self.dest = match addr {
            SocketAddr::V4(a) => Dest::V4(a.into()),
            SocketAddr::V6(a) => Dest::V6(a.into()),
        };
        self
    }

    /// Sends to a Unix socket address (`msg_name`): a path, or on Linux an abstract name.
    ///
    /// Make one with `std::os::unix::net::SocketAddr::from_pathname`, or on Linux with
    /// `SocketAddrExt::from_abstract_name`; take one from
    /// [`Received::unix_address`](crate::Received::unix_address) to answer a sender. An
    /// unnamed address (an unbound socket's) names nobody: the kernel refuses it with `EINVAL`.
    ///
    /// ```
    /// use std::io::IoSlice;
    /// use std::os::unix::net::{SocketAddr, UnixDatagram};
    /// use ancillary::SendMsg;
    ///
    /// let dir = std::env::temp_dir().join(format!("ancillary-to-unix-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("rx");
    /// # let _ = std::fs::remove_file(&path);
    /// let rx = UnixDatagram::bind(&path)?;
    /// let tx = UnixDatagram::unbound()?;
    /// let to = SocketAddr::from_pathname(&path)?;
    /// SendMsg::new(&[IoSlice::new(b"hi")]).to_unix(&to).send(&tx)?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.recv(&mut buf)?, 2);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn to_unix(mut self, addr: &std::os::unix::net::SocketAddr) -> Self {
        self.dest = Dest::Unix(sys::UnixName::from_std(addr));
        self
    }

    /// Adds these flags (`MSG_*`) to the call, beside the default `MSG_NOSIGNAL`, which only
    /// [`allow_sigpipe`](Self::allow_sigpipe) removes. Repeated calls add up; a flag given
    /// after `allow_sigpipe` is passed, `MSG_NOSIGNAL` included.
    #[inline]
    pub fn flags(mut self, flags: SendFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Leaves out `MSG_NOSIGNAL`: writing to a closed stream raises `SIGPIPE`.
    #[doc(alias = "MSG_NOSIGNAL")]
    #[doc(alias = "SIGPIPE")]
    pub fn allow_sigpipe(mut self) -> Self {
        self.flags = self.flags - SendFlags::NOSIGNAL;
        self
    }

    /// Checks against these limits instead of [`Limits::kernel`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The flags the call will pass.
    pub fn send_flags(&self) -> SendFlags {
        self.flags
    }

    /// Checks the message against the limits without sending it.
    ///
    /// # Errors
    /// [`Error::Limit`] naming the limit and the numbers.
    #[inline]
    pub fn check(&self) -> Result<()> {
        // What the kernel counts: more than the buffer where it widens the messages (a
        // 32-bit process on a 64-bit kernel).
        let control_len = limits::kernel_control_len(self.control);
        let limits = match self.limits {
            Some(limits) => limits,
            // optmem_max applies only above OPTMEM_EXEMPT: no need to look it up below.
            None if control_len <= OPTMEM_EXEMPT => Limits {
                max_fds: MAX_FDS,
                optmem_max: usize::MAX,
                max_iovecs: MAX_IOVECS,
            },
            None => Limits::kernel(),
        };
        limits.check(self.fds, control_len, self.iov.len())?;
        limits::check_rights_messages(&limits, self.control)
    }

    /// `sendmsg(2)`: sends the message on `socket`; returns the bytes of data sent.
    ///
    /// On a stream socket fewer bytes than given may be sent; the control data went with the
    /// first byte and must not be sent again. [`SendAll`](crate::SendAll) resumes for you.
    ///
    /// # Errors
    /// - [`Error::Limit`] when the message exceeds a limit, before the syscall (`kernel: None`)
    ///   or because the kernel refused it (`kernel: Some(errno)`);
    /// - [`Error::ControlWithoutData`] for control data with no payload on a stream socket;
    /// - [`Error::Os`] for any other failure of the call, with a hint of what to do.
    // Called once per message, and mostly with the builder made just before: inlined, the
    // builder's fields stay in registers.
    #[inline(always)]
    pub fn send<Fd: AsFd>(&self, socket: Fd) -> Result<usize> {
        let socket = socket.as_fd();
        self.check()?;
        if !self.control.is_empty()
            && self.iov.iter().all(|s| s.is_empty())
            && sys::socket_type(socket) == Ok(libc::SOCK_STREAM)
        {
            return Err(Error::ControlWithoutData);
        }
        // The address is copied out of the builder first: a name pointing into the builder
        // itself would keep the whole builder in memory, where inlined it stays in registers.
        let dest = self.dest;
        let name = match &dest {
            Dest::None => None,
            Dest::Borrowed(n) => Some(*n),
            Dest::V4(a) => Some(Name::new(a)),
            Dest::V6(a) => Some(Name::new(a)),
            Dest::Unix(a) => Some(a.name()),
        };
        let (fds, control, iovs) = (self.fds, self.control, self.iov.len());
        let addressed = !matches!(self.dest, Dest::None);
        sys::sendmsg(socket, name, self.iov, self.control, self.flags.bits())
            .map_err(|errno| kernel_error(errno, fds, control, iovs, addressed))
    }
}

/// Maps a kernel error of [`SendMsg::send`] that means a limit to [`Error::Limit`], the rest
/// to [`Error::Os`]. It takes the builder's fields by value: a reference to the builder would
/// keep it in memory in the caller's frame, where the inlined `send` keeps it in registers.
#[cfg(unix)]
#[cold]
fn kernel_error(errno: i32, fds: usize, control: &[u8], iovs: usize, addressed: bool) -> Error {
    match limits::kernel_limit(errno, fds, control, iovs) {
        Some(limit) => limit,
        None => Error::os_carrying("sendmsg", errno, Carried::message(control, addressed)),
    }
}
