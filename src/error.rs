//! The one error type of the crate, on every system it builds for.
//!
//! Every failure says what happened, with the numbers involved, and what to do about it. Limits the
//! crate checks before a syscall and the kernel errors that mean the same thing are reported as the
//! same [`Error::Limit`] variant; `kernel` tells which of the two found it.
//!
//! On Windows the same type carries the Windows Sockets code (`WSAGetLastError`) where Unix
//! carries the errno, with the advice for that code (`crate::windows` keeps the table of
//! codes); the limits are the ones Windows has (the 32-bit counts of a `WSAMSG`, the sizes a
//! Windows `Batch` checks).

use std::fmt;
use std::io;

mod hints;

pub use hints::Carried;

/// A kernel limit on what one `sendmsg(2)` may carry.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `SCM_MAX_FD`: at most 253 file descriptors in one message, summed over all its
    /// `SCM_RIGHTS` control messages. The kernel answers `EINVAL` beyond it.
    #[doc(alias = "SCM_MAX_FD")]
    Fds,
    /// `net.core.optmem_max`: the control buffer (`msg_controllen`) must stay below this sysctl.
    /// The kernel answers `ENOBUFS` when it does not. In a 32-bit process on a 64-bit kernel
    /// the size compared is the widened one ([`kernel_control_len`]), and the kernel answers
    /// `ENOMEM`.
    ///
    /// [`kernel_control_len`]: crate::limits::kernel_control_len
    #[doc(alias = "optmem_max")]
    ControlBuffer,
    /// `UIO_MAXIOV` (`IOV_MAX`): at most 1024 iovecs in one message. The kernel answers
    /// `EMSGSIZE` beyond it.
    #[doc(alias = "UIO_MAXIOV")]
    #[doc(alias = "IOV_MAX")]
    Iovecs,
    /// `UDP_MAX_SEGMENTS`: at most 64 segments (128 on newer kernels) in one `UDP_SEGMENT`
    /// send. The kernel answers `EINVAL` beyond it.
    #[doc(alias = "UDP_MAX_SEGMENTS")]
    Segments,
    /// The `UDP_SEGMENT` segment size: from 1 to the largest UDP payload of the address
    /// family (it travels as a `u16`).
    #[doc(alias = "UDP_SEGMENT")]
    SegmentSize,
    /// The largest UDP payload, GSO segments together: 65507 bytes over IPv4, 65527 over IPv6.
    /// The kernel answers `EMSGSIZE` beyond it.
    Payload,
    /// `UIO_MAXIOV`: at most 1024 messages in one `sendmmsg`/`recvmmsg`; the kernel silently
    /// takes only that many.
    #[doc(alias = "vlen")]
    Messages,
    /// macOS: at most one `SCM_RIGHTS` control message per `AF_UNIX` send (its
    /// `unp_internalize` takes exactly one control message). The kernel answers `EINVAL`
    /// beyond it. No other system has this limit.
    #[doc(alias = "unp_internalize")]
    RightsMessages,
}

impl Limit {
    /// The name the kernel and its manual pages give this limit (on Windows, the field or
    /// option of Windows Sockets it is the limit of).
    pub const fn name(self) -> &'static str {
        #[cfg(windows)]
        match self {
            Limit::Iovecs => return "WSAMSG's 32-bit buffer count",
            Limit::ControlBuffer => return "WSAMSG's 32-bit control length",
            Limit::Segments => return "the datagrams of one UDP_SEND_MSG_SIZE send",
            Limit::SegmentSize => return "the UDP_SEND_MSG_SIZE size",
            _ => {}
        }
        match self {
            Limit::Fds => "SCM_MAX_FD",
            Limit::ControlBuffer => "net.core.optmem_max",
            Limit::Iovecs => "UIO_MAXIOV",
            Limit::Segments => "UDP_MAX_SEGMENTS",
            Limit::SegmentSize => "the UDP_SEGMENT size",
            Limit::Payload => "the UDP payload limit",
            Limit::Messages => "UIO_MAXIOV (messages per call)",
            Limit::RightsMessages => "one SCM_RIGHTS message per send",
        }
    }

    fn advice(self) -> &'static str {
        #[cfg(windows)]
        match self {
            Limit::Iovecs => return "join buffers, or send the data in several calls",
            Limit::ControlBuffer => return "send less control data per call",
            Limit::Segments => return "split the payload into several sends",
            Limit::Payload => {
                return "send less per datagram: at most the batch's max_datagram bytes \
                        (windows::Limits, 65507 unless set)"
            }
            Limit::SegmentSize => {
                return "choose a segment size of at least 1 byte and at most the batch's \
                        max_datagram"
            }
            _ => {}
        }
        match self {
            Limit::Fds => "send the descriptors in several messages of at most 253 each",
            Limit::ControlBuffer => {
                "send fewer or smaller control messages per call, or raise the sysctl \
                 net.core.optmem_max"
            }
            Limit::Iovecs => "join buffers or send them in several calls of at most 1024 iovecs",
            Limit::Segments => {
                "split the payload into several UDP_SEGMENT sends of at most that many segments"
            }
            Limit::SegmentSize => {
                "choose a segment size of at least 1 byte that fits in one datagram"
            }
            Limit::Payload => {
                "send less per datagram (and per GSO send): at most 65507 bytes over IPv4, \
                 65527 over IPv6"
            }
            Limit::Messages => "use at most 1024 messages per call",
            Limit::RightsMessages => "put every descriptor in one SCM_RIGHTS message",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong in a `sendmsg`/`recvmsg` or while building or parsing control data.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A message exceeds a kernel limit. When `kernel` is `None` the crate found it before the
    /// syscall and nothing was sent; when it is `Some(errno)` the kernel refused the message with
    /// that error (for example because other option memory of the socket was in use).
    Limit {
        /// Which limit.
        limit: Limit,
        /// What the message needs: fds, control bytes or iovecs.
        needed: usize,
        /// The limit's value. For [`Limit::ControlBuffer`] the kernel accepts lengths strictly
        /// below it; for the others `needed` may equal it.
        max: usize,
        /// The errno the kernel answered with, if the kernel found it.
        kernel: Option<i32>,
    },
    /// Control storage is too small for the message being added: nothing was written.
    Capacity {
        /// Bytes the storage needs to hold everything pushed so far plus this message.
        needed: usize,
        /// Bytes the storage has.
        available: usize,
    },
    /// Control data with no payload byte on a stream socket: the kernel would send neither.
    ControlWithoutData,
    /// `SCM_RIGHTS` given as raw bytes to [`Encoder::push_raw`](crate::cmsg::Encoder::push_raw):
    /// nothing would keep those descriptors open until the send.
    RawRights,
    /// The kernel truncated the control data (`MSG_CTRUNC`): the control buffer was too small.
    /// File descriptors that did not fit were closed by the kernel and are lost.
    #[doc(alias = "MSG_CTRUNC")]
    ControlTruncated {
        /// Bytes of control data that were delivered.
        delivered: usize,
        /// Size of the control buffer that was offered.
        capacity: usize,
    },
    /// The kernel truncated a datagram (`MSG_TRUNC`): the data buffers were too small.
    #[doc(alias = "MSG_TRUNC")]
    DataTruncated {
        /// Bytes that fitted in the buffers.
        received: usize,
    },
    /// The file ended before the range `SendFile` was to send: `sendfile(2)`
    /// returned 0. The bytes before `offset` were sent, so the peer got a short body.
    FileEnded {
        /// The file offset where the file ended.
        offset: u64,
        /// Bytes of the range that were not sent.
        missing: u64,
    },
    /// A [`Batch`](crate::batch::Batch) was sent on a stream (`SOCK_STREAM`) socket, where
    /// `sendmmsg(2)` may write part of a message and count it as sent. Nothing was sent.
    #[doc(alias = "SOCK_STREAM")]
    NotDatagramSocket,
    /// The kernel took only part of a message of a [`Batch`](crate::batch::Batch): the socket
    /// does not keep message boundaries. The bytes written are gone; the batch counts that
    /// message as sent.
    PartialDatagram {
        /// Bytes of the message the kernel took.
        written: usize,
        /// Bytes the message had.
        len: usize,
    },
    /// Flags a [`Batch`](crate::batch::Batch) cannot send with: `MSG_MORE` would merge its
    /// datagrams into one, `MSG_OOB` and `MSG_EOR` belong to streams and records.
    #[doc(alias = "MSG_MORE")]
    #[cfg(unix)]
    BatchFlags {
        /// The flags refused.
        flags: crate::flags::SendFlags,
    },
    /// Sizes given to a constructor add up to more memory than can be addressed.
    SizeOverflow {
        /// What overflowed.
        what: &'static str,
    },
    /// More file descriptors arrived than the caller had room for (the one-call receives and
    /// [`RecvExact`](crate::RecvExact)): those that fitted were stored, the others were closed.
    TooManyFds {
        /// Descriptors that arrived with the message.
        arrived: usize,
        /// Room the caller gave (empty slots, or 1 for `recv_fd`).
        capacity: usize,
    },
    /// A message that was to carry a file descriptor (`recv_fd`) arrived without one.
    MissingFd,
    /// A stream ended (the peer shut down its writing side or closed) before the bytes a
    /// [`RecvExact`](crate::RecvExact) was to read had all arrived.
    StreamEnded {
        /// Bytes that did arrive.
        received: usize,
        /// Bytes that were expected.
        expected: usize,
    },
    /// Bytes given to `windows::ProtocolInfo::from_bytes` are not one `WSAPROTOCOL_INFOW`
    /// (Windows).
    #[doc(alias = "WSAPROTOCOL_INFOW")]
    #[cfg(windows)]
    ProtocolInfoLength {
        /// The bytes given.
        len: usize,
        /// `sizeof(WSAPROTOCOL_INFOW)`.
        expected: usize,
    },
    /// A system call failed.
    ///
    /// Its message says what the errno means for this call and what the call carried, and
    /// what to do: `EPERM` for a message with file descriptors (the receiver refuses them) is
    /// told apart from `EPERM` for one with credentials (the kernel refuses the claim). Match
    /// it with `..`: more fields may come.
    ///
    /// On Windows `errno` is the Windows Sockets code that `WSAGetLastError` gave
    /// (`WSAEWOULDBLOCK` = 10035, ...), and the call a Windows one (`"WSASendMsg"`,
    /// `"WSARecvMsg"`, `"WSADuplicateSocketW"`, ...).
    #[non_exhaustive]
    Os {
        /// The call: `"sendmsg"`, `"sendmmsg"`, `"recvmsg"`, `"recvmmsg"`, `"sendfile"`,
        /// `"poll"`, `"setsockopt"`, `"getsockopt"`, ...
        call: &'static str,
        /// The errno (on Windows, the Windows Sockets code).
        errno: i32,
        /// What the call carried ([`Carried::NOTHING`] for receives and `sendfile`).
        carried: Carried,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failed call that carried nothing the advice depends on.
    pub(crate) fn os(call: &'static str, errno: i32) -> Self {
        Error::os_carrying(call, errno, Carried::NOTHING)
    }

    /// A failed call, with what it carried.
    #[cold]
    pub(crate) fn os_carrying(call: &'static str, errno: i32, carried: Carried) -> Self {
        Error::Os {
            call,
            errno,
            carried,
        }
    }

    /// What to do about this error, in a few words: the advice its message ends with. For
    /// [`Error::Os`] it is chosen from the call, the errno and what the call carried.
    pub fn hint(&self) -> Option<&'static str> {
        match *self {
            Error::Os {
                call,
                errno,
                carried,
            } => Some(os_hint(call, errno, carried)),
            Error::Limit { limit, .. } => Some(limit.advice()),
            _ => None,
        }
    }

    /// The OS error code, if this error came from the kernel.
    pub fn raw_os_error(&self) -> Option<i32> {
        match *self {
            Error::Os { errno, .. } => Some(errno),
            Error::Limit { kernel, .. } => kernel,
            _ => None,
        }
    }

    /// The [`io::ErrorKind`] that [`io::Error::from`] gives this error.
    pub fn kind(&self) -> io::ErrorKind {
        match self.raw_os_error() {
            Some(errno) => io::Error::from_raw_os_error(errno).kind(),
            None => match self {
                Error::Capacity { .. } => io::ErrorKind::StorageFull,
                Error::ControlTruncated { .. } | Error::DataTruncated { .. } => {
                    io::ErrorKind::InvalidData
                }
                Error::FileEnded { .. } | Error::StreamEnded { .. } => io::ErrorKind::UnexpectedEof,
                Error::TooManyFds { .. } | Error::MissingFd => io::ErrorKind::InvalidData,
                _ => io::ErrorKind::InvalidInput,
            },
        }
    }

    /// Whether the call would have blocked (`EAGAIN`/`EWOULDBLOCK`; `WSAEWOULDBLOCK` on
    /// Windows): try again when the socket is ready.
    pub fn is_would_block(&self) -> bool {
        #[cfg(unix)]
        let would_block = |e: i32| e == libc::EAGAIN || e == libc::EWOULDBLOCK;
        #[cfg(windows)]
        let would_block = |e: i32| e == crate::windows::error::code::WSAEWOULDBLOCK;
        matches!(self.raw_os_error(), Some(e) if would_block(e))
    }
}

/// The advice for a failed call, from the errno table.
#[cfg(unix)]
fn os_hint(call: &'static str, errno: i32, carried: Carried) -> &'static str {
    hints::hint(call, errno, carried)
}

/// The advice for a failed call, from the Windows Sockets table (what the call carried changes
/// no advice there).
#[cfg(windows)]
fn os_hint(call: &'static str, code: i32, _carried: Carried) -> &'static str {
    crate::windows::error::hint(call, code)
}

/// The symbolic name of an errno.
#[cfg(unix)]
fn os_name(errno: i32) -> &'static str {
    hints::errno_name(errno)
}

/// The symbolic name of a Windows Sockets code.
#[cfg(windows)]
fn os_name(code: i32) -> &'static str {
    crate::windows::error::name(code)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Limit {
                limit,
                needed,
                max,
                kernel,
            } => {
                let what = match limit {
                    Limit::Fds => "file descriptors",
                    Limit::ControlBuffer => "bytes of control data",
                    Limit::Iovecs => "iovecs",
                    Limit::Segments => "GSO segments",
                    Limit::SegmentSize => "bytes per segment",
                    Limit::Payload => "bytes of UDP payload",
                    Limit::Messages => "messages",
                    Limit::RightsMessages => "SCM_RIGHTS messages",
                };
                match limit {
                    Limit::ControlBuffer if cfg!(unix) => write!(
                        f,
                        "{needed} {what} reach {limit} ({max}): the kernel takes less than {max}"
                    )?,
                    Limit::SegmentSize => write!(
                        f,
                        "a segment size of {needed} bytes is outside {limit} range 1..={max}"
                    )?,
                    _ => write!(f, "{needed} {what} exceed {limit} ({max})")?,
                }
                if let Some(errno) = kernel {
                    let name = os_name(errno);
                    write!(f, " (the kernel answered {name})")?;
                } else {
                    f.write_str(", nothing was sent")?;
                }
                write!(f, "; {}", limit.advice())
            }
            Error::Capacity { needed, available } if needed > isize::MAX as usize => write!(
                f,
                "control storage too small: the messages need more bytes than memory can hold \
                 ({available} available); push fewer or smaller control messages"
            ),
            Error::Capacity { needed, available } => write!(
                f,
                "control storage too small: {needed} bytes needed, {available} available; \
                 use CmsgBuffer::<{needed}> (or larger), or size it with the sum of \
                 ancillary::cmsg::space of each message ({})",
                if cfg!(windows) {
                    "INT_SPACE, IP_PKTINFO_SPACE, IPV6_PKTINFO_SPACE, ..."
                } else {
                    "space_for_fds, CREDENTIALS_SPACE, ..."
                }
            ),
            Error::RawRights => f.write_str(
                "SCM_RIGHTS cannot be pushed as raw bytes: use Encoder::push_rights with \
                 BorrowedFds (or the unsafe push_raw_rights)",
            ),
            Error::ControlWithoutData => f.write_str(
                "control data needs at least one byte of payload on a stream socket; \
                 add a data byte",
            ),
            Error::ControlTruncated {
                delivered,
                capacity,
            } if cfg!(windows) => write!(
                f,
                "control data truncated (MSG_CTRUNC): {delivered} of a {capacity}-byte buffer \
                 delivered, the rest was lost; give WSARecvMsg a larger control buffer \
                 (the sum of ancillary::cmsg::space of each message)"
            ),
            Error::ControlTruncated {
                delivered,
                capacity,
            } => write!(
                f,
                "control data truncated (MSG_CTRUNC): {delivered} of a {capacity}-byte buffer \
                 delivered, the rest was lost and any fds in it were closed by the kernel; \
                 give recvmsg a larger control buffer"
            ),
            Error::DataTruncated { received } => write!(
                f,
                "datagram truncated (MSG_TRUNC): only {received} bytes fitted in the buffers; \
                 give {} larger buffers",
                if cfg!(windows) {
                    "WSARecvMsg"
                } else {
                    "recvmsg"
                }
            ),
            Error::FileEnded { offset, missing } => write!(
                f,
                "sendfile: the file ended at byte {offset}, {missing} bytes short of the range \
                 to send; the peer got a short body: close the connection (or send the missing \
                 bytes another way), and check that nothing truncates the file while it is sent"
            ),
            Error::NotDatagramSocket => f.write_str(
                "a Batch sends datagrams, and this is a stream (SOCK_STREAM) socket, where \
                 sendmmsg may write part of a message and still count it; nothing was sent: \
                 write a stream with SendAll (or SendMsg), and use Batch on UDP, Unix datagram \
                 or seqpacket sockets",
            ),
            Error::PartialDatagram { written, len } => write!(
                f,
                "the kernel took only {written} of the {len} bytes of a message of the batch: \
                 the socket does not keep message boundaries, and the rest of that message is \
                 lost; write streams with SendAll, not Batch"
            ),
            #[cfg(unix)]
            Error::BatchFlags { flags } => write!(
                f,
                "a Batch cannot send with {flags:?}: MSG_MORE would join its datagrams into \
                 one, MSG_OOB and MSG_EOR belong to stream and record sockets; leave them out \
                 (use SendMsg for a single message that needs them)"
            ),
            Error::TooManyFds { arrived, capacity } => write!(
                f,
                "{arrived} file descriptors arrived with the message and there was room for \
                 {capacity}: those that fitted were stored and the others closed; give room for \
                 as many as the peer sends"
            ),
            Error::MissingFd => f.write_str(
                "the message arrived without a file descriptor; check that the peer sends one \
                 with every message it sends here",
            ),
            Error::StreamEnded { received, expected } => write!(
                f,
                "the stream ended after {received} of the {expected} bytes expected: the peer \
                 shut down or closed its end early"
            ),
            Error::SizeOverflow { what } => write!(
                f,
                "{what} overflows the address space; ask for fewer or smaller buffers"
            ),
            #[cfg(windows)]
            Error::ProtocolInfoLength { len, expected } => write!(
                f,
                "{len} bytes are not a WSAPROTOCOL_INFOW, which has {expected}; pass the exact \
                 bytes of ProtocolInfo::as_bytes from the process that called duplicate_socket"
            ),
            Error::Os {
                call,
                errno,
                carried,
            } => {
                let name = os_name(errno);
                let hint = os_hint(call, errno, carried);
                let os = io::Error::from_raw_os_error(errno);
                write!(f, "{call} failed with {name}: {hint} ({os}")?;
                if !carried.is_empty() {
                    write!(f, "; the message carried {carried}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn limit_message_names_limit_and_numbers() {
        let e = Error::Limit {
            limit: Limit::ControlBuffer,
            needed: 140_000,
            max: 131_072,
            kernel: None,
        };
        let s = e.to_string();
        assert!(s.contains("140000") && s.contains("131072") && s.contains("optmem_max"));
        assert!(s.contains("nothing was sent"));
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::InvalidInput);
    }

    /// The description of what a call carried costs no room: an `Error` (and so a `Result` of
    /// every send) is as small as before.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn os_error_stays_small() {
        assert_eq!(std::mem::size_of::<Carried>(), 8);
        assert_eq!(std::mem::size_of::<Error>(), 32);
    }

    #[test]
    fn os_error_keeps_kind_and_code() {
        let e = Error::os("sendmsg", libc::EAGAIN);
        assert!(e.is_would_block());
        assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
        assert_eq!(io::Error::from(e.clone()).kind(), io::ErrorKind::WouldBlock);
        assert!(e.to_string().contains("EAGAIN"));
        let k = Error::Limit {
            limit: Limit::Fds,
            needed: 300,
            max: 253,
            kernel: Some(libc::EINVAL),
        };
        assert!(k.to_string().contains("kernel answered EINVAL"));
        assert_eq!(k.raw_os_error(), Some(libc::EINVAL));
    }
}
