//! Handing a socket to another process: `WSADuplicateSocketW` fills a `WSAPROTOCOL_INFOW` for
//! the target process, which travels as bytes, and `WSASocketW(FROM_PROTOCOL_INFO)` in that
//! process makes a socket of it.

use std::mem::size_of;
use std::os::windows::io::{BorrowedSocket, FromRawSocket, OwnedSocket, RawSocket};
use std::ptr;

use windows_sys::Win32::Networking::WinSock as ws;

use super::{last_error, raw, startup};

/// `sizeof(WSAPROTOCOL_INFOW)`.
pub(crate) const PROTOCOL_INFO_LEN: usize = size_of::<ws::WSAPROTOCOL_INFOW>();

// The bytes are the struct itself: no padding may hide uninitialized bytes in them.
const _: () =
    assert!(PROTOCOL_INFO_LEN == 628 && std::mem::align_of::<ws::WSAPROTOCOL_INFOW>() == 4);

/// `WSADuplicateSocketW(socket, pid)`: the `WSAPROTOCOL_INFOW` with which process `pid` can open
/// the same socket, as bytes.
pub(crate) fn duplicate_socket(
    socket: BorrowedSocket<'_>,
    pid: u32,
) -> Result<[u8; PROTOCOL_INFO_LEN], i32> {
    // SAFETY: WSAPROTOCOL_INFOW is integers only; all-zero is a valid value.
    let mut info: ws::WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    // SAFETY: info is a live, aligned local the call fills.
    let r = unsafe { ws::WSADuplicateSocketW(raw(socket), pid, &mut info) };
    if r == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    let mut bytes = [0u8; PROTOCOL_INFO_LEN];
    // SAFETY: info is a WSAPROTOCOL_INFOW of integers with no padding (asserted above), so its
    // PROTOCOL_INFO_LEN bytes are all initialized; bytes has room for exactly that many.
    unsafe {
        ptr::copy_nonoverlapping(
            ptr::from_ref(&info).cast::<u8>(),
            bytes.as_mut_ptr(),
            PROTOCOL_INFO_LEN,
        )
    };
    Ok(bytes)
}

/// `WSASocketW(FROM_PROTOCOL_INFO, ...)`: the socket a `WSAPROTOCOL_INFOW` made for this
/// process stands for, overlapped-capable and not inherited by child processes, as std makes
/// its own sockets.
pub(crate) fn socket_from_protocol_info(
    bytes: &[u8; PROTOCOL_INFO_LEN],
) -> Result<OwnedSocket, i32> {
    startup()?;
    // SAFETY: bytes holds PROTOCOL_INFO_LEN bytes and WSAPROTOCOL_INFOW is integers only, valid
    // for any bit pattern; read_unaligned copies it into an aligned value.
    let info: ws::WSAPROTOCOL_INFOW =
        unsafe { ptr::read_unaligned(bytes.as_ptr().cast::<ws::WSAPROTOCOL_INFOW>()) };
    // SAFETY: info is a live local the call only reads.
    let s = unsafe {
        ws::WSASocketW(
            ws::FROM_PROTOCOL_INFO,
            ws::FROM_PROTOCOL_INFO,
            ws::FROM_PROTOCOL_INFO,
            &info,
            0,
            ws::WSA_FLAG_OVERLAPPED | ws::WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if s == ws::INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: s is a new socket handle that nothing else owns.
    Ok(unsafe { OwnedSocket::from_raw_socket(s as RawSocket) })
}
