//! Property tests of the pure control message layer: the `CMSG_*` arithmetic against libc and a
//! wide-integer model, the encode -> decode round trip, and the decoder on header-shaped bytes
//! (the fuzz targets' checks, fed by proptest so that they run on stable).
#![cfg(unix)]

#[allow(dead_code)]
mod fuzz_checks;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;

use ancillary::cmsg::{
    align, len, space, CmsgBuffer, Credentials, Encoder, Ipv4PktInfo, Ipv6PktInfo, Layout, ALIGN,
    HEADER_LEN,
};
use ancillary::Error;
use fuzz_checks::{
    check_roundtrip, cmsg_decode, cmsg_ip, cmsg_libc_diff, control_input, iovec_model, Msg,
    RoundtripInput,
};
use proptest::collection::vec;
use proptest::prelude::*;

const LAYOUTS: [Layout; 6] = [
    Layout::NATIVE,
    Layout::LINUX_64,
    Layout::LINUX_32,
    Layout::APPLE,
    Layout::FREEBSD_64,
    Layout::NETBSD_ARM64,
];

/// `CMSG_ALIGN(n)` for a layout, in `u128` where nothing overflows.
fn align_model(l: &Layout, n: usize) -> u128 {
    (n as u128).div_ceil(l.align as u128) * l.align as u128
}

/// Lengths anywhere in `usize`, with the edges near the top well represented.
fn any_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=4096,
        any::<usize>(),
        (0usize..=64).prop_map(|d| usize::MAX - d),
        (0usize..=64).prop_map(|d| (u32::MAX as usize).wrapping_sub(32) + d),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn space_and_len_equal_libc(n in 0u32..=u32::MAX - 2 * HEADER_LEN as u32) {
        // SAFETY: CMSG_SPACE and CMSG_LEN are arithmetic on their argument only.
        let (s, l) = unsafe { (libc::CMSG_SPACE(n), libc::CMSG_LEN(n)) };
        prop_assert_eq!(space(n as usize), s as usize);
        prop_assert_eq!(len(n as usize), l as usize);
        prop_assert_eq!(align(n as usize), (n as usize).div_ceil(ALIGN) * ALIGN);
        prop_assert_eq!(space(n as usize) % ALIGN, 0);
        prop_assert!(space(n as usize) >= len(n as usize));
    }

    #[test]
    fn checked_arithmetic_is_exact_or_none(n in any_len()) {
        for l in &LAYOUTS {
            let a = align_model(l, n);
            let s = align_model(l, l.header_len) + a;
            prop_assert_eq!(l.checked_align(n), usize::try_from(a).ok(), "{:?} align({})", l, n);
            prop_assert_eq!(l.checked_space(n), usize::try_from(s).ok(), "{:?} space({})", l, n);
            if let Some(s) = l.checked_space(n) {
                // Where the checked form has an answer, the plain one gives the same.
                prop_assert_eq!(l.space(n), s);
                prop_assert_eq!(l.align(n) as u128, a);
                prop_assert!(s >= l.len(n));
                prop_assert_eq!(s % l.align, 0);
            }
        }
    }

    #[test]
    fn sum_of_spaces_is_where_headers_start(lens in vec(0usize..512, 0..16)) {
        // Offsets are aligned, so CMSG_SPACE adds up: each message starts where the previous
        // one's space ends, which is what the decoder's CMSG_ALIGN(cmsg_len) step reaches.
        let mut off = 0usize;
        for n in lens {
            prop_assert_eq!(off % ALIGN, 0);
            prop_assert_eq!(off + align(len(n)), off + space(n));
            off += space(n);
        }
    }

    #[test]
    fn decoder_and_libc_agree_on_header_shaped_bytes(
        buf in header_soup(),
        controllen in prop_oneof![0u64..512, Just(u64::MAX)],
    ) {
        let input = control_input(controllen, &buf);
        cmsg_decode(&input);
        cmsg_libc_diff(&input);
    }

    #[test]
    fn encode_then_decode_gives_the_same_messages(input in roundtrip_input()) {
        check_roundtrip(&input);
    }

    #[test]
    fn ip_messages_round_trip_and_decode_like_the_model(bytes in vec(any::<u8>(), 0..512)) {
        cmsg_ip(&bytes);
    }

    #[test]
    fn iovecs_follow_the_model(bytes in vec(any::<u8>(), 0..512)) {
        iovec_model(&bytes);
    }
}

/// One push of each kind, by name.
type PushFn = for<'e, 'b, 'fd> fn(
    &'e mut Encoder<'b, 'fd>,
    std::os::fd::BorrowedFd<'fd>,
) -> Result<(), Error>;

const PUSHES: &[(&str, PushFn)] = &[
    ("push_rights(1)", |e, fd| e.push_rights(&[fd]).map(drop)),
    ("push_rights(3)", |e, fd| {
        e.push_rights(&[fd, fd, fd]).map(drop)
    }),
    ("push_raw_rights", |e, _| {
        // SAFETY: 0, 1 and 2 are open for the whole test, and nothing is sent.
        unsafe { e.push_raw_rights(&[0, 1, 2]) }.map(drop)
    }),
    ("push_credentials", |e, _| {
        e.push_credentials(Credentials::current()).map(drop)
    }),
    ("push_raw(3 bytes)", |e, _| {
        e.push_raw(1, 2, &[7, 8, 9]).map(drop)
    }),
    ("push_raw(empty)", |e, _| e.push_raw(1, 2, &[]).map(drop)),
    ("push_raw(SCM_RIGHTS)", |e, _| {
        e.push_raw(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[0; 4])
            .map(drop)
    }),
    ("push_udp_segment", |e, _| {
        e.push_udp_segment(1200).map(drop)
    }),
    ("push_ip_pktinfo", |e, _| {
        e.push_ip_pktinfo(Ipv4PktInfo {
            ifindex: 3,
            spec_dst: Ipv4Addr::LOCALHOST,
            addr: Ipv4Addr::new(127, 0, 0, 2),
        })
        .map(drop)
    }),
    ("push_ipv6_pktinfo", |e, _| {
        e.push_ipv6_pktinfo(Ipv6PktInfo::source(Ipv6Addr::LOCALHOST))
            .map(drop)
    }),
    ("push_source_ip(v4)", |e, _| {
        e.push_source_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).map(drop)
    }),
    ("push_source_ip(v6)", |e, _| {
        e.push_source_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)).map(drop)
    }),
    ("push_ip_tos", |e, _| e.push_ip_tos(0xb9).map(drop)),
    ("push_ipv6_tclass", |e, _| e.push_ipv6_tclass(2).map(drop)),
    ("push_ip_ttl", |e, _| e.push_ip_ttl(64).map(drop)),
    ("push_ipv6_hoplimit", |e, _| {
        e.push_ipv6_hoplimit(9).map(drop)
    }),
    ("push_txtime", |e, _| e.push_txtime(u64::MAX).map(drop)),
];

const PATTERN: u8 = 0x5A;

/// A push's result, and the encoder's length and fd count after it.
type AfterPush = (Result<(), Error>, usize, usize);

/// Fills the storage with [`PATTERN`], pushes `before` (if any) and then `push` into the first
/// `cap` bytes, and returns the results, the encoder's length and fd count after each, and the
/// whole storage.
fn run(cap: usize, before: Option<PushFn>, push: Option<PushFn>) -> (Vec<AfterPush>, Vec<u8>) {
    let null = std::fs::File::open("/dev/null").expect("/dev/null");
    let mut st = CmsgBuffer::<256>::new();
    st.fill(PATTERN);
    let mut enc = Encoder::new(&mut st[..cap]);
    let mut out = Vec::new();
    for p in [before, push].into_iter().flatten() {
        let r = p(&mut enc, null.as_fd());
        out.push((r, enc.len(), enc.fd_count()));
    }
    // (The encoder is not used again: the storage can be read.)
    (out, st.to_vec())
}

/// A push that does not fit, or is refused, writes nothing: every byte of the storage, used or
/// free, and the encoder's length and fd count are what they were before it. For every kind of
/// push, first into an empty encoder and after a message, into every size of storage too small
/// for it.
#[test]
fn a_failed_push_leaves_the_storage_unchanged() {
    for &(name, push) in PUSHES {
        for &(before_name, before) in
            [("nothing", None), ("push_raw(3 bytes)", Some(PUSHES[4].1))].iter()
        {
            // The storage both need.
            let (results, _) = run(256, before, Some(push));
            let (prefix_len, prefix_fds) = results.first().map_or((0, 0), |r| (r.1, r.2));
            let needed = results.last().expect("pushed").1;
            let refused = results.last().expect("pushed").0 == Err(Error::RawRights);
            let caps = if refused {
                prefix_len..prefix_len + 1
            } else {
                prefix_len..needed
            };
            for cap in caps {
                // What the storage holds before the push: the message before it, the pattern
                // everywhere else.
                let (_, snapshot) = run(cap, before, None);
                let (results, after) = run(cap, before, Some(push));
                let (r, len, fds) = results.last().expect("pushed").clone();
                assert!(
                    r.is_err(),
                    "{name} after {before_name} fits into {cap} bytes"
                );
                if !refused {
                    assert_eq!(
                        r,
                        Err(Error::Capacity {
                            needed,
                            available: cap
                        }),
                        "{name} after {before_name} into {cap} bytes"
                    );
                }
                assert_eq!(
                    (len, fds),
                    (prefix_len, prefix_fds),
                    "{name} after {before_name}: a failed push changed the encoder"
                );
                assert_eq!(
                    after, snapshot,
                    "{name} after {before_name} into {cap} bytes: a failed push wrote"
                );
            }
        }
    }
}

fn msg() -> impl Strategy<Value = Msg> {
    let bytes = |max| vec(any::<u8>(), 0..max);
    prop_oneof![
        vec(any::<u32>(), 0..=300).prop_map(Msg::Rights),
        (0u16..=300, any::<u32>()).prop_map(|(count, first)| Msg::RightsRun { count, first }),
        bytes(64).prop_map(Msg::RawRights),
        (any::<i32>(), any::<u32>(), any::<u32>()).prop_map(|(pid, uid, gid)| Msg::Credentials {
            pid,
            uid,
            gid
        }),
        (any::<i32>(), any::<i32>(), bytes(100)).prop_map(|(level, ty, data)| Msg::Raw {
            level,
            ty,
            data
        }),
        // A raw message that is SCM_RIGHTS by its level and type.
        bytes(40).prop_map(|data| Msg::Raw {
            level: libc::SOL_SOCKET,
            ty: libc::SCM_RIGHTS,
            data
        }),
    ]
}

fn roundtrip_input() -> impl Strategy<Value = RoundtripInput> {
    let capacity = prop_oneof![0u16..=64, 0u16..=2048, any::<u16>()];
    (capacity, any::<u8>(), vec(msg(), 0..8)).prop_map(|(capacity, misalign, msgs)| {
        RoundtripInput {
            capacity,
            misalign,
            msgs,
        }
    })
}

/// Headers with plausible and implausible `cmsg_len`s, data of any length after each, and a
/// tail that may hold part of a header.
fn header_soup() -> impl Strategy<Value = Vec<u8>> {
    let cmsg_len = prop_oneof![
        0usize..64,
        (0usize..=16).prop_map(|d| usize::MAX - d),
        any::<usize>(),
    ];
    let piece = (cmsg_len, 0i32..3, 0i32..3, 0usize..40);
    (vec(piece, 0..6), vec(any::<u8>(), 0..16)).prop_map(|(pieces, tail)| {
        let mut buf = Vec::new();
        for (len, level, ty, data) in pieces {
            buf.extend_from_slice(&len.to_ne_bytes());
            buf.extend_from_slice(&level.to_ne_bytes());
            buf.extend_from_slice(&ty.to_ne_bytes());
            buf.resize(buf.len() + data, 0xEE);
        }
        buf.extend_from_slice(&tail);
        buf
    })
}
