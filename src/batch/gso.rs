//! What the batch knows of the socket it sends on: whether it may do GSO, its own
//! `UDP_SEGMENT` size, and whether the kernel refused GSO on it; and how a send tells a
//! refusal of GSO from a refusal of a datagram.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use super::plan::Planned;
use super::Batch;
use crate::error::{Error, Result};
use crate::sys;

/// What [`Batch::send`] found out about the socket it last sent on, so that it asks once per
/// socket rather than once per send.
#[derive(Debug, Clone, Copy)]
pub(super) struct SocketInfo {
    pub(super) fd: RawFd,
    /// `getsockopt(UDP_SEGMENT)` worked: the socket may do GSO.
    pub(super) gso: bool,
    /// The socket has a `UDP_SEGMENT` size of its own (not 0).
    pub(super) segment_option: bool,
    /// The kernel refused a GSO message on it: later sends go without GSO.
    pub(super) gso_refused: bool,
    /// An IPv4 or IPv6 socket (`SO_DOMAIN`): the kind whose asynchronous errors are ICMP errors.
    pub(super) inet: bool,
}

impl<'a> Batch<'a> {
    /// What the batch knows of `fd`: asked of the kernel (`SO_TYPE`, `UDP_SEGMENT`) on the first
    /// send to it, remembered until another socket is used or [`set_gso`](Self::set_gso).
    ///
    /// # Errors
    /// [`Error::NotDatagramSocket`] for a stream socket; [`Error::Os`] if it is not a socket.
    pub(super) fn socket_info(&mut self, fd: BorrowedFd<'_>) -> Result<SocketInfo> {
        let raw = fd.as_raw_fd();
        match self.state.socket {
            Some(info) if info.fd == raw => Ok(info),
            _ => self.probe_socket(fd),
        }
    }

    #[cold]
    fn probe_socket(&mut self, fd: BorrowedFd<'_>) -> Result<SocketInfo> {
        self.state.socket = None;
        match sys::socket_type(fd) {
            Ok(libc::SOCK_STREAM) => return Err(Error::NotDatagramSocket),
            Ok(_) => {}
            Err(errno) => return Err(Error::os("getsockopt", errno)),
        }
        let option = sys::udp_segment_option(fd);
        let info = SocketInfo {
            fd: fd.as_raw_fd(),
            gso: sys::HAS_GSO && option.is_ok(),
            segment_option: option.is_ok_and(|size| size != 0),
            gso_refused: false,
            inet: matches!(sys::socket_domain(fd), Ok(libc::AF_INET | libc::AF_INET6)),
        };
        self.state.socket = Some(info);
        Ok(info)
    }
}

/// The GSO fallback of one send: whether its messages may carry `UDP_SEGMENT`, and what the
/// kernel meant when it refused one that did.
///
/// The kernel refuses a GSO message with `EIO` (no offload), `EINVAL` or `EMSGSIZE` (a segment
/// too large for the path), which are also what it answers a datagram it refuses for its own
/// reasons (control data it does not accept). So the datagrams of a refused GSO message go one
/// by one: if the first goes, the kernel refused GSO, and the socket does without it from then
/// on; if it fails too, that datagram is at fault, its error is reported and GSO stays on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fallback {
    gso: bool,
    /// A GSO message was refused and its first datagram goes alone next.
    probing: bool,
}

impl Fallback {
    /// A send that may use GSO (`gso`) or not.
    pub(super) fn new(gso: bool) -> Self {
        Fallback {
            gso,
            probing: false,
        }
    }

    /// Whether the next call's messages may carry more than one datagram.
    pub(super) fn gso(&self) -> bool {
        self.gso
    }

    /// A call whose first message was `first` failed with `errno`, having sent nothing:
    /// whether that may be a refusal of GSO. If so, the rest of the send goes without GSO, and
    /// the next call tells which it was.
    pub(super) fn refused(&mut self, errno: i32, first: &Planned) -> bool {
        let refused = self.gso
            && first.segmented()
            && matches!(errno, libc::EIO | libc::EINVAL | libc::EMSGSIZE);
        if refused {
            self.gso = false;
            self.probing = true;
        }
        refused
    }

    /// A call sent at least its first message: whether that shows the kernel refused GSO (the
    /// first datagram of the refused GSO message went alone), once.
    pub(super) fn sent(&mut self) -> bool {
        std::mem::take(&mut self.probing)
    }
}
