//! `RecvBatch::with_buffers`: each slot receives into several buffers (one iovec each), on
//! real loopback UDP sockets. A datagram fills the buffers in order; `buffers()` and
//! `buffer(i)` give the bytes that landed in each, `data()` the first buffer's; truncation
//! and GRO over several buffers; both `recv` and `recv_timeout`; headers reused between calls
//! with nothing carried over; no allocation once warm; the limits checked when it is made.
#![cfg(unix)]

mod common;
#[path = "common/counting.rs"]
mod counting;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use ancillary::limits::MAX_IOVECS;
use ancillary::{Error, Limit, RecvBatch, RecvFlags};
use common::*;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;
use counting::allocations;

fn pair() -> (UdpSocket, UdpSocket, SocketAddr) {
    let rx = udp_receiver("127.0.0.1:0", 1 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    (rx, tx, to)
}

/// Bytes `0, 1, 2, ...` (wrapping), `len` of them, offset by `seed`.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_add(seed)).collect()
}

/// How `data` splits over buffers of `sizes`: each buffer's part (empty after the end).
fn expected_split<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut at = 0;
    sizes
        .iter()
        .map(|&s| {
            let start = at.min(data.len());
            at += s;
            &data[start..at.min(data.len())]
        })
        .collect()
}

/// Receives until `n` datagrams arrived (through `recv_timeout` if `timed`), checking each
/// against `sent` in order: its buffers, its first buffer, all of its bytes, and the source.
fn receive_and_check(
    batch: &mut RecvBatch,
    rx: &UdpSocket,
    from: SocketAddr,
    sent: &[Vec<u8>],
    sizes: &[usize],
    timed: bool,
) {
    let total: usize = sizes.iter().sum();
    let mut i = 0;
    let mut calls = 0;
    while i < sent.len() {
        calls += 1;
        assert!(calls <= 50, "only {i} of {} datagrams arrived", sent.len());
        let got = if timed {
            batch.recv_timeout(rx, Duration::from_secs(5)).unwrap()
        } else {
            batch.recv(rx).unwrap()
        };
        assert!(got > 0);
        for d in batch.iter_mut() {
            let want = &sent[i][..sent[i].len().min(total)];
            let parts: Vec<&[u8]> = d.buffers().collect();
            assert_eq!(parts, expected_split(want, sizes), "datagram {i}");
            assert_eq!(d.buffers().len(), sizes.len());
            for (k, part) in parts.iter().enumerate() {
                assert_eq!(d.buffer(k), *part, "datagram {i}, buffer {k}");
            }
            assert_eq!(d.data(), parts[0], "data() is the first buffer");
            assert_eq!((*d).data(), Some(want), "all the bytes, in one slice");
            assert_eq!(d.is_data_truncated(), sent[i].len() > total);
            assert_eq!(d.socket_addr(), Some(from));
            i += 1;
        }
    }
}

#[test]
fn a_datagram_splits_over_a_header_buffer_and_a_payload_buffer() {
    let (rx, tx, to) = pair();
    let sizes = [8, 1500];
    let sent = vec![
        payload(100, 1),
        payload(8, 2),    // exactly the header
        payload(9, 3),    // one byte into the payload
        payload(1508, 4), // both full
    ];
    for d in &sent {
        tx.send_to(d, to).unwrap();
    }
    let mut batch = RecvBatch::with_buffers(4, &sizes, 0).unwrap();
    receive_and_check(
        &mut batch,
        &rx,
        tx.local_addr().unwrap(),
        &sent,
        &sizes,
        false,
    );
}

#[test]
fn a_datagram_splits_over_three_buffers() {
    let (rx, tx, to) = pair();
    let sizes = [3, 5, 64];
    let sent = vec![
        payload(40, 10),
        payload(3, 11),  // the first alone
        payload(6, 12),  // into the second
        payload(8, 13),  // the first two exactly
        payload(72, 14), // all three full
    ];
    for d in &sent {
        tx.send_to(d, to).unwrap();
    }
    let mut batch = RecvBatch::with_buffers(8, &sizes, 0).unwrap();
    receive_and_check(
        &mut batch,
        &rx,
        tx.local_addr().unwrap(),
        &sent,
        &sizes,
        false,
    );
}

#[test]
fn a_datagram_shorter_than_the_first_buffer_leaves_the_others_empty() {
    let (rx, tx, to) = pair();
    let sizes = [16, 16, 16];
    let sent = vec![payload(5, 20), Vec::new(), payload(16, 21)];
    for d in &sent {
        tx.send_to(d, to).unwrap();
    }
    let mut batch = RecvBatch::with_buffers(4, &sizes, 0).unwrap();
    receive_and_check(
        &mut batch,
        &rx,
        tx.local_addr().unwrap(),
        &sent,
        &sizes,
        false,
    );
}

#[test]
fn a_datagram_longer_than_all_the_buffers_is_truncated_and_fills_each() {
    let (rx, tx, to) = pair();
    let sizes = [4, 4];
    let sent = vec![payload(12, 30), payload(8, 31)];
    for d in &sent {
        tx.send_to(d, to).unwrap();
    }
    let mut batch = RecvBatch::with_buffers(4, &sizes, 0).unwrap();
    receive_and_check(
        &mut batch,
        &rx,
        tx.local_addr().unwrap(),
        &sent,
        &sizes,
        false,
    );

    // With MSG_TRUNC passed in, Linux reports the real length; the buffers hold what fitted.
    if cfg!(linux_like) {
        tx.send_to(&payload(12, 32), to).unwrap();
        batch.set_flags(RecvFlags::TRUNC);
        assert_eq!(batch.recv(&rx).unwrap(), 1);
        let d = batch.iter_mut().next().unwrap();
        assert_eq!(d.len(), 12);
        assert!(d.is_data_truncated());
        assert!(d.check().is_err());
        let parts: Vec<&[u8]> = d.buffers().collect();
        assert_eq!(parts, expected_split(&payload(8, 32), &sizes));
    } else {
        println!("skipped the MSG_TRUNC-in part: only Linux reports the real length");
    }
}

#[test]
fn recv_timeout_fills_several_buffers_and_times_out_empty() {
    let (rx, tx, to) = pair();
    let sizes = [2, 10, 100];
    let mut batch = RecvBatch::with_buffers(4, &sizes, 0).unwrap();
    assert_eq!(
        batch.recv_timeout(&rx, Duration::from_millis(10)).unwrap(),
        0
    );
    let sent = vec![payload(50, 40), payload(1, 41), payload(12, 42)];
    for d in &sent {
        tx.send_to(d, to).unwrap();
    }
    receive_and_check(
        &mut batch,
        &rx,
        tx.local_addr().unwrap(),
        &sent,
        &sizes,
        true,
    );
}

/// The headers are kept between calls: a short datagram in one call must not shorten what
/// a later call offers, whichever of `recv` and `recv_timeout` makes it; and once warm,
/// nothing is allocated.
#[test]
fn headers_are_reused_without_carrying_anything_over_and_without_allocating() {
    let (rx, tx, to) = pair();
    let from = tx.local_addr().unwrap();
    let sizes = [4, 20, 40];
    let mut batch = RecvBatch::with_buffers(8, &sizes, 0).unwrap();
    let lengths = [1usize, 64, 0, 30, 5, 63, 24];
    // A warm-up round: the headers and iovecs are built by the first call.
    let warm = vec![payload(64, 0)];
    tx.send_to(&warm[0], to).unwrap();
    receive_and_check(&mut batch, &rx, from, &warm, &sizes, false);
    for round in 0..6u8 {
        let sent: Vec<Vec<u8>> = lengths
            .iter()
            .map(|&l| payload(l, round.wrapping_mul(7)))
            .collect();
        for d in &sent {
            tx.send_to(d, to).unwrap();
        }
        // Received and checked without allocating: compare in place.
        let before = allocations();
        let mut i = 0;
        let mut calls = 0;
        while i < sent.len() {
            calls += 1;
            assert!(calls <= 50, "round {round}: only {i} datagrams arrived");
            let got = if round % 2 == 0 {
                batch.recv(&rx).unwrap()
            } else {
                batch.recv_timeout(&rx, Duration::from_secs(5)).unwrap()
            };
            assert!(got > 0);
            for d in batch.iter_mut() {
                let want = &sent[i][..];
                let mut at = 0;
                for (k, part) in d.buffers().enumerate() {
                    let end = (at + sizes[k]).min(want.len());
                    assert_eq!(part, &want[at.min(want.len())..end], "round {round}, {i}");
                    at += sizes[k];
                }
                assert_eq!(d.data(), &want[..want.len().min(sizes[0])]);
                assert!(!d.is_data_truncated());
                i += 1;
            }
        }
        assert_eq!(allocations(), before, "round {round} allocated");
    }
}

/// With one buffer, `with_buffers` is `new`: `data()` and the one buffer are all the bytes.
#[test]
fn one_buffer_is_the_plain_batch() {
    let (rx, tx, to) = pair();
    let sent = vec![payload(30, 50), payload(0, 51)];
    for d in &sent {
        tx.send_to(d, to).unwrap();
    }
    for mut batch in [
        RecvBatch::new(4, 64, 0).unwrap(),
        RecvBatch::with_buffers(4, &[64], 0).unwrap(),
    ] {
        receive_and_check(
            &mut batch,
            &rx,
            tx.local_addr().unwrap(),
            &sent,
            &[64],
            false,
        );
        for d in &sent {
            tx.send_to(d, to).unwrap();
        }
    }
}

#[test]
fn the_limits_are_checked_when_the_batch_is_made() {
    let too_many = vec![1usize; MAX_IOVECS + 1];
    match RecvBatch::with_buffers(1, &too_many, 0) {
        Err(Error::Limit {
            limit: Limit::Iovecs,
            needed,
            max,
            ..
        }) => assert_eq!((needed, max), (MAX_IOVECS + 1, MAX_IOVECS)),
        other => panic!("{other:?}"),
    }
    assert!(RecvBatch::with_buffers(1, &vec![1usize; MAX_IOVECS], 0).is_ok());
    for sizes in [&[usize::MAX, 1][..], &[usize::MAX / 2, usize::MAX / 2, 2]] {
        assert!(
            matches!(
                RecvBatch::with_buffers(1, sizes, 0),
                Err(Error::SizeOverflow { .. })
            ),
            "{sizes:?}"
        );
    }
    // Each slot fits, all of them together do not.
    let half = isize::MAX as usize / 2;
    assert!(matches!(
        RecvBatch::with_buffers(4, &[half / 2, half / 2], 0),
        Err(Error::SizeOverflow { .. })
    ));
    assert!(matches!(
        RecvBatch::with_buffers(1025, &[1, 1], 0),
        Err(Error::Limit {
            limit: Limit::Messages,
            ..
        })
    ));
    // No buffers at all is one of 0 bytes.
    let batch = RecvBatch::with_buffers(1, &[], 0).unwrap();
    assert!(format!("{batch:?}").contains("buffers: [0]"));
}

/// GRO coalesces several datagrams into one slot; over several buffers, `segments()` splits
/// the bytes of all of them.
#[cfg(has_gso)]
#[test]
fn gro_coalesced_datagrams_span_several_buffers() {
    use ancillary::batch::Batch;
    use ancillary::cmsg::INT_SPACE;
    let (rx, tx, to) = pair();
    set_int_opt(&rx, libc::SOL_UDP, libc::UDP_GRO, 1);
    let train: Vec<u8> = (0..6u8).flat_map(|i| vec![i; 100]).collect();
    let mut batch = Batch::new();
    batch
        .push_segments(Some(to), &train, 100, |_| Ok(()))
        .unwrap();
    assert_eq!(batch.send(&tx), Ok(6));
    let sizes = [100, 150, 65535];
    let mut recv = RecvBatch::with_buffers(8, &sizes, INT_SPACE).unwrap();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut coalesced = false;
    let mut calls = 0;
    while got.len() < 6 {
        calls += 1;
        assert!(calls <= 20, "only {} datagrams arrived", got.len());
        recv.recv(&rx).unwrap();
        for d in recv.iter_mut() {
            d.check().unwrap();
            if d.gro_segment_size().is_some() {
                coalesced = true;
                assert_eq!(d.buffer(0), &(*d).data().unwrap()[..100]);
                assert!(!d.buffer(1).is_empty());
            }
            assert_eq!(d.segment_count(), d.segments().count());
            got.extend(d.segments().map(|s| s.to_vec()));
        }
    }
    let want: Vec<Vec<u8>> = train.chunks(100).map(|c| c.to_vec()).collect();
    assert_eq!(got, want);
    if !coalesced {
        println!("the kernel did not coalesce (no UDP GRO on loopback here): split path only");
    }
}
