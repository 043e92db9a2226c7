//! The advice for each Windows Sockets error code, for the crate's [`Error`](crate::Error),
//! which carries the code in [`Error::Os`](crate::Error::Os) on Windows.
//!
//! Pure: the codes are numbers from `winerror.h` (checked against `windows-sys` when built for
//! Windows), so the table is tested on any system.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_says_what_to_do() {
        assert_eq!(name(code::WSAEMSGSIZE), "WSAEMSGSIZE");
        assert!(hint("WSASendMsg", code::WSAEMSGSIZE).contains("65507"));
        assert!(hint("WSARecvMsg", code::WSAEMSGSIZE).contains("larger buffers"));
        assert!(hint("WSARecvMsg", code::WSAEWOULDBLOCK).contains("readable"));
        assert!(hint("WSASendMsg", code::WSAEWOULDBLOCK).contains("writable"));
        assert!(hint("WSADuplicateSocketW", code::WSAEINVAL).contains("process"));
        assert_eq!(name(1), "Windows Sockets error");
        // Every named code has its own advice.
        for c in 10000..10100 {
            if name(c) != "Windows Sockets error" {
                assert_ne!(hint("WSASendMsg", c), hint("WSASendMsg", 1), "{c}");
            }
        }
    }
}
