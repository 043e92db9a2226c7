//! UDP send and receive offload (USO, URO) and the receive options for UDP control messages.

use std::os::windows::io::BorrowedSocket;

use windows_sys::Win32::Networking::WinSock as ws;

use super::{getsockopt, setsockopt};

/// `getsockopt(IPPROTO_UDP, UDP_SEND_MSG_SIZE)`: the socket's USO segment size (0: off). Fails
/// with `WSAENOPROTOOPT` or `WSAEINVAL` where Windows has no USO; so it doubles as the probe,
/// and it changes nothing.
pub(crate) fn udp_send_msg_size(socket: BorrowedSocket<'_>) -> Result<u32, i32> {
    getsockopt(socket, ws::IPPROTO_UDP, ws::UDP_SEND_MSG_SIZE)
}

/// `setsockopt(IPPROTO_UDP, UDP_SEND_MSG_SIZE)`: cut every send into datagrams of `size` bytes
/// (0: off).
#[allow(dead_code)] // for the batch layer: a per-socket segment size, reset after use
pub(crate) fn set_udp_send_msg_size(socket: BorrowedSocket<'_>, size: u32) -> Result<(), i32> {
    setsockopt(socket, ws::IPPROTO_UDP, ws::UDP_SEND_MSG_SIZE, size)
}

/// `getsockopt(IPPROTO_UDP, UDP_RECV_MAX_COALESCED_SIZE)`: the most bytes URO joins into one
/// receive (0: off).
#[allow(dead_code)] // for the batch layer: the size a receive buffer needs
pub(crate) fn udp_recv_max_coalesced_size(socket: BorrowedSocket<'_>) -> Result<u32, i32> {
    getsockopt(socket, ws::IPPROTO_UDP, ws::UDP_RECV_MAX_COALESCED_SIZE)
}

/// `setsockopt(IPPROTO_UDP, UDP_RECV_MAX_COALESCED_SIZE)`: let URO join received datagrams of
/// one flow up to `size` bytes (0: off); each receive then says the datagram size in a
/// `UDP_COALESCED_INFO` message.
pub(crate) fn set_udp_recv_max_coalesced_size(
    socket: BorrowedSocket<'_>,
    size: u32,
) -> Result<(), i32> {
    setsockopt(
        socket,
        ws::IPPROTO_UDP,
        ws::UDP_RECV_MAX_COALESCED_SIZE,
        size,
    )
}

/// `setsockopt(level, name, on)` for the options that ask for a control message on every
/// receive: `IP_PKTINFO`, `IPV6_PKTINFO`, `IP_RECVECN`, `IPV6_RECVECN`, `IP_RECVTOS`,
/// `IPV6_RECVTCLASS`.
pub(crate) fn set_recv_flag(
    socket: BorrowedSocket<'_>,
    level: i32,
    name: i32,
    on: bool,
) -> Result<(), i32> {
    setsockopt(socket, level, name, i32::from(on))
}

/// `ioctlsocket(FIONREAD)`: bytes the next receive would return (for a datagram socket, the
/// first queued datagram's); 0 when nothing is queued. Lets a receive loop stop before it would
/// block without switching the socket to non-blocking.
pub(crate) fn pending_bytes(socket: BorrowedSocket<'_>) -> Result<u32, i32> {
    let mut n: u32 = 0;
    // SAFETY: n is a live local the call writes one u_long (32 bits on Windows) into.
    let r = unsafe { ws::ioctlsocket(super::raw(socket), ws::FIONREAD, &mut n) };
    if r == ws::SOCKET_ERROR {
        return Err(super::last_error());
    }
    Ok(n)
}
