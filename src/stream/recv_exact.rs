//! Receive-exact on a stream: the counterpart of [`SendAll`](crate::SendAll).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::fds::{recv_into, Sink};
use crate::flags::RecvFlags;
use crate::stream::Progress;
use crate::sys;

/// Reads exactly `buf.len()` bytes of a stream socket, across partial reads, collecting every
/// file descriptor that arrives with those bytes: the counterpart of
/// [`SendAll`](crate::SendAll).
///
/// On a stream the kernel hands descriptors to the read that takes the first byte their
/// `sendmsg` wrote, and a read may end anywhere: the descriptors for a message may come with
/// any of its segments. Each `recvmsg(2)` here has room for the most descriptors one message
/// carries, so none is lost to `MSG_CTRUNC`; each is owned at once (close-on-exec) and stored
/// in the caller's slots ([`fds`](Self::fds)) or `Vec` ([`fds_vec`](Self::fds_vec)). Those
/// beyond the slots are closed and the receive fails with [`Error::TooManyFds`]; a receive
/// with no slots given takes no descriptor (any that arrives is closed and reported).
///
/// [`recv`](Self::recv) reads until done or the socket would block and says which
/// ([`Progress`]); call it again later to continue. [`recv_all`](Self::recv_all) waits in
/// `poll(2)` instead. The bytes and descriptors received so far stay in the caller's
/// buffers whatever happens: after an error, [`received`](Self::received) and
/// [`fd_count`](Self::fd_count) say how far it got. No heap allocation, unless a `Vec` of
/// descriptors grows.
///
/// ```
/// use std::io::IoSlice;
/// use std::os::fd::{AsFd, OwnedFd};
/// use std::os::unix::net::UnixStream;
/// use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, RecvExact, SendAll};
///
/// let (a, b) = UnixStream::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
/// let mut control = space.encoder();
/// control.push_rights(&[file.as_fd()])?;
/// SendAll::new(&[IoSlice::new(b"head"), IoSlice::new(b"er")]).control(&control).send_all(&a)?;
///
/// let mut header = [0u8; 6];
/// let mut fds: [Option<OwnedFd>; 1] = [None];
/// let got = RecvExact::new(&mut header).fds(&mut fds).recv_all(&b)?;
/// assert_eq!((&header, got), (b"header", 1));
/// assert!(fds[0].is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
#[doc(alias = "read_exact")]
#[doc(alias = "recv_exact")]
#[doc(alias = "MSG_WAITALL")]
#[derive(Debug)]
#[must_use = "a RecvExact does nothing until recv() or recv_all() is called"]
pub struct RecvExact<'a> {
    buf: &'a mut [u8],
    filled: usize,
    sink: Sink<'a>,
    fds: usize,
    flags: RecvFlags,
}

impl<'a> RecvExact<'a> {
    /// Fills `buf`, taking no descriptor: one that arrives is closed and reported
    /// ([`Error::TooManyFds`]).
    pub fn new(buf: &'a mut [u8]) -> Self {
        RecvExact {
            buf,
            filled: 0,
            sink: Sink::slots(&mut []),
            fds: 0,
            flags: RecvFlags::CMSG_CLOEXEC,
        }
    }

    /// Stores the descriptors that arrive in the `None` slots of `slots`, in order; slots
    /// that hold a descriptor already are left alone.
    pub fn fds(mut self, slots: &'a mut [Option<OwnedFd>]) -> Self {
        self.sink = Sink::slots(slots);
        self
    }

    /// Appends the descriptors that arrive to `fds`, however many.
    pub fn fds_vec(mut self, fds: &'a mut Vec<OwnedFd>) -> Self {
        self.sink = Sink::Vec(fds);
        self
    }

    /// Adds these flags (`MSG_*`) to every call, beside the default `MSG_CMSG_CLOEXEC`.
    pub fn flags(mut self, flags: RecvFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Leaves out `MSG_CMSG_CLOEXEC`: received descriptors are inherited by `exec`ed
    /// programs.
    #[doc(alias = "MSG_CMSG_CLOEXEC")]
    pub fn inherit_fds(mut self) -> Self {
        self.flags = self.flags - RecvFlags::CMSG_CLOEXEC;
        self
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.filled
    }

    /// The bytes received so far.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Bytes still to receive.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.filled
    }

    /// Descriptors stored so far.
    pub fn fd_count(&self) -> usize {
        self.fds
    }

    /// Whether every byte arrived.
    pub fn is_done(&self) -> bool {
        self.filled == self.buf.len()
    }

    /// `recvmsg(2)` until every byte has arrived or the socket would block.
    ///
    /// Returns [`Progress::Done`] when every byte has arrived, [`Progress::WouldBlock`] when a
    /// non-blocking socket (`O_NONBLOCK` or [`RecvFlags::DONTWAIT`]) has nothing more for now:
    /// wait until it is readable and call again. After `Done` further calls do nothing.
    ///
    /// # Errors
    /// - [`Error::StreamEnded`] when the stream ends first, with the bytes that arrived;
    /// - [`Error::TooManyFds`] when more descriptors arrived than there were slots left (the
    ///   others are closed);
    /// - [`Error::ControlTruncated`], [`Error::DataTruncated`] when the kernel truncated a
    ///   message (a datagram socket: use a stream);
    /// - [`Error::Os`] when the call fails.
    ///
    /// The bytes of the call that failed with one of the first three are counted in
    /// [`received`](Self::received), and another call goes on from there.
    pub fn recv<Fd: AsFd>(&mut self, socket: Fd) -> Result<Progress> {
        self.recv_adding(socket.as_fd(), RecvFlags::empty())
    }

    /// [`recv`](Self::recv) with `extra` flags added (`MSG_DONTWAIT` for the async form).
    pub(crate) fn recv_adding(
        &mut self,
        socket: BorrowedFd<'_>,
        extra: RecvFlags,
    ) -> Result<Progress> {
        // Bounded: every pass either fills at least one byte, or returns.
        while self.filled < self.buf.len() {
            let rest = &mut self.buf[self.filled..];
            let got = match recv_into(socket, rest, &mut self.sink, self.flags | extra) {
                Ok(got) => got,
                Err(e) if e.is_would_block() => return Ok(Progress::WouldBlock),
                Err(e) => return Err(e),
            };
            self.filled += got.bytes.min(self.buf.len() - self.filled);
            self.fds += got.fds;
            if let Some(e) = got.problem {
                return Err(e);
            }
            if got.bytes == 0 {
                return Err(Error::StreamEnded {
                    received: self.filled,
                    expected: self.buf.len(),
                });
            }
        }
        Ok(Progress::Done)
    }

    /// Receives every byte, waiting in `poll(2)` whenever the socket would block; returns the
    /// descriptors stored in all.
    ///
    /// # Errors
    /// As [`recv`](Self::recv), and [`Error::Os`] with `call: "poll"` if waiting fails.
    pub fn recv_all<Fd: AsFd>(&mut self, socket: Fd) -> Result<usize> {
        let socket = socket.as_fd();
        while self.recv(socket)? == Progress::WouldBlock {
            sys::poll_one(socket, libc::POLLIN, None).map_err(|e| Error::os("poll", e))?;
        }
        Ok(self.fds)
    }
}
