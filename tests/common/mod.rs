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
