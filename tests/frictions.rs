//! The smaller frictions: one destination form for every Batch push, resuming a Batch after
//! WouldBlock, RecvBatch::recv_timeout, wait_readable, Capacity errors that name the size,
//! error texts that never ask for what cannot work, and std address types.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::{Duration, Instant};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{Batch, Destination, Error, RecvBatch, RecvMsg, SendMsg};

fn udp_pair() -> (UdpSocket, UdpSocket, SocketAddr) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    tx.connect(to).unwrap();
    (rx, tx, to)
}

#[test]
fn every_push_takes_every_destination_form() {
    let (rx, tx, to) = udp_pair();
    let mut batch = Batch::new();
    batch.push(to, b"push addr").unwrap();
    batch.push(None, b"push none").unwrap();
    batch
        .push(Destination::Connected, b"push connected")
        .unwrap();
    batch
        .push_with(Some(to), b"push_with some", |_| Ok(()))
        .unwrap();
    batch
        .push_with(None, b"push_with none", |_| Ok(()))
        .unwrap();
    batch
        .push_vectored(
            to,
            &[IoSlice::new(b"push_vectored "), IoSlice::new(b"addr")],
            |_| Ok(()),
        )
        .unwrap();
    batch
        .push_vectored(
            Destination::Connected,
            &[IoSlice::new(b"push_vectored connected")],
            |_| Ok(()),
        )
        .unwrap();
    batch.push_segments(to, b"seg1seg2", 4, |_| Ok(())).unwrap();
    batch.push_segments(None, b"seg3", 4, |_| Ok(())).unwrap();
    let v4 = match to {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => unreachable!(),
    };
    batch.push(v4, b"push v4").unwrap();
    assert_eq!(batch.send(&tx).unwrap(), 11);
    let want: [&[u8]; 11] = [
        b"push addr",
        b"push none",
        b"push connected",
        b"push_with some",
        b"push_with none",
        b"push_vectored addr",
        b"push_vectored connected",
        b"seg1",
        b"seg2",
        b"seg3",
        b"push v4",
    ];
    let mut buf = [0u8; 64];
    for w in &want {
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], *w);
    }
    assert_eq!(Destination::from(None), Destination::Connected);
    assert_eq!(Destination::from(to).socket_addr(), Some(to));
}

/// A Batch that met EAGAIN resumes with one more `send`: nothing sent twice, nothing lost,
/// in order; the error text says to send again.
#[test]
fn batch_resumes_after_would_block_with_one_send() {
    let (tx, rx) = UnixDatagram::pair().unwrap();
    tx.set_nonblocking(true).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    const N: usize = 2000;
    let payloads: Vec<[u8; 8]> = (0..N as u64).map(|i| i.to_ne_bytes()).collect();
    let mut batch = Batch::new();
    for p in &payloads {
        batch.push(None, p).unwrap();
    }
    let e = batch
        .send(&tx)
        .expect_err("the receiver's queue fills before 2000 datagrams");
    assert!(e.is_would_block(), "{e}");
    let first = e.sent();
    assert!(first > 0 && first < N, "{first}");
    assert_eq!(batch.len(), N - first);
    let text = e.to_string();
    assert!(text.contains("call send again to resume"), "{text}");

    let mut next = 0u64;
    let mut buf = [0u8; 8];
    let mut drain = |upto: usize, next: &mut u64| {
        while (*next as usize) < upto {
            assert_eq!(rx.recv(&mut buf).unwrap(), 8);
            assert_eq!(u64::from_ne_bytes(buf), *next, "in order, none twice");
            *next += 1;
        }
    };
    drain(first, &mut next);
    // One call per round resumes; each round drains what went (bounded: each round sends some).
    let mut sent = first;
    for _ in 0..N {
        if batch.is_empty() {
            break;
        }
        match batch.send(&tx) {
            Ok(n) => sent += n,
            Err(e) if e.is_would_block() => sent += e.sent(),
            Err(e) => panic!("{e}"),
        }
        drain(sent, &mut next);
    }
    assert_eq!((sent, next as usize), (N, N));
    assert!(batch.is_empty());
}

/// A batch refused by the socket itself does not tell the caller to send again.
#[test]
fn not_datagram_socket_never_says_send_again() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut batch = Batch::new();
    batch.push(None, b"x").unwrap();
    let e = batch.send(&a).unwrap_err();
    assert_eq!(e.error, Error::NotDatagramSocket);
    let text = e.to_string();
    assert!(!text.contains("send again"), "{text}");
    assert!(text.contains("cannot take them"), "{text}");
    assert!(!Error::NotDatagramSocket.to_string().contains("send again"));
    // Sending again does fail the same way: the advice is right.
    assert_eq!(batch.send(&a).unwrap_err().error, Error::NotDatagramSocket);
}

#[test]
fn recv_timeout_returns_zero_in_time_and_data_when_it_comes() {
    let (rx, tx, _) = udp_pair();
    rx.set_read_timeout(None).unwrap(); // a blocking socket with no timeout of its own
    let mut batch = RecvBatch::new(4, 64, 0).unwrap();
    let t = Instant::now();
    assert_eq!(
        batch.recv_timeout(&rx, Duration::from_millis(50)).unwrap(),
        0
    );
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(50), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(batch.iter_mut().count(), 0);

    tx.send(b"one").unwrap();
    tx.send(b"two").unwrap();
    let mut got = Vec::new();
    for _ in 0..10 {
        if got.len() == 2 {
            break;
        }
        batch.recv_timeout(&rx, Duration::from_secs(5)).unwrap();
        got.extend(batch.iter_mut().map(|d| d.data().to_vec()));
    }
    assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    // What came before is dropped by a call that times out.
    assert_eq!(
        batch.recv_timeout(&rx, Duration::from_millis(1)).unwrap(),
        0
    );
    assert_eq!(batch.iter_mut().count(), 0);
    // The flags are as they were: a blocking recv still blocks until data comes.
    assert!(!batch.flags().contains(ancillary::RecvFlags::DONTWAIT));
}

#[test]
fn wait_readable_waits_for_data_and_sees_a_hang_up() {
    let (a, b) = UnixStream::pair().unwrap();
    let t = Instant::now();
    assert!(!ancillary::wait_readable(&b, Some(Duration::from_millis(20))).unwrap());
    assert!(t.elapsed() >= Duration::from_millis(20));
    SendMsg::new(&[IoSlice::new(b"x")]).send(&a).unwrap();
    assert!(ancillary::wait_readable(&b, Some(Duration::from_secs(5))).unwrap());
    let (c, d) = UnixStream::pair().unwrap();
    drop(c);
    assert!(
        ancillary::wait_readable(&d, None).unwrap(),
        "a hang-up counts"
    );
}

/// The Capacity message names the buffer that fits, and that buffer does fit.
#[test]
fn capacity_error_names_the_size_that_fits() {
    // Sizes from the target: 1 fd and 3 fds never share a CMSG_SPACE.
    let files = common::dev_nulls(3);
    let fds: Vec<_> = files.iter().map(std::os::fd::AsFd::as_fd).collect();
    let mut small = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let e = small.encoder().push_rights(&fds).unwrap_err();
    let Error::Capacity { needed, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(needed, space_for_fds(3));
    let text = e.to_string();
    assert!(text.contains(&format!("CmsgBuffer::<{needed}>")), "{text}");
    let mut fits = CmsgBuffer::<{ space_for_fds(3) }>::new();
    fits.encoder().push_rights(&fds).unwrap();
}

#[test]
fn send_to_unix_path_and_read_the_sender_back() {
    let dir = std::env::temp_dir().join(format!("ancillary-frictions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (rx_path, tx_path) = (dir.join("rx"), dir.join("tx"));
    let _ = std::fs::remove_file(&rx_path);
    let _ = std::fs::remove_file(&tx_path);
    let rx = UnixDatagram::bind(&rx_path).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let tx = UnixDatagram::bind(&tx_path).unwrap();
    let to = std::os::unix::net::SocketAddr::from_pathname(&rx_path).unwrap();
    SendMsg::new(&[IoSlice::new(b"by path")])
        .to_unix(&to)
        .send(&tx)
        .unwrap();

    let mut data = [0u8; 16];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov);
    let msg = recv.recv(&rx).unwrap();
    let from = msg.unix_address().expect("a named sender");
    assert_eq!(from.as_pathname(), Some(tx_path.as_path()));
    assert_eq!(msg.socket_addr(), None);
    drop(msg);

    // Answer the sender at the address it came from.
    SendMsg::new(&[IoSlice::new(b"back")])
        .to_unix(&from)
        .send(&rx)
        .unwrap();
    tx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(tx.recv(&mut buf).unwrap(), 4);

    // An unbound sender has no name: None, not a made-up address.
    UnixDatagram::unbound()
        .unwrap()
        .send_to(b"anon", &rx_path)
        .unwrap();
    let msg = recv.recv(&rx).unwrap();
    assert!(msg.unix_address().is_none());
    drop(msg);

    // An unnamed address names nobody: the kernel refuses it.
    let unnamed = UnixDatagram::unbound().unwrap().local_addr().unwrap();
    assert!(unnamed.is_unnamed());
    let e = SendMsg::new(&[IoSlice::new(b"x")])
        .to_unix(&unnamed)
        .send(&tx)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn send_to_an_abstract_name_and_read_it_back() {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr as UnixAddr;

    let name = format!("ancillary-frictions-{}", std::process::id());
    let rx_addr = UnixAddr::from_abstract_name(format!("{name}-rx")).unwrap();
    let tx_addr = UnixAddr::from_abstract_name(format!("{name}-tx")).unwrap();
    let rx = UnixDatagram::bind_addr(&rx_addr).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let tx = UnixDatagram::bind_addr(&tx_addr).unwrap();
    SendMsg::new(&[IoSlice::new(b"abstract")])
        .to_unix(&rx_addr)
        .send(&tx)
        .unwrap();
    let mut data = [0u8; 16];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov);
    let msg = recv.recv(&rx).unwrap();
    assert_eq!(msg.len(), 8);
    let from = msg.unix_address().expect("a named sender");
    assert_eq!(from.as_abstract_name(), tx_addr.as_abstract_name());
}
