//! The one-call forms (`SendWithFd`, `RecvWithFd`) and `RecvExact` on std's sockets: bytes and
//! descriptors in one call, descriptors beyond the caller's room closed and reported,
//! truncation an error, a stream read exactly across partial reads.
#![cfg(unix)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::UdpSocket;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::Duration;

use ancillary::{Error, Progress, RecvExact, RecvWithFd, SendWithFd};
use common::*;

/// A pipe whose write end is to be sent: once every copy of the write end is closed, the read
/// end reads EOF. Tells whether received copies were closed without counting the process's
/// descriptors (which other tests change at the same time).
fn pipe() -> (std::fs::File, OwnedFd) {
    let (r, w) = nix::unistd::pipe().unwrap();
    let r = std::fs::File::from(r);
    // O_NONBLOCK on the read end (std's set_nonblocking works on any descriptor; the
    // flag belongs to the open file, which the clone shares).
    let clone = UnixStream::from(OwnedFd::from(r.try_clone().unwrap()));
    clone.set_nonblocking(true).unwrap();
    (r, w)
}

/// Whether every copy of the pipe's write end is closed (the read end sees EOF).
fn writers_closed(r: &mut std::fs::File) -> bool {
    let mut b = [0u8; 1];
    match r.read(&mut b) {
        Ok(0) => true,
        Ok(_) => panic!("nobody writes to the pipe"),
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn stream_one_call_round_trip() {
    let (a, b) = UnixStream::pair().unwrap();
    let f1 = file_with("one");
    let f2 = file_with("two");
    assert_eq!(
        a.send_with_fd(b"hello", &[f1.as_fd(), f2.as_fd()]).unwrap(),
        5
    );
    let mut buf = [0u8; 16];
    let mut fds: [Option<OwnedFd>; 4] = Default::default();
    let (n, count) = b.recv_with_fd(&mut buf, &mut fds).unwrap();
    assert_eq!((&buf[..n], count), (&b"hello"[..], 2));
    assert!(fds[..2].iter().flatten().all(is_cloexec));
    assert_eq!(read_all(fds[0].take().unwrap()), "one");
    assert_eq!(read_all(fds[1].take().unwrap()), "two");
    assert!(fds.iter().all(Option::is_none));
}

#[test]
fn slots_already_holding_a_descriptor_are_left_alone() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let f1 = file_with("new");
    let mut fds: [Option<OwnedFd>; 2] = [Some(file_with("kept").into()), None];
    a.send_with_fd(b"x", &[f1.as_fd()]).unwrap();
    let (_, count) = b.recv_with_fd(&mut [0; 4], &mut fds).unwrap();
    assert_eq!(count, 1);
    assert_eq!(read_all(fds[0].take().unwrap()), "kept");
    assert_eq!(read_all(fds[1].take().unwrap()), "new");
}

#[test]
fn datagram_vec_and_no_fds() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let files = dev_nulls(5);
    let borrowed: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    a.send_with_fd(b"five", &borrowed).unwrap();
    a.send_with_fd(b"none", &[]).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8];
    assert_eq!(b.recv_with_fd_vec(&mut buf, &mut got).unwrap(), 4);
    assert_eq!(got.len(), 5);
    assert_eq!(b.recv_with_fd_vec(&mut buf, &mut got).unwrap(), 4);
    assert_eq!(got.len(), 5);
}

/// passfd's one-liners: one descriptor, one byte.
#[test]
fn send_fd_recv_fd() {
    let (a, b) = UnixStream::pair().unwrap();
    let f = file_with("passed");
    a.send_fd(f.as_fd()).unwrap();
    let got = b.recv_fd().unwrap();
    assert!(is_cloexec(&got));
    assert_eq!(read_all(got), "passed");

    (&a).write_all(b"x").unwrap();
    assert!(matches!(b.recv_fd(), Err(Error::MissingFd)));
    drop(a);
    assert!(matches!(
        b.recv_fd(),
        Err(Error::StreamEnded {
            received: 0,
            expected: 1
        })
    ));
}

/// Three descriptors for room for one: the first is stored, the other two are closed, and the
/// call says so.
#[test]
fn descriptors_beyond_the_room_are_closed_and_reported() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let (mut r, w) = pipe();
    a.send_with_fd(b"3", &[w.as_fd(), w.as_fd(), w.as_fd()])
        .unwrap();
    drop(w);
    let mut fds = [None];
    let err = b.recv_with_fd(&mut [0; 4], &mut fds).unwrap_err();
    assert_eq!(
        err,
        Error::TooManyFds {
            arrived: 3,
            capacity: 1
        }
    );
    assert_eq!(std::io::Error::from(err).kind(), ErrorKind::InvalidData);
    assert!(!writers_closed(&mut r), "the stored copy is open");
    drop(fds);
    assert!(
        writers_closed(&mut r),
        "the two copies beyond the room were closed"
    );
}

/// A datagram longer than the buffer is an error, and its descriptor is not leaked.
#[test]
fn a_truncated_datagram_is_an_error() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let (mut r, w) = pipe();
    a.send_with_fd(b"longer than four", &[w.as_fd()]).unwrap();
    drop(w);
    let mut fds = [None];
    let err = b.recv_with_fd(&mut [0; 4], &mut fds).unwrap_err();
    assert_eq!(err, Error::DataTruncated { received: 4 });
    drop(fds);
    assert!(writers_closed(&mut r));
    // recv_fd's one byte: the same.
    let (mut r, w) = pipe();
    a.send_with_fd(b"two", &[w.as_fd()]).unwrap();
    drop(w);
    assert!(matches!(b.recv_fd(), Err(Error::DataTruncated { .. })));
    assert!(writers_closed(&mut r));
}

#[test]
fn more_than_253_fds_is_refused_before_the_call() {
    let (a, _b) = UnixDatagram::pair().unwrap();
    let f = file_with("");
    let many = vec![f.as_fd(); ancillary::limits::MAX_FDS + 1];
    assert!(matches!(
        a.send_with_fd(b"x", &many),
        Err(Error::Limit { kernel: None, .. })
    ));
}

#[test]
fn udp_sends_and_receives_bytes_without_fds() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(rx.local_addr().unwrap()).unwrap();
    assert_eq!(tx.send_with_fd(b"udp", &[]).unwrap(), 3);
    let mut fds = [None];
    assert_eq!(rx.recv_with_fd(&mut [0; 8], &mut fds).unwrap(), (3, 0));
}

/// Three messages, each with a descriptor; the receiver reads the whole in one RecvExact with
/// a buffer boundary in the middle of the second message: every descriptor is collected,
/// in order.
#[test]
fn recv_exact_collects_fds_from_every_segment() {
    let (a, b) = UnixStream::pair().unwrap();
    let files = ["a", "b", "c"].map(file_with);
    for (i, f) in files.iter().enumerate() {
        a.send_with_fd(&[b'0' + i as u8; 10], &[f.as_fd()]).unwrap();
    }
    let mut first = [0u8; 15];
    let mut fds: [Option<OwnedFd>; 3] = Default::default();
    let mut job = RecvExact::new(&mut first).fds(&mut fds);
    assert_eq!(job.recv_all(&b).unwrap(), 2);
    assert_eq!(job.data(), b"000000000011111");
    let mut rest = [0u8; 15];
    let n = b.recv_exact_with_fd(&mut rest, &mut fds[2..]).unwrap();
    assert_eq!((&rest, n), (b"111112222222222", 1));
    let names: Vec<_> = fds.into_iter().map(|f| read_all(f.unwrap())).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

/// A writer dribbling bytes, a descriptor with some of them: the non-blocking RecvExact
/// resumes across would-blocks and partial reads and gets them all.
#[test]
fn recv_exact_resumes_across_partial_reads() {
    let (a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let data = pattern(4000);
    let expected = data.clone();
    let writer = std::thread::spawn(move || {
        let f = file_with("mid");
        for (i, chunk) in data.chunks(333).enumerate() {
            let fds = if i % 4 == 1 { vec![f.as_fd()] } else { vec![] };
            a.send_with_fd(chunk, &fds).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let mut buf = vec![0u8; 4000];
    let mut fds = Vec::new();
    let mut job = RecvExact::new(&mut buf).fds_vec(&mut fds);
    let mut would_block = 0;
    for _ in 0..100_000 {
        match job.recv(&b).unwrap() {
            Progress::Done => break,
            Progress::WouldBlock => {
                would_block += 1;
                assert!(job.remaining() > 0);
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
    assert!(job.is_done());
    assert!(would_block > 0, "the reader never had to wait");
    writer.join().unwrap();
    assert_eq!(buf, expected);
    assert_eq!(fds.len(), 3); // chunks 1, 5, 9 of 13
}

/// The stream ends early: the error says how many bytes arrived, and the descriptor that came
/// with them is owned by the caller.
#[test]
fn recv_exact_reports_an_early_end() {
    let (a, b) = UnixStream::pair().unwrap();
    let (mut r, w) = pipe();
    a.send_with_fd(b"short", &[w.as_fd()]).unwrap();
    drop((a, w));
    let mut buf = [0u8; 10];
    let mut fds = [None];
    let err = b.recv_exact_with_fd(&mut buf, &mut fds).unwrap_err();
    assert_eq!(
        err,
        Error::StreamEnded {
            received: 5,
            expected: 10
        }
    );
    assert_eq!(std::io::Error::from(err).kind(), ErrorKind::UnexpectedEof);
    assert!(fds[0].is_some());
    drop(fds);
    assert!(writers_closed(&mut r));
}

/// A RecvExact without slots takes no descriptor: one that arrives is closed and reported, and
/// the bytes are counted.
#[test]
fn recv_exact_without_slots_closes_what_arrives() {
    let (a, b) = UnixStream::pair().unwrap();
    let (mut r, w) = pipe();
    a.send_with_fd(b"abc", &[w.as_fd()]).unwrap();
    drop(w);
    let mut buf = [0u8; 3];
    let mut job = RecvExact::new(&mut buf);
    assert_eq!(
        job.recv(&b).unwrap_err(),
        Error::TooManyFds {
            arrived: 1,
            capacity: 0
        }
    );
    assert_eq!((job.received(), job.fd_count()), (3, 0));
    assert!(job.is_done());
    assert!(writers_closed(&mut r));
}
