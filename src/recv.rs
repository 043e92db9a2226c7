//! `recvmsg(2)` into caller buffers, with owned received descriptors.

use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};

use nix::sys::socket::{SockaddrLike, SockaddrStorage};

use crate::cmsg::{self, ControlMessage, ControlMessages, Credentials, RawIter};
use crate::error::{Error, Result};
use crate::flags::RecvFlags;
use crate::sys;

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
#[doc(alias = "recvmsg")]
#[derive(Debug)]
pub struct RecvMsg<'a, 'b> {
    iov: &'a mut [IoSliceMut<'b>],
    control: &'a mut [u8],
    flags: RecvFlags,
}

impl<'a, 'b> RecvMsg<'a, 'b> {
    /// A receive into these buffers, in order, with no room for control data.
    pub fn new(iov: &'a mut [IoSliceMut<'b>]) -> Self {
        RecvMsg {
            iov,
            control: &mut [],
            flags: RecvFlags::CMSG_CLOEXEC,
        }
    }

    /// Receives control data into `buf` (aligned forward for `cmsghdr`; a
    /// [`CmsgBuffer`](crate::cmsg::CmsgBuffer) already is). Size it with
    /// [`cmsg::space`](crate::cmsg::space): what does not fit is truncated (`MSG_CTRUNC`),
    /// and descriptors that do not fit are closed by the kernel.
    pub fn control(mut self, buf: &'a mut [u8]) -> Self {
        self.control = cmsg::aligned_mut(buf);
        self
    }

    /// Adds these flags (`MSG_PEEK`, `MSG_DONTWAIT`, ...) to the call.
    pub fn flags(mut self, flags: RecvFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Leaves out `MSG_CMSG_CLOEXEC`: received descriptors are inherited by `exec`ed programs.
    pub fn inherit_fds(mut self) -> Self {
        self.flags = self.flags - RecvFlags::CMSG_CLOEXEC;
        self
    }

    /// `recvmsg(2)`: receives one message (datagram, record, or what a stream has ready).
    ///
    /// Every descriptor that arrived is owned by the returned [`Received`] at once: taken with
    /// [`Received::fds`] or [`Received::messages`], or closed when it drops.
    ///
    /// # Errors
    /// [`Error::Os`] when the call fails (`EAGAIN` on a non-blocking socket with nothing
    /// queued, ...). Truncation is not an error here: see [`Received::check`].
    pub fn recv<Fd: AsFd>(&mut self, socket: Fd) -> Result<Received<'_>> {
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let out = sys::recvmsg(
            socket.as_fd(),
            &mut name,
            self.iov,
            self.control,
            self.flags.bits(),
        )
        .map_err(|e| Error::os("recvmsg", e))?;
        let capacity = self.control.len();
        Ok(Received {
            bytes: out.bytes,
            flags: RecvFlags::from_bits_retain(out.flags),
            name,
            namelen: out.namelen,
            capacity,
            control: &mut self.control[..out.controllen],
        })
    }
}

/// What one `recvmsg(2)` received: the data length, flags, source address and control data.
///
/// Owns every descriptor in the control data: those not taken are closed on drop.
pub struct Received<'c> {
    bytes: usize,
    flags: RecvFlags,
    name: libc::sockaddr_storage,
    namelen: libc::socklen_t,
    capacity: usize,
    control: &'c mut [u8],
}

impl<'c> Received<'c> {
    /// What one slot of a `recvmmsg` received: `control` is exactly the `msg_controllen` bytes
    /// the kernel wrote, `capacity` the size of the slot.
    pub(crate) fn from_parts(
        out: sys::RecvOut,
        name: libc::sockaddr_storage,
        capacity: usize,
        control: &'c mut [u8],
    ) -> Self {
        Received {
            bytes: out.bytes,
            flags: RecvFlags::from_bits_retain(out.flags),
            name,
            namelen: out.namelen,
            capacity,
            control,
        }
    }

    /// Bytes of data received. With `MSG_TRUNC` passed in, a datagram's real length, which may
    /// exceed the buffers. 0 on a stream socket means the peer closed.
    pub fn len(&self) -> usize {
        self.bytes
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
    pub fn check(&self) -> Result<()> {
        if self.is_control_truncated() {
            return Err(Error::ControlTruncated {
                delivered: self.control.len(),
                capacity: self.capacity,
            });
        }
        if self.is_data_truncated() {
            return Err(Error::DataTruncated {
                received: self.bytes,
            });
        }
        Ok(())
    }

    /// The source address (`msg_name`), if the kernel gave one (datagram sockets).
    pub fn address(&self) -> Option<SockaddrStorage> {
        if self.namelen == 0 {
            return None;
        }
        let ptr = (&self.name as *const libc::sockaddr_storage).cast::<libc::sockaddr>();
        // SAFETY: name is a sockaddr_storage the kernel filled with namelen (clamped to its
        // size) bytes of address; from_raw reads at most that much and checks the family.
        unsafe { SockaddrStorage::from_raw(ptr, Some(self.namelen)) }
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
    pub fn control_bytes(&self) -> &[u8] {
        self.control
    }

    /// A non-owning walk over the control messages (descriptors are neither taken nor closed).
    pub fn raw_messages(&self) -> RawIter<'_> {
        RawIter::new(self.control)
    }

    /// The control messages, typed; descriptors come out owned.
    pub fn messages(&mut self) -> ControlMessages<'_> {
        // SAFETY: the control bytes were written by recvmsg; every fd handed out is marked taken
        // in the buffer, so no walk hands out or closes one twice.
        unsafe { ControlMessages::from_kernel(self.control) }
    }

    /// Takes every received descriptor, over all `SCM_RIGHTS` messages, in order.
    pub fn fds(&mut self) -> impl Iterator<Item = OwnedFd> + '_ {
        self.messages()
            .flat_map(|m| match m {
                ControlMessage::Rights(r) => Some(r),
                _ => None,
            })
            .flatten()
    }

    /// The sender's credentials (`SCM_CREDENTIALS`, with `SO_PASSCRED` on the receiving socket).
    pub fn credentials(&self) -> Option<Credentials> {
        self.raw_messages()
            .filter(|m| m.level == libc::SOL_SOCKET && m.ty == libc::SCM_CREDENTIALS)
            .find_map(|m| Credentials::from_bytes(m.data))
    }
}

impl Drop for Received<'_> {
    fn drop(&mut self) {
        // SAFETY: as in messages().
        unsafe { cmsg::close_untaken(self.control) };
    }
}

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
