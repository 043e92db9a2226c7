//! Errors a `Batch` meets that belong to something else than the datagram in hand: the
//! asynchronous error of a connected UDP socket whose peer has no listener (an ICMP error of an
//! earlier datagram, which `sendmmsg` drops when it meets it after the first message).
//! Loopback only.

mod common;

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};

use ancillary::batch::Batch;
use common::*;

const SIZE: usize = 100;

/// `n` datagrams of `SIZE` bytes, each starting with its number.
fn numbered(n: usize) -> Vec<[u8; SIZE]> {
    (0..n)
        .map(|i| {
            let mut d = [0xEEu8; SIZE];
            d[..4].copy_from_slice(&(i as u32).to_le_bytes());
            d
        })
        .collect()
}

/// A loopback address where nothing listens (a port bound and released), and a UDP socket
/// connected to it.
fn connected_to_dead_port() -> (UdpSocket, SocketAddr) {
    let gone = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = gone.local_addr().unwrap();
    drop(gone);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(dead).unwrap();
    (tx, dead)
}

/// Queues every datagram for the connected peer.
fn push_all<'a>(batch: &mut Batch<'a>, data: &'a [[u8; SIZE]]) {
    for d in data {
        batch
            .push_vectored(None, &[IoSlice::new(d)], |_| Ok(()))
            .unwrap();
    }
}

/// The numbers of the datagrams whose ICMP errors wait in the socket's error queue
/// (`IP_RECVERR`), taking them out; the kernel quotes each refused datagram's payload.
fn refused_datagrams(sock: &impl AsFd) -> Vec<u32> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2 * SIZE];
    for _ in 0..100_000 {
        // SAFETY: buf is a live local, writable for the length given.
        let n = unsafe {
            libc::recv(
                sock.as_fd().as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "{e}");
            return out;
        }
        assert!(n >= 4, "a quoted payload of {n} bytes");
        out.push(u32::from_le_bytes(buf[..4].try_into().unwrap()));
    }
    panic!("the error queue never emptied");
}

/// 2048 datagrams to a dead connected peer: the kernel takes one datagram per call (each
/// datagram's ICMP error makes the next one fail, and sendmmsg drops that error). The batch
/// reports ECONNREFUSED after two calls instead of sending all 2048 in 2048 calls and
/// reporting success.
#[test]
fn a_dead_connected_peer_is_reported_within_two_calls() {
    let (tx, _) = connected_to_dead_port();
    let data = numbered(2048);
    let mut batch = Batch::new();
    batch.set_gso(false);
    push_all(&mut batch, &data);
    let err = batch.send(&tx).unwrap_err();
    let calls = batch.stats().calls;
    eprintln!("{err}; {calls} sendmmsg calls");
    assert_eq!(err.error.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
    assert!(err.is_asynchronous(), "{err}");
    assert!(calls <= 3, "{calls} calls for one error");
    assert!(err.sent() >= 1 && err.sent() <= 2, "{err}");
    assert_eq!(err.sent() + batch.len(), 2048, "the rest stay queued");
    assert_eq!(
        err.failed(),
        err.sent(),
        "one push per datagram, from the first unsent"
    );
    assert!(err.to_string().contains("no datagram was refused"), "{err}");
    // Reporting cleared it.
    assert_eq!(get_int_opt(&tx, libc::SOL_SOCKET, libc::SO_ERROR), 0);
}

/// What the batch counts as sent is what the kernel sent: every datagram that left raised one
/// ICMP error, which `IP_RECVERR` queues with the datagram's payload. Resuming after each
/// error sends every datagram exactly once, in order, at two calls per report.
#[test]
fn resuming_after_asynchronous_errors_sends_each_datagram_once() {
    let (tx, _) = connected_to_dead_port();
    set_int_opt(&tx, libc::SOL_IP, libc::IP_RECVERR, 1);
    let data = numbered(2048);
    let mut batch = Batch::new();
    batch.set_gso(false);
    push_all(&mut batch, &data);
    let mut seen = Vec::new();
    let (mut sends, mut errors) = (0u64, 0u64);
    while !batch.is_empty() {
        assert!(sends < 4096, "no progress");
        sends += 1;
        let sent = match batch.send(&tx) {
            Ok(n) => n,
            Err(e) => {
                assert_eq!(e.error.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
                assert!(e.is_asynchronous(), "{e}");
                errors += 1;
                e.sent()
            }
        };
        let refused = refused_datagrams(&tx);
        assert_eq!(
            refused.len(),
            sent,
            "send {sends}: the kernel sent what was counted"
        );
        seen.extend(refused);
    }
    let want: Vec<u32> = (0..2048).collect();
    assert_eq!(seen, want, "each datagram once, in order");
    let calls = batch.stats().calls;
    eprintln!("{sends} sends, {errors} errors, {calls} sendmmsg calls");
    assert!(errors > 0);
    assert!(calls <= 2 * sends, "{calls} calls for {sends} sends");
}

/// With GSO the first message carries many datagrams; the error comes as soon.
#[test]
fn a_dead_connected_peer_is_reported_with_gso_too() {
    let (tx, _) = connected_to_dead_port();
    let data = numbered(2048);
    let mut batch = Batch::new();
    push_all(&mut batch, &data);
    let err = batch.send(&tx).unwrap_err();
    let s = batch.stats();
    eprintln!("{err}; {s:?}");
    assert_eq!(err.error.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
    assert!(err.is_asynchronous(), "{err}");
    assert!(s.calls <= 3, "{s:?}");
    assert_eq!(err.sent() + batch.len(), 2048);
    if s.segmented > 0 {
        assert!(err.sent() > 2, "GSO messages went: {err}");
    }
}

/// An error left pending by the last datagram of one send is reported by the next, which
/// then sent nothing; the datagram stays queued and goes on the send after.
#[test]
fn an_error_pending_from_an_earlier_send_is_reported_as_asynchronous() {
    let (tx, _) = connected_to_dead_port();
    let data = numbered(3);
    let mut batch = Batch::new();
    push_all(&mut batch, &data[..1]);
    assert_eq!(batch.send(&tx), Ok(1));
    assert_eq!(batch.stats().calls, 1);

    push_all(&mut batch, &data[1..2]);
    let err = batch.send(&tx).unwrap_err();
    assert_eq!(err.error.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
    assert!(err.is_asynchronous(), "{err}");
    assert_eq!((err.sent(), err.failed(), batch.len()), (0, 0, 1), "{err}");
    assert_eq!(batch.stats().calls, 2);
    assert_eq!(
        batch.send(&tx),
        Ok(1),
        "the error was cleared by its report"
    );
}

/// A datagram error is not asynchronous: a TTL of 0 is the datagram's own.
#[test]
fn a_datagram_refused_for_itself_is_not_asynchronous() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let mut batch = Batch::new();
    batch.push(to, b"one").unwrap();
    batch
        .push_with(to, b"ttl 0", |c| {
            c.push_ip_ttl(0)?;
            Ok(())
        })
        .unwrap();
    batch.push(to, b"two-two").unwrap();
    let err = batch.send(&tx).unwrap_err();
    assert_eq!(err.error.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(!err.is_asynchronous());
    assert_eq!((err.sent(), err.failed()), (1, 1), "{err}");
    assert!(err.to_string().contains("skip_failed"), "{err}");
    // One call stopped after the first; the next, of that datagram alone, got its error.
    assert_eq!(batch.stats().calls, 2);
}
