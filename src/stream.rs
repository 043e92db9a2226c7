//! Stream sockets: send everything, resuming after partial writes, with the control data sent
//! exactly once; a header followed by a file body with `sendfile(2)`.
//!
//! On a stream socket the kernel may write any number of bytes from 1 to what was asked, and
//! ancillary data rides on the first byte written. A sender that retries the whole `sendmsg`
//! sends the descriptors twice (libuv#2086); one that drops the control data on a retry may lose
//! it. [`SendAll`] keeps the cursor and a "control data sent" flag, so neither can happen, on
//! blocking and non-blocking sockets alike.

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use crate::cmsg::Encoder;
use crate::error::{Error, Result};
use crate::flags::SendFlags;
use crate::iovec::IoVecs;
use crate::limits::{Limits, MAX_IOVECS};
use crate::send::SendMsg;
use crate::sys;

mod recv_exact;

pub use recv_exact::RecvExact;

/// Where a resumable send or receive stands after [`SendAll::send`], `SendFile::send` or
/// [`RecvExact::recv`] returns.
///
/// ```
/// use std::io::IoSlice;
/// use ancillary::{Progress, SendAll};
///
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// a.set_nonblocking(true)?;
/// let big = vec![0u8; 16 << 20]; // more than the socket buffer holds
/// let mut job = SendAll::new(&[IoSlice::new(&big)]);
/// // Nobody reads: the kernel takes what fits, then the send would block.
/// assert_eq!(job.send(&a)?, Progress::WouldBlock);
/// assert!(job.sent() > 0 && job.remaining() > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "on WouldBlock the send is not finished: wait until the socket is writable and call send again"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Progress {
    /// Every byte was written, and the control data with the first of them (for
    /// [`RecvExact`]: every byte expected was received).
    Done,
    /// The socket would block (`EAGAIN`/`EWOULDBLOCK`) with bytes left to write. Wait until it
    /// is writable (`POLLOUT`: [`wait_writable`], or an event loop) and call `send` again: it
    /// continues where it stopped and does not send the control data again. (For
    /// [`RecvExact`]: bytes are left to read; wait until the socket is readable.)
    #[doc(alias = "EAGAIN")]
    #[doc(alias = "EWOULDBLOCK")]
    WouldBlock,
}

/// `poll(2)` for `POLLOUT`: waits until `socket` is writable, at most `timeout` (`None`: no
/// limit). Returns whether it became writable; an error or hang-up on the socket also counts as
/// writable, so that the next send reports it.
///
/// ```
/// use std::time::Duration;
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// assert!(ancillary::wait_writable(&a, Some(Duration::from_secs(1)))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Os`] with `call: "poll"` when the call fails.
///
/// # References
/// [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
#[doc(alias = "poll")]
#[doc(alias = "POLLOUT")]
pub fn wait_writable<Fd: AsFd>(socket: Fd, timeout: Option<Duration>) -> Result<bool> {
    sys::poll_one(socket.as_fd(), libc::POLLOUT, timeout).map_err(|e| Error::os("poll", e))
}

/// `poll(2)` for `POLLIN`: waits until `socket` has something to receive (data, a
/// connection to accept, or the end of the stream), at most `timeout` (`None`: no limit).
/// Returns whether it became readable; an error or hang-up on the socket also counts as
/// readable, so that the next receive reports it.
///
/// ```
/// use std::io::Write;
/// use std::time::Duration;
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// assert!(!ancillary::wait_readable(&b, Some(Duration::from_millis(10)))?);
/// a.write_all(b"x")?;
/// assert!(ancillary::wait_readable(&b, Some(Duration::from_secs(5)))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Os`] with `call: "poll"` when the call fails.
///
/// # References
/// [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
#[doc(alias = "poll")]
#[doc(alias = "POLLIN")]
pub fn wait_readable<Fd: AsFd>(socket: Fd, timeout: Option<Duration>) -> Result<bool> {
    sys::poll_one(socket.as_fd(), libc::POLLIN, timeout).map_err(|e| Error::os("poll", e))
}

/// Sends every byte of a list of buffers on a stream socket, with control data on the first
/// byte written, resuming after partial writes.
///
/// `'a` is the lifetime of the buffers, `'c` that of the control data and the descriptors it
/// names.
///
/// [`send`](Self::send) writes until everything is written or the socket would block, and then
/// says which ([`Progress`]); call it again later to continue. [`send_all`](Self::send_all)
/// waits in `poll(2)` instead, until everything is written. The control data goes with the
/// first `sendmsg` that writes anything, and never again. `EINTR` is retried. More than 1024
/// iovecs (`UIO_MAXIOV`) are sent in windows of 1024 per call, which on a stream socket
/// changes nothing the peer sees. Up to 8 buffers are kept inline: no heap allocation.
///
/// On a socket that is not a stream (datagram, seqpacket) every call is one whole message, so
/// a `SendAll` there is one `sendmsg` and the iovec limit is checked as for [`SendMsg`].
///
/// `MSG_NOSIGNAL` is on unless [`allow_sigpipe`](Self::allow_sigpipe) turns it off.
///
/// ```
/// use std::io::{IoSlice, Read};
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
/// use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, Progress, SendAll};
///
/// let (a, mut b) = UnixStream::pair()?;
/// a.set_nonblocking(true)?;
/// let body = vec![7u8; 1 << 20]; // more than the socket buffer takes at once
/// let file = std::fs::File::open("/dev/null")?;
/// let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
/// let mut control = space.encoder();
/// control.push_rights(&[file.as_fd()])?;
///
/// let mut job = SendAll::new(&[IoSlice::new(b"head"), IoSlice::new(&body)]).control(&control);
/// let reader = std::thread::spawn(move || {
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).map(|_| got.len())
/// });
/// while job.send(&a)? == Progress::WouldBlock {
///     assert!(!job.control_pending()); // the fd went with the first bytes
///     ancillary::wait_writable(&a, None)?;
/// }
/// assert_eq!(job.sent(), 4 + body.len());
/// drop(a);
/// assert_eq!(reader.join().unwrap()?, 4 + body.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [sendmsg(2)](https://man7.org/linux/man-pages/man2/sendmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html) (ancillary data on stream
/// sockets), [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
#[doc(alias = "send_all")]
#[doc(alias = "write_all")]
#[derive(Debug, Clone)]
#[must_use = "a SendAll does nothing until send() or send_all() is called"]
pub struct SendAll<'a, 'c> {
    iov: IoVecs<'a>,
    control: Option<&'c Encoder<'c, 'c>>,
    control_sent: bool,
    flags: SendFlags,
    limits: Option<Limits>,
    sent: usize,
    remaining: usize,
    /// Whether the socket is a stream: learnt on the first call.
    stream: Option<bool>,
}

impl<'a, 'c> SendAll<'a, 'c> {
    /// Sends these buffers, in order. Up to 8 stay inline; more are copied to the heap once.
    pub fn new(bufs: &[IoSlice<'a>]) -> Self {
        Self::from_iovecs(bufs.iter().copied().collect())
    }

    /// Sends the buffers of an [`IoVecs`].
    pub fn from_iovecs(iov: IoVecs<'a>) -> Self {
        let remaining = iov.total_len();
        SendAll {
            iov,
            control: None,
            control_sent: false,
            flags: SendFlags::NOSIGNAL,
            limits: None,
            sent: 0,
            remaining,
            stream: None,
        }
    }

    /// Attaches control data, sent with the first byte written and never again.
    ///
    /// The borrow keeps every descriptor in it open until the `SendAll` is gone.
    pub fn control(mut self, control: &'c Encoder<'_, '_>) -> Self {
        self.control = Some(control);
        self
    }

    /// Adds these flags (`MSG_*`) to every call, beside the default `MSG_NOSIGNAL`, which only
    /// [`allow_sigpipe`](Self::allow_sigpipe) removes. Repeated calls add up; a flag given
    /// after `allow_sigpipe` is passed, `MSG_NOSIGNAL` included.
    pub fn flags(mut self, flags: SendFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Leaves out `MSG_NOSIGNAL`: writing to a closed stream raises `SIGPIPE`.
    pub fn allow_sigpipe(mut self) -> Self {
        self.flags = self.flags - SendFlags::NOSIGNAL;
        self
    }

    /// Checks every call against these limits instead of [`Limits::kernel`]. On a stream socket
    /// the iovec limit sets the window of iovecs passed per call.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Bytes written so far.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Bytes still to write.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Whether everything was written, control data included.
    pub fn is_done(&self) -> bool {
        self.remaining == 0 && !self.control_pending()
    }

    /// Whether there is control data that has not been sent yet. It goes with the first byte
    /// written: once any byte is written this is `false` for good.
    pub fn control_pending(&self) -> bool {
        !self.control_sent && self.control.is_some_and(|c| !c.is_empty())
    }

    /// Counts the first `n` bytes of the buffers as written by another call (the header
    /// `sendfile(2)` sent through `sf_hdtr`), which had no control data to carry.
    #[cfg(any(all(test, has_sendfile), has_sendfile_hdtr))]
    fn wrote(&mut self, n: usize) {
        let n = n.min(self.remaining);
        if n > 0 {
            self.control_sent = true;
            self.sent += n;
            self.remaining -= n;
            self.iov.advance(n);
        }
    }

    /// `sendmsg(2)` until every byte is written or the socket would block.
    ///
    /// Returns [`Progress::Done`] when everything is written, [`Progress::WouldBlock`] when a
    /// non-blocking socket (`O_NONBLOCK` or [`SendFlags::DONTWAIT`]) has no room: wait until it is
    /// writable and call again. After `Done` further calls do nothing.
    ///
    /// # Errors
    /// What [`SendMsg::send`] reports, among them [`Error::ControlWithoutData`] for control data
    /// and no byte to carry it. After an error [`sent`](Self::sent) says how much had been
    /// written; what the kernel had taken is not taken back.
    pub fn send<Fd: AsFd>(&mut self, socket: Fd) -> Result<Progress> {
        self.send_inner(socket.as_fd())
    }

    /// [`send`](Self::send) with `extra` flags added for this call only (`MSG_DONTWAIT` for
    /// the async forms).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn send_adding(
        &mut self,
        socket: BorrowedFd<'_>,
        extra: SendFlags,
    ) -> Result<Progress> {
        let saved = self.flags;
        self.flags |= extra;
        let result = self.send_inner(socket);
        self.flags = saved;
        result
    }

    #[inline]
    fn send_inner(&mut self, socket: BorrowedFd<'_>) -> Result<Progress> {
        if self.is_done() {
            return Ok(Progress::Done);
        }
        let stream = *self
            .stream
            .get_or_insert_with(|| sys::socket_type(socket) == Ok(libc::SOCK_STREAM));
        let window = match (stream, self.limits) {
            (false, _) => usize::MAX,
            (true, Some(l)) => l.max_iovecs.clamp(1, MAX_IOVECS),
            (true, None) => MAX_IOVECS,
        };
        loop {
            if self.remaining == 0 && !self.control_pending() {
                return Ok(Progress::Done);
            }
            // Leading empty buffers go, so that every call carries at least one byte.
            self.iov.advance(0);
            let iov = &self.iov[..self.iov.len().min(window)];
            let mut msg = SendMsg::new(iov).flags(self.flags);
            if !self.flags.contains(SendFlags::NOSIGNAL) {
                msg = msg.allow_sigpipe();
            }
            if let Some(limits) = self.limits {
                msg = msg.limits(limits);
            }
            if let (false, Some(control)) = (self.control_sent, self.control) {
                msg = msg.control(control);
            }
            let asked = iov.iter().fold(0usize, |n, s| n.saturating_add(s.len()));
            match msg.send(socket) {
                Ok(0) if asked > 0 => {
                    // A stream socket writes at least one byte or fails; a zero here would
                    // loop forever.
                    return Err(Error::os("sendmsg", libc::EIO));
                }
                Ok(n) => {
                    self.control_sent = true;
                    let n = n.min(self.remaining);
                    self.sent += n;
                    self.remaining -= n;
                    self.iov.advance(n);
                }
                Err(e) if e.is_would_block() => return Ok(Progress::WouldBlock),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends everything, waiting in `poll(2)` whenever the socket would block; returns the
    /// bytes written in all (by this and earlier calls).
    ///
    /// # Errors
    /// As [`send`](Self::send), and [`Error::Os`] with `call: "poll"` if waiting fails.
    pub fn send_all<Fd: AsFd>(&mut self, socket: Fd) -> Result<usize> {
        let socket = socket.as_fd();
        while self.send(socket)? == Progress::WouldBlock {
            wait_writable(socket, None)?;
        }
        Ok(self.sent)
    }
}

/// Sends a header and then a file's bytes on a stream socket: the header with `MSG_MORE`, the
/// body with `sendfile(2)` from an offset, resuming partial writes of both.
///
/// The header is a [`SendAll`], and may carry control data (with its first byte). `MSG_MORE`
/// tells TCP that the body follows, so that a short header does not leave in a packet of its
/// own; the last `sendfile` has no "more" and pushes the data out. With an empty body the header
/// goes without `MSG_MORE`. The file is read from `offset` by the kernel, without a copy
/// through user space, and its file position does not change.
///
/// FreeBSD and macOS have no `MSG_MORE`; there the header goes in the `sendfile(2)` call of the
/// body (`struct sf_hdtr`), the two counted together and resumed from where a short write left
/// them. A header with control data, [`flags`](Self::flags) beside `MSG_NOSIGNAL` or more than
/// [`MAX_IOVECS`](crate::limits::MAX_IOVECS) buffers goes first with `sendmsg(2)` instead, as
/// does the rest of a header whose control data went with its first bytes.
///
/// `'a` is the lifetime of the header buffers and the file, `'c` that of the header's control
/// data.
///
/// Works on TCP and on Unix stream sockets (Linux splices the file pages into the socket). The
/// file must be something `sendfile` reads: a regular file, a memfd, a block device; a pipe or a
/// socket as the file gives `EINVAL`.
///
/// A closed peer gives `EPIPE`, never `SIGPIPE`, unless [`allow_sigpipe`](Self::allow_sigpipe)
/// says otherwise: the header goes with `MSG_NOSIGNAL`, and since `sendfile(2)` takes no flags,
/// `SIGPIPE` is blocked in the calling thread around each `sendfile` call. A `SIGPIPE` that
/// call raised is taken before the signal mask is restored; one that was already pending stays
/// pending, and the rest of the mask is not touched.
///
/// ```
/// use std::io::{IoSlice, Read, Write};
/// use std::os::unix::net::UnixStream;
/// use ancillary::SendFile;
///
/// // An unnamed file: created, then its name removed.
/// let path = std::env::temp_dir().join(format!("ancillary-body-{}", std::process::id()));
/// let mut file = std::fs::File::options().read(true).write(true).create_new(true).open(&path)?;
/// std::fs::remove_file(&path)?;
/// file.write_all(b"0123456789")?;
///
/// let (a, mut b) = UnixStream::pair()?;
/// let header = b"bytes 2..8\n";
/// let mut job = SendFile::new(&[IoSlice::new(header)], &file, 2, 6);
/// assert_eq!(job.send_all(&a)?, 11 + 6);
/// drop(a);
/// let mut got = String::new();
/// b.read_to_string(&mut got)?;
/// assert_eq!(got, "bytes 2..8\n234567");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [sendfile(2)](https://man7.org/linux/man-pages/man2/sendfile.2.html),
/// [send(2)](https://man7.org/linux/man-pages/man2/send.2.html) (`MSG_MORE`),
/// [tcp(7)](https://man7.org/linux/man-pages/man7/tcp.7.html) (`TCP_CORK`)
#[cfg(has_sendfile)]
#[doc(alias = "sendfile")]
#[doc(alias = "MSG_MORE")]
#[doc(alias = "TCP_CORK")]
#[doc(alias = "SIGPIPE")]
#[derive(Debug, Clone)]
#[must_use = "a SendFile does nothing until send() or send_all() is called"]
pub struct SendFile<'a, 'c> {
    header: SendAll<'a, 'c>,
    file: BorrowedFd<'a>,
    start: u64,
    offset: u64,
    end: u64,
}

#[cfg(has_sendfile)]
impl<'a, 'c> SendFile<'a, 'c> {
    /// Sends `header`, then `len` bytes of `file` from byte `offset`.
    ///
    /// An `offset + len` past `u64::MAX` is cut at `u64::MAX`; an offset beyond what `off_t`
    /// holds fails when sending with `EOVERFLOW`.
    pub fn new<F: AsFd + ?Sized>(
        header: &[IoSlice<'a>],
        file: &'a F,
        offset: u64,
        len: u64,
    ) -> Self {
        #[allow(unused_mut)] // without MSG_MORE, nothing changes it
        let mut header = SendAll::new(header);
        // The BSDs and macOS have no MSG_MORE: FreeBSD and macOS send the header with the
        // body in sendfile's sf_hdtr where they can (see send); otherwise it goes in segments
        // of its own (TCP_NOPUSH would hold it back, but it is the caller's socket).
        #[cfg(has_msg_more)]
        if len > 0 {
            header = header.flags(SendFlags::MORE);
        }
        SendFile {
            header,
            file: file.as_fd(),
            start: offset,
            offset,
            end: offset.saturating_add(len),
        }
    }

    /// Attaches control data to the header (see [`SendAll::control`]); the header must then
    /// have at least one byte.
    pub fn control(mut self, control: &'c Encoder<'_, '_>) -> Self {
        self.header = self.header.control(control);
        self
    }

    /// Adds these flags (`MSG_*`) to the header's calls, beside the defaults (`MSG_NOSIGNAL`,
    /// and `MSG_MORE` before a body). Repeated calls add up. `sendfile(2)` itself takes no
    /// flags; a `MSG_NOSIGNAL` in effect for the header keeps `SIGPIPE` blocked around it.
    pub fn flags(mut self, flags: SendFlags) -> Self {
        self.header = self.header.flags(flags);
        self
    }

    /// Lets a closed peer raise `SIGPIPE`: the header goes without `MSG_NOSIGNAL`, and
    /// `SIGPIPE` is not blocked around `sendfile(2)`. With the default disposition of the
    /// signal, writing to a closed stream then ends the process. A `MSG_NOSIGNAL` given to a
    /// later [`flags`](Self::flags) turns both back on.
    #[doc(alias = "SIGPIPE")]
    pub fn allow_sigpipe(mut self) -> Self {
        self.header = self.header.allow_sigpipe();
        self
    }

    /// Bytes of header written so far.
    pub fn header_sent(&self) -> usize {
        self.header.sent()
    }

    /// Bytes of the file written so far.
    pub fn body_sent(&self) -> u64 {
        self.offset - self.start
    }

    /// The offset in the file of the next byte to send.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of header and file still to write (at most `u64::MAX`).
    pub fn remaining(&self) -> u64 {
        (self.header.remaining() as u64).saturating_add(self.end - self.offset)
    }

    /// Whether everything was written.
    pub fn is_done(&self) -> bool {
        self.header.is_done() && self.offset == self.end
    }

    /// Writes the header, then the file, until everything is written or the socket would block
    /// (see [`SendAll::send`]).
    ///
    /// # Errors
    /// - what [`SendAll::send`] reports for the header;
    /// - [`Error::Os`] with `call: "sendfile"` when `sendfile(2)` fails;
    /// - [`Error::FileEnded`] when the file ends before `offset + len`: the peer got a short
    ///   body.
    pub fn send<Fd: AsFd>(&mut self, socket: Fd) -> Result<Progress> {
        let socket = socket.as_fd();
        if !self.header_in_sendfile() && self.header.send(socket)? == Progress::WouldBlock {
            return Ok(Progress::WouldBlock);
        }
        while self.offset < self.end {
            let count = usize::try_from(self.end - self.offset)
                .unwrap_or(usize::MAX)
                .min(sys::SENDFILE_MAX);
            let sigpipe = !self.header.flags.contains(SendFlags::NOSIGNAL);
            match self.sendfile_once(socket, count, sigpipe) {
                Ok(0) => {
                    return Err(Error::FileEnded {
                        offset: self.offset,
                        missing: self.end - self.offset,
                    })
                }
                Ok(_) => {}
                Err(e) if e == libc::EAGAIN || e == libc::EWOULDBLOCK => {
                    return Ok(Progress::WouldBlock)
                }
                Err(e) => return Err(Error::os("sendfile", e)),
            }
        }
        Ok(Progress::Done)
    }

    /// Whether the rest of the header goes with the file in `sendfile(2)` (`sf_hdtr`, FreeBSD
    /// and macOS) rather than by `sendmsg(2)` first: when there is a body, no control data
    /// left to send, no flag beside `MSG_NOSIGNAL` and no [`Limits`] asked of the header's
    /// calls, and at most [`MAX_IOVECS`] header buffers.
    fn header_in_sendfile(&self) -> bool {
        let h = &self.header;
        cfg!(has_sendfile_hdtr)
            && self.offset < self.end
            && h.remaining > 0
            && !h.control_pending()
            && (h.flags - SendFlags::NOSIGNAL).is_empty()
            && h.limits.is_none()
            && h.iov.len() <= MAX_IOVECS
    }

    /// One `sendfile(2)` of at most `count` bytes of the file, with the rest of the header in
    /// front where [`header_in_sendfile`](Self::header_in_sendfile) says so: moves the header
    /// and the offset past what was written and returns how much that was in all.
    fn sendfile_once(
        &mut self,
        socket: BorrowedFd<'_>,
        count: usize,
        sigpipe: bool,
    ) -> std::result::Result<usize, i32> {
        #[cfg(has_sendfile_hdtr)]
        if self.header_in_sendfile() {
            self.header.iov.advance(0);
            let header_left = self.header.remaining;
            let n = sys::sendfile_with_header(
                socket,
                self.file,
                &self.header.iov,
                &mut self.offset,
                count,
                sigpipe,
            )?;
            self.header.wrote(split_sent(n, header_left).0);
            return Ok(n);
        }
        sys::sendfile(socket, self.file, &mut self.offset, count, sigpipe)
    }

    /// Sends everything, waiting in `poll(2)` whenever the socket would block; returns the bytes
    /// of header and file written in all.
    ///
    /// # Errors
    /// As [`send`](Self::send), and [`Error::Os`] with `call: "poll"` if waiting fails.
    pub fn send_all<Fd: AsFd>(&mut self, socket: Fd) -> Result<u64> {
        let socket = socket.as_fd();
        while self.send(socket)? == Progress::WouldBlock {
            wait_writable(socket, None)?;
        }
        Ok(self.header.sent() as u64 + self.body_sent())
    }
}

/// How the total a `sendfile(2)` with `header_left` bytes of header in `sf_hdtr` reports
/// splits: `(header bytes, file bytes)`; the kernel writes the header first.
#[cfg(any(all(test, has_sendfile), has_sendfile_hdtr))]
fn split_sent(total: usize, header_left: usize) -> (usize, usize) {
    (total.min(header_left), total.saturating_sub(header_left))
}

#[cfg(all(test, has_sendfile))]
mod tests {
    use super::*;

    /// The bytes of the header not written yet.
    fn header_left(job: &SendFile<'_, '_>) -> Vec<u8> {
        job.header.iov.iter().flat_map(|b| b.to_vec()).collect()
    }

    /// The accounting of `sendfile(2)` with the header in `sf_hdtr` (FreeBSD's `sbytes`,
    /// macOS's `len`: header and file bytes together, header first), over a run of short
    /// writes: each total is split as the kernel wrote it, and the job resumes from there.
    #[test]
    fn header_and_file_totals_resume() {
        assert_eq!(split_sent(0, 10), (0, 0));
        assert_eq!(split_sent(4, 10), (4, 0));
        assert_eq!(split_sent(10, 10), (10, 0));
        assert_eq!(split_sent(15, 10), (10, 5));
        assert_eq!(split_sent(7, 0), (0, 7));

        let file = std::fs::File::open("/dev/null").unwrap();
        let parts: [&[u8]; 4] = [b"", b"head", b"", b"er-of-10"];
        let header: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut job = SendFile::new(&header, &file, 1000, 100);
        assert_eq!(job.remaining(), 112);
        // (total reported, header bytes left after, body bytes sent after)
        let steps: [(usize, &[u8], u64); 4] = [
            (3, b"der-of-10", 0),
            (5, b"f-10", 0),
            (9, b"", 5),
            (95, b"", 100),
        ];
        for (i, (total, left, body)) in steps.into_iter().enumerate() {
            let before = job.header.remaining();
            // What sys::sendfile_with_header does to the offset: past the file's bytes.
            let (h, f) = split_sent(total, before);
            job.offset += f as u64;
            job.header.wrote(h);
            assert_eq!(header_left(&job), left, "step {i}");
            assert_eq!(job.body_sent(), body, "step {i}");
            assert_eq!(job.offset(), 1000 + body, "step {i}");
        }
        assert_eq!(job.header_sent(), 12);
        assert_eq!(job.remaining(), 0);
        assert!(job.is_done());
    }
}
