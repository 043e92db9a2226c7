//! No heap allocation on the `SendAll` path for up to 8 buffers: a counting global allocator
//! watches the sending thread through many partial writes, polls and resumptions.
#![cfg(unix)]

mod common;
#[path = "common/counting.rs"]
mod counting;

use std::io::IoSlice;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{wait_writable, Progress, SendAll};
use common::*;
use nix::sys::socket::{setsockopt, sockopt::SndBuf, SockType};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;
use counting::allocations;

/// Sends the 8 buffers with the fd, resuming after every partial write; returns the waits.
fn round(sock: &UnixStream, bufs: &[IoSlice<'_>; 8], fd: &std::fs::File) -> usize {
    let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = space.encoder();
    control.push_rights(&[fd.as_fd()]).unwrap();
    let mut job = SendAll::new(bufs).control(&control);
    let mut waits = 0;
    while job.send(sock).unwrap() == Progress::WouldBlock {
        assert!(wait_writable(sock, Some(Duration::from_secs(10))).unwrap());
        waits += 1;
        assert!(waits < 1_000_000);
    }
    waits
}

#[test]
fn send_all_with_eight_buffers_does_not_allocate() {
    let data = pattern(8 * 64 * 1024);
    let parts: Vec<&[u8]> = data.chunks(64 * 1024).collect();
    let bufs: [IoSlice<'_>; 8] = std::array::from_fn(|i| IoSlice::new(parts[i]));
    let (a, b) = pair(SockType::Stream);
    setsockopt(&a, SndBuf, &4096).unwrap();
    let a = UnixStream::from(a);
    a.set_nonblocking(true).unwrap();
    let file = file_with("fd");
    let reader = std::thread::spawn(move || read_slowly(b));

    // Warm up: the first send reads net.core.optmem_max once.
    round(&a, &bufs, &file);
    let before = allocations();
    let mut waits = 0;
    for _ in 0..10 {
        waits += round(&a, &bufs, &file);
    }
    let made = allocations() - before;
    assert!(waits > 100, "partial writes were resumed ({waits} waits)");
    assert_eq!(made, 0, "{made} allocations in 10 rounds");
    drop(a);

    let got = reader.join().unwrap();
    assert_eq!(got.bytes.len(), 11 * data.len());
    assert!(got.bytes.chunks(data.len()).all(|c| c == data));
    assert_eq!((got.fds.len(), got.reads_with_fds), (11, 11));
}
