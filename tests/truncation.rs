//! MSG_CTRUNC: more fds than room. Alone in its test binary, so that the open-fd count of the
//! process is not disturbed by other tests.
#![cfg(unix)]

mod common;

use std::io::IoSliceMut;
use std::os::fd::{AsFd, BorrowedFd};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{Error, RecvMsg};
use common::*;
use nix::sys::socket::SockType;

#[test]
fn eight_fds_into_room_for_two_never_leak() {
    if skip_under_qemu(
        "MSG_CTRUNC: qemu-user never reports control truncation, and leaves open the \
         descriptors that did not fit",
    ) {
        return;
    }
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(8);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut room = CmsgBuffer::<{ space_for_fds(2) }>::new();
    let mut data = [0u8; 8];

    // Once by hand, looking at everything.
    send_fds(a.as_fd(), b"eight", &fds).unwrap();
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    assert!(msg.is_control_truncated());
    match msg.check() {
        Err(Error::ControlTruncated {
            delivered,
            capacity,
        }) => {
            assert_eq!(capacity, space_for_fds(2));
            assert!(delivered <= capacity);
        }
        other => panic!("{other:?}"),
    }
    let got: Vec<_> = msg.fds().collect();
    assert_eq!(got.len(), 2, "the two that fit arrive, owned");
    assert!(got.iter().all(is_cloexec));
    drop(msg);
    drop(got);

    // Then 10 000 rounds, taking the fds, ignoring them, or taking only one.
    let before = open_fd_count();
    for round in 0..10_000 {
        send_fds(a.as_fd(), b"eight", &fds).unwrap();
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut recv = RecvMsg::new(&mut iov).control(&mut room);
        let mut msg = recv.recv(&b).unwrap();
        assert!(msg.is_control_truncated());
        match round % 3 {
            0 => assert_eq!(msg.fds().count(), 2),
            1 => {}
            _ => drop(msg.fds().next().unwrap()),
        }
    }
    assert_eq!(open_fd_count(), before, "descriptors leaked");
}
