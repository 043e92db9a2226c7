//! UDP GSO and GRO on loopback: a GSO message arrives as separate datagrams; with `UDP_GRO`
//! on the receiver they arrive coalesced and split back; refusals of the kernel (`EINVAL` for
//! too many segments or a socket without checksums, `EIO` on UDP-Lite) make the batch send
//! the same datagrams one by one, none lost and none twice.
// Built where the system has what this file tests: UDP GSO/GRO are Linux only.
#![cfg(has_gso)]

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{ControlMessage, INT_SPACE};
use ancillary::limits::udp_max_segments;
use common::*;

/// Datagram `i` of a run: `size` bytes of `i` (so order and content are both checked).
fn datagrams(n: usize, size: usize, last: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| vec![i as u8; if i + 1 == n { last } else { size }])
        .collect()
}

/// Receives datagrams until `n` arrived, splitting GRO-coalesced ones; returns them and how
/// many receives were coalesced.
fn receive(rx: &impl AsFd, n: usize) -> (Vec<Vec<u8>>, usize) {
    let mut batch = RecvBatch::new(64, 65535, 2 * INT_SPACE).unwrap();
    let mut out = Vec::new();
    let mut coalesced = 0;
    let mut timeouts = 0;
    while out.len() < n {
        match batch.recv(rx) {
            Ok(_) => {}
            Err(e) if e.is_would_block() && timeouts < 25 => {
                timeouts += 1;
                continue;
            }
            Err(e) => panic!("after {} datagrams: {e}", out.len()),
        }
        for mut d in batch.iter_mut() {
            d.check().unwrap();
            let gro = d.gro_segment_size();
            if gro.is_some() {
                coalesced += 1;
                let typed = d.messages().find_map(|m| match m {
                    ControlMessage::UdpGro(s) => Some(usize::from(s)),
                    _ => None,
                });
                assert_eq!(typed, gro);
            }
            assert_eq!(d.segment_count(), d.segments().count());
            out.extend(d.segments().map(|s| s.to_vec()));
        }
    }
    (out, coalesced)
}

fn pair_v4() -> (UdpSocket, UdpSocket, SocketAddr) {
    let rx = udp_receiver("127.0.0.1:0", 8 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    (rx, tx, to)
}

#[test]
fn one_gso_message_arrives_as_separate_datagrams() {
    let (rx, tx, to) = pair_v4();
    let sent = datagrams(31, 1000, 500);
    let mut batch = Batch::new();
    for d in &sent {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(31));
    let s = batch.stats();
    assert_eq!((s.calls, s.messages, s.segmented), (1, 1, 1), "{s:?}");
    let (got, coalesced) = receive(&rx, 31);
    assert_eq!(coalesced, 0);
    assert_eq!(got, sent);
    assert!(nothing_queued_udp(&rx));
    // GSO went per message: the socket-level option was never set (quinn#2575).
    assert_eq!(get_int_opt(&tx, libc::SOL_UDP, libc::UDP_SEGMENT), 0);
}

#[test]
fn runs_are_cut_at_the_segment_cap_and_the_payload_cap() {
    let (rx, tx, to) = pair_v4();
    let cap = udp_max_segments();
    // 2 * cap + 3 datagrams of 100 bytes: three GSO messages.
    let small = datagrams(2 * cap + 3, 100, 100);
    // 60 of 1200 bytes: at most 54 fit in 65507 bytes.
    let large = datagrams(60, 1200, 1200);
    let mut batch = Batch::new();
    for d in small.iter().chain(&large) {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(small.len() + 60));
    let s = batch.stats();
    assert_eq!((s.messages, s.segmented, s.fallbacks), (5, 5, 0), "{s:?}");
    let (got, _) = receive(&rx, small.len() + 60);
    let want: Vec<Vec<u8>> = small.iter().chain(&large).cloned().collect();
    assert_eq!(got, want);
}

#[test]
fn with_udp_gro_the_receiver_gets_them_coalesced_and_splits_them_back() {
    let (rx, tx, to) = pair_v4();
    set_int_opt(&rx, libc::SOL_UDP, libc::UDP_GRO, 1);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_PKTINFO, 1);
    // First a lone datagram: its receive writes a short msg_controllen into the header; the
    // next receive must still get all of its control data (nix#2813).
    let mut batch = Batch::new();
    let lone = [0xEEu8; 10];
    batch.push(to, &lone).unwrap();
    assert_eq!(batch.send(&tx), Ok(1));
    let mut recv = RecvBatch::new(8, 65535, 2 * INT_SPACE + 32).unwrap();
    assert_eq!(recv.recv(&rx).unwrap(), 1);
    assert_eq!(recv.iter_mut().next().unwrap().gro_segment_size(), None);

    let sent = datagrams(20, 1200, 300);
    let mut batch = batch.recycle();
    for d in &sent {
        batch.push(to, d).unwrap();
    }
    // And a pre-segmented payload, as a QUIC stack builds it.
    let train: Vec<u8> = (0..10u8).flat_map(|i| vec![100 + i; 500]).collect();
    batch
        .push_segments(Some(to), &train, 500, |_| Ok(()))
        .unwrap();
    assert_eq!(
        batch.send(&tx),
        Ok(30),
        "every datagram of the payload counts"
    );
    assert_eq!(batch.stats().segmented, 2);

    let mut got = Vec::new();
    let mut coalesced = Vec::new();
    while got.len() < 30 {
        recv.recv(&rx).unwrap();
        for d in recv.iter_mut() {
            d.check().unwrap();
            coalesced.push(d.gro_segment_size());
            assert_eq!(d.segment_count(), d.segments().count());
            got.extend(d.segments().map(|s| s.to_vec()));
        }
    }
    assert!(coalesced.contains(&Some(1200)), "{coalesced:?}");
    assert!(coalesced.contains(&Some(500)), "{coalesced:?}");
    let want: Vec<Vec<u8>> = sent
        .iter()
        .cloned()
        .chain((0..10u8).map(|i| vec![100 + i; 500]))
        .collect();
    assert_eq!(got, want);
}

/// Sends `before`, a run of `run` equal datagrams, and `after` through `batch`, expecting the
/// run's GSO message to be refused once and everything to arrive once, in order.
fn expect_fallback(batch: Batch<'_>, tx: &impl AsFd, rx: &impl AsFd, to: SocketAddr, run: usize) {
    // Sizes grow up to the run, so nothing before it joins it.
    let before = [vec![0xA0u8; 77], vec![0xA1; 90]];
    let middle = datagrams(run, 100, 40);
    let after = [vec![0xB0u8; 50]];
    let all: Vec<Vec<u8>> = before
        .iter()
        .chain(&middle)
        .chain(&after)
        .cloned()
        .collect();
    let mut batch = batch.recycle(); // settings kept, for payloads that live here
    for d in &all {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(tx), Ok(all.len()));
    let s = batch.stats();
    assert_eq!(s.fallbacks, 1, "{s:?}");
    assert_eq!(s.segmented, 0, "{s:?}");
    assert_eq!(s.messages, all.len() as u64, "{s:?}");
    let (got, _) = receive(rx, all.len());
    assert_eq!(got, all);
}

#[test]
fn more_segments_than_the_kernel_takes_fall_back_to_single_sends() {
    let (rx, tx, to) = pair_v4();
    let cap = udp_max_segments();
    let mut batch = Batch::new();
    // Let the kernel judge a run one longer than its cap: it answers EINVAL.
    batch.set_max_segments(Some(cap + 1));
    expect_fallback(batch, &tx, &rx, to, cap + 1);
    assert!(nothing_queued_udp(&rx));
}

#[test]
fn a_socket_without_checksums_refuses_gso_and_the_batch_falls_back() {
    let (rx, tx, to) = pair_v4();
    // SO_NO_CHECK: the kernel refuses every UDP_SEGMENT send on the socket with EINVAL.
    set_int_opt(&tx, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1);
    expect_fallback(Batch::new(), &tx, &rx, to, 12);

    // A pre-segmented payload is cut into its datagrams instead.
    let train: Vec<u8> = (0..7u8)
        .flat_map(|i| vec![i; 400])
        .chain([7u8; 99])
        .collect();
    let mut batch = Batch::new();
    batch
        .push_segments(Some(to), &train, 400, |_| Ok(()))
        .unwrap();
    assert_eq!(batch.len(), 8);
    assert_eq!(batch.send(&tx), Ok(8));
    assert_eq!(batch.stats().fallbacks, 1);
    assert_eq!(batch.stats().messages, 8);
    let (got, _) = receive(&rx, 8);
    let want: Vec<Vec<u8>> = train.chunks(400).map(|c| c.to_vec()).collect();
    assert_eq!(got, want);
}

/// A UDP-Lite socket on 127.0.0.1, or `None` where the kernel has no UDP-Lite.
fn udplite() -> Option<OwnedFd> {
    // SAFETY: socket takes no pointer; a non-negative result is a new descriptor we own.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::IPPROTO_UDPLITE,
        )
    };
    // SAFETY: fd is a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

#[test]
fn udplite_answers_gso_with_eio_and_the_batch_falls_back() {
    let (Some(rx), Some(tx)) = (udplite(), udplite()) else {
        eprintln!("no UDP-Lite in this kernel: skipped");
        return;
    };
    let any: nix::sys::socket::SockaddrIn = "127.0.0.1:0"
        .parse::<std::net::SocketAddrV4>()
        .unwrap()
        .into();
    nix::sys::socket::bind(raw(&rx), &any).unwrap();
    set_int_opt(&rx, libc::SOL_SOCKET, libc::SO_RCVBUF, 1 << 20);
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: tv is a live timeval and its size is given.
    let r = unsafe {
        libc::setsockopt(
            raw(&rx),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
    let local: nix::sys::socket::SockaddrIn = nix::sys::socket::getsockname(raw(&rx)).unwrap();
    let to = SocketAddr::V4(std::net::SocketAddrV4::new(local.ip(), local.port()));
    expect_fallback(Batch::new(), &tx, &rx, to, 9);
}

/// A GSO refusal sticks to the batch for that socket: later sends make one `sendmmsg` and no
/// GSO attempt, until `set_gso` asks again.
#[test]
fn after_a_refusal_later_sends_go_without_gso_until_set_gso() {
    let (rx, tx, to) = pair_v4();
    set_int_opt(&tx, libc::SOL_SOCKET, libc::SO_NO_CHECK, 1);
    let run = datagrams(10, 100, 100);
    let mut spare = Batch::new();
    for round in 0..4 {
        let mut batch = spare.recycle();
        if round == 3 {
            batch.set_gso(true);
        }
        for d in &run {
            batch.push(to, d).unwrap();
        }
        let before = batch.stats();
        assert_eq!(batch.send(&tx), Ok(10));
        let s = batch.stats();
        let (calls, fallbacks) = (s.calls - before.calls, s.fallbacks - before.fallbacks);
        match round {
            0 | 3 => assert_eq!((calls, fallbacks), (2, 1), "round {round}: {s:?}"),
            _ => assert_eq!((calls, fallbacks), (1, 0), "round {round}: {s:?}"),
        }
        let (got, _) = receive(&rx, 10);
        assert_eq!(got, run);
        spare = batch.recycle();
    }
}

/// A `UDP_SEGMENT` size set on the socket does not cut the batch's single datagrams; runs
/// still go with their own segment size.
#[test]
fn a_socket_segment_size_does_not_cut_single_datagrams() {
    let (rx, tx, to) = pair_v4();
    set_int_opt(&tx, libc::SOL_UDP, libc::UDP_SEGMENT, 100);
    let single = [9u8; 250];
    let run = datagrams(3, 300, 300);
    let mut batch = Batch::new();
    batch.push(to, &single).unwrap();
    for d in &run {
        batch.push(to, d).unwrap();
    }
    batch.set_gso(false);
    assert_eq!(batch.send(&tx), Ok(4));
    let mut sent: Vec<Vec<u8>> = vec![single.to_vec()];
    sent.extend(run.iter().cloned());
    let (got, _) = receive(&rx, 4);
    assert_eq!(got, sent);

    let mut batch = batch.recycle();
    batch.set_gso(true);
    batch.push(to, &single).unwrap();
    for d in &run {
        batch.push(to, d).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(4));
    let (got, _) = receive(&rx, 4);
    assert_eq!(got, sent);
    assert!(nothing_queued_udp(&rx));
}

/// GSO payloads pushed one after another with and without control data: each datagram
/// arrives with its own payload's TOS (a payload's staged control data is shared only with
/// payloads whose control data is the same), and all of them arrive once, in order.
#[test]
fn payloads_in_a_row_keep_their_own_control_data() {
    let (rx, tx, to) = pair_v4();
    ancillary::sockopt::set_recv_tos(&rx, true).unwrap();
    let size = 100;
    // Without control, with TOS 4, then TOS 8 (control data of the same length but other
    // bytes), without, without, with TOS 8, with TOS 8.
    let tos = [None, Some(4u8), Some(8), None, None, Some(8), Some(8)];
    let n = 3 * tos.len();
    let payloads: Vec<Vec<u8>> = (0..tos.len() as u8).map(|i| vec![i; 3 * size]).collect();
    let mut batch = Batch::new();
    for (p, t) in payloads.iter().zip(tos) {
        batch
            .push_segments(Some(to), p, size, |c| {
                if let Some(t) = t {
                    c.push_ip_tos(t)?;
                }
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(n));
    let mut recv = RecvBatch::new(32, 2048, 2 * INT_SPACE).unwrap();
    let mut got = Vec::new();
    let mut tries = 0;
    while got.len() < n && tries < 50 {
        tries += 1;
        match recv.recv(&rx) {
            Ok(_) => {}
            Err(e) if e.is_would_block() => continue,
            Err(e) => panic!("after {} datagrams: {e}", got.len()),
        }
        for mut d in recv.iter_mut() {
            d.check().unwrap();
            let tos = d.messages().find_map(|m| match m {
                ControlMessage::IpTos(t) => Some(t),
                _ => None,
            });
            got.push((d.data().to_vec(), tos));
        }
    }
    assert_eq!(got.len(), n);
    for (i, (data, got_tos)) in got.iter().enumerate() {
        let p = i / 3;
        assert_eq!(data, &vec![p as u8; size], "datagram {i}");
        assert_eq!(*got_tos, Some(tos[p].unwrap_or(0)), "datagram {i}");
    }
}
