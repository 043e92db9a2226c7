//! Data paths of sendmsg/recvmsg: gather and scatter, Bytes and Buf, addresses, MSG_TRUNC.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::net::UdpSocket;

use ancillary::{Error, IoVecs, IoVecsMut, RecvFlags, RecvMsg, SendFlags, SendMsg};
use bytes::{Buf, Bytes};
use common::*;
use nix::sys::socket::{SockType, UnixAddr};

#[test]
fn gather_from_slices_bytes_and_buf_scatter_into_several_buffers() {
    let (a, b) = pair(SockType::SeqPacket);
    let head = Bytes::from_static(b"head:");
    let chain = Bytes::from_static(b"one,").chain(Bytes::from_static(b"two,"));
    let mut iov = IoVecs::new();
    iov.push_bytes(&head);
    assert_eq!(iov.push_buf(&chain), 8);
    iov.push(b"tail");
    assert_eq!(iov.len(), 4);
    assert_eq!(SendMsg::new(&iov).send(&a), Ok(17));

    let (mut x, mut y) = ([0u8; 6], [0u8; 32]);
    let mut bufs = IoVecsMut::new();
    bufs.push(&mut x).push(&mut y);
    assert_eq!(bufs.total_len(), 38);
    let mut recv = RecvMsg::new(&mut bufs);
    let msg = recv.recv(&b).unwrap();
    assert_eq!(msg.len(), 17);
    msg.check().unwrap();
    assert_eq!(msg.data(), None, "spread over two buffers");
    assert_eq!(&msg.buffers()[1][..11], b"ne,two,tail");
    drop(msg);
    drop(bufs);
    assert_eq!(&x, b"head:o");
    assert_eq!(&y[..11], b"ne,two,tail");
}

#[test]
fn udp_loopback_destination_and_source_address() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dest = rx.local_addr().unwrap();
    let sent = SendMsg::new(&[IoSlice::new(b"datagram")])
        .to_addr(dest)
        .send(&tx)
        .unwrap();
    assert_eq!(sent, 8);

    let mut data = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov);
    let msg = recv.recv(&rx).unwrap();
    assert_eq!(msg.len(), 8);
    assert_eq!(msg.socket_addr(), Some(tx.local_addr().unwrap()));
    assert!(msg.address().is_some());
}

#[test]
fn udp_ipv6_loopback() {
    // The other IPv6 tests (batches, IPV6_PKTINFO) need ::1 too: fail rather than skip.
    let rx = UdpSocket::bind("[::1]:0").expect("an IPv6 loopback");
    let tx = UdpSocket::bind("[::1]:0").unwrap();
    SendMsg::new(&[IoSlice::new(b"six")])
        .to_addr(rx.local_addr().unwrap())
        .send(&tx)
        .unwrap();
    let mut data = [0u8; 8];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov);
    let msg = recv.recv(&rx).unwrap();
    assert_eq!(msg.socket_addr(), Some(tx.local_addr().unwrap()));
}

#[test]
fn unix_datagram_to_a_path() {
    let dir = std::env::temp_dir().join(format!("ancillary-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rx.sock");
    let _ = std::fs::remove_file(&path);
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let tx = std::os::unix::net::UnixDatagram::unbound().unwrap();
    let addr = UnixAddr::new(&path).unwrap();
    assert_eq!(
        SendMsg::new(&[IoSlice::new(b"p")]).to(&addr).send(&tx),
        Ok(1)
    );
    let mut buf = [0u8; 1];
    assert_eq!(rx.recv(&mut buf).unwrap(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_datagram_is_reported_with_its_real_length() {
    let (a, b) = pair(SockType::Datagram);
    SendMsg::new(&[IoSlice::new(&[7u8; 100])]).send(&a).unwrap();
    let mut data = [0u8; 10];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).flags(RecvFlags::TRUNC);
    let msg = recv.recv(&b).unwrap();
    assert!(msg.is_data_truncated());
    assert_eq!(msg.len(), 100, "MSG_TRUNC passed in: the real length");
    assert_eq!(
        msg.data(),
        Some(&[7u8; 10][..]),
        "what fitted in the one buffer"
    );
    assert_eq!(&msg.buffers()[0][..], &[7u8; 10]);
    assert_eq!(msg.check(), Err(Error::DataTruncated { received: 10 }));
}

#[test]
fn peek_leaves_the_message_queued_and_dontwait_does_not_block() {
    let (a, b) = pair(SockType::Datagram);
    let mut data = [0u8; 4];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).flags(RecvFlags::DONTWAIT);
    let err = recv.recv(&b).unwrap_err();
    assert!(err.is_would_block(), "{err}");
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::WouldBlock
    );

    SendMsg::new(&[IoSlice::new(b"abc")])
        .flags(SendFlags::DONTWAIT)
        .send(&a)
        .unwrap();
    let mut peek = RecvMsg::new(&mut iov).flags(RecvFlags::PEEK);
    assert_eq!(peek.recv(&b).unwrap().len(), 3);
    let mut recv = RecvMsg::new(&mut iov);
    assert_eq!(recv.recv(&b).unwrap().len(), 3);
}

#[test]
fn a_receive_header_is_reusable() {
    let (a, b) = pair(SockType::Datagram);
    let mut data = [0u8; 32];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = ancillary::cmsg::CmsgBuffer::<{ ancillary::cmsg::space_for_fds(1) }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let f = file_with("x");
    for i in 0..50usize {
        let len = 1 + i % 20;
        if i % 2 == 0 {
            send_fds(
                std::os::fd::AsFd::as_fd(&a),
                &vec![1; len],
                &[std::os::fd::AsFd::as_fd(&f)],
            )
            .unwrap();
        } else {
            SendMsg::new(&[IoSlice::new(&vec![2; len])])
                .send(&a)
                .unwrap();
        }
        let mut msg = recv.recv(&b).unwrap();
        assert_eq!(msg.len(), len);
        let byte = if i % 2 == 0 { 1 } else { 2 };
        assert_eq!(msg.data(), Some(&vec![byte; len][..]));
        assert_eq!(msg.fds().count(), usize::from(i % 2 == 0));
        assert!(!msg.is_control_truncated());
    }
}
