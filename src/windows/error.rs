//! The error of the Windows calls, and the advice for each Windows Sockets error code.
//!
//! Pure: the codes are numbers from `winerror.h` (checked against `windows-sys` when built for
//! Windows), so the table is tested on any system.

use std::fmt;
use std::io;

/// What went wrong in a Windows Sockets call or while building control data.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A Windows Sockets call failed with the code `WSAGetLastError` gave.
    ///
    /// Its message says what the code means for this call and what to do.
    #[non_exhaustive]
    Os {
        /// The call: `"WSASendMsg"`, `"WSARecvMsg"`, `"WSADuplicateSocketW"`, ...
        call: &'static str,
        /// The code (`WSAEWOULDBLOCK` = 10035, ...).
        code: i32,
    },
    /// Control storage is too small for the message being added: nothing was written.
    Capacity {
        /// Bytes the storage needs to hold everything pushed so far plus this message.
        needed: usize,
        /// Bytes the storage has.
        available: usize,
    },
    /// Bytes given to [`ProtocolInfo::from_bytes`](super::ProtocolInfo::from_bytes) are not
    /// one `WSAPROTOCOL_INFOW`.
    #[doc(alias = "WSAPROTOCOL_INFOW")]
    ProtocolInfoLength {
        /// The bytes given.
        len: usize,
        /// `sizeof(WSAPROTOCOL_INFOW)`.
        expected: usize,
    },
    /// More buffers, or a longer buffer, than one `WSAMSG` can describe (its counts are 32-bit).
    /// Nothing was sent.
    TooLarge {
        /// What was too large: `"buffers"`, `"control data"`, ...
        what: &'static str,
        /// Its size.
        len: usize,
    },
    /// A datagram pushed to a [`Batch`](super::Batch) is outside the batch's
    /// [`Limits`](super::Limits): nothing was queued.
    Limit {
        /// What was out of bounds: `"datagram bytes"`, `"segment size"`.
        what: &'static str,
        /// Its value.
        len: usize,
        /// The largest allowed (the smallest for a segment size is 1).
        max: usize,
    },
    /// Control messages did not fit the receive's control buffer (`MSG_CTRUNC`): some are lost.
    #[doc(alias = "MSG_CTRUNC")]
    ControlTruncated {
        /// Bytes of control data delivered.
        delivered: usize,
        /// Bytes of control buffer given.
        capacity: usize,
    },
    /// The datagram was larger than the receive's buffers (`MSG_TRUNC`): the rest is lost.
    #[doc(alias = "MSG_TRUNC")]
    DataTruncated {
        /// Bytes of data that fitted.
        received: usize,
    },
}

impl Error {
    #[cold]
    pub(crate) fn os(call: &'static str, code: i32) -> Self {
        Error::Os { call, code }
    }

    /// What to do about this error, in a few words: the advice its message ends with.
    pub fn hint(&self) -> Option<&'static str> {
        match *self {
            Error::Os { call, code } => Some(hint(call, code)),
            Error::Capacity { .. } => Some("give the encoder larger control storage"),
            Error::ProtocolInfoLength { .. } => Some(
                "pass the exact bytes of ProtocolInfo::as_bytes from the process that called \
                 duplicate_socket",
            ),
            Error::TooLarge { .. } => Some("split the data over several calls"),
            Error::Limit { .. } => Some(
                "send smaller datagrams, or raise the batch's limits if the path takes larger ones",
            ),
            Error::ControlTruncated { .. } => {
                Some("give the receive a larger control buffer (cmsg::space for each message)")
            }
            Error::DataTruncated { .. } => Some("give the receive larger data buffers"),
        }
    }

    /// The Windows Sockets error code, if this error came from a call.
    pub fn raw_os_error(&self) -> Option<i32> {
        match *self {
            Error::Os { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The [`io::ErrorKind`] that [`io::Error::from`] gives this error.
    pub fn kind(&self) -> io::ErrorKind {
        match *self {
            Error::Os { code, .. } => kind(code),
            Error::Capacity { .. } => io::ErrorKind::StorageFull,
            _ => io::ErrorKind::InvalidInput,
        }
    }

    /// Whether the call would have blocked (`WSAEWOULDBLOCK`): try again when the socket is
    /// ready.
    pub fn is_would_block(&self) -> bool {
        self.raw_os_error() == Some(code::WSAEWOULDBLOCK)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Os { call, code } => write!(f, "{call} failed: {} ({code})", name(code))?,
            Error::Capacity { needed, available } => write!(
                f,
                "control storage too small: {needed} bytes needed, {available} available"
            )?,
            Error::ProtocolInfoLength { len, expected } => write!(
                f,
                "{len} bytes are not a WSAPROTOCOL_INFOW, which has {expected}"
            )?,
            Error::TooLarge { what, len } => write!(f, "{what} of {len} do not fit in one WSAMSG")?,
            Error::Limit { what, len, max } => write!(
                f,
                "{what}: {len} is outside the batch's limits (at most {max})"
            )?,
            Error::ControlTruncated {
                delivered,
                capacity,
            } => write!(
                f,
                "control data truncated (MSG_CTRUNC): {delivered} bytes delivered into {capacity}"
            )?,
            Error::DataTruncated { received } => write!(
                f,
                "datagram truncated (MSG_TRUNC): {received} bytes fitted the buffers"
            )?,
        }
        match self.hint() {
            Some(hint) => write!(f, ": {hint}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            // The code itself, so that raw_os_error() and kind() stay what the system said.
            #[cfg(windows)]
            Error::Os { code, .. } => io::Error::from_raw_os_error(code),
            e => io::Error::new(e.kind(), e),
        }
    }
}

/// The Windows Sockets codes this crate gives advice for (`winerror.h`).
pub(crate) mod code {
    pub(crate) const WSAEINTR: i32 = 10004;
    pub(crate) const WSAEACCES: i32 = 10013;
    pub(crate) const WSAEFAULT: i32 = 10014;
    pub(crate) const WSAEINVAL: i32 = 10022;
    pub(crate) const WSAEMFILE: i32 = 10024;
    pub(crate) const WSAEWOULDBLOCK: i32 = 10035;
    pub(crate) const WSAENOTSOCK: i32 = 10038;
    pub(crate) const WSAEDESTADDRREQ: i32 = 10039;
    pub(crate) const WSAEMSGSIZE: i32 = 10040;
    pub(crate) const WSAENOPROTOOPT: i32 = 10042;
    pub(crate) const WSAEOPNOTSUPP: i32 = 10045;
    pub(crate) const WSAEAFNOSUPPORT: i32 = 10047;
    pub(crate) const WSAEADDRNOTAVAIL: i32 = 10049;
    pub(crate) const WSAENETDOWN: i32 = 10050;
    pub(crate) const WSAENETUNREACH: i32 = 10051;
    pub(crate) const WSAENETRESET: i32 = 10052;
    pub(crate) const WSAECONNABORTED: i32 = 10053;
    pub(crate) const WSAECONNRESET: i32 = 10054;
    pub(crate) const WSAENOBUFS: i32 = 10055;
    pub(crate) const WSAENOTCONN: i32 = 10057;
    pub(crate) const WSAESHUTDOWN: i32 = 10058;
    pub(crate) const WSAETIMEDOUT: i32 = 10060;
    pub(crate) const WSAEHOSTUNREACH: i32 = 10065;
    pub(crate) const WSANOTINITIALISED: i32 = 10093;
}

#[cfg(windows)]
const _: () = {
    use code::*;
    use windows_sys::Win32::Networking::WinSock as ws;
    assert!(ws::WSAEINTR == WSAEINTR && ws::WSAEACCES == WSAEACCES);
    assert!(ws::WSAEFAULT == WSAEFAULT && ws::WSAEINVAL == WSAEINVAL);
    assert!(ws::WSAEMFILE == WSAEMFILE && ws::WSAEWOULDBLOCK == WSAEWOULDBLOCK);
    assert!(ws::WSAENOTSOCK == WSAENOTSOCK && ws::WSAEDESTADDRREQ == WSAEDESTADDRREQ);
    assert!(ws::WSAEMSGSIZE == WSAEMSGSIZE && ws::WSAENOPROTOOPT == WSAENOPROTOOPT);
    assert!(ws::WSAEOPNOTSUPP == WSAEOPNOTSUPP && ws::WSAEAFNOSUPPORT == WSAEAFNOSUPPORT);
    assert!(ws::WSAEADDRNOTAVAIL == WSAEADDRNOTAVAIL && ws::WSAENETDOWN == WSAENETDOWN);
    assert!(ws::WSAENETUNREACH == WSAENETUNREACH && ws::WSAENETRESET == WSAENETRESET);
    assert!(ws::WSAECONNABORTED == WSAECONNABORTED && ws::WSAECONNRESET == WSAECONNRESET);
    assert!(ws::WSAENOBUFS == WSAENOBUFS && ws::WSAENOTCONN == WSAENOTCONN);
    assert!(ws::WSAESHUTDOWN == WSAESHUTDOWN && ws::WSAETIMEDOUT == WSAETIMEDOUT);
    assert!(ws::WSAEHOSTUNREACH == WSAEHOSTUNREACH);
    assert!(ws::WSANOTINITIALISED == WSANOTINITIALISED);
};

/// The symbolic name of a code.
pub(crate) fn name(c: i32) -> &'static str {
    use code::*;
    match c {
        WSAEINTR => "WSAEINTR",
        WSAEACCES => "WSAEACCES",
        WSAEFAULT => "WSAEFAULT",
        WSAEINVAL => "WSAEINVAL",
        WSAEMFILE => "WSAEMFILE",
        WSAEWOULDBLOCK => "WSAEWOULDBLOCK",
        WSAENOTSOCK => "WSAENOTSOCK",
        WSAEDESTADDRREQ => "WSAEDESTADDRREQ",
        WSAEMSGSIZE => "WSAEMSGSIZE",
        WSAENOPROTOOPT => "WSAENOPROTOOPT",
        WSAEOPNOTSUPP => "WSAEOPNOTSUPP",
        WSAEAFNOSUPPORT => "WSAEAFNOSUPPORT",
        WSAEADDRNOTAVAIL => "WSAEADDRNOTAVAIL",
        WSAENETDOWN => "WSAENETDOWN",
        WSAENETUNREACH => "WSAENETUNREACH",
        WSAENETRESET => "WSAENETRESET",
        WSAECONNABORTED => "WSAECONNABORTED",
        WSAECONNRESET => "WSAECONNRESET",
        WSAENOBUFS => "WSAENOBUFS",
        WSAENOTCONN => "WSAENOTCONN",
        WSAESHUTDOWN => "WSAESHUTDOWN",
        WSAETIMEDOUT => "WSAETIMEDOUT",
        WSAEHOSTUNREACH => "WSAEHOSTUNREACH",
        WSANOTINITIALISED => "WSANOTINITIALISED",
        _ => "Windows Sockets error",
    }
}

/// What to do about `code` from `call`.
pub(crate) fn hint(call: &'static str, c: i32) -> &'static str {
    use code::*;
    let receiving = call == "WSARecvMsg";
    match c {
        WSAEWOULDBLOCK if receiving => {
            "the non-blocking socket has no datagram yet: wait until it is readable and call again"
        }
        WSAEWOULDBLOCK => {
            "the non-blocking socket's send buffer is full: wait until it is writable and call again"
        }
        WSAEMSGSIZE if receiving => {
            "the datagram was larger than the buffers and its tail is lost: receive into larger \
             buffers (65527 bytes hold any UDP datagram)"
        }
        WSAEMSGSIZE => {
            "the datagram is larger than the protocol allows (65507 bytes of UDP payload over \
             IPv4, 65527 over IPv6): send less per datagram"
        }
        WSAECONNRESET if receiving => {
            "an earlier datagram from this socket met an ICMP port unreachable: the peer is not \
             listening; keep receiving, or turn SIO_UDP_CONNRESET off"
        }
        WSAECONNRESET => "the peer reset the connection: reconnect",
        WSAENOBUFS => {
            "Windows ran out of buffer space for the call: send smaller or fewer control messages \
             and data, or retry later"
        }
        WSAENOTSOCK => "the handle is not a socket (or was closed): pass an open socket",
        WSAEINVAL if call == "WSADuplicateSocketW" => {
            "no process has that id, or it cannot receive the socket: pass the id of a running \
             process (std::process::Child::id)"
        }
        WSAEINVAL if call == "WSASocketW" => {
            "the WSAPROTOCOL_INFOW was not made for this process, or was used already: duplicate \
             the socket again for this process id"
        }
        WSAEINVAL => {
            "Windows refused an argument: for WSASendMsg/WSARecvMsg, use a datagram or raw \
             socket, give a destination unless the socket is connected, bind before receiving, \
             and send well-formed control messages"
        }
        WSAEOPNOTSUPP => {
            "the socket does not support this call or flag (WSASendMsg and WSARecvMsg take \
             datagram and raw sockets only; MSG_OOB only streams)"
        }
        WSAENOPROTOOPT => {
            "this Windows or this socket does not know the option (UDP send/receive offload \
             needs Windows 10 2004 / Windows 11): go on without it"
        }
        WSAEAFNOSUPPORT => {
            "the address family does not match the socket: send IPv4 addresses from an IPv4 \
             socket and IPv6 addresses from an IPv6 socket"
        }
        WSAEDESTADDRREQ => "the socket is not connected: give a destination address",
        WSAENOTCONN => "connect the socket first, or give a destination address",
        WSAEADDRNOTAVAIL => {
            "the address is not usable from here: check the destination, and that a source \
             address in IP_PKTINFO belongs to this machine"
        }
        WSAENETUNREACH | WSAEHOSTUNREACH => {
            "no route to the destination: check the address and the network configuration"
        }
        WSAENETDOWN => "the network is down: retry when it is back",
        WSAENETRESET | WSAECONNABORTED => "the connection was dropped: reconnect",
        WSAESHUTDOWN => "the socket was shut down for this direction: use another socket",
        WSAETIMEDOUT => "the operation timed out: retry, or raise the socket's timeout",
        WSAEACCES => {
            "access denied: sending to a broadcast address needs SO_BROADCAST; another program \
             may hold the address exclusively"
        }
        WSAEFAULT => "a buffer or address was not valid memory: this is a bug, please report it",
        WSAEMFILE => "no more sockets can be created: close sockets that are no longer needed",
        WSAEINTR => "a blocking call was cancelled: call again",
        WSANOTINITIALISED => "Windows Sockets was not started in this process: call WSAStartup",
        _ => "see the Windows Sockets error codes for this value",
    }
}

/// The `io::ErrorKind` of a code, as std gives it on Windows (computed here so that it is the
/// same on every system).
fn kind(c: i32) -> io::ErrorKind {
    use code::*;
    match c {
        WSAEWOULDBLOCK => io::ErrorKind::WouldBlock,
        WSAECONNRESET | WSAENETRESET => io::ErrorKind::ConnectionReset,
        WSAECONNABORTED => io::ErrorKind::ConnectionAborted,
        WSAENOTCONN => io::ErrorKind::NotConnected,
        WSAEADDRNOTAVAIL => io::ErrorKind::AddrNotAvailable,
        WSAEACCES => io::ErrorKind::PermissionDenied,
        WSAETIMEDOUT => io::ErrorKind::TimedOut,
        WSAEINTR => io::ErrorKind::Interrupted,
        WSAEINVAL => io::ErrorKind::InvalidInput,
        WSAENETUNREACH => io::ErrorKind::NetworkUnreachable,
        WSAEHOSTUNREACH => io::ErrorKind::HostUnreachable,
        WSAENETDOWN => io::ErrorKind::NetworkDown,
        WSAEOPNOTSUPP | WSAENOPROTOOPT | WSAEAFNOSUPPORT => io::ErrorKind::Unsupported,
        _ => io::ErrorKind::Other,
    }
}

/// The encoder's error as this module's, for the tests of this module on other systems, where
/// the crate's encoder reports the crate's Unix error.
#[cfg(not(windows))]
impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Error {
        match e {
            crate::Error::Capacity { needed, available } => Error::Capacity { needed, available },
            other => unreachable!("the encoder reports only Capacity here: {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = Error::os("WSASendMsg", code::WSAEMSGSIZE);
        assert_eq!(
            e.to_string(),
            format!(
                "WSASendMsg failed: WSAEMSGSIZE (10040): {}",
                hint("WSASendMsg", 10040)
            )
        );
        assert!(e.to_string().contains("65507"));
        let r = Error::os("WSARecvMsg", code::WSAEMSGSIZE);
        assert!(r.to_string().contains("larger buffers"));
        assert!(Error::os("WSARecvMsg", code::WSAEWOULDBLOCK).is_would_block());
        assert_eq!(
            Error::os("WSARecvMsg", code::WSAEWOULDBLOCK).kind(),
            io::ErrorKind::WouldBlock
        );
        assert!(hint("WSADuplicateSocketW", code::WSAEINVAL).contains("process"));
        assert_eq!(Error::os("x", 1).hint(), Some(hint("x", 1)));
        // Every named code has its own advice.
        for c in 10000..10100 {
            if name(c) != "Windows Sockets error" {
                assert_ne!(hint("WSASendMsg", c), hint("WSASendMsg", 1), "{c}");
            }
        }
    }

    #[test]
    fn io_error_keeps_kind() {
        let e: io::Error = Error::Capacity {
            needed: 48,
            available: 32,
        }
        .into();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        let e: io::Error = Error::os("WSASendMsg", code::WSAENETUNREACH).into();
        assert_eq!(e.kind(), io::ErrorKind::NetworkUnreachable);
    }
}
