//! Property tests of the pure control message layer: the `CMSG_*` arithmetic against libc and a
//! wide-integer model, the encode -> decode round trip, and the decoder on header-shaped bytes
//! (the fuzz targets' checks, fed by proptest so that they run on stable).

#[allow(dead_code)]
mod fuzz_checks;

use ancillary::cmsg::{align, len, space, Layout, ALIGN, HEADER_LEN};
use fuzz_checks::{
    check_roundtrip, cmsg_decode, cmsg_libc_diff, control_input, Msg, RoundtripInput,
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
        (0usize..=64).prop_map(|d| (u32::MAX as usize).saturating_sub(32).saturating_add(d)),
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
