//! One call for the common case: bytes with file descriptors out, bytes with up to N file
//! descriptors in, as extension traits on std's sockets ([`SendWithFd`], [`RecvWithFd`]).
//!
//! The names are those of the `sendfd` crate (`send_with_fd`, `recv_with_fd`) and of `passfd`
//! (`send_fd`, `recv_fd`), with I/O-safe types: descriptors go out as [`BorrowedFd`]s and come
//! back as [`OwnedFd`]s, close-on-exec, and nothing is allocated unless the caller passes a
//! `Vec`. Truncation is an error, never silence, and descriptors beyond the caller's room are
//! closed and reported.

use std::io::{IoSlice, IoSliceMut};
use std::net::UdpSocket;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};

use crate::cmsg::{self, CmsgBuffer, Encoder};
use crate::error::{Error, Limit, Result};
use crate::flags::RecvFlags;
use crate::limits::MAX_FDS;
use crate::recv::RecvMsg;
use crate::stream::{RecvExact, SendAll};
use crate::sys;

/// Control room of a one-call receive: the most descriptors one message carries, and room for
/// the credentials and pidfd that socket options (`SO_PASSCRED`, `SO_PASSPIDFD`) add to every
/// message. Descriptors beyond the caller's room still arrive, so that they are counted and
/// closed rather than lost to `MSG_CTRUNC`.
pub(crate) const RECV_ROOM: usize = cmsg::MAX_RIGHTS_SPACE + 2 * cmsg::space(128);

/// Control room of a one-call send: the most descriptors one message carries.
pub(crate) const SEND_ROOM: usize = cmsg::MAX_RIGHTS_SPACE;

/// Where received descriptors go: the caller's empty slots, or the end of the caller's `Vec`.
#[derive(Debug)]
pub(crate) enum Sink<'a> {
    /// Fills the `None` slots in order; `next` is the first slot not yet looked at.
    Slots {
        slots: &'a mut [Option<OwnedFd>],
        next: usize,
    },
    /// Appends.
    Vec(&'a mut Vec<OwnedFd>),
}

impl<'a> Sink<'a> {
    pub(crate) fn slots(slots: &'a mut [Option<OwnedFd>]) -> Self {
        Sink::Slots { slots, next: 0 }
    }

    /// Descriptors it can still take (`usize::MAX` for a `Vec`).
    pub(crate) fn room(&self) -> usize {
        match self {
            Sink::Slots { slots, next } => slots[*next..].iter().filter(|s| s.is_none()).count(),
            Sink::Vec(_) => usize::MAX,
        }
    }

    /// Stores `fd`; closes it and returns `false` when there is no room.
    fn put(&mut self, fd: OwnedFd) -> bool {
        match self {
            Sink::Slots { slots, next } => {
                while let Some(slot) = slots.get_mut(*next) {
                    *next += 1;
                    if slot.is_none() {
                        *slot = Some(fd);
                        return true;
                    }
                }
                false
            }
            Sink::Vec(v) => {
                v.push(fd);
                true
            }
        }
    }
}

/// What one receive into a [`Sink`] got. `problem` is set when the call itself succeeded but
/// the message was truncated or brought more descriptors than there was room for: the bytes
/// are in the buffer and the descriptors that fitted are stored all the same.
#[derive(Debug)]
pub(crate) struct Got {
    pub(crate) bytes: usize,
    pub(crate) fds: usize,
    pub(crate) problem: Option<Error>,
}

/// One `recvmsg(2)` into `buf`, every `SCM_RIGHTS` descriptor into `sink` (those beyond its
/// room closed). `flags` are all the flags of the call, `MSG_CMSG_CLOEXEC` included or not.
/// The sync and the async one-call receives and [`RecvExact`] all come here.
pub(crate) fn recv_into(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
    sink: &mut Sink<'_>,
    flags: RecvFlags,
) -> Result<Got> {
    let mut room = CmsgBuffer::<RECV_ROOM>::new();
    let mut iov = [IoSliceMut::new(buf)];
    let mut recv = RecvMsg::new(&mut iov)
        .control(&mut room)
        .inherit_fds()
        .flags(flags);
    let mut msg = recv.recv(socket)?;
    let capacity = sink.room();
    let (mut arrived, mut stored) = (0, 0);
    for fd in msg.fds() {
        arrived += 1;
        stored += usize::from(sink.put(fd));
    }
    let problem = msg
        .check()
        .err()
        .or_else(|| (arrived > stored).then_some(Error::TooManyFds { arrived, capacity }));
    Ok(Got {
        bytes: msg.len(),
        fds: stored,
        problem,
    })
}

/// The result of a one-call receive: the problem, if any, is the error.
pub(crate) fn finish(got: Got) -> Result<(usize, usize)> {
    match got.problem {
        Some(e) => Err(e),
        None => Ok((got.bytes, got.fds)),
    }
}

/// What `recv_fd` makes of a one-byte receive with room for one descriptor.
pub(crate) fn one_fd(
    socket: BorrowedFd<'_>,
    got: Got,
    slot: [Option<OwnedFd>; 1],
) -> Result<OwnedFd> {
    if let Some(e) = got.problem {
        return Err(e);
    }
    let [slot] = slot;
    match slot {
        Some(fd) => Ok(fd),
        None if got.bytes == 0 && sys::socket_type(socket) == Ok(libc::SOCK_STREAM) => {
            Err(Error::StreamEnded {
                received: 0,
                expected: 1,
            })
        }
        None => Err(Error::MissingFd),
    }
}

/// Checks that `fds` fit in one message and encodes them as `SCM_RIGHTS` in `room` (nothing
/// for no descriptor).
pub(crate) fn rights<'b, 'fd>(
    room: &'b mut CmsgBuffer<SEND_ROOM>,
    fds: &[BorrowedFd<'fd>],
) -> Result<Encoder<'b, 'fd>> {
    if fds.len() > MAX_FDS {
        return Err(Error::Limit {
            limit: Limit::Fds,
            needed: fds.len(),
            max: MAX_FDS,
            kernel: None,
        });
    }
    let mut encoder = room.encoder();
    if !fds.is_empty() {
        encoder.push_rights(fds)?;
    }
    Ok(encoder)
}

/// Sends bytes with file descriptors in one call: the sync side of `sendfd`'s
/// `send_with_fd` and `passfd`'s `send_fd`, on std's sockets.
///
/// The descriptors are borrowed, so none can be closed while the message names it; they go
/// as one `SCM_RIGHTS` message with the first byte, exactly once. `MSG_NOSIGNAL` is on: a
/// closed peer gives `EPIPE`, never `SIGPIPE`. Nothing is allocated.
///
/// ```
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
/// use ancillary::{RecvWithFd, SendWithFd};
///
/// let (a, b) = UnixStream::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// a.send_with_fd(b"here", &[file.as_fd()])?;
///
/// let mut buf = [0u8; 16];
/// let mut fds: [Option<std::os::fd::OwnedFd>; 2] = Default::default();
/// let (bytes, count) = b.recv_with_fd(&mut buf, &mut fds)?;
/// assert_eq!((&buf[..bytes], count), (&b"here"[..], 1));
/// let file = std::fs::File::from(fds[0].take().unwrap());
/// # drop(file);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [sendmsg(2)](https://man7.org/linux/man-pages/man2/sendmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
#[doc(alias = "SCM_RIGHTS")]
pub trait SendWithFd {
    /// Sends every byte of `data`, with `fds` on the first byte (`sendmsg(2)`); returns
    /// `data.len()`.
    ///
    /// On a stream socket every byte is written, resuming after partial writes without
    /// sending the descriptors again (as [`SendAll::send_all`], which on a non-blocking socket
    /// waits in `poll(2)` for room); elsewhere it is one message. On a stream the descriptors
    /// need at least one byte of `data`.
    ///
    /// # Errors
    /// [`Error::Limit`] for more than 253 descriptors ([`Limit::Fds`]), with nothing sent;
    /// [`Error::ControlWithoutData`] for descriptors and no byte on a stream; [`Error::Os`]
    /// when the call fails (`EPIPE` for a closed peer, `EINVAL` for descriptors on a socket
    /// that cannot carry them, such as UDP).
    #[doc(alias = "send_with_fds")]
    #[doc(alias = "sendmsg")]
    fn send_with_fd(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize>;

    /// Sends one descriptor with a single zero byte: the counterpart of
    /// [`RecvWithFd::recv_fd`].
    ///
    /// # Errors
    /// As [`send_with_fd`](Self::send_with_fd).
    fn send_fd(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.send_with_fd(&[0], &[fd]).map(drop)
    }
}

/// Receives bytes with file descriptors in one call: the sync side of `sendfd`'s
/// `recv_with_fd` and `passfd`'s `recv_fd`, on std's sockets.
///
/// Every descriptor that arrives is owned at once and close-on-exec (`MSG_CMSG_CLOEXEC`).
/// Those beyond the caller's room are closed and the call fails with
/// [`Error::TooManyFds`]; truncation by the kernel (`MSG_CTRUNC`, or `MSG_TRUNC` for a
/// datagram longer than the buffer) fails too. In both cases the descriptors that fitted stay
/// in the caller's slots (they close when the slots drop). Nothing is allocated, except by
/// [`recv_with_fd_vec`](Self::recv_with_fd_vec) growing the caller's `Vec`.
///
/// Credentials and pidfds (`SO_PASSCRED`, `SO_PASSPIDFD`) are not returned here (a pidfd is
/// closed); use [`RecvMsg`] for those.
///
/// # References
/// [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
#[doc(alias = "SCM_RIGHTS")]
pub trait RecvWithFd {
    /// One `recvmsg(2)` into `buf`, the descriptors into the `None` slots of `fds`, in order;
    /// returns the bytes received and the descriptors stored. `(0, 0)` on a stream is the end
    /// of the stream.
    ///
    /// # Errors
    /// [`Error::TooManyFds`] when more descriptors arrived than `fds` had empty slots;
    /// [`Error::ControlTruncated`] or [`Error::DataTruncated`] when the kernel truncated the
    /// message; [`Error::Os`] when the call fails.
    #[doc(alias = "recv_with_fds")]
    #[doc(alias = "recvmsg")]
    fn recv_with_fd(&self, buf: &mut [u8], fds: &mut [Option<OwnedFd>]) -> Result<(usize, usize)>;

    /// One `recvmsg(2)` into `buf`, every descriptor appended to `fds`; returns the bytes
    /// received.
    ///
    /// # Errors
    /// As [`recv_with_fd`](Self::recv_with_fd), without [`Error::TooManyFds`].
    fn recv_with_fd_vec(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize>;

    /// Receives one byte and exactly one descriptor: the counterpart of
    /// [`SendWithFd::send_fd`].
    ///
    /// # Errors
    /// [`Error::MissingFd`] when the byte came without a descriptor;
    /// [`Error::StreamEnded`] when a stream ended first; [`Error::TooManyFds`] when more
    /// than one came (all are closed); [`Error::DataTruncated`] for a datagram longer than one
    /// byte; [`Error::Os`] when the call fails.
    fn recv_fd(&self) -> Result<OwnedFd>;

    /// Reads exactly `buf.len()` bytes of a stream, across partial reads, collecting into the
    /// `None` slots of `fds` every descriptor that arrives with them ([`RecvExact`]); returns
    /// the descriptors stored. On a non-blocking socket it waits in `poll(2)`.
    ///
    /// # Errors
    /// [`Error::StreamEnded`] with the bytes that arrived when the stream ends first; the
    /// others of [`recv_with_fd`](Self::recv_with_fd). The descriptors stored before the
    /// error stay in `fds`.
    fn recv_exact_with_fd(&self, buf: &mut [u8], fds: &mut [Option<OwnedFd>]) -> Result<usize>;
}

/// The sync one-call send on any socket.
fn send_with_fd(socket: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize> {
    let mut room = CmsgBuffer::<SEND_ROOM>::new();
    let control = rights(&mut room, fds)?;
    let iov = [IoSlice::new(data)];
    SendAll::new(&iov).control(&control).send_all(socket)
}

macro_rules! std_sockets {
    ($($ty:ty),*) => {$(
        impl SendWithFd for $ty {
            #[inline]
            fn send_with_fd(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize> {
                send_with_fd(self.as_fd(), data, fds)
            }
        }

        impl RecvWithFd for $ty {
            #[inline]
            fn recv_with_fd(
                &self,
                buf: &mut [u8],
                fds: &mut [Option<OwnedFd>],
            ) -> Result<(usize, usize)> {
                finish(recv_into(self.as_fd(), buf, &mut Sink::slots(fds), RecvFlags::CMSG_CLOEXEC)?)
            }

            #[inline]
            fn recv_with_fd_vec(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize> {
                let got = recv_into(self.as_fd(), buf, &mut Sink::Vec(fds), RecvFlags::CMSG_CLOEXEC)?;
                finish(got).map(|(bytes, _)| bytes)
            }

            fn recv_fd(&self) -> Result<OwnedFd> {
                let mut slot = [None];
                let got = recv_into(
                    self.as_fd(),
                    &mut [0],
                    &mut Sink::slots(&mut slot),
                    RecvFlags::CMSG_CLOEXEC,
                )?;
                one_fd(self.as_fd(), got, slot)
            }

            fn recv_exact_with_fd(
                &self,
                buf: &mut [u8],
                fds: &mut [Option<OwnedFd>],
            ) -> Result<usize> {
                RecvExact::new(buf).fds(fds).recv_all(self)
            }
        }
    )*};
}

std_sockets!(UnixStream, UnixDatagram, UdpSocket, BorrowedFd<'_>);
