//! SCM_PIDFD: the kernel's pidfd of the sender is owned like any received descriptor. Alone in
//! its test binary, so that the open-fd count of the process is not disturbed by other tests.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd};

use ancillary::cmsg::{CmsgBuffer, ControlMessage, PIDFD_SPACE};
use ancillary::{RecvFlags, RecvMsg, SendMsg};
use common::*;
use nix::sys::socket::SockType;

/// `SO_PASSPIDFD` from asm-generic/socket.h (the architectures this is built for here).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
const SO_PASSPIDFD: libc::c_int = 76;

fn enable_passpidfd(sock: &impl AsFd) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid int for the duration of the call, with its size passed.
    let r = unsafe {
        libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PASSPIDFD,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

#[test]
fn pidfd_arrives_owned_and_never_leaks() {
    let (a, b) = pair(SockType::Datagram);
    if !enable_passpidfd(&b) {
        // SO_PASSPIDFD came with Linux 6.5: a newer kernel must have it.
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut v = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
        assert!(
            (major, minor) < (6, 5),
            "SO_PASSPIDFD refused on Linux {release}"
        );
        eprintln!("SO_PASSPIDFD needs Linux 6.5, this is {release}: skipped");
        return;
    }
    let mut data = [0u8; 4];
    let mut room = CmsgBuffer::<{ PIDFD_SPACE }>::new();

    SendMsg::new(&[IoSlice::new(b"pid")]).send(&a).unwrap();
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    msg.check().unwrap();
    let pidfd = msg.pidfd().expect("a pidfd");
    drop(msg);
    assert!(is_cloexec(&pidfd));
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).unwrap();
    assert!(
        info.lines()
            .any(|l| l == format!("Pid:\t{}", std::process::id())),
        "{info}"
    );
    drop(pidfd);

    let before = open_fd_count();
    for round in 0..1000 {
        SendMsg::new(&[IoSlice::new(b"pid")]).send(&a).unwrap();
        // A peek installs a pidfd of its own.
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut peek = RecvMsg::new(&mut iov)
            .control(&mut room)
            .flags(RecvFlags::PEEK);
        drop(peek.recv(&b).unwrap());
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut recv = RecvMsg::new(&mut iov).control(&mut room);
        let mut msg = recv.recv(&b).unwrap();
        match round % 3 {
            0 => assert_eq!(msg.fds().count(), 0, "a pidfd is not an SCM_RIGHTS fd"),
            1 => {}
            _ => assert!(matches!(
                msg.messages().next(),
                Some(ControlMessage::Pidfd(_))
            )),
        }
    }
    assert_eq!(open_fd_count(), before, "pidfds leaked");
}
