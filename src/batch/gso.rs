//! What the batch knows of the socket it sends on: whether it may do GSO, its own
//! `UDP_SEGMENT` size, and whether the kernel refused GSO on it.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

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
    /// The socket's own `UDP_SEGMENT` size (0: none).
    pub(super) segment_option: libc::c_int,
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
        match self.socket {
            Some(info) if info.fd == raw => Ok(info),
            _ => self.probe_socket(fd),
        }
    }

    #[cold]
    fn probe_socket(&mut self, fd: BorrowedFd<'_>) -> Result<SocketInfo> {
        self.socket = None;
        match sys::socket_type(fd) {
            Ok(libc::SOCK_STREAM) => return Err(Error::NotDatagramSocket),
            Ok(_) => {}
            Err(errno) => return Err(Error::os("getsockopt", errno)),
        }
        let option = sys::udp_segment_option(fd);
        let info = SocketInfo {
            fd: fd.as_raw_fd(),
            gso: option.is_ok(),
            segment_option: option.unwrap_or(0),
            gso_refused: false,
            inet: matches!(sys::socket_domain(fd), Ok(libc::AF_INET | libc::AF_INET6)),
        };
        self.socket = Some(info);
        Ok(info)
    }
}
