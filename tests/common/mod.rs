//! Helpers shared by the integration tests: real sockets, real files.
#![allow(dead_code)]

use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{RecvMsg, SendMsg};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// A connected Unix socket pair of the given type, close-on-exec.
pub(crate) fn pair(ty: SockType) -> (OwnedFd, OwnedFd) {
    socketpair(AddressFamily::Unix, ty, None, SockFlag::SOCK_CLOEXEC).expect("socketpair")
}

/// An anonymous file holding `text`, positioned at its start.
pub(crate) fn file_with(text: &str) -> File {
    let mut f = File::from(
        rustix::fs::memfd_create("ancillary-test", rustix::fs::MemfdFlags::CLOEXEC)
            .expect("memfd_create"),
    );
    f.write_all(text.as_bytes()).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// Reads the whole file behind `fd` from its start.
pub(crate) fn read_all(fd: OwnedFd) -> String {
    let mut f = File::from(fd);
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// Open descriptors of this process.
pub(crate) fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// `n` descriptors for /dev/null.
pub(crate) fn dev_nulls(n: usize) -> Vec<File> {
    (0..n).map(|_| File::open("/dev/null").unwrap()).collect()
}

/// Sends `data` with these fds in one SCM_RIGHTS message.
pub(crate) fn send_fds(
    sock: BorrowedFd<'_>,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
) -> ancillary::Result<usize> {
    let mut storage = CmsgBuffer::<{ space_for_fds(300) }>::new();
    let mut control = storage.encoder();
    if !fds.is_empty() {
        control.push_rights(fds)?;
    }
    SendMsg::new(&[IoSlice::new(data)])
        .control(&control)
        .send(sock)
}

/// Receives one message with room for `room` fds; returns data and the fds taken.
pub(crate) fn recv_fds(sock: BorrowedFd<'_>, room: usize) -> (Vec<u8>, Vec<OwnedFd>, bool) {
    let mut data = [0u8; 256];
    let mut storage = vec![0u8; space_for_fds(room) + 8];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut storage);
    let mut msg = recv.recv(sock).expect("recvmsg");
    let n = msg.len();
    let truncated = msg.is_control_truncated();
    let fds: Vec<OwnedFd> = msg.fds().collect();
    drop(msg);
    (data[..n].to_vec(), fds, truncated)
}

/// Whether `fd` has FD_CLOEXEC.
pub(crate) fn is_cloexec(fd: &impl AsFd) -> bool {
    let flags = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    flags & libc::FD_CLOEXEC != 0
}

/// The raw number, for messages.
pub(crate) fn raw(fd: &impl AsFd) -> i32 {
    fd.as_fd().as_raw_fd()
}

/// `setsockopt` of an `int` option; panics on failure.
pub(crate) fn set_int_opt(fd: &impl AsFd, level: i32, name: i32, value: i32) {
    try_set_int_opt(fd, level, name, value).unwrap_or_else(|e| {
        panic!("setsockopt({level}, {name}, {value}): {e}");
    })
}

/// `setsockopt` of an `int` option.
pub(crate) fn try_set_int_opt(
    fd: &impl AsFd,
    level: i32,
    name: i32,
    value: i32,
) -> std::io::Result<()> {
    // SAFETY: value is a live int and its size is given.
    let r = unsafe {
        libc::setsockopt(
            raw(fd),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `getsockopt` of an `int` option; panics on failure.
pub(crate) fn get_int_opt(fd: &impl AsFd, level: i32, name: i32) -> i32 {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes of the sizes given.
    let r =
        unsafe { libc::getsockopt(raw(fd), level, name, (&mut v as *mut i32).cast(), &mut len) };
    assert_eq!(
        r,
        0,
        "getsockopt({level}, {name}): {}",
        std::io::Error::last_os_error()
    );
    v
}

/// A UDP socket bound to `addr` with a receive buffer of about `bytes` (`SO_RCVBUFFORCE` as
/// root, else as much as `SO_RCVBUF` allows) and a receive timeout, so no test can hang.
pub(crate) fn udp_receiver(addr: &str, bytes: i32) -> std::net::UdpSocket {
    let s = std::net::UdpSocket::bind(addr).expect("bind receiver");
    if try_set_int_opt(&s, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_err() {
        set_int_opt(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes);
    }
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    s
}

/// Whether nothing is queued on `sock` (a non-blocking peek finds nothing).
pub(crate) fn nothing_queued_udp(sock: &std::net::UdpSocket) -> bool {
    sock.set_nonblocking(true).unwrap();
    let r = sock.peek(&mut [0u8; 1]);
    sock.set_nonblocking(false).unwrap();
    matches!(r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
