//! 16 MiB and 3 fds through a Unix stream with a small send buffer, sent non-blocking and resumed
//! after poll: every byte arrives once and in order, the fds exactly once, and nothing is left
//! open. Alone in its test binary, so that the open-fd count of the process is not disturbed by
//! other tests.
#![cfg(unix)]

mod common;

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{wait_writable, IoVecs, Progress, SendAll};
use common::*;
use nix::sys::socket::{getsockopt, setsockopt, sockopt::SndBuf, SockType};

#[test]
fn sixteen_mib_and_three_fds_resumed_after_poll_arrive_once() {
    let before = open_fd_count();
    {
        let data = pattern(16 << 20);
        let slices = irregular_slices(&data, 24 * 1024);
        assert!(slices.len() > 1024, "more iovecs than one sendmsg takes");
        let iov: IoVecs<'_> = slices.iter().copied().collect();

        let (a, b) = pair(SockType::Stream);
        setsockopt(&a, SndBuf, &4096).unwrap();
        assert!(getsockopt(&a, SndBuf).unwrap() < 16 * 1024);
        let a = UnixStream::from(a);
        a.set_nonblocking(true).unwrap();

        let files = [file_with("one"), file_with("two"), file_with("three")];
        let mut space = CmsgBuffer::<{ space_for_fds(3) }>::new();
        let mut control = space.encoder();
        control
            .push_rights(&[files[0].as_fd(), files[1].as_fd(), files[2].as_fd()])
            .unwrap();

        let reader = std::thread::spawn(move || read_slowly(b));

        let mut job = SendAll::from_iovecs(iov).control(&control);
        assert!(job.control_pending());
        let (mut waits, deadline) = (0usize, Instant::now() + Duration::from_secs(30));
        loop {
            assert!(Instant::now() < deadline, "sender timed out");
            match job.send(&a).unwrap() {
                Progress::Done => break,
                Progress::WouldBlock => {
                    waits += 1;
                    assert!(!job.control_pending(), "the fds went with the first bytes");
                    assert!(job.sent() > 0 && job.sent() < data.len());
                    assert!(wait_writable(&a, Some(Duration::from_secs(10))).unwrap());
                }
            }
            assert!(waits < 10_000_000);
        }
        assert!(
            waits > 10,
            "the small buffer made the sender wait ({waits} times)"
        );
        assert_eq!((job.sent(), job.remaining()), (data.len(), 0));
        assert!(job.is_done());
        drop(job);
        drop(a);

        let got = reader.join().unwrap();
        assert_eq!(got.bytes.len(), data.len());
        if let Some(at) = got.bytes.iter().zip(&data).position(|(x, y)| x != y) {
            panic!("byte {at} differs");
        }
        assert_eq!(got.fds.len(), 3, "the fds arrive exactly once");
        assert_eq!(got.reads_with_fds, 1, "in one control message");
        assert!(got.fds.iter().all(is_cloexec));
        let texts: Vec<String> = got.fds.into_iter().map(read_all).collect();
        assert_eq!(texts, ["one", "two", "three"]);
    }
    assert_eq!(open_fd_count(), before, "descriptors left open");
}
