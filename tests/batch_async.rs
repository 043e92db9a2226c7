//! Errors a `Batch` meets that belong to something else than the datagram in hand: the
//! asynchronous error of a connected UDP socket whose peer has no listener (an ICMP error of an
//! earlier datagram, which `sendmmsg` drops when it meets it after the first message), and a
//! GSO message refused because of its control data rather than because of GSO. Loopback only.
#![cfg(unix)]

mod common;

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

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

/// Receives `n` datagrams on `rx` (5 s at most each).
fn receive(rx: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 2048];
    (0..n)
        .map(|_| {
            let len = rx.recv(&mut buf).unwrap();
            buf[..len].to_vec()
        })
        .collect()
}

/// A run of equal datagrams whose control data the kernel refuses (IP_TTL 0: EINVAL) is a
/// refusal of the datagrams, not of GSO: the first is reported, and GSO stays on for the
/// next send on that socket.
#[test]
fn a_gso_message_refused_for_its_control_data_keeps_gso_on() {
    let rx = udp_receiver("127.0.0.1:0", 1 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let good = [[1u8; SIZE]; 3];
    let bad = [[2u8; SIZE]; 10];
    let later = [[3u8; SIZE]; 10];

    let mut spare = Batch::new();
    let mut batch = spare.recycle();
    for d in &good {
        batch.push(to, d).unwrap();
    }
    for d in &bad {
        batch
            .push_with(to, d, |c| {
                c.push_ip_ttl(0)?;
                Ok(())
            })
            .unwrap();
    }
    let err = batch.send(&tx).unwrap_err();
    let s = batch.stats();
    eprintln!("{err}; {s:?}");
    assert_eq!(err.error.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(!err.is_asynchronous());
    assert_eq!((err.sent(), err.failed()), (3, 3), "{err}");
    assert_eq!(batch.len(), 10);
    assert_eq!(s.fallbacks, 0, "GSO was not refused: {s:?}");
    assert_eq!(
        s.segmented, 1,
        "the good run went as one GSO message: {s:?}"
    );
    assert_eq!(batch.skip_failed(), 1, "one push of the run");
    assert_eq!(batch.len(), 9);
    spare = batch.recycle();

    let mut batch = spare.recycle();
    for d in &later {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(10));
    let t = batch.stats();
    assert_eq!(t.segmented - s.segmented, 1, "GSO still on: {t:?}");
    assert_eq!((t.calls - s.calls, t.fallbacks), (1, 0), "{t:?}");

    let got = receive(&rx, 13);
    let want: Vec<Vec<u8>> = good.iter().chain(&later).map(|d| d.to_vec()).collect();
    assert_eq!(got, want);
    assert!(nothing_queued_udp(&rx));
}

/// A real GSO refusal (SO_NO_CHECK: EINVAL for any UDP_SEGMENT) still falls back: the
/// datagrams go one by one, and GSO stays off on that socket until `set_gso`.
#[test]
fn a_real_gso_refusal_still_turns_gso_off() {
    let rx = udp_receiver("127.0.0.1:0", 1 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    set_int_opt(&tx, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1);
    let to = rx.local_addr().unwrap();
    let first = [[4u8; SIZE]; 12];
    let second = [[5u8; SIZE]; 12];

    let mut spare = Batch::new();
    let mut batch = spare.recycle();
    for d in &first {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(12));
    let s = batch.stats();
    assert_eq!(
        (s.calls, s.fallbacks, s.segmented, s.messages),
        (2, 1, 0, 12),
        "{s:?}"
    );
    spare = batch.recycle();

    let mut batch = spare.recycle();
    for d in &second {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(12));
    let t = batch.stats();
    assert_eq!(
        (t.calls - s.calls, t.fallbacks, t.segmented),
        (1, 1, 0),
        "{t:?}"
    );

    let got = receive(&rx, 24);
    let want: Vec<Vec<u8>> = first.iter().chain(&second).map(|d| d.to_vec()).collect();
    assert_eq!(got, want);
    assert!(nothing_queued_udp(&rx));
}

/// Both at once: a run with IP_TTL 0 on a socket that refuses GSO. The datagram is at fault
/// (it fails alone too): it is reported and GSO is not marked refused; the next good run
/// finds the real refusal and falls back.
#[test]
fn a_bad_run_on_a_socket_without_gso_blames_the_datagram_first() {
    let rx = udp_receiver("127.0.0.1:0", 1 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    set_int_opt(&tx, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1);
    let to = rx.local_addr().unwrap();
    let bad = [[6u8; SIZE]; 5];
    let good = [[7u8; SIZE]; 5];
    let mut batch = Batch::new();
    for d in &bad {
        batch
            .push_with(to, d, |c| {
                c.push_ip_ttl(0)?;
                Ok(())
            })
            .unwrap();
    }
    let err = batch.send(&tx).unwrap_err();
    assert_eq!(err.error.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert_eq!((err.sent(), err.failed()), (0, 0));
    assert_eq!(batch.stats().fallbacks, 0);
    batch.clear();
    for d in &good {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(5));
    assert_eq!(batch.stats().fallbacks, 1);
    assert_eq!(receive(&rx, 5), good.map(|d| d.to_vec()));
}
