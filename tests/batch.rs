//! `Batch` on real sockets: 100 000 numbered datagrams over loopback with and without GSO,
//! each arriving exactly once; resumption after the kernel takes fewer messages than offered;
//! an error after k datagrams reports k and keeps the rest queued.
// Built where the system has what this file tests: credentials, MSG_MORE and SO_RXQ_OVFL in batches.
#![cfg(linux_like)]

mod common;

use std::io::{IoSlice, IoSliceMut, Read};
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ancillary::batch::{Batch, Destination, RecvBatch};
use ancillary::cmsg::ControlMessage;
use ancillary::{Error, RecvMsg, SendFlags};
use common::*;
use nix::sys::socket::SockType;

/// Writes datagram `n`: its number, then bytes that depend on it and on the position.
fn fill(buf: &mut [u8], n: u32) {
    buf[..4].copy_from_slice(&n.to_le_bytes());
    for (k, b) in buf[4..].iter_mut().enumerate() {
        *b = (n as usize).wrapping_mul(31).wrapping_add(k) as u8;
    }
}

/// The number of a datagram written by `fill`, if its content is right.
fn number(buf: &[u8]) -> Option<u32> {
    let n = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?);
    let ok = buf[4..]
        .iter()
        .enumerate()
        .all(|(k, &b)| b == (n as usize).wrapping_mul(31).wrapping_add(k) as u8);
    ok.then_some(n)
}

/// Size of datagram `n`: mostly 200 bytes; now and then a shorter one, which ends a GSO run.
fn size_of_datagram(n: usize) -> usize {
    if n % 97 == 96 {
        60 + n % 50
    } else {
        200
    }
}

/// `n` numbered datagrams in one buffer, and where each starts.
fn numbered(n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    for i in 0..n {
        offsets.push(offsets[i] + size_of_datagram(i));
    }
    let mut buf = vec![0u8; offsets[n]];
    for i in 0..n {
        fill(&mut buf[offsets[i]..offsets[i + 1]], i as u32);
    }
    (buf, offsets)
}

#[derive(Debug, Default)]
struct Tally {
    seen: Vec<u8>,
    received: usize,
    duplicates: usize,
    corrupt: usize,
    drops: u32,
}

/// Receives until `n` datagrams arrived, or the sender is done and nothing came for a second.
fn receive(rx: UdpSocket, n: usize, progress: Arc<AtomicUsize>, done: Arc<AtomicBool>) -> Tally {
    let mut t = Tally {
        seen: vec![0; n],
        ..Tally::default()
    };
    let mut batch = RecvBatch::new(256, 2048, 64).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut idle = 0;
    while t.received < n && Instant::now() < deadline && idle < 5 {
        match batch.recv(&rx) {
            Ok(_) => {
                idle = 0;
                for mut d in batch.iter_mut() {
                    assert!(!d.is_data_truncated());
                    for m in d.messages() {
                        if let ControlMessage::RxqOverflow(drops) = m {
                            t.drops = t.drops.max(drops);
                        }
                    }
                    match number(d.data()) {
                        Some(k) if (k as usize) < n && d.len() == size_of_datagram(k as usize) => {
                            let seen = &mut t.seen[k as usize];
                            if *seen > 0 {
                                t.duplicates += 1;
                            }
                            *seen = seen.saturating_add(1);
                            t.received += 1;
                        }
                        _ => t.corrupt += 1,
                    }
                }
                progress.store(t.received, Ordering::Release);
            }
            Err(e) if e.is_would_block() => {
                if done.load(Ordering::Acquire) {
                    idle += 1;
                }
            }
            Err(e) => panic!("recvmmsg: {e}"),
        }
    }
    t
}

/// Sends `N` numbered datagrams through one batch, 2048 per send, paced so the receiver's
/// buffer always has room for what is in flight; checks that each arrived exactly once.
fn blast(gso: bool) {
    const N: usize = 100_000;
    let rx = udp_receiver("127.0.0.1:0", 64 << 20);
    if !skip_under_qemu(
        "SO_RXQ_OVFL drop counts in the datagram blast (qemu-user answers ENOPROTOOPT); every \
         datagram must still arrive",
    ) {
        set_int_opt(&rx, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1);
    }
    let rcvbuf = get_int_opt(&rx, libc::SOL_SOCKET, libc::SO_RCVBUF) as usize;
    // A 200-byte datagram takes well under 4 KiB of receive buffer (skb truesize).
    let window = (rcvbuf / 4096).clamp(512, 16384);
    let to = rx.local_addr().unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (buf, offsets) = numbered(N);

    let progress = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (p, d) = (progress.clone(), done.clone());
        thread::spawn(move || receive(rx, N, p, d))
    };

    let mut batch = Batch::new();
    batch.set_gso(gso);
    let mut sent = 0;
    while sent < N {
        let end = (sent + 2048).min(N);
        for i in sent..end {
            batch.push(to, &buf[offsets[i]..offsets[i + 1]]).unwrap();
        }
        assert_eq!(batch.send(&tx).unwrap(), end - sent);
        assert!(batch.is_empty());
        sent = end;
        let deadline = Instant::now() + Duration::from_secs(30);
        while sent - progress.load(Ordering::Acquire) > window {
            assert!(Instant::now() < deadline, "the receiver stalled");
            thread::sleep(Duration::from_micros(200));
        }
    }
    done.store(true, Ordering::Release);
    let t = receiver.join().unwrap();

    let stats = batch.stats();
    if gso {
        assert!(stats.segmented > 0, "{stats:?}");
        assert_eq!(stats.fallbacks, 0, "{stats:?}");
        assert!(stats.messages < (N / 10) as u64, "{stats:?}");
    } else {
        assert_eq!(stats.segmented, 0);
        assert_eq!(stats.messages, N as u64);
    }
    // 1024 messages per sendmmsg at most: without GSO each send of 2048 took two calls.
    assert!(stats.calls >= (N / 2048) as u64, "{stats:?}");
    assert_eq!(t.corrupt, 0, "datagrams with wrong content");
    assert_eq!(t.duplicates, 0, "datagrams received twice");
    let missing = t.seen.iter().filter(|&&c| c == 0).count();
    assert!(
        missing <= t.drops as usize,
        "unexplained loss: {missing} datagrams missing, {} dropped by the socket (SO_RXQ_OVFL)",
        t.drops
    );
    assert_eq!(
        missing, 0,
        "{missing} datagrams dropped by the receiving socket (SO_RXQ_OVFL)"
    );
    assert_eq!(t.received, N);
}

#[test]
fn hundred_thousand_datagrams_without_gso_arrive_exactly_once() {
    blast(false);
}

#[test]
fn hundred_thousand_datagrams_with_gso_arrive_exactly_once() {
    blast(true);
}

#[test]
fn more_than_1024_messages_resume_from_the_first_unsent() {
    let rx = udp_receiver("127.0.0.1:0", 16 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let (buf, offsets) = numbered(3000);
    let mut batch = Batch::new();
    batch.set_gso(false);
    for i in 0..3000 {
        batch.push(to, &buf[offsets[i]..offsets[i + 1]]).unwrap();
    }
    assert_eq!(batch.len(), 3000);
    assert_eq!(batch.send(&tx), Ok(3000));
    assert_eq!(batch.stats().calls, 3);
    let mut recv = RecvBatch::new(1024, 512, 0).unwrap();
    let mut next = 0u32;
    while next < 3000 {
        recv.recv(&rx).unwrap();
        for d in recv.iter_mut() {
            assert_eq!(number(d.data()), Some(next), "in order, each once");
            next += 1;
        }
    }
    assert!(nothing_queued_udp(&rx));
}

#[test]
fn an_error_after_k_datagrams_reports_k_and_keeps_the_rest_queued() {
    let rx = udp_receiver("127.0.0.1:0", 4 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let (buf, offsets) = numbered(10);
    let d = |i: usize| &buf[offsets[i]..offsets[i + 1]];
    for gso in [false, true] {
        let mut batch = Batch::new();
        batch.set_gso(gso);
        for i in 0..4 {
            batch.push(to, d(i)).unwrap();
        }
        // The kernel refuses a TTL of 0 with EINVAL.
        batch
            .push_with(to, d(4), |c| {
                c.push_ip_ttl(0)?;
                Ok(())
            })
            .unwrap();
        for i in 5..10 {
            batch.push(to, d(i)).unwrap();
        }
        let err = batch.send(&tx).unwrap_err();
        assert_eq!(err.sent(), 4, "{err}");
        assert_eq!(err.error.raw_os_error(), Some(libc::EINVAL));
        assert!(err.to_string().contains("after 4 datagrams"), "{err}");
        assert_eq!(
            batch.len(),
            6,
            "the failed datagram and the rest stay queued"
        );
        // The same error again: nothing goes past the failing datagram.
        assert_eq!(batch.send(&tx).unwrap_err().sent(), 0);
        let e: Error = err.into();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));

        let mut recv = RecvBatch::new(16, 512, 0).unwrap();
        let mut got = Vec::new();
        while got.len() < 4 {
            recv.recv(&rx).unwrap();
            got.extend(recv.iter_mut().map(|d| number(d.data()).unwrap()));
        }
        assert_eq!(got, [0, 1, 2, 3]);
        assert!(nothing_queued_udp(&rx));
    }
}

#[test]
fn a_full_receiver_stops_a_nonblocking_batch_and_send_resumes_without_duplicates() {
    // A Unix datagram pair queues only net.unix.max_dgram_qlen datagrams before the sender
    // gets EAGAIN: the kernel takes part of each sendmmsg.
    let (a, b) = pair(SockType::Datagram);
    let (buf, offsets) = numbered(500);
    let mut batch = Batch::new();
    batch
        .set_flags(SendFlags::NOSIGNAL | SendFlags::DONTWAIT)
        .unwrap();
    for i in 0..500 {
        batch
            .push_vectored(
                None,
                &[IoSlice::new(&buf[offsets[i]..offsets[i + 1]])],
                |_| Ok(()),
            )
            .unwrap();
    }
    let mut sent = 0;
    let mut stops = 0;
    let mut next = 0u32;
    let mut data = [0u8; 512];
    let deadline = Instant::now() + Duration::from_secs(30);
    while next < 500 {
        assert!(Instant::now() < deadline);
        match batch.send(&a) {
            Ok(n) => sent += n,
            Err(e) => {
                assert!(e.is_would_block(), "{e}");
                sent += e.sent();
                stops += 1;
            }
        }
        assert_eq!(batch.len(), 500 - sent);
        // Drain what arrived, checking order and content.
        loop {
            let got = {
                let mut iov = [IoSliceMut::new(&mut data)];
                let mut recv = RecvMsg::new(&mut iov).flags(ancillary::RecvFlags::DONTWAIT);
                let len = recv.recv(b.as_fd()).map(|m| m.len());
                len
            };
            match got {
                Ok(len) => {
                    assert_eq!(number(&data[..len]), Some(next));
                    next += 1;
                }
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(
            next as usize, sent,
            "received exactly what was reported sent"
        );
    }
    assert!(stops > 0, "the receiver queue never filled");
    assert!(batch.is_empty());
}

#[test]
fn recycled_batches_carry_new_payloads() {
    let rx = udp_receiver("127.0.0.1:0", 4 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let mut spare = Batch::new();
    let mut buf = [0u8; 64];
    let mut recv = RecvBatch::new(8, 128, 0).unwrap();
    for round in 0..5u32 {
        fill(&mut buf, round);
        let mut batch = spare.recycle();
        batch.push(to, &buf).unwrap();
        batch.push(to, &buf[..32]).unwrap();
        assert_eq!(batch.send(&tx), Ok(2));
        spare = batch.recycle();
        let mut got = 0;
        while got < 2 {
            recv.recv(&rx).unwrap();
            for d in recv.iter_mut() {
                assert_eq!(number(d.data()), Some(round));
                got += 1;
            }
        }
    }
    assert_eq!(spare.stats().messages, 5, "one GSO message per round");
    assert_eq!(spare.stats().segmented, 5);
}

/// One round of [`each_send_of_a_recycled_batch_goes_where_and_as_it_was_queued`].
struct Round {
    /// A datagram before the run, if any: its receiver, and its iovecs (0: a plain push,
    /// else a push with control data).
    before: Option<(usize, usize)>,
    /// The destination of the run (0 and 1: the receivers' addresses; 2: the connected peer,
    /// receiver 1), its length and payload size, and whether its datagrams carry control data
    /// (`IP_TOS`).
    to: usize,
    count: usize,
    size: usize,
    tos: bool,
    /// The receiver of a datagram with control data after the run, if any.
    after: Option<usize>,
}

/// The TOS byte that pushes with control data set (CS1).
const TOS: u8 = 0x20;

/// Sends without GSO, from one recycled batch, rounds whose runs of messages have the same
/// shape as the round before (headers the last call set may serve again) or differ in one
/// thing each: the destination (an address or the connected peer), the payloads, the count, a
/// message before or after the run, the control data. Every datagram arrives once, where it
/// was sent, with its own bytes and TOS byte.
#[test]
fn each_send_of_a_recycled_batch_goes_where_and_as_it_was_queued() {
    let rx = [
        udp_receiver("127.0.0.1:0", 4 << 20),
        udp_receiver("127.0.0.1:0", 4 << 20),
    ];
    for r in &rx {
        ancillary::sockopt::set_recv_tos(r, true).unwrap();
    }
    let to = [
        Destination::Ip(rx[0].local_addr().unwrap()),
        Destination::Ip(rx[1].local_addr().unwrap()),
        Destination::Connected,
    ];
    // The receiver of each destination.
    let receiver = [0, 1, 1];
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(rx[1].local_addr().unwrap()).unwrap();
    let round = |before, to, count, size, after| Round {
        before,
        to,
        count,
        size,
        tos: false,
        after,
    };
    let rounds = [
        round(None, 0, 4, 64, None),
        round(None, 1, 4, 64, None), // the same shape, another destination
        round(None, 0, 4, 64, None), // and back
        round(None, 0, 4, 32, None), // other payload sizes
        round(None, 0, 3, 32, None), // fewer messages
        round(None, 0, 3, 32, Some(1)), // another message after them
        round(None, 0, 4, 32, None), // more messages than the last run: over that message
        round(Some((1, 1)), 0, 4, 32, None), // the run one message later
        round(Some((1, 2)), 0, 4, 32, None), // and one iovec later
        round(None, 0, 4, 32, None), // and back at the start
        round(Some((1, 0)), 0, 3, 32, None), // a plain datagram before the run
        round(None, 1, 3, 32, None), // the run where that datagram was
        Round {
            tos: true,
            ..round(None, 0, 3, 32, None) // control data
        },
        round(None, 0, 3, 32, None), // and none
        round(None, 2, 3, 32, None), // the connected peer: no name
        round(None, 0, 3, 32, None), // and a name again
    ];
    let mut spare = Batch::new();
    spare.set_gso(false);
    // Per receiver: (number, size, TOS byte) of each datagram sent to it.
    let mut want: [Vec<(u32, usize, u8)>; 2] = [Vec::new(), Vec::new()];
    for (i, r) in rounds.iter().enumerate() {
        // The pushes: (iovecs of one with control data, 0 for a plain push; receiver), each
        // with payload `i * 10 + k`.
        let run = if r.tos { 1 } else { 0 };
        let pushes: Vec<(usize, usize)> = r
            .before
            .map(|(to, iovecs)| (iovecs, to))
            .into_iter()
            .chain(std::iter::repeat_n((run, r.to), r.count))
            .chain(r.after.map(|to| (1, to)))
            .collect();
        let payloads: Vec<Vec<u8>> = (0..pushes.len())
            .map(|k| {
                let mut p = vec![0u8; r.size];
                fill(&mut p, i as u32 * 10 + k as u32);
                p
            })
            .collect();
        let mut batch = spare.recycle();
        for (&(iovecs, to_rx), p) in pushes.iter().zip(&payloads) {
            let tos = |c: &mut ancillary::cmsg::Encoder<'_, '_>| {
                c.push_ip_tos(TOS)?;
                Ok(())
            };
            match iovecs {
                0 => batch.push(to[to_rx], p).unwrap(),
                1 => batch.push_with(to[to_rx], p, tos).unwrap(),
                _ => {
                    let (a, b) = p.split_at(r.size / 2);
                    let iov = [IoSlice::new(a), IoSlice::new(b)];
                    batch.push_vectored(to[to_rx], &iov, tos).unwrap();
                }
            }
            let tos = if iovecs == 0 { 0 } else { TOS };
            want[receiver[to_rx]].push((number(p).unwrap(), r.size, tos));
        }
        assert_eq!(batch.send(&tx), Ok(pushes.len()), "round {i}");
        spare = batch.recycle();
    }
    for (r, want) in rx.iter().zip(&want) {
        let mut got = Vec::new();
        let mut buf = [0u8; 128];
        let mut room = ancillary::cmsg::CmsgBuffer::<64>::new();
        while got.len() < want.len() {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut recv = RecvMsg::new(&mut iov).control(&mut room);
            let msg = recv.recv(r).expect("every datagram arrives");
            let (n, tos) = (msg.len(), msg.tos().unwrap_or(0));
            drop(msg);
            got.push((number(&buf[..n]).unwrap(), n, tos));
        }
        r.set_nonblocking(true).unwrap();
        let mut one = [0u8; 1];
        assert!(r.recv(&mut one).is_err(), "no datagram more");
        assert_eq!(&got, want);
    }
}

/// On a stream socket `sendmmsg` counts a partly written message as sent: the batch refuses
/// stream sockets before sending anything, whichever socket it sent on before.
#[test]
fn a_stream_socket_is_refused_before_anything_is_sent() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (t1, _t2) = tcp_pair();
    let data = [5u8; 100];
    let mut batch = Batch::new();
    batch.push(rx.local_addr().unwrap(), &data).unwrap();
    assert_eq!(batch.send(&tx), Ok(1));
    for stream in [a.as_fd(), t1.as_fd()] {
        let iov = [IoSlice::new(&data)];
        batch.push_vectored(None, &iov, |_| Ok(())).unwrap();
        let err = batch.send(stream).unwrap_err();
        assert_eq!(err.error, Error::NotDatagramSocket, "{err}");
        assert_eq!(err.sent(), 0);
        assert!(err.to_string().contains("SendAll"), "{err}");
        assert_eq!(batch.len(), 1, "nothing was sent");
        batch.clear();
    }
    b.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    assert!(
        (&b).read(&mut buf).is_err(),
        "nothing reached the stream's peer"
    );
}

/// If the descriptor the batch checked is replaced by a stream socket, a partly written
/// message is reported, not counted silently.
#[test]
fn a_descriptor_reused_for_a_stream_reports_the_partial_write() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let small = [1u8; 10];
    let mut batch = Batch::new();
    batch.push(rx.local_addr().unwrap(), &small).unwrap();
    assert_eq!(batch.send(&tx), Ok(1));

    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    // SAFETY: both descriptors are open; dup2 replaces tx's socket with the stream, which tx
    // then owns and closes.
    assert!(unsafe { libc::dup2(a.as_raw_fd(), tx.as_raw_fd()) } >= 0);
    let big = vec![2u8; 4 << 20];
    let iov = [IoSlice::new(&big)];
    let mut batch = batch.recycle();
    batch.push_vectored(None, &iov, |_| Ok(())).unwrap();
    let err = batch.send(&tx).unwrap_err();
    match err.error {
        Error::PartialDatagram { written, len } => {
            assert!(written > 0 && written < len && len == big.len(), "{err}")
        }
        ref e => panic!("expected PartialDatagram, got {e}"),
    }
    // Checked again now: the next send refuses the stream.
    batch.push_vectored(None, &iov, |_| Ok(())).unwrap();
    assert_eq!(batch.send(&tx).unwrap_err().error, Error::NotDatagramSocket);
}

/// A datagram pushed after `skip_failed` dropped the last one starts a run of its own: it
/// never joins the dropped datagram's run (which no send would take any more).
#[test]
fn a_push_after_skip_failed_is_sent() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let mut batch = Batch::new();
    batch.push(to, b"dropped").unwrap();
    assert_eq!(batch.skip_failed(), 1);
    assert!(batch.is_empty());
    batch.push(to, b"sent").unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch.send(&tx), Ok(1));
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 16];
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"sent");
}

/// A datagram the kernel always refuses (EACCES: broadcast without SO_BROADCAST) is reported
/// with its push index and can be dropped, and the datagrams queued after it still go.
#[test]
fn a_datagram_that_always_fails_can_be_skipped() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("0.0.0.0:0").unwrap();
    let to = rx.local_addr().unwrap();
    let bcast = "255.255.255.255:9".parse().unwrap();
    let train = [3u8; 30];
    let mut batch = Batch::new();
    batch.push(to, b"ok-1").unwrap();
    batch.push(bcast, b"bad").unwrap();
    batch
        .push_segments(Some(bcast), &train, 10, |_| Ok(()))
        .unwrap();
    batch.push(to, b"ok-2").unwrap();
    assert_eq!(batch.len(), 6);

    let err = batch.send(&tx).unwrap_err();
    assert_eq!((err.sent(), err.failed()), (1, 1), "{err}");
    assert_eq!(err.error.raw_os_error(), Some(libc::EACCES));
    assert!(err.to_string().contains("skip_failed"), "{err}");
    assert_eq!(batch.skip_failed(), 1);
    assert_eq!(batch.len(), 4);

    let err = batch.send(&tx).unwrap_err();
    assert_eq!((err.sent(), err.failed()), (0, 2), "{err}");
    assert_eq!(
        batch.skip_failed(),
        3,
        "the rest of the payload goes at once"
    );
    assert_eq!(batch.send(&tx), Ok(1));
    assert_eq!(batch.skip_failed(), 0);

    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    for want in [&b"ok-1"[..], b"ok-2"] {
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], want);
    }
    assert!(nothing_queued_udp(&rx));
}

/// Partial progress through a `push_segments` payload is counted in datagrams, by the error
/// and by the send that resumes it.
#[test]
fn a_payload_sent_in_part_counts_its_datagrams() {
    let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let data: Vec<u8> = (0..100u8).flat_map(|i| [i; 10]).collect();
    let mut batch = Batch::new();
    batch.push_segments(None, &data, 10, |_| Ok(())).unwrap();
    assert_eq!(batch.len(), 100);
    // Fill the peer's queue, then make room for some.
    let mut filled = 0;
    while filled < 100_000 && a.send(b"x").is_ok() {
        filled += 1;
    }
    assert!(filled > 50, "queue of {filled}");
    let mut buf = [0u8; 64];
    for _ in 0..50 {
        b.recv(&mut buf).unwrap();
    }
    let err = batch.send(&a).unwrap_err();
    assert!(err.is_would_block(), "{err}");
    let mut got = Vec::new();
    let mut drained = 0;
    while let Ok(n) = b.recv(&mut buf) {
        if n == 10 {
            got.push(buf[0]);
        } else {
            drained += 1;
        }
    }
    assert_eq!(drained, filled - 50);
    assert!(!got.is_empty() && got.len() < 100, "{}", got.len());
    assert_eq!(err.sent(), got.len(), "{err}");
    assert_eq!(err.failed(), 0);
    assert_eq!(batch.len(), 100 - got.len());

    let mut total = got.len();
    for _ in 0..1000 {
        match batch.send(&a) {
            Ok(n) => {
                total += n;
                break;
            }
            Err(e) if e.is_would_block() => total += e.sent(),
            Err(e) => panic!("{e}"),
        }
        while b.recv(&mut buf).is_ok() {
            got.push(buf[0]);
        }
    }
    while b.recv(&mut buf).is_ok() {
        got.push(buf[0]);
    }
    assert_eq!(total, 100);
    assert_eq!(got, (0..100u8).collect::<Vec<_>>());
}

/// `MSG_MORE` would make the kernel join a batch's datagrams into one: refused, with
/// `MSG_OOB` and `MSG_EOR`, and the datagrams still go one by one.
#[test]
fn flags_that_merge_datagrams_are_refused() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let mut batch = Batch::new();
    for f in [SendFlags::MORE, SendFlags::OOB, SendFlags::EOR] {
        let err = batch.set_flags(SendFlags::NOSIGNAL | f).unwrap_err();
        assert_eq!(err, Error::BatchFlags { flags: f });
        assert!(err.to_string().contains("MSG_"), "{err}");
    }
    batch.set_gso(false);
    let (p1, p2, p3) = ([1u8; 10], [2u8; 20], [3u8; 30]);
    for p in [&p1[..], &p2, &p3] {
        batch.push(to, p).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(3));
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 100];
    for want in [10, 20, 30] {
        assert_eq!(rx.recv(&mut buf).unwrap(), want);
    }
}

/// A `RecvBatch` keeps its headers from call to call: what the kernel wrote back in one call
/// (a slot's control length of 0, `MSG_CTRUNC`) must not shrink or mark the same slot in the
/// next, nor survive a call that failed.
#[test]
fn a_recv_batch_offers_every_slot_whole_on_every_call() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(3);
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let send = |payload: &[u8], n: usize| {
        let mut batch = Batch::new();
        batch
            .push_vectored(None, &[IoSlice::new(payload)], |c| {
                if n > 0 {
                    c.push_rights(&fds[..n])?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(batch.send(&a), Ok(1));
    };
    let mut recv = RecvBatch::new(2, 16, ancillary::cmsg::space_for_fds(2)).unwrap();
    let one = |recv: &mut RecvBatch, expect: &[u8], fds: Option<usize>| {
        assert_eq!(recv.recv(&b).unwrap(), 1);
        let mut d = recv.iter_mut().next().unwrap();
        assert_eq!(d.data(), expect);
        match fds {
            Some(n) => {
                d.check().unwrap();
                assert_eq!(d.fds().count(), n);
            }
            None => assert!(d.check().is_err(), "control data truncated"),
        }
    };
    send(b"none", 0);
    one(&mut recv, b"none", Some(0)); // slot 0 written back with no control data
    send(b"two", 2);
    one(&mut recv, b"two", Some(2)); // offered whole again
    set_nonblocking(&b);
    let empty = recv.recv(&b).unwrap_err();
    assert!(empty.is_would_block(), "{empty}");
    if skip_under_qemu("MSG_CTRUNC on a RecvBatch slot (qemu-user never reports it)") {
        return;
    }
    send(b"three", 3);
    one(&mut recv, b"three", None); // MSG_CTRUNC
    send(b"again", 2);
    one(&mut recv, b"again", Some(2)); // not truncated: the flags were reset
}

#[test]
fn segment_count_says_what_segments_gives_without_gro() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    tx.send_to(b"", to).unwrap();
    tx.send_to(b"five!", to).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut recv = RecvBatch::new(4, 64, 64).unwrap();
    let mut counts = Vec::new();
    for _ in 0..10 {
        if counts.len() == 2 {
            break;
        }
        recv.recv(&rx).unwrap();
        for d in recv.iter_mut() {
            assert_eq!(d.segment_count(), d.segments().count());
            counts.push(d.segment_count());
        }
    }
    assert_eq!(counts, [0, 1]);
}
