//! No heap allocation on the send and receive path once buffers exist: a counting global
//! allocator watches a full round (encode, sendmsg, recvmsg, take and close the fds).
#![cfg(unix)]

mod common;
#[path = "common/counting.rs"]
mod counting;

use std::io::IoSliceMut;
use std::os::fd::{AsFd, BorrowedFd};

use ancillary::cmsg::{space_for_fds, CmsgBuffer, CREDENTIALS_SPACE};
use ancillary::{cmsg::Credentials, IoVecs, RecvMsg, SendMsg};
use common::*;
use nix::sys::socket::SockType;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;
use counting::allocations;

/// One round: encode `fds`, send, receive, take and close every fd. Returns fds received.
fn round(a: BorrowedFd<'_>, b: BorrowedFd<'_>, fds: &[BorrowedFd<'_>]) -> usize {
    let mut out = CmsgBuffer::<{ space_for_fds(253) + CREDENTIALS_SPACE }>::new();
    let mut control = out.encoder();
    control.push_rights(fds).unwrap();
    control.push_credentials(Credentials::current()).unwrap();
    let mut iov = IoVecs::new();
    iov.push(b"head").push(b"tail");
    let sent = SendMsg::new(&iov).control(&control).send(a).unwrap();
    assert_eq!(sent, 8);

    let mut data = [0u8; 16];
    let mut room = CmsgBuffer::<{ space_for_fds(253) + CREDENTIALS_SPACE }>::new();
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(b).unwrap();
    msg.check().unwrap();
    let mut n = 0;
    for fd in msg.fds() {
        drop(fd);
        n += 1;
    }
    assert_eq!(msg.len(), 8);
    n
}

#[test]
fn send_and_receive_do_not_allocate() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(253);
    let all: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    // Warm up: the first send reads net.core.optmem_max once.
    assert_eq!(round(a.as_fd(), b.as_fd(), &all[..1]), 1);

    for n in [1, 253] {
        let before = allocations();
        for _ in 0..100 {
            assert_eq!(round(a.as_fd(), b.as_fd(), &all[..n]), n);
        }
        let made = allocations() - before;
        assert_eq!(made, 0, "{made} allocations in 100 rounds with {n} fds");
    }
    // The counter counts: a Vec allocates.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    drop(v);
    assert_eq!(allocations() - before, 1);
}
