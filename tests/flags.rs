//! The MSG_* flags of send(2), and the receive flags that go with them, on real sockets:
//! MSG_EOR records, MSG_TRUNC, MSG_PEEK, MSG_OOB, MSG_DONTWAIT, MSG_CONFIRM, MSG_DONTROUTE,
//! MSG_MORE.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut, Read};
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{Error, RecvFlags, RecvMsg, SendFlags, SendMsg};
use common::*;
use nix::sys::socket::SockType;

/// Receives one message into a buffer of `room` bytes with `flags`: (length, flags).
fn recv_len(sock: &impl AsFd, room: usize, flags: RecvFlags) -> (usize, RecvFlags, Vec<u8>) {
    let mut data = vec![0u8; room];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).flags(flags);
    let msg = recv.recv(sock).unwrap();
    let (len, got) = (msg.len(), msg.flags());
    drop(msg);
    data.truncate(len.min(room));
    (len, got, data)
}

#[test]
fn seqpacket_records_keep_their_boundaries_with_msg_eor() {
    let (a, b) = pair(SockType::SeqPacket);
    let send = |iov: &[IoSlice<'_>]| SendMsg::new(iov).flags(SendFlags::EOR).send(&a);
    assert_eq!(send(&[IoSlice::new(b"first")]), Ok(5));
    assert_eq!(send(&[IoSlice::new(b"sec"), IoSlice::new(b"ond")]), Ok(6));
    assert_eq!(send(&[IoSlice::new(b"0123456789")]), Ok(10));
    assert_eq!(send(&[IoSlice::new(b"third")]), Ok(5));

    // One record per receive, however large the buffer. (Linux AF_UNIX makes every send a
    // record and takes MSG_EOR without needing it; it does not set MSG_EOR on receive.)
    assert_eq!(recv_len(&b, 64, RecvFlags::empty()).2, b"first");
    assert_eq!(recv_len(&b, 64, RecvFlags::empty()).2, b"second");
    // A record longer than the buffer: MSG_TRUNC with its real length, and the rest of the
    // record is gone, not left for the next receive.
    let (len, flags, data) = recv_len(&b, 4, RecvFlags::TRUNC);
    assert_eq!((len, data.as_slice()), (10, &b"0123"[..]));
    assert!(flags.contains(RecvFlags::TRUNC));
    assert_eq!(recv_len(&b, 64, RecvFlags::empty()).2, b"third");
}

#[test]
fn msg_trunc_gives_the_real_length_of_a_udp_datagram() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let big = pattern(1000);
    for _ in 0..2 {
        SendMsg::new(&[IoSlice::new(&big)])
            .to_addr(rx.local_addr().unwrap())
            .send(&tx)
            .unwrap();
    }
    let mut data = [0u8; 10];
    let mut iov = [IoSliceMut::new(&mut data)];
    // With MSG_TRUNC passed in: the datagram's real length.
    let mut recv = RecvMsg::new(&mut iov).flags(RecvFlags::TRUNC);
    let msg = recv.recv(&rx).unwrap();
    assert_eq!(msg.len(), 1000);
    assert!(msg.is_data_truncated());
    assert_eq!(msg.check(), Err(Error::DataTruncated { received: 10 }));
    drop(msg);
    // Without: the bytes that fitted, and the flag still says it was cut.
    let mut recv = RecvMsg::new(&mut iov);
    let msg = recv.recv(&rx).unwrap();
    assert_eq!(msg.len(), 10);
    assert!(msg.is_data_truncated());
    let err = msg.check().unwrap_err();
    assert_eq!(err, Error::DataTruncated { received: 10 });
    assert!(err.to_string().contains("larger buffers"), "{err}");
    drop(msg);
    assert_eq!(data, big[..10]);
}

#[test]
fn peek_leaves_the_data_on_tcp() {
    let (client, server) = tcp_pair();
    SendMsg::new(&[IoSlice::new(b"hello")])
        .send(&client)
        .unwrap();
    // MSG_WAITALL: wait for all 5 bytes, so that the peek sees them all.
    let (len, _, data) = recv_len(&server, 5, RecvFlags::PEEK | RecvFlags::WAITALL);
    assert_eq!((len, data.as_slice()), (5, &b"hello"[..]));
    let (len, _, data) = recv_len(&server, 16, RecvFlags::empty());
    assert_eq!((len, data.as_slice()), (5, &b"hello"[..]));
}

#[test]
fn peek_on_a_unix_socket_hands_out_its_own_copies_of_the_fds() {
    let (a, b) = pair(SockType::Stream);
    let file = file_with("peeked");
    send_fds(a.as_fd(), b"x", &[file.as_fd()]).unwrap();
    let mut data = [0u8; 4];
    let mut room = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut peek = RecvMsg::new(&mut iov)
        .control(&mut room)
        .flags(RecvFlags::PEEK);
    let mut msg = peek.recv(&b).unwrap();
    assert_eq!(msg.len(), 1);
    // The kernel installs new descriptors for a peek: owned, so they cannot leak.
    let peeked: Vec<_> = msg.fds().collect();
    drop(msg);
    assert_eq!(peeked.len(), 1);
    let (data, fds, _) = recv_fds(b.as_fd(), 1);
    assert_eq!(data, b"x");
    assert_eq!(fds.len(), 1, "the fd is still there for the real read");
    assert_ne!(raw(&peeked[0]), raw(&fds[0]));
    assert_eq!(read_all(peeked.into_iter().next().unwrap()), "peeked");
}

#[test]
fn oob_on_tcp_arrives_apart_from_the_stream() {
    let (client, mut server) = tcp_pair();
    SendMsg::new(&[IoSlice::new(b"ab")]).send(&client).unwrap();
    SendMsg::new(&[IoSlice::new(b"!")])
        .flags(SendFlags::OOB)
        .send(&client)
        .unwrap();
    // Until the urgent byte is there the kernel answers EINVAL or EAGAIN.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut byte = [0u8; 1];
    loop {
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut recv = RecvMsg::new(&mut iov).flags(RecvFlags::OOB | RecvFlags::DONTWAIT);
        match recv.recv(&server) {
            Ok(msg) => {
                assert_eq!(msg.len(), 1);
                assert!(msg.flags().contains(RecvFlags::OOB), "{:?}", msg.flags());
                break;
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) || e.is_would_block() => {
                assert!(Instant::now() < deadline, "no urgent data: {e}");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("{e}"),
        };
    }
    assert_eq!(&byte, b"!");
    // The urgent byte left the stream (no SO_OOBINLINE): the rest is "ab".
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = [0u8; 2];
    server.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"ab");
}

#[test]
fn oob_on_a_unix_stream_depends_on_the_kernel() {
    // Linux 5.15+ with CONFIG_AF_UNIX_OOB takes MSG_OOB on Unix stream sockets; without it the
    // answer is EOPNOTSUPP. Either way the crate reports what the kernel said.
    let (a, b) = pair(SockType::Stream);
    match SendMsg::new(&[IoSlice::new(b"!")])
        .flags(SendFlags::OOB)
        .send(&a)
    {
        Ok(n) => {
            assert_eq!(n, 1);
            let (len, _, data) = recv_len(&b, 1, RecvFlags::OOB);
            assert_eq!((len, data.as_slice()), (1, &b"!"[..]));
        }
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP), "{e}"),
    }
}

#[test]
fn dontwait_does_not_block_a_blocking_socket() {
    let (a, _b) = pair(SockType::Stream);
    let chunk = [0u8; 65536];
    let mut sent = 0usize;
    let err = (0..100_000)
        .find_map(|_| {
            match SendMsg::new(&[IoSlice::new(&chunk)])
                .flags(SendFlags::DONTWAIT)
                .send(&a)
            {
                Ok(n) => {
                    sent += n;
                    None
                }
                Err(e) => Some(e),
            }
        })
        .expect("the buffer fills");
    assert!(sent > 0);
    assert!(err.is_would_block(), "{err}");
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(err.to_string().contains("poll"), "{err}");
    // The socket itself stayed blocking.
    let fl = nix::fcntl::fcntl(&a, nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_eq!(fl & libc::O_NONBLOCK, 0);
}

fn udp_pair(local: &str) -> Option<(UdpSocket, UdpSocket)> {
    let rx = UdpSocket::bind(local).ok()?;
    let tx = UdpSocket::bind(local).unwrap();
    tx.connect(rx.local_addr().unwrap()).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    Some((tx, rx))
}

#[test]
fn confirm_and_dontroute_on_udp() {
    for local in ["127.0.0.1:0", "[::1]:0"] {
        let Some((tx, rx)) = udp_pair(local) else {
            eprintln!("no {local} here");
            continue;
        };
        for (flags, text) in [
            (SendFlags::CONFIRM, &b"confirm"[..]),
            (SendFlags::DONTROUTE, b"dontroute"),
            (SendFlags::CONFIRM | SendFlags::DONTROUTE, b"both"),
        ] {
            let sent = SendMsg::new(&[IoSlice::new(text)])
                .flags(flags)
                .send(&tx)
                .unwrap();
            assert_eq!(sent, text.len());
            let mut buf = [0u8; 16];
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], text, "{local} {flags:?}");
        }
    }
}

#[test]
fn more_joins_udp_sends_into_one_datagram() {
    let (tx, rx) = udp_pair("127.0.0.1:0").unwrap();
    for part in [&b"ab"[..], b"cd"] {
        SendMsg::new(&[IoSlice::new(part)])
            .flags(SendFlags::MORE)
            .send(&tx)
            .unwrap();
    }
    SendMsg::new(&[IoSlice::new(b"ef")]).send(&tx).unwrap();
    let mut buf = [0u8; 16];
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"abcdef");
}

#[test]
fn eor_and_more_on_tcp_are_taken() {
    let (client, mut server) = tcp_pair();
    SendMsg::new(&[IoSlice::new(b"more,")])
        .flags(SendFlags::MORE)
        .send(&client)
        .unwrap();
    SendMsg::new(&[IoSlice::new(b"eor")])
        .flags(SendFlags::EOR)
        .send(&client)
        .unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = [0u8; 8];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"more,eor");
}
