//! `RecvBatch` owns the descriptors it receives: those taken are the caller's, the rest are
//! closed when the batch receives again or drops; truncation is reported. Its own binary, so
//! that counting this process's open descriptors sees no other test's.
#![cfg(unix)]

mod common;

use std::io::IoSlice;
use std::os::fd::AsFd;

use ancillary::batch::{Batch, RecvBatch};
use ancillary::Error;
use common::*;
use nix::sys::socket::SockType;

#[test]
fn recv_batch_owns_received_fds_and_closes_those_not_taken() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(3);
    let before = open_fd_count();
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let payloads = [*b"one", *b"two", *b"thr"];
    let mut batch = Batch::new();
    for (i, p) in payloads.iter().enumerate() {
        batch
            .push_vectored(None, &[IoSlice::new(p)], |c| {
                c.push_rights(&fds[..=i])?;
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(batch.send(&a), Ok(3));
    drop(batch);

    let room = ancillary::cmsg::space_for_fds(3);
    let mut recv = RecvBatch::new(4, 16, room).unwrap();
    let mut got = 0;
    let mut taken = Vec::new();
    while got < 3 {
        recv.recv(&b).unwrap();
        for (k, mut d) in recv.iter_mut().enumerate() {
            d.check().unwrap();
            assert_eq!(d.data(), &payloads[got][..]);
            if k == 0 {
                // Take the fds of the first datagram of each call; leave the others.
                taken.extend(d.fds());
            }
            got += 1;
        }
    }
    assert!(!taken.is_empty());
    assert!(taken.iter().all(is_cloexec));
    drop(recv); // closes every fd not taken
    assert_eq!(open_fd_count(), before + taken.len());
    drop(taken);
    assert_eq!(open_fd_count(), before);

    // A datagram that drops closes what its slot held, and the next call does not walk that
    // slot again; a slot whose datagram was forgotten or never looked at is still closed by
    // the next call or the batch's drop, whatever an earlier call left in it.
    let (a, b) = pair(SockType::Datagram);
    let mut recv = RecvBatch::new(1, 16, room).unwrap();
    let fd = [files[0].as_fd()];
    let before = open_fd_count();
    for round in 0..5 {
        let with_fd = round != 1;
        send_fds(a.as_fd(), b"x", if with_fd { &fd } else { &[] }).unwrap();
        assert_eq!(recv.recv(&b).unwrap(), 1);
        // What arrived is open, and nothing an earlier call received is left.
        assert_eq!(
            open_fd_count(),
            before + usize::from(with_fd),
            "round {round}"
        );
        match round {
            // Dropped without taking anything (with and without control data).
            0 | 1 => drop(recv.iter_mut().next()),
            // Forgotten: nothing closed it yet.
            2 => std::mem::forget(recv.iter_mut().next()),
            // Never looked at (3), dropped after its fd was taken and dropped (4).
            3 => {}
            _ => drop(recv.iter_mut().next().unwrap().fds().collect::<Vec<_>>()),
        }
        let left = usize::from(with_fd && (round == 2 || round == 3));
        assert_eq!(open_fd_count(), before + left, "round {round}");
    }
    send_fds(a.as_fd(), b"x", &fd).unwrap();
    assert_eq!(recv.recv(&b).unwrap(), 1);
    assert_eq!(open_fd_count(), before + 1);
    drop(recv); // never looked at: closed by the drop
    assert_eq!(open_fd_count(), before);

    // Two datagrams whose `Received`s are swapped: dropping one closes what it holds (the
    // other slot's fd), and the slot whose control data was swapped out and forgotten is
    // still closed by the next call.
    let mut recv = RecvBatch::new(2, 16, room).unwrap();
    send_fds(a.as_fd(), b"x", &fd).unwrap();
    send_fds(a.as_fd(), b"y", &fd).unwrap();
    assert_eq!(recv.recv(&b).unwrap(), 2);
    assert_eq!(open_fd_count(), before + 2);
    {
        let mut it = recv.iter_mut();
        let mut first = it.next().unwrap();
        let mut second = it.next().unwrap();
        std::mem::swap(&mut *first, &mut *second);
        drop(first); // closes the second slot's fd
        assert_eq!(open_fd_count(), before + 1);
        std::mem::forget(second); // holds the first slot's fd, not closed yet
        assert_eq!(open_fd_count(), before + 1);
    }
    send_fds(a.as_fd(), b"z", &[]).unwrap();
    assert_eq!(recv.recv(&b).unwrap(), 1);
    assert_eq!(
        open_fd_count(),
        before,
        "the swapped-out slot was closed by the next call"
    );

    // Too small a buffer: truncation is reported, not hidden.
    let (a, b) = pair(SockType::Datagram);
    let mut batch = Batch::new();
    batch
        .push_vectored(None, &[IoSlice::new(&[5u8; 100])], |_| Ok(()))
        .unwrap();
    batch.send(&a).unwrap();
    let mut recv = RecvBatch::new(1, 10, 0).unwrap();
    assert_eq!(recv.recv(&b).unwrap(), 1);
    let d = recv.iter_mut().next().unwrap();
    assert_eq!(d.data(), &[5u8; 10][..]);
    assert!(matches!(
        d.check(),
        Err(Error::DataTruncated { received: 10 })
    ));
}
