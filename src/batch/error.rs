//! How a batch reports a failed send, and what a kernel error means for it.

use std::fmt;
use std::io;

use super::send::{Buffers, StageBase};
use super::Batch;
use crate::error::{Carried, Error, Limit};
use crate::limits;

pub(super) fn limit(limit: Limit, needed: usize, max: usize) -> Error {
    Error::Limit {
        limit,
        needed,
        max,
        kernel: None,
    }
}

/// A [`Batch::send`] that failed after sending [`sent`](Self::sent) datagrams: the rest stay
/// queued in the batch, from the push [`failed`](Self::failed) on.
///
/// Send again to resume (after `EAGAIN`, once the socket is writable); if that datagram will
/// always be refused, drop it with [`Batch::skip_failed`] first.
///
/// An [asynchronous](Self::is_asynchronous) error (`ECONNREFUSED` from a connected UDP socket
/// whose peer has no listener: the ICMP error of a datagram sent earlier) refused no datagram
/// of the batch: nothing is at fault at [`failed`](Self::failed), which only says where the
/// next send resumes. The kernel clears the error by reporting it once; send again to resume,
/// or stop sending to that peer. Do not [`skip_failed`](Batch::skip_failed): it would drop a
/// datagram that nobody refused.
///
/// Converts into the crate's [`Error`] (and [`io::Error`]) with `?`, dropping the counts.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Datagrams of the batch sent before the failure (by this call); every datagram of a
    /// [`push_segments`](Batch::push_segments) payload counts.
    pub sent: usize,
    /// The push the first unsent datagram belongs to: its index among the pushes made since
    /// the batch was last empty, from 0. For an error that is not
    /// [asynchronous](Self::asynchronous), the kernel refused that datagram.
    pub failed: usize,
    /// Why the next one was not.
    pub error: Error,
    /// Whether the error is the socket's pending asynchronous error (`SO_ERROR`: an ICMP
    /// error of a datagram sent earlier, by this call or an earlier one) rather than a refusal
    /// of the datagram at [`failed`](Self::failed).
    pub asynchronous: bool,
}

impl BatchError {
    /// Datagrams sent before the failure.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// The index of the push that holds the first unsent datagram (see
    /// [`failed`](Self::failed)): the datagram the kernel refused, unless the error is
    /// [asynchronous](Self::is_asynchronous). Drop it with [`Batch::skip_failed`].
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Whether the error belongs to a datagram sent earlier, not to the one at
    /// [`failed`](Self::failed) (see [`asynchronous`](Self::asynchronous)): the kernel
    /// reported an ICMP error (`ECONNREFUSED`, `EHOSTUNREACH`, ...) that arrived for the socket.
    /// Send again to resume; nothing needs skipping.
    ///
    /// It is `true` when the batch knows: the error came from `SO_ERROR`, or it is one that
    /// an IP socket only reports for an earlier datagram (`ECONNREFUSED`, `EHOSTDOWN`,
    /// `ENONET`, `EPROTO`, `ENOPROTOOPT`). `EHOSTUNREACH`, `ENETUNREACH`, `EMSGSIZE` and
    /// `EACCES` may also be a refusal of the datagram itself (its route, its size, a
    /// broadcast); the kernel does not say which, so they are reported as that datagram's.
    #[doc(alias = "SO_ERROR")]
    pub fn is_asynchronous(&self) -> bool {
        self.asynchronous
    }

    /// Whether the socket would have blocked (`EAGAIN`): wait until it is writable and send
    /// again.
    pub fn is_would_block(&self) -> bool {
        self.error.is_would_block()
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let socket_refused = match self.error {
            Error::NotDatagramSocket | Error::PartialDatagram { .. } => true,
            Error::Os { errno, .. } => errno == libc::EBADF || errno == libc::ENOTSOCK,
            _ => false,
        };
        if socket_refused {
            // Sending again on this socket fails the same way: no "send again" here.
            return write!(
                f,
                "{} (after {} datagrams of the batch were sent; the rest stay queued from push \
                 {}, but this socket cannot take them: send them on another socket, or clear \
                 the batch)",
                self.error, self.sent, self.failed
            );
        }
        if self.asynchronous {
            return write!(
                f,
                "{} (reported for a datagram sent earlier, after {} datagrams of the batch were \
                 sent; no datagram was refused: the rest stay queued from push {}, call send \
                 again to resume)",
                self.error, self.sent, self.failed
            );
        }
        write!(
            f,
            "{} (at push {}, after {} datagrams of the batch were sent; the rest stay queued: \
             call send again to resume, or skip_failed to drop that push first)",
            self.error, self.failed, self.sent
        )
    }
}

impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Error {
        e.error
    }
}

impl From<BatchError> for io::Error {
    fn from(e: BatchError) -> io::Error {
        io::Error::new(e.error.kind(), e)
    }
}

impl<'a> Batch<'a> {
    /// Whether `errno`, met by the first message of a call, can only be a pending asynchronous
    /// error of the socket: on an IP socket the kernel answers a datagram with these only from
    /// an ICMP error of an earlier one (`ECONNREFUSED`: port unreachable).
    pub(super) fn is_asynchronous(&self, errno: i32) -> bool {
        self.state.socket.is_some_and(|s| s.inet)
            && matches!(
                errno,
                libc::ECONNREFUSED | libc::EHOSTDOWN | libc::EPROTO | libc::ENOPROTOOPT
            )
            || (cfg!(has_enonet) && is_enonet(errno))
    }

    /// The error of a send that began with `start` datagrams queued, for an asynchronous error:
    /// no datagram of the batch was refused.
    #[cold]
    pub(super) fn asynchronous(&self, start: usize, errno: i32) -> BatchError {
        BatchError {
            asynchronous: true,
            ..self.failure(start, Error::os("sendmmsg", errno))
        }
    }

    /// The error of a send that began with `start` datagrams queued.
    #[cold]
    pub(super) fn failure(&self, start: usize, error: Error) -> BatchError {
        BatchError {
            sent: start - self.state.queued,
            failed: self.first_unsent_push(),
            error,
            asynchronous: false,
        }
    }

    /// Maps a kernel error for the first planned message (staged from `base`) to
    /// [`Error::Limit`] when it means a limit that was not checked (looser [`Limits`]), else to
    /// [`Error::Os`].
    pub(super) fn kernel_error(&self, errno: i32, base: StageBase) -> Error {
        let Some(p) = self.state.plan.first() else {
            return Error::os("sendmmsg", errno);
        };
        let e = &self.state.entries[p.entry];
        let m = Buffers::new(
            &self.state.entries,
            &self.iov,
            self.state.control.bytes(),
            base,
        )
        .next(p);
        let (iovecs, control) = (m.iov.len(), m.control);
        match limits::kernel_limit(errno, e.fds, control, iovecs) {
            Some(limit) => limit,
            None => {
                let carried = Carried::message(control, m.name.is_some());
                Error::os_carrying("sendmmsg", errno, carried)
            }
        }
    }
}

/// Whether `errno` is `ENONET` (Linux: the peer's network is down, from an ICMP error).
#[cfg(has_enonet)]
fn is_enonet(errno: i32) -> bool {
    errno == libc::ENONET
}
#[cfg(not(has_enonet))]
fn is_enonet(_errno: i32) -> bool {
    false
}
