//! `recvmsg(2)` into caller buffers, with owned received descriptors. On Windows the same
//! builder over `WSARecvMsg`.

#[cfg(unix)]
use std::io::IoSliceMut;
#[cfg(unix)]
use std::mem::MaybeUninit;
#[cfg(unix)]
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};

#[cfg(unix)]
use nix::sys::socket::{SockaddrLike, SockaddrStorage};

#[cfg(unix)]
use crate::cmsg::Carrier;
#[cfg(unix)]
use crate::cmsg::{self, ControlMessages, RawIter, Rights};
#[cfg(unix)]
use crate::error::{Error, Limit, Result};
#[cfg(unix)]
use crate::flags::RecvFlags;
#[cfg(unix)]
use crate::limits::MAX_IOVECS;
#[cfg(unix)]
use crate::sys;

#[cfg(unix)]
mod per_system;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{Received, RecvMsg};

/// A `recvmsg(2)` call: data buffers (iovecs), a control buffer and flags. Reusable: every call
/// starts from the full buffers again (`msg_controllen`, `msg_namelen` and `msg_flags` are set
/// anew each time).
///
/// `MSG_CMSG_CLOEXEC` is on unless [`inherit_fds`](Self::inherit_fds) turns it off.
///
/// ```
/// use std::io::{IoSlice, IoSliceMut};
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixDatagram;
/// use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, RecvMsg, SendMsg};
///
/// let (a, b) = UnixDatagram::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// let mut out = CmsgBuffer::<{ space_for_fds(1) }>::new();
/// let mut control = out.encoder();
/// control.push_rights(&[file.as_fd()])?;
/// SendMsg::new(&[IoSlice::new(b"fd")]).control(&control).send(&a)?;
///
/// let mut data = [0u8; 16];
/// let mut iov = [IoSliceMut::new(&mut data)];
/// let mut space = CmsgBuffer::<{ space_for_fds(4) }>::new();
/// let mut recv = RecvMsg::new(&mut iov).control(&mut space);
/// let mut msg = recv.recv(&b)?;
/// msg.check()?; // neither data nor control truncated
/// let fds: Vec<_> = msg.fds().collect();
/// assert_eq!((msg.len(), fds.len()), (2, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html),
/// [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
#[doc(alias = "msghdr")]
#[doc(alias = "recvmsg")]
#[cfg(unix)]
#[derive(Debug)]
pub struct RecvMsg<'a, 'b> {
    iov: &'a mut [IoSliceMut<'b>],
    control: &'a mut [u8],
    flags: RecvFlags,
    /// `msg_name`: written by the kernel, read only as far as `msg_namelen` says.
    name: MaybeUninit<libc::sockaddr_storage>,
}

#[cfg(unix)]
impl<'a, 'b> RecvMsg<'a, 'b> {
    /// A receive into these buffers, in order, with no room for control data.
    #[inline]
    pub fn new(iov: &'a mut [IoSliceMut<'b>]) -> Self {
        RecvMsg {
            iov,
            control: &mut [],
            flags: RecvFlags::CMSG_CLOEXEC,
            name: MaybeUninit::uninit(),
        }
    }

    /// Receives control data into `buf` (aligned forward for `cmsghdr`; a
    /// [`CmsgBuffer`](crate::cmsg::CmsgBuffer) already is). Size it with
    /// [`cmsg::space`](crate::cmsg::space): what does not fit is truncated (`MSG_CTRUNC`),
    /// and descriptors that do not fit are closed by the kernel. With `SO_PASSCRED` on, the
    /// kernel puts credentials first in every message: count
    /// `cmsg::CREDENTIALS_SPACE` in.
    #[inline]
    #[doc(alias = "msg_control")]
    #[doc(alias = "msg_controllen")]
    pub fn control(mut self, buf: &'a mut [u8]) -> Self {
        self.control = cmsg::aligned_mut(buf);
        self
    }

    /// Adds these flags (`MSG_PEEK`, `MSG_DONTWAIT`, ...) to the call, beside the default
    /// `MSG_CMSG_CLOEXEC`, which only [`inherit_fds`](Self::inherit_fds) removes. Repeated
    /// calls add up; a flag given after `inherit_fds` is passed, `MSG_CMSG_CLOEXEC` included.
    #[inline]
    pub fn flags(mut self, flags: RecvFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Leaves out `MSG_CMSG_CLOEXEC`: received `SCM_RIGHTS` descriptors are inherited by
    /// `exec`ed programs. Pidfds (`SCM_PIDFD`) are close-on-exec whatever this says: the kernel
    /// always opens them with `O_CLOEXEC`.
    #[doc(alias = "MSG_CMSG_CLOEXEC")]
    pub fn inherit_fds(mut self) -> Self {
        self.flags = self.flags - RecvFlags::CMSG_CLOEXEC;
        self
    }

    /// `recvmsg(2)`: receives one message (datagram, record, or what a stream has ready).
    ///
    /// Every descriptor that arrived is owned by the returned [`Received`] at once: taken with
    /// [`Received::fds`], `Received::pidfd` (Linux) or [`Received::messages`], in any order and any
    /// combination, or closed when it drops.
    ///
    /// # Errors
    /// [`Error::Limit`] for more than 1024 iovecs ([`Limit::Iovecs`]); [`Error::Os`] when the
    /// call fails (`EAGAIN` on a non-blocking socket with nothing queued, ...). Truncation is
    /// not an error here: see [`Received::check`].
    // Called once per message: inlined, the Received is built in the caller's frame instead
    // of being copied out.
    #[inline(always)]
    pub fn recv<Fd: AsFd>(&mut self, socket: Fd) -> Result<Received<'_>> {
        let flags = self.flags.bits();
        // The buffers are taken out of the builder once, and what was received is made from
        // these same slices: the kernel writes the builder's name field, so anything read
        // from the builder after the call is read again from memory (and its bounds checked
        // again).
        let (iov, control, name) = (&mut *self.iov, &mut *self.control, &mut self.name);
        let out = recvmsg_checked(socket.as_fd(), name, iov, control, flags)?;
        Ok(received(iov, control, name, out))
    }

    /// The call of [`recv`](Self::recv), with `extra` flags added for this call only. What it
    /// received must be handed to [`received`](Self::received) at once: until then nothing
    /// owns the descriptors in the control buffer.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn recv_raw(
        &mut self,
        socket: std::os::fd::BorrowedFd<'_>,
        extra: RecvFlags,
    ) -> Result<sys::RecvOut> {
        let flags = (self.flags | extra).bits();
        recvmsg_checked(socket, &mut self.name, self.iov, self.control, flags)
    }

    /// What [`recv_raw`](Self::recv_raw) received, owning its descriptors.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn received(&mut self, out: sys::RecvOut) -> Received<'_> {
        received(self.iov, self.control, &self.name, out)
    }
}

/// `recvmsg(2)` after the check of the iovec count.
#[cfg(unix)]
#[inline(always)]
fn recvmsg_checked(
    socket: std::os::fd::BorrowedFd<'_>,
    name: &mut MaybeUninit<libc::sockaddr_storage>,
    iov: &mut [IoSliceMut<'_>],
    control: &mut [u8],
    flags: libc::c_int,
) -> Result<sys::RecvOut> {
    if iov.len() > MAX_IOVECS {
        return Err(Error::Limit {
            limit: Limit::Iovecs,
            needed: iov.len(),
            max: MAX_IOVECS,
            kernel: None,
        });
    }
    sys::recvmsg(socket, name, iov, control, flags).map_err(|e| Error::os("recvmsg", e))
}

/// What a `recvmsg` into these buffers received, owning its descriptors.
#[cfg(unix)]
#[inline(always)]
fn received<'c>(
    iov: &'c [IoSliceMut<'c>],
    control: &'c mut [u8],
    name: &'c MaybeUninit<libc::sockaddr_storage>,
    out: sys::RecvOut,
) -> Received<'c> {
    let capacity = control.len();
    Received {
        first: iov.first().map_or(&[][..], |b| &b[..]),
        iov,
        bytes: out.bytes,
        flags: RecvFlags::from_bits_retain(out.flags),
        name,
        namelen: out.namelen,
        capacity,
        control: &mut control[..out.controllen],
        all_taken: false,
    }
}

/// What one `recvmsg(2)` received: the data length, flags, source address and control data.
///
/// Owns every descriptor in the control data (`SCM_RIGHTS` fds and the `SCM_PIDFD` pidfd): each
/// accessor takes only the kind it names, so [`fds`](Self::fds), `pidfd`, `credentials` (where
/// the system has them) and [`messages`](Self::messages) may be called in any
/// order, and those never taken are closed on drop.
#[cfg(unix)]
pub struct Received<'c> {
    /// The data buffers (empty for a slot of a batch, whose data lies elsewhere).
    iov: &'c [IoSliceMut<'c>],
    /// The first data buffer (a batch slot's buffer).
    first: &'c [u8],
    bytes: usize,
    flags: RecvFlags,
    /// Initialized for its first `namelen` bytes.
    name: &'c MaybeUninit<libc::sockaddr_storage>,
    namelen: libc::socklen_t,
    capacity: usize,
    control: &'c mut [u8],
    /// Set when a walk took every descriptor: nothing is left to close.
    all_taken: bool,
}

#[cfg(unix)]
impl<'c> Received<'c> {
    /// What one slot of a `recvmmsg` received: `control` is exactly the `msg_controllen` bytes
    /// the kernel wrote, `capacity` the size of the slot.
    #[inline]
    pub(crate) fn from_parts(
        out: sys::RecvOut,
        name: &'c libc::sockaddr_storage,
        buf: &'c [u8],
        capacity: usize,
        control: &'c mut [u8],
    ) -> Self {
        // SAFETY: MaybeUninit<T> has the layout of T, and a shared reference to an initialized T
        // is a valid shared reference to MaybeUninit<T> (nothing can be written through it).
        let name = unsafe { &*(name as *const libc::sockaddr_storage).cast() };
        Received {
            iov: &[],
            first: buf,
            bytes: out.bytes,
            flags: RecvFlags::from_bits_retain(out.flags),
            name,
            namelen: out.namelen,
            capacity,
            control,
            all_taken: false,
        }
    }

    /// Bytes of data received. With `MSG_TRUNC` passed in, a datagram's real length, which may
    /// exceed the buffers. 0 on a stream socket means the peer closed.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// The data buffers the message was received into; the first [`len`](Self::len) bytes over
    /// them hold the data (fewer if it was truncated).
    pub fn buffers(&self) -> &[IoSliceMut<'c>] {
        self.iov
    }

    /// The received data when it lies in the first buffer: always with a single buffer (with
    /// `MSG_TRUNC` passed in and a longer datagram, the bytes that fitted) and for a datagram of
    /// a [`RecvBatch`](crate::RecvBatch) (the same bytes as
    /// [`RecvDatagram::data`](crate::batch::RecvDatagram::data) with one buffer per slot; with
    /// [several](crate::RecvBatch::with_buffers), the bytes of all of them, which lie in one
    /// slice); `None` when it spilled into later buffers (read those with
    /// [`buffers`](Self::buffers)).
    #[inline]
    pub fn data(&self) -> Option<&[u8]> {
        let fitted = self.bytes.min(self.first.len());
        (self.bytes <= self.first.len() || self.iov.len() <= 1).then(|| &self.first[..fitted])
    }

    /// Whether no data arrived.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// `msg_flags`: `MSG_TRUNC`, `MSG_CTRUNC`, `MSG_EOR`, `MSG_OOB`, ...
    pub fn flags(&self) -> RecvFlags {
        self.flags
    }

    /// Whether the data was truncated (`MSG_TRUNC`): the datagram was longer than the buffers.
    #[doc(alias = "MSG_TRUNC")]
    pub fn is_data_truncated(&self) -> bool {
        self.flags.contains(RecvFlags::TRUNC)
    }

    /// Whether the control data was truncated (`MSG_CTRUNC`): some was lost, and descriptors in
    /// it were closed by the kernel.
    #[doc(alias = "MSG_CTRUNC")]
    pub fn is_control_truncated(&self) -> bool {
        self.flags.contains(RecvFlags::CTRUNC)
    }

    /// Fails if anything was truncated, so that a short control buffer cannot pass unnoticed.
    /// What did arrive stays available (and owned) either way.
    ///
    /// # Errors
    /// [`Error::ControlTruncated`] for `MSG_CTRUNC`, [`Error::DataTruncated`] for `MSG_TRUNC`.
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.is_control_truncated() {
            return Err(Error::ControlTruncated {
                delivered: self.control.len(),
                capacity: self.capacity,
            });
        }
        if self.is_data_truncated() {
            // With MSG_TRUNC passed in, `bytes` is the datagram's real length, not what fitted.
            // Bytes of data buffer offered: the buffers', or a batch slot's.
            let room = if self.iov.is_empty() {
                self.first.len()
            } else {
                self.iov.iter().map(|b| b.len()).sum()
            };
            return Err(Error::DataTruncated {
                received: self.bytes.min(room),
            });
        }
        Ok(())
    }

    /// The source address (`msg_name`), if the kernel gave one (datagram sockets), as nix's
    /// `SockaddrStorage`. The std forms are [`socket_addr`](Self::socket_addr) (IP) and
    /// [`unix_address`](Self::unix_address) (Unix).
    pub fn address(&self) -> Option<SockaddrStorage> {
        if (self.namelen as usize) < std::mem::size_of::<libc::sa_family_t>() {
            return None;
        }
        let ptr = self.name.as_ptr().cast::<libc::sockaddr>();
        // SAFETY: the kernel wrote namelen bytes of address at ptr (namelen is clamped to the
        // storage's size and is at least the family's size); SockaddrStorage::from_raw with
        // Some(len) copies exactly len bytes into zeroed storage and reads nothing beyond.
        unsafe { SockaddrStorage::from_raw(ptr, Some(self.namelen)) }
    }

    /// The source address as a std Unix socket address (a path, or on Linux an abstract
    /// name), if it is one: `None` for another family, and for a sender whose socket has no
    /// name (an unbound or `socketpair` socket), which std cannot represent.
    ///
    /// Answer the sender with [`SendMsg::to_unix`](crate::SendMsg::to_unix).
    pub fn unix_address(&self) -> Option<std::os::unix::net::SocketAddr> {
        sys::unix_socket_addr(self.name_bytes())
    }

    /// The bytes of `msg_name` the kernel wrote.
    fn name_bytes(&self) -> &[u8] {
        // SAFETY: the kernel wrote the first namelen bytes of the name (namelen is clamped to
        // the storage's size), so they are initialized; the slice borrows the storage.
        unsafe {
            std::slice::from_raw_parts(
                self.name.as_ptr().cast::<u8>(),
                (self.namelen as usize).min(std::mem::size_of::<libc::sockaddr_storage>()),
            )
        }
    }

    /// The source address as an IP socket address, if it is one.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let a = self.address()?;
        if let Some(v4) = a.as_sockaddr_in() {
            return Some(SocketAddr::V4((*v4).into()));
        }
        a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
    }

    /// The control data as received: `msg_controllen` bytes.
    #[inline]
    pub fn control_bytes(&self) -> &[u8] {
        self.control
    }

    /// A non-owning walk over the control messages (descriptors are neither taken nor closed).
    pub fn raw_messages(&self) -> RawIter<'_> {
        RawIter::new(self.control)
    }

    /// The control messages, typed; descriptors come out owned when taken from the
    /// [`ControlMessage::Rights`](cmsg::ControlMessage::Rights) and `ControlMessage::Pidfd` items. Walking past an item, or
    /// dropping it, takes nothing: a later [`fds`](Self::fds) or `pidfd` (Linux) still
    /// finds what is left, and this message closes it when it drops.
    #[doc(alias = "CMSG_FIRSTHDR")]
    #[doc(alias = "CMSG_NXTHDR")]
    #[inline]
    pub fn messages(&mut self) -> ControlMessages<'_> {
        // SAFETY: the control bytes were written by recvmsg; every fd handed out is marked taken
        // in the buffer, so no walk hands out or closes one twice.
        unsafe { ControlMessages::from_kernel(self.control) }
    }

    /// Takes every received descriptor, over all `SCM_RIGHTS` messages, in order. Only
    /// `SCM_RIGHTS` descriptors: a pidfd stays for `pidfd` (Linux). Those the iterator
    /// has not yielded when it drops stay owned by this message.
    #[doc(alias = "SCM_RIGHTS")]
    #[inline]
    pub fn fds(&mut self) -> Fds<'_> {
        Fds {
            // SAFETY: as in messages().
            messages: unsafe { ControlMessages::from_kernel(self.control) },
            current: Rights::empty(),
            others_left: false,
            all_taken: &mut self.all_taken,
        }
    }
}

#[cfg(unix)]
impl Received<'_> {
    /// Closes now what the drop would close: every descriptor not taken. Afterwards the drop
    /// has nothing left to do.
    #[inline]
    pub(crate) fn close_untaken(&mut self) {
        if !self.all_taken {
            // SAFETY: as in messages().
            unsafe { cmsg::close_untaken(self.control) };
            self.all_taken = true;
        }
    }
}

#[cfg(unix)]
impl Drop for Received<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.all_taken {
            // SAFETY: as in messages().
            unsafe { cmsg::close_untaken(self.control) };
        }
    }
}

/// The received descriptors, over all `SCM_RIGHTS` messages: see [`Received::fds`].
#[cfg(unix)]
#[derive(Debug)]
pub struct Fds<'a> {
    messages: ControlMessages<'a>,
    /// The descriptors of the `SCM_RIGHTS` message being walked (none before the first).
    current: Rights<'a>,
    /// Whether the walk passed a descriptor of another kind (a pidfd) still untaken.
    others_left: bool,
    all_taken: &'a mut bool,
}

#[cfg(unix)]
impl Iterator for Fds<'_> {
    type Item = OwnedFd;

    #[inline]
    fn next(&mut self) -> Option<OwnedFd> {
        // The common step first, without a loop: the next slot of the message being walked
        // holds a descriptor.
        if let Some(fd) = self.current.take_next() {
            return Some(fd);
        }
        self.next_slow()
    }
}

#[cfg(unix)]
impl Fds<'_> {
    /// [`next`](Iterator::next) past a taken slot or the end of a message: the next
    /// descriptor; at the end of the control data, `None`, with `all_taken` set unless a
    /// descriptor of another kind was passed untaken.
    #[inline]
    fn next_slow(&mut self) -> Option<OwnedFd> {
        loop {
            match self.current.step() {
                Some(Some(fd)) => return Some(fd),
                Some(None) => continue,
                None => {}
            }
            match self.messages.next_carrier() {
                Some(Carrier::Rights(r)) => self.current = r,
                #[cfg(has_pidfd)]
                Some(Carrier::Pidfd(p)) => self.others_left |= p.raw_fd().is_some(),
                Some(Carrier::Other { .. }) => {}
                None => {
                    // Every message was walked and every SCM_RIGHTS descriptor handed out:
                    // unless a pidfd is left, nothing remains for the drop to close.
                    *self.all_taken |= !self.others_left;
                    return None;
                }
            }
        }
    }
}

#[cfg(unix)]
impl std::iter::FusedIterator for Fds<'_> {}

#[cfg(unix)]
impl std::fmt::Debug for Received<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("len", &self.bytes)
            .field("flags", &self.flags)
            .field("address", &self.address())
            .field("control", &self.raw_messages().collect::<Vec<_>>())
            .finish()
    }
}
