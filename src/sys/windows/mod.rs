//! The Windows backend: one `WSAMSG` builder ([`wsamsg`]), `WSASendMsg`, `WSARecvMsg` (found
//! once through `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER)`), socket options, and the socket
//! hand-over (`handover.rs`) and UDP offload options (`udp.rs`).
//!
//! The shapes follow the Unix backend: each call takes a `BorrowedSocket` and borrowed buffers,
//! and fails with the code `WSAGetLastError` gives, as an `i32`, where Unix gives the errno.
//! Windows Sockets have no `EINTR` to retry: a call either completes or fails.

use std::io::{IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::windows::io::{AsRawSocket, BorrowedSocket};
use std::ptr;
use std::sync::OnceLock;

use windows_sys::Win32::Networking::WinSock as ws;

mod handover;
mod udp;

pub(crate) use handover::*;
pub(crate) use udp::*;

/// `WSAGetLastError()`: the code of the last failed Windows Sockets call of this thread.
#[cold]
pub(crate) fn last_error() -> i32 {
    // SAFETY: WSAGetLastError reads this thread's last error code and touches no memory of ours.
    unsafe { ws::WSAGetLastError() }
}

/// `WSAStartup(2.2)` once per process, as std does before its first socket, for the calls that
/// may come before any socket exists (taking a socket handed over by another process).
pub(crate) fn startup() -> Result<(), i32> {
    static STARTED: OnceLock<i32> = OnceLock::new();
    let code = *STARTED.get_or_init(|| {
        // SAFETY: WSADATA is plain data, all-zero is a valid value; WSAStartup writes it.
        let mut data: ws::WSADATA = unsafe { std::mem::zeroed() };
        // SAFETY: data is a live local the call may write; the matching WSACleanup is never
        // called, so Windows Sockets stay started for the life of the process, as with std.
        unsafe { ws::WSAStartup(0x0202, &mut data) }
    });
    match code {
        0 => Ok(()),
        e => Err(e),
    }
}

/// The raw handle of a borrowed socket.
#[inline]
fn raw(socket: BorrowedSocket<'_>) -> ws::SOCKET {
    socket.as_raw_socket() as ws::SOCKET
}

/// A socket address in the form Windows takes (`SOCKADDR_IN` or `SOCKADDR_IN6`).
#[derive(Clone, Copy)]
pub(crate) struct SockAddr {
    inet: ws::SOCKADDR_INET,
    len: i32,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockAddr").field("len", &self.len).finish()
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(a) => SockAddr {
                inet: ws::SOCKADDR_INET {
                    Ipv4: ws::SOCKADDR_IN {
                        sin_family: ws::AF_INET,
                        sin_port: a.port().to_be(),
                        sin_addr: ws::IN_ADDR {
                            S_un: ws::IN_ADDR_0 {
                                S_addr: u32::from_ne_bytes(a.ip().octets()),
                            },
                        },
                        sin_zero: [0; 8],
                    },
                },
                len: size_of::<ws::SOCKADDR_IN>() as i32,
            },
            SocketAddr::V6(a) => SockAddr {
                inet: ws::SOCKADDR_INET {
                    Ipv6: ws::SOCKADDR_IN6 {
                        sin6_family: ws::AF_INET6,
                        sin6_port: a.port().to_be(),
                        sin6_flowinfo: a.flowinfo(),
                        sin6_addr: ws::IN6_ADDR {
                            u: ws::IN6_ADDR_0 {
                                Byte: a.ip().octets(),
                            },
                        },
                        Anonymous: ws::SOCKADDR_IN6_0 {
                            sin6_scope_id: a.scope_id(),
                        },
                    },
                },
                len: size_of::<ws::SOCKADDR_IN6>() as i32,
            },
        }
    }
}

/// A socket address borrowed for `'a`, as `WSAMSG.name` wants it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Name<'a> {
    ptr: *const ws::SOCKADDR,
    len: i32,
    _borrow: PhantomData<&'a SockAddr>,
}

// SAFETY: a Name is a shared borrow of a SockAddr (plain data), so it may be sent to and shared
// with other threads like the `&'a SockAddr` it stands for.
unsafe impl Send for Name<'_> {}
// SAFETY: as for Send.
unsafe impl Sync for Name<'_> {}

impl<'a> Name<'a> {
    #[inline]
    pub(crate) fn new(addr: &'a SockAddr) -> Self {
        Name {
            ptr: ptr::from_ref(&addr.inet).cast(),
            len: addr.len,
            _borrow: PhantomData,
        }
    }
}

/// Room for any socket address Windows may write into `WSAMSG.name`.
pub(crate) type NameStorage = ws::SOCKADDR_STORAGE;

/// The address Windows wrote into `storage` (its first `len` bytes), if it is IPv4 or IPv6.
pub(crate) fn socket_addr(
    storage: &MaybeUninit<ws::SOCKADDR_STORAGE>,
    len: i32,
) -> Option<SocketAddr> {
    let len = usize::try_from(len).ok()?;
    let p = storage.as_ptr();
    if len < size_of::<ws::ADDRESS_FAMILY>() {
        return None;
    }
    // SAFETY: Windows wrote at least `len` bytes, which cover ss_family (checked above).
    let family = unsafe { ptr::addr_of!((*p).ss_family).read() };
    match family {
        ws::AF_INET if len >= size_of::<ws::SOCKADDR_IN>() => {
            // SAFETY: Windows wrote a whole SOCKADDR_IN (len covers it); SOCKADDR_STORAGE is
            // aligned for it; the read copies plain data.
            let a = unsafe { p.cast::<ws::SOCKADDR_IN>().read() };
            // SAFETY: every variant of IN_ADDR_0 is plain data of the same 4 bytes.
            let ip = Ipv4Addr::from(unsafe { a.sin_addr.S_un.S_addr }.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        ws::AF_INET6 if len >= size_of::<ws::SOCKADDR_IN6>() => {
            // SAFETY: as above, for a whole SOCKADDR_IN6.
            let a = unsafe { p.cast::<ws::SOCKADDR_IN6>().read() };
            // SAFETY: every variant of IN6_ADDR_0 and SOCKADDR_IN6_0 is plain data.
            let (ip, scope) = unsafe { (a.sin6_addr.u.Byte, a.Anonymous.sin6_scope_id) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                scope,
            )))
        }
        _ => None,
    }
}

/// A `WSAMSG` over these buffers: the one place a `WSAMSG` is filled. Empty control data goes
/// as NULL with length 0. Fails with `WSAEINVAL` when a count does not fit its 32-bit field
/// (callers check first).
#[inline]
fn wsamsg(
    name: *mut ws::SOCKADDR,
    namelen: i32,
    bufs: *mut ws::WSABUF,
    count: usize,
    control: *mut u8,
    controllen: usize,
    flags: u32,
) -> Result<ws::WSAMSG, i32> {
    let count = u32::try_from(count).map_err(|_| ws::WSAEINVAL)?;
    let controllen = u32::try_from(controllen).map_err(|_| ws::WSAEINVAL)?;
    Ok(ws::WSAMSG {
        name,
        namelen,
        lpBuffers: bufs,
        dwBufferCount: count,
        Control: if controllen > 0 {
            ws::WSABUF {
                len: controllen,
                buf: control,
            }
        } else {
            ws::WSABUF {
                len: 0,
                buf: ptr::null_mut(),
            }
        },
        dwFlags: flags,
    })
}

/// `WSASendMsg`, blocking or not as the socket is: the bytes sent, or the error code.
#[inline]
pub(crate) fn sendmsg(
    socket: BorrowedSocket<'_>,
    name: Option<Name<'_>>,
    iov: &[IoSlice<'_>],
    control: &[u8],
    flags: u32,
) -> Result<usize, i32> {
    let (name_ptr, namelen) = name.map_or((ptr::null(), 0), |n| (n.ptr, n.len));
    // IoSlice is guaranteed ABI-compatible with WSABUF on Windows.
    let msg = wsamsg(
        name_ptr.cast_mut(),
        namelen,
        iov.as_ptr().cast_mut().cast::<ws::WSABUF>(),
        iov.len(),
        control.as_ptr().cast_mut(),
        control.len(),
        0,
    )?;
    let mut sent = 0u32;
    // SAFETY: every pointer in msg comes from a borrow (name, iov, control) that outlives this
    // call, with the matching length; WSASendMsg only reads through them. Without an
    // OVERLAPPED the call completes before it returns, so nothing is used afterwards.
    let r = unsafe { ws::WSASendMsg(raw(socket), &msg, flags, &mut sent, ptr::null_mut(), None) };
    if r == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(sent as usize)
}

/// What `WSARecvMsg` reported besides the data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecvOut {
    pub(crate) bytes: usize,
    pub(crate) namelen: i32,
    pub(crate) controllen: usize,
    pub(crate) flags: u32,
}

type RecvMsgFn = unsafe extern "system" fn(
    ws::SOCKET,
    *mut ws::WSAMSG,
    *mut u32,
    *mut windows_sys::Win32::System::IO::OVERLAPPED,
    ws::LPWSAOVERLAPPED_COMPLETION_ROUTINE,
) -> i32;

/// `WSARecvMsg`, which Windows gives only through `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER,
/// WSAID_WSARECVMSG)`: looked up on the first socket that needs it and kept for the process.
fn wsarecvmsg(socket: BorrowedSocket<'_>) -> Result<RecvMsgFn, i32> {
    static FUNCTION: OnceLock<RecvMsgFn> = OnceLock::new();
    if let Some(f) = FUNCTION.get() {
        return Ok(*f);
    }
    let guid = ws::WSAID_WSARECVMSG;
    let mut f: ws::LPFN_WSARECVMSG = None;
    let mut returned = 0u32;
    // SAFETY: the input is the live GUID and the output the live function-pointer slot, each
    // with its size; no OVERLAPPED, so the call completes before it returns.
    let r = unsafe {
        ws::WSAIoctl(
            raw(socket),
            ws::SIO_GET_EXTENSION_FUNCTION_POINTER,
            ptr::from_ref(&guid).cast(),
            size_of::<windows_sys::core::GUID>() as u32,
            ptr::from_mut(&mut f).cast(),
            size_of::<ws::LPFN_WSARECVMSG>() as u32,
            &mut returned,
            ptr::null_mut(),
            None,
        )
    };
    if r == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    let f = f.ok_or(ws::WSAEOPNOTSUPP)?;
    Ok(*FUNCTION.get_or_init(|| f))
}

/// `WSARecvMsg`. `namelen` and `controllen` are clamped to the buffers given, whatever Windows
/// writes back; `flags` (`MSG_PEEK`) go in `WSAMSG.dwFlags`, which comes back with
/// `MSG_TRUNC`, `MSG_CTRUNC`, `MSG_BCAST`, `MSG_MCAST`.
#[inline]
pub(crate) fn recvmsg(
    socket: BorrowedSocket<'_>,
    name: &mut MaybeUninit<ws::SOCKADDR_STORAGE>,
    iov: &mut [IoSliceMut<'_>],
    control: &mut [u8],
    flags: u32,
) -> Result<RecvOut, i32> {
    let recv = wsarecvmsg(socket)?;
    let name_cap = size_of::<ws::SOCKADDR_STORAGE>() as i32;
    // IoSliceMut is guaranteed ABI-compatible with WSABUF on Windows.
    let mut msg = wsamsg(
        name.as_mut_ptr().cast(),
        name_cap,
        iov.as_mut_ptr().cast::<ws::WSABUF>(),
        iov.len(),
        control.as_mut_ptr(),
        control.len(),
        flags,
    )?;
    let mut got = 0u32;
    // SAFETY: recv is WSARecvMsg as Windows gave it; every pointer in msg comes from an
    // exclusive borrow (name, iov, control) that outlives this call, with the matching length,
    // and Windows writes at most that much through each. Without an OVERLAPPED the call
    // completes before it returns.
    let r = unsafe { recv(raw(socket), &mut msg, &mut got, ptr::null_mut(), None) };
    if r == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(RecvOut {
        bytes: got as usize,
        namelen: msg.namelen.clamp(0, name_cap),
        controllen: (msg.Control.len as usize).min(control.len()),
        flags: msg.dwFlags,
    })
}

/// Plain-data option values `getsockopt` may fill: valid for any bytes Windows writes.
///
/// # Safety
/// Implementors are integers or `repr(C)` structs of integers.
pub(crate) unsafe trait OptionValue: Copy {}
// SAFETY: an integer is valid for any bit pattern.
unsafe impl OptionValue for i32 {}
// SAFETY: an integer is valid for any bit pattern.
unsafe impl OptionValue for u32 {}

/// `getsockopt` of one option of type `T`; fails with `WSAEINVAL` if Windows wrote less than a
/// whole `T`.
pub(crate) fn getsockopt<T: OptionValue>(
    socket: BorrowedSocket<'_>,
    level: i32,
    name: i32,
) -> Result<T, i32> {
    let mut v = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as i32;
    // SAFETY: v and len are live locals, valid for writes of the sizes given.
    let r = unsafe { ws::getsockopt(raw(socket), level, name, v.as_mut_ptr().cast(), &mut len) };
    if r == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    if usize::try_from(len).map_or(true, |l| l < size_of::<T>()) {
        return Err(ws::WSAEINVAL);
    }
    // SAFETY: v started zeroed (a valid T: OptionValue types are valid for any bytes) and
    // Windows wrote at most size_of::<T>() bytes of it.
    Ok(unsafe { v.assume_init() })
}

/// `setsockopt` of one option of type `T`.
pub(crate) fn setsockopt<T: OptionValue>(
    socket: BorrowedSocket<'_>,
    level: i32,
    name: i32,
    value: T,
) -> Result<(), i32> {
    // SAFETY: value is a live local of the size given; Windows only reads it.
    let r = unsafe {
        ws::setsockopt(
            raw(socket),
            level,
            name,
            ptr::from_ref(&value).cast(),
            size_of::<T>() as i32,
        )
    };
    if r == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(())
}

/// `getsockopt(SO_TYPE)`: `SOCK_STREAM`, `SOCK_DGRAM`, ...
#[allow(dead_code)] // for the batch layer, which refuses stream sockets
pub(crate) fn socket_type(socket: BorrowedSocket<'_>) -> Result<i32, i32> {
    getsockopt(socket, ws::SOL_SOCKET, ws::SO_TYPE)
}
