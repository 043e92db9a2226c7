//! The planner's rules, one test each, over entries formed by real pushes (no socket: the
//! planner makes no call), and a property test of what every plan must keep.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::AsFd;

use proptest::collection::vec;
use proptest::prelude::*;

#[cfg(has_ip_pktinfo)]
use super::SEGMENT_SPACE;
use super::{plan, Planned, Rules};
use crate::batch::queue::Kind;
use crate::batch::Batch;
use crate::limits::{Limits, MAX_MMSG, UDP_MAX_PAYLOAD_V4, UDP_MAX_PAYLOAD_V6};

const LIMITS: Limits = Limits {
    max_fds: 253,
    optmem_max: 20480,
    max_iovecs: 1024,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

fn batch<'a>() -> Batch<'a> {
    let mut b = Batch::new();
    b.set_limits(LIMITS).set_max_segments(Some(64));
    b
}

fn rules(gso: bool, max_segments: usize, unsegment: bool) -> Rules {
    Rules::new(gso, max_segments, unsegment, LIMITS)
}

fn plan_of(b: &mut Batch<'_>, rules: &Rules) -> Vec<Planned> {
    b.seal();
    let mut out = Vec::new();
    plan(
        &b.state.entries,
        b.state.next,
        b.state.partial,
        rules,
        &mut out,
    );
    out
}

/// (entry, first datagram, datagrams, bytes, UDP_SEGMENT) of each message.
fn shape(plan: &[Planned]) -> Vec<(usize, usize, usize, usize, Option<u16>)> {
    plan.iter()
        .map(|p| (p.entry, p.first, p.datagrams, p.bytes, p.udp_segment))
        .collect()
}

/// Datagrams per message.
fn counts(plan: &[Planned]) -> Vec<usize> {
    plan.iter().map(|p| p.datagrams).collect()
}

#[test]
fn a_run_breaks_at_another_destination() {
    let data = [0u8; 100];
    let (a, b6) = (addr("127.0.0.1:9"), addr("[::1]:9"));
    let mut b = batch();
    for to in [a, a, a, b6, b6, a] {
        b.push(to, &data).unwrap();
    }
    assert_eq!(
        shape(&plan_of(&mut b, &rules(true, 64, false))),
        [
            (0, 0, 3, 300, Some(100)),
            (1, 0, 2, 200, Some(100)),
            (2, 0, 1, 100, None)
        ]
    );
}

#[test]
fn a_run_breaks_at_a_longer_datagram_or_after_a_shorter_one() {
    let data = [0u8; 200];
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for len in [100, 100, 50, 100, 200, 200] {
        b.push(to, &data[..len]).unwrap();
    }
    // 100 100 50 | 100 | 200 200: the last of a run may be shorter, never longer.
    assert_eq!(
        shape(&plan_of(&mut b, &rules(true, 64, false))),
        [
            (0, 0, 3, 250, Some(100)),
            (1, 0, 1, 100, None),
            (2, 0, 2, 400, Some(200))
        ]
    );
}

#[test]
fn a_run_breaks_at_other_control_data_and_at_fds() {
    let data = [0u8; 100];
    let to = addr("127.0.0.1:9");
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut b = batch();
    for tos in [1u8, 1, 2, 2] {
        b.push_with(to, &data, |c| {
            c.push_ip_tos(tos)?;
            Ok(())
        })
        .unwrap();
    }
    for _ in 0..2 {
        b.push_with(to, &data, |c| {
            c.push_rights(&[fd])?;
            Ok(())
        })
        .unwrap();
    }
    assert_eq!(
        counts(&plan_of(&mut b, &rules(true, 64, false))),
        [2, 2, 1, 1],
        "tos 1 | tos 2 | each datagram with fds alone"
    );
}

#[test]
fn gso_messages_stop_at_the_segment_cap() {
    let data = [0u8; 100];
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for _ in 0..10 {
        b.push(to, &data).unwrap();
    }
    b.push_segments(Some(to), &[0u8; 950], 100, |_| Ok(()))
        .unwrap();
    let p = plan_of(&mut b, &rules(true, 4, false));
    assert_eq!(counts(&p), [4, 4, 2, 4, 4, 2]);
    assert_eq!(p[5].bytes, 150, "the last piece of the payload: 100 + 50");
    assert_eq!(p[5].byte_range(&b.state.entries[1]), 800..950);
}

#[test]
fn gso_messages_stop_at_the_payload_cap_of_the_family() {
    // 16 segments of 4095 bytes (65520) fit IPv6's 65527 but not IPv4's 65507.
    let seg = 4095;
    let data = vec![0u8; seg];
    let cases = [
        (Some(addr("127.0.0.1:9")), UDP_MAX_PAYLOAD_V4),
        (Some(addr("[::ffff:127.0.0.1]:9")), UDP_MAX_PAYLOAD_V4),
        (Some(addr("[::1]:9")), UDP_MAX_PAYLOAD_V6),
        (None, UDP_MAX_PAYLOAD_V4),
    ];
    for (to, cap) in cases {
        let mut b = batch();
        for _ in 0..40 {
            b.push_vectored(to, &[IoSlice::new(&data)], |_| Ok(()))
                .unwrap();
        }
        let p = plan_of(&mut b, &rules(true, 64, false));
        let per = cap / seg;
        assert_eq!(counts(&p), [per, per, 40 - 2 * per], "to {to:?}");
        assert!(p.iter().all(|m| m.bytes <= cap), "to {to:?}");
    }
}

#[test]
fn a_run_goes_in_messages_within_the_iovec_limit_and_a_payload_does_not_need_to() {
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for _ in 0..20 {
        b.push(to, &[0u8; 10]).unwrap();
    }
    b.push_segments(Some(to), &[0u8; 200], 10, |_| Ok(()))
        .unwrap();
    let tight = Limits {
        max_iovecs: 8,
        ..LIMITS
    };
    let r = Rules::new(true, 64, false, tight);
    assert_eq!(counts(&plan_of(&mut b, &r)), [8, 8, 4, 20]);
}

#[test]
#[cfg(has_ip_pktinfo)]
fn without_room_for_udp_segment_every_datagram_goes_alone() {
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for _ in 0..4 {
        b.push_with(to, &[0u8; 10], |c| {
            c.push_source_ip("127.0.0.2".parse().unwrap())?;
            c.push_ip_tos(1)?;
            Ok(())
        })
        .unwrap();
    }
    // What the planner compares: the control data as the kernel counts it (wider in a 32-bit
    // process on a 64-bit kernel) with UDP_SEGMENT.
    let control = b.state.entries[0].kernel_control_len;
    let at_cap = Limits {
        optmem_max: control + SEGMENT_SPACE,
        ..LIMITS
    };
    assert_eq!(
        counts(&plan_of(&mut b, &Rules::new(true, 64, false, at_cap))),
        [1, 1, 1, 1]
    );
    let room = Limits {
        optmem_max: control + SEGMENT_SPACE + 1,
        ..LIMITS
    };
    assert_eq!(
        counts(&plan_of(&mut b, &Rules::new(true, 64, false, room))),
        [4]
    );
}

#[test]
fn a_call_plans_at_most_a_window_of_messages() {
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for _ in 0..1500 {
        b.push(to, &[0u8; 10]).unwrap();
    }
    let p = plan_of(&mut b, &rules(false, 1, false));
    assert_eq!(p.len(), MAX_MMSG);
    assert!(p.iter().all(|m| m.datagrams == 1));
    let alone = Rules {
        max_messages: 1,
        ..rules(true, 64, false)
    };
    assert_eq!(shape(&plan_of(&mut b, &alone)), [(0, 0, 64, 640, Some(10))]);
}

#[test]
fn planning_resumes_at_the_first_unsent_datagram() {
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for _ in 0..10 {
        b.push(to, &[0u8; 10]).unwrap();
    }
    b.push(addr("127.0.0.2:9"), &[0u8; 10]).unwrap();
    b.state.next = 0;
    b.state.partial = 3;
    assert_eq!(
        shape(&plan_of(&mut b, &rules(true, 4, false))),
        [
            (0, 3, 4, 40, Some(10)),
            (0, 7, 3, 30, Some(10)),
            (1, 0, 1, 10, None)
        ]
    );
    b.state.next = 1;
    b.state.partial = 0;
    assert_eq!(counts(&plan_of(&mut b, &rules(true, 4, false))), [1]);
    b.state.next = 2;
    assert!(plan_of(&mut b, &rules(true, 4, false)).is_empty());
}

#[test]
fn after_a_refusal_datagrams_go_unsegmented() {
    let to = addr("127.0.0.1:9");
    let mut b = batch();
    for _ in 0..3 {
        b.push(to, &[0u8; 10]).unwrap();
    }
    b.push_segments(Some(to), &[0u8; 25], 10, |_| Ok(()))
        .unwrap();
    b.push(addr("127.0.0.2:9"), &[0u8; 10]).unwrap();
    // GSO refused: one datagram each, nothing carries UDP_SEGMENT.
    let p = plan_of(&mut b, &rules(false, 64, false));
    assert_eq!(counts(&p), [1; 7]);
    assert!(p.iter().all(|m| m.udp_segment.is_none()));
    assert_eq!(p[5].bytes, 5, "the payload's last datagram");
    // A socket with a UDP_SEGMENT size of its own: each carries UDP_SEGMENT 0.
    let p = plan_of(&mut b, &rules(false, 64, true));
    assert!(p.iter().all(|m| m.udp_segment == Some(0)));
    // With GSO on, only the single datagram carries 0.
    let p = plan_of(&mut b, &rules(true, 64, true));
    let segs: Vec<_> = p.iter().map(|m| m.udp_segment).collect();
    assert_eq!(segs, [Some(10), Some(10), Some(0)]);
}

/// What a push in the property test queues.
#[derive(Debug, Clone)]
enum Push {
    /// Datagrams of one length: destination, length, control (0: none, else `IP_TOS` of
    /// it), how many.
    One(usize, usize, u8, usize),
    /// A GSO payload: destination, length, segment size, control.
    Segments(usize, usize, usize, u8),
}

fn dests() -> [Option<SocketAddr>; 4] {
    [
        Some(addr("127.0.0.1:9")),
        Some(addr("127.0.0.2:9")),
        Some(addr("[::1]:9")),
        None,
    ]
}

fn a_push() -> impl Strategy<Value = Push> {
    let len = prop_oneof![
        Just(1usize),
        Just(100),
        Just(1200),
        Just(4095),
        1..9000usize
    ];
    prop_oneof![
        4 => (0..4usize, len, 0..3u8, prop_oneof![3 => Just(1usize), 1 => 1..40usize])
            .prop_map(|(d, l, c, n)| Push::One(d, l, c, n)),
        1 => (0..4usize, 1..6000usize, prop_oneof![Just(100usize), Just(1200), 100..3000usize], 0..3u8)
            .prop_map(|(d, l, s, c)| Push::Segments(d, l, s, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every queued datagram is planned in exactly one message, in push order, whatever the
    /// windows and however many messages each call takes; no message breaks a limit.
    #[test]
    fn every_datagram_is_planned_once_in_order_within_the_limits(
        pushes in vec(a_push(), 1..60),
        gso in any::<bool>(),
        unsegment in any::<bool>(),
        max_segments in 1..70usize,
        max_iovecs in 1..40usize,
        window in prop_oneof![Just(MAX_MMSG), 1..6usize],
        taken in vec(1..8usize, 1..16),
        plain in any::<bool>(),
    ) {
        let data = vec![0u8; 9000];
        let dests = dests();
        let mut b = batch();
        let mut expected = Vec::new(); // (destination, length, control) per datagram
        for push in &pushes {
            match *push {
                Push::One(d, len, tos, n) => {
                    for i in 0..n {
                        // `push` (its own path for a datagram that continues a run) for some
                        // datagrams without control data, `push_vectored` for the rest.
                        if tos == 0 && plain && (i + d) % 3 != 0 {
                            b.push(dests[d], &data[..len]).unwrap();
                        } else {
                            b.push_vectored(dests[d], &[IoSlice::new(&data[..len])], |c| {
                                if tos != 0 {
                                    c.push_ip_tos(tos)?;
                                }
                                Ok(())
                            }).unwrap();
                        }
                        expected.push((dests[d], len, tos));
                    }
                }
                Push::Segments(d, len, seg, tos) => {
                    b.push_segments(dests[d], &data[..len], seg, |c| {
                        if tos != 0 {
                            c.push_ip_tos(tos)?;
                        }
                        Ok(())
                    }).unwrap();
                    let mut left = len;
                    while left > 0 {
                        expected.push((dests[d], left.min(seg), tos));
                        left -= left.min(seg);
                    }
                }
            }
        }
        prop_assert_eq!(b.len(), expected.len());
        b.seal();
        let limits = Limits { max_iovecs, ..LIMITS };
        let rules = Rules { max_messages: window, ..Rules::new(gso, max_segments, unsegment, limits) };
        let control = |i: usize| {
            let e = &b.state.entries[i];
            &b.state.control.bytes()[e.control_at..e.control_at + e.control_len]
        };

        // (entry, datagram of the entry, length) in the order planned.
        let mut planned: Vec<(usize, usize, usize)> = Vec::new();
        let (mut next, mut partial) = (0, 0);
        let mut out = Vec::new();
        for call in 0.. {
            prop_assert!(call <= expected.len(), "every call plans at least one datagram");
            plan(&b.state.entries, next, partial, &rules, &mut out);
            if next == b.state.entries.len() {
                prop_assert!(out.is_empty());
                break;
            }
            prop_assert!(!out.is_empty() && out.len() <= window);
            prop_assert_eq!((out[0].entry, out[0].first), (next, partial), "resumes at the first unsent");
            for (j, p) in out.iter().enumerate() {
                let e = &b.state.entries[p.entry];
                if j > 0 {
                    let q = &out[j - 1];
                    let follows = if q.first + q.datagrams == b.state.entries[q.entry].datagrams {
                        (q.entry + 1, 0)
                    } else {
                        (q.entry, q.first + q.datagrams)
                    };
                    prop_assert_eq!((p.entry, p.first), follows, "messages follow each other");
                }
                prop_assert!(p.datagrams >= 1 && p.first + p.datagrams <= e.datagrams);
                let sizes: Vec<usize> = (p.first..p.first + p.datagrams)
                    .map(|k| e.segment.min(e.len - k * e.segment))
                    .collect();
                prop_assert_eq!(sizes.iter().sum::<usize>(), p.bytes);
                if p.datagrams > 1 {
                    let cap = match e.dest {
                        Some(SocketAddr::V6(a)) if a.ip().to_ipv4_mapped().is_none() => UDP_MAX_PAYLOAD_V6,
                        _ => UDP_MAX_PAYLOAD_V4,
                    };
                    prop_assert!(gso && e.fds == 0);
                    prop_assert!(p.datagrams <= max_segments);
                    prop_assert!(p.bytes <= cap);
                    if e.kind == Kind::Run {
                        prop_assert!(p.datagrams <= max_iovecs);
                    }
                    prop_assert_eq!(p.udp_segment, Some(e.segment as u16));
                    let (last, rest) = sizes.split_last().unwrap();
                    prop_assert!(rest.iter().all(|&s| s == e.segment) && *last <= e.segment);
                } else {
                    prop_assert_eq!(p.udp_segment, unsegment.then_some(0));
                }
                planned.extend(sizes.iter().enumerate().map(|(k, &s)| (p.entry, p.first + k, s)));
            }
            // The kernel takes some of the messages: resume after them.
            let k = taken[call % taken.len()].min(out.len());
            for p in &out[..k] {
                partial += p.datagrams;
                if partial == b.state.entries[p.entry].datagrams {
                    next += 1;
                    partial = 0;
                }
            }
            // What was planned beyond them is planned again.
            let dropped: usize = out[k..].iter().map(|p| p.datagrams).sum();
            planned.truncate(planned.len() - dropped);
        }

        prop_assert_eq!(planned.len(), expected.len(), "each datagram exactly once");
        for (i, &(entry, k, len)) in planned.iter().enumerate() {
            let e = &b.state.entries[entry];
            prop_assert_eq!((e.dest, len), (expected[i].0, expected[i].1), "datagram {} in order", i);
            if i > 0 {
                prop_assert!((planned[i - 1].0, planned[i - 1].1) < (entry, k));
            }
            // Control data: equal bytes exactly when the pushes gave the same.
            for (j, &(other, _, _)) in planned[..i].iter().enumerate() {
                prop_assert_eq!(control(entry) == control(other), expected[i].2 == expected[j].2);
            }
            prop_assert_eq!(control(entry).is_empty(), expected[i].2 == 0);
        }
    }
}
