//! Header + file body with `SendFile`: the header with MSG_MORE, the body with sendfile(2),
//! resumed after partial writes, over TCP loopback and Unix stream sockets.
#![cfg(unix)]

mod common;

use std::fs::File;
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{wait_writable, Error, Progress, SendFile};
use common::*;
use nix::sys::socket::{setsockopt, sockopt::SndBuf, SockType};

/// A real file in the temporary directory holding `data`, already unlinked.
fn temp_file(data: &[u8]) -> File {
    let path = std::env::temp_dir().join(format!(
        "ancillary-sendfile-{}-{}",
        std::process::id(),
        data.len()
    ));
    let mut f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// A connected stream pair: TCP on 127.0.0.1 or a Unix socketpair. (sender, receiver)
fn stream_pair(tcp: bool) -> (OwnedFd, OwnedFd) {
    if tcp {
        let (a, b) = tcp_pair();
        (a.into(), b.into())
    } else {
        pair(SockType::Stream)
    }
}

#[test]
fn header_and_ten_mib_file_over_tcp_and_unix() {
    let body = pattern(10 << 20);
    let file = temp_file(&body);
    let header = format!("HEADER length={}\r\n\r\n", body.len());
    for tcp in [true, false] {
        for non_blocking in [false, true] {
            let what = format!("tcp: {tcp}, non-blocking: {non_blocking}");
            let (a, b) = stream_pair(tcp);
            if non_blocking {
                setsockopt(&a, SndBuf, &32768).unwrap();
                set_nonblocking(&a);
            }
            let reader = std::thread::spawn(move || read_slowly(b));

            let mut job = SendFile::new(&[IoSlice::new(header.as_bytes())], &file, 0, 10 << 20);
            let (mut waits, deadline) = (0, Instant::now() + Duration::from_secs(30));
            while job.send(&a).unwrap() == Progress::WouldBlock {
                assert!(Instant::now() < deadline, "sender timed out; {what}");
                assert!(wait_writable(&a, Some(Duration::from_secs(10))).unwrap());
                waits += 1;
            }
            assert!(job.is_done());
            assert_eq!(job.header_sent(), header.len());
            assert_eq!(job.body_sent(), body.len() as u64);
            assert_eq!(job.remaining(), 0);
            if non_blocking {
                assert!(waits > 0, "partial sendfiles were resumed; {what}");
            }
            drop(a);

            let got = reader.join().unwrap();
            assert_eq!(got.bytes.len(), header.len() + body.len(), "{what}");
            assert_eq!(&got.bytes[..header.len()], header.as_bytes(), "{what}");
            if let Some(at) = got.bytes[header.len()..]
                .iter()
                .zip(&body)
                .position(|(x, y)| x != y)
            {
                panic!("body byte {at} differs; {what}");
            }
        }
    }
}

#[test]
fn a_range_from_an_offset_leaves_the_file_position_alone() {
    let mut file = file_with("0123456789");
    file.seek(SeekFrom::Start(1)).unwrap();
    let (a, b) = pair(SockType::Stream);
    let mut job = SendFile::new(&[IoSlice::new(b"[3..8]")], &file, 3, 5);
    assert_eq!(job.send_all(&a), Ok(11));
    assert_eq!(job.offset(), 8);
    drop(job);
    drop(a);
    assert_eq!(read_slowly(b).bytes, b"[3..8]34567");
    assert_eq!(file.stream_position().unwrap(), 1);
}

#[test]
fn the_header_carries_fds_once() {
    let body = pattern(1 << 20);
    let file = temp_file(&body);
    let passed = file_with("passed");
    let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = space.encoder();
    control.push_rights(&[passed.as_fd()]).unwrap();

    let (a, b) = pair(SockType::Stream);
    setsockopt(&a, SndBuf, &4096).unwrap();
    let a = UnixStream::from(a);
    a.set_nonblocking(true).unwrap();
    let reader = std::thread::spawn(move || read_slowly(b));
    let total = SendFile::new(&[IoSlice::new(b"H")], &file, 0, body.len() as u64)
        .control(&control)
        .send_all(&a)
        .unwrap();
    assert_eq!(total, 1 + body.len() as u64);
    drop(a);
    let got = reader.join().unwrap();
    assert_eq!(got.bytes[0], b'H');
    assert!(got.bytes[1..] == body[..]);
    assert_eq!(got.fds.len(), 1);
    assert_eq!(read_all(got.fds.into_iter().next().unwrap()), "passed");
}

#[test]
fn a_header_without_body_is_not_held_back() {
    // With an empty body the header goes without MSG_MORE, so TCP sends it at once.
    let file = file_with("");
    let (client, mut server) = tcp_pair();
    let mut job = SendFile::new(&[IoSlice::new(b"only a header")], &file, 0, 0);
    assert_eq!(job.send_all(&client), Ok(13));
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = [0u8; 13];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"only a header");
}

#[test]
fn a_file_shorter_than_the_range_is_an_error() {
    let file = file_with("short");
    let (a, b) = pair(SockType::Stream);
    let mut job = SendFile::new(&[IoSlice::new(b">")], &file, 2, 10);
    let err = job.send(&a).unwrap_err();
    assert_eq!(
        err,
        Error::FileEnded {
            offset: 5,
            missing: 7
        }
    );
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(err.to_string().contains("close the connection"), "{err}");
    assert_eq!((job.header_sent(), job.body_sent()), (1, 3));
    drop(job);
    drop(a);
    assert_eq!(read_slowly(b).bytes, b">ort");
}

#[test]
fn a_pipe_is_not_a_file_for_sendfile() {
    let (r, _w) = nix::unistd::pipe().unwrap();
    let (a, _b) = pair(SockType::Stream);
    let err = SendFile::new(&[], &r, 0, 10).send(&a).unwrap_err();
    // With an offset (SendFile always passes one) a pipe gives ESPIPE; without, EINVAL.
    assert!(
        matches!(
            err,
            Error::Os {
                call: "sendfile",
                errno: libc::ESPIPE,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("sendfile needs a regular file"),
        "{err}"
    );
}

/// A range to the end of the offsets, with a header, saturates instead of overflowing.
#[test]
fn remaining_of_the_longest_range_saturates() {
    let file = std::fs::File::open("/dev/null").unwrap();
    let header = [IoSlice::new(b"hdr")];
    let job = SendFile::new(&header, &file, 0, u64::MAX);
    assert_eq!(job.remaining(), u64::MAX);
}
