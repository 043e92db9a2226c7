//! `cmsg_ip`: the UDP and IP messages of `src/cmsg/ip.rs`, both ways.
//!
//! Every input is read twice:
//! - as control bytes, in the format of `cmsg_decode` (see [`split_control_input`]): the owning
//!   walk (`ControlMessages`) never panics, yields the same messages as `RawIter` (level, type,
//!   data, offset, `cmsg_len`), and types exactly those a plain model of the documented rules
//!   ([`model_decode`], reading libc's structs) types, to the same values; each typed value that
//!   has a push encodes and decodes back to itself;
//! - as an [`IpInput`] by `arbitrary`: every typed push (`UDP_SEGMENT`, `IP_PKTINFO`,
//!   `IPV6_PKTINFO`, the source address, `IP_TOS`, `IPV6_TCLASS`, `IP_TTL`, `IPV6_HOPLIMIT`,
//!   `SCM_TXTIME`) and raw messages as the kernel sends them, checked push by push by
//!   [`encode_checked`]; the bytes are exactly libc's structs, and decode to the values pushed.
//!
//! The owning walk closes the descriptors of `SCM_RIGHTS` and `SCM_PIDFD` messages, so it never
//! sees one here: in bytes from the input their type is overwritten first.

use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ancillary::cmsg::{
    CmsgBuffer, ControlMessage, ControlMessages, Credentials, Encoder, Ipv4PktInfo, Ipv6PktInfo,
    Timestamp, SCM_PIDFD,
};
use ancillary::Error;
use arbitrary::{Arbitrary, Unstructured};

use super::{checked_walk, encode_checked, split_control_input, Expected, Push};

/// What a message decodes to, without its borrowed or owned parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typed {
    /// Left raw: not a type the crate decodes, or too short or out of range for it.
    Raw,
    Credentials(Credentials),
    UdpGro(u16),
    IpPktInfo(Ipv4PktInfo),
    Ipv6PktInfo(Ipv6PktInfo),
    IpTos(u8),
    Ipv6TrafficClass(u8),
    IpTtl(u8),
    Ipv6HopLimit(u8),
    TimestampNs(Timestamp),
    RxqOverflow(u32),
}

/// What the owning walk yielded, as a [`Typed`].
fn typed(m: &ControlMessage<'_>) -> Typed {
    match m {
        ControlMessage::Raw(_) => Typed::Raw,
        ControlMessage::Credentials(c) => Typed::Credentials(*c),
        ControlMessage::UdpGro(v) => Typed::UdpGro(*v),
        ControlMessage::IpPktInfo(v) => Typed::IpPktInfo(*v),
        ControlMessage::Ipv6PktInfo(v) => Typed::Ipv6PktInfo(*v),
        ControlMessage::IpTos(v) => Typed::IpTos(*v),
        ControlMessage::Ipv6TrafficClass(v) => Typed::Ipv6TrafficClass(*v),
        ControlMessage::IpTtl(v) => Typed::IpTtl(*v),
        ControlMessage::Ipv6HopLimit(v) => Typed::Ipv6HopLimit(*v),
        ControlMessage::TimestampNs(v) => Typed::TimestampNs(*v),
        ControlMessage::RxqOverflow(v) => Typed::RxqOverflow(*v),
        other => panic!("descriptors or an unknown message from bytes that hold none: {other:?}"),
    }
}

/// A `T` read from the start of `d`, if `d` holds one.
///
/// # Safety
/// `T` must be plain data, valid for any bit pattern (libc's `ucred`, `in_pktinfo`,
/// `in6_pktinfo`).
unsafe fn read_struct<T>(d: &[u8]) -> Option<T> {
    let b = d.get(..size_of::<T>())?;
    // SAFETY: b holds size_of::<T>() initialized bytes, read_unaligned has no alignment
    // requirement, and the caller promises any bit pattern is a valid T.
    Some(unsafe { b.as_ptr().cast::<T>().read_unaligned() })
}

/// The `int` at the start of `d`.
fn int(d: &[u8]) -> Option<libc::c_int> {
    Some(libc::c_int::from_ne_bytes(*d.first_chunk()?))
}

/// What a received message must decode to, as `src/cmsg/ip.rs` (and `creds.rs`) document it,
/// written out plainly and reading libc's structs: a message shorter than its type, or with a
/// value out of range for it, stays raw; bytes past the type are ignored.
pub(crate) fn model_decode(level: libc::c_int, ty: libc::c_int, d: &[u8]) -> Typed {
    let byte = |d: &[u8]| int(d).and_then(|v| u8::try_from(v).ok());
    let typed = match (level, ty) {
        (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => {
            // SAFETY: ucred is three integers.
            unsafe { read_struct::<libc::ucred>(d) }.map(|u| {
                Typed::Credentials(Credentials {
                    pid: u.pid,
                    uid: u.uid,
                    gid: u.gid,
                })
            })
        }
        (libc::SOL_UDP, libc::UDP_GRO) => int(d)
            .and_then(|v| u16::try_from(v).ok())
            .map(Typed::UdpGro),
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
            // SAFETY: in_pktinfo is an int and two in_addr (a u32 each).
            unsafe { read_struct::<libc::in_pktinfo>(d) }.map(|p| {
                Typed::IpPktInfo(Ipv4PktInfo {
                    ifindex: p.ipi_ifindex as u32,
                    spec_dst: Ipv4Addr::from(p.ipi_spec_dst.s_addr.to_ne_bytes()),
                    addr: Ipv4Addr::from(p.ipi_addr.s_addr.to_ne_bytes()),
                })
            })
        }
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
            // SAFETY: in6_pktinfo is 16 bytes of address and an unsigned int.
            unsafe { read_struct::<libc::in6_pktinfo>(d) }.map(|p| {
                Typed::Ipv6PktInfo(Ipv6PktInfo {
                    addr: Ipv6Addr::from(p.ipi6_addr.s6_addr),
                    ifindex: p.ipi6_ifindex,
                })
            })
        }
        // The kernel sends one byte; an int is accepted as well.
        (libc::IPPROTO_IP, libc::IP_TOS) => match d.len() {
            0 => None,
            1..=3 => Some(Typed::IpTos(d[0])),
            _ => byte(d).map(Typed::IpTos),
        },
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => byte(d).map(Typed::Ipv6TrafficClass),
        (libc::IPPROTO_IP, libc::IP_TTL) => byte(d).map(Typed::IpTtl),
        (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => byte(d).map(Typed::Ipv6HopLimit),
        (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
            // Two 64-bit words from 16 bytes on; two 32-bit words in exactly 8.
            let words = match d.len() {
                16.. => Some((
                    i64::from_ne_bytes(d[..8].try_into().expect("8 bytes")),
                    i64::from_ne_bytes(d[8..16].try_into().expect("8 bytes")),
                )),
                8 => Some((
                    i64::from(i32::from_ne_bytes(d[..4].try_into().expect("4 bytes"))),
                    i64::from(i32::from_ne_bytes(d[4..8].try_into().expect("4 bytes"))),
                )),
                _ => None,
            };
            words
                .filter(|&(_, nsec)| (0..1_000_000_000).contains(&nsec))
                .map(|(sec, nsec)| {
                    Typed::TimestampNs(Timestamp {
                        sec,
                        nsec: nsec as u32,
                    })
                })
        }
        (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) => d
            .first_chunk()
            .map(|w| Typed::RxqOverflow(u32::from_ne_bytes(*w))),
        _ => None,
    };
    typed.unwrap_or(Typed::Raw)
}

/// Pushes a typed value with the encoder's own method, where it has one; `None` where it has
/// none (`UDP_GRO`, `SCM_TIMESTAMPNS`, `SO_RXQ_OVFL` are only received).
fn push_typed(enc: &mut Encoder<'_, '_>, t: Typed) -> Option<Result<(), Error>> {
    let r = match t {
        Typed::Credentials(c) => enc.push_credentials(c),
        Typed::IpPktInfo(p) => enc.push_ip_pktinfo(p),
        Typed::Ipv6PktInfo(p) => enc.push_ipv6_pktinfo(p),
        Typed::IpTos(v) => enc.push_ip_tos(v),
        Typed::Ipv6TrafficClass(v) => enc.push_ipv6_tclass(v),
        Typed::IpTtl(v) => enc.push_ip_ttl(v),
        Typed::Ipv6HopLimit(v) => enc.push_ipv6_hoplimit(v),
        Typed::Raw | Typed::UdpGro(_) | Typed::TimestampNs(_) | Typed::RxqOverflow(_) => {
            return None
        }
    };
    Some(r.map(drop))
}

/// A value pushed with its own method decodes back to itself.
fn reencodes(t: Typed) {
    let mut st = CmsgBuffer::<64>::new();
    let mut enc = st.encoder();
    let Some(r) = push_typed(&mut enc, t) else {
        return;
    };
    assert_eq!(r, Ok(()), "{t:?} into 64 bytes");
    let len = enc.len();
    // SAFETY: the buffer holds one message pushed by push_typed, none of which is SCM_RIGHTS or
    // SCM_PIDFD: the walk has no descriptor to hand out or close.
    let got: Vec<Typed> = unsafe { ControlMessages::from_kernel(&mut st[..len]) }
        .map(|m| typed(&m))
        .collect();
    assert_eq!(got, [t], "{t:?} pushed and decoded");
}

/// Whether the owning walk would treat the message as descriptors.
fn holds_fds(level: libc::c_int, ty: libc::c_int) -> bool {
    level == libc::SOL_SOCKET && (ty == libc::SCM_RIGHTS || ty == SCM_PIDFD)
}

/// A type no decoder knows, which the owning walk leaves raw.
const NEUTRAL_TYPE: libc::c_int = -1;

/// Control bytes from the input through the owning walk, compared with `RawIter` and the
/// model. `SCM_RIGHTS` and `SCM_PIDFD` headers get [`NEUTRAL_TYPE`] first (the walk's shape
/// does not change: it depends on `cmsg_len` only).
fn decode_bytes(bytes: &[u8]) {
    let mut buf = bytes.to_vec();
    let raw: Vec<_> = checked_walk(&buf)
        .iter()
        .map(|m| (m.offset, m.level, m.ty, m.cmsg_len, m.data.to_vec()))
        .collect();
    for &(offset, level, ty, ..) in &raw {
        if holds_fds(level, ty) {
            let at = offset + offset_of!(libc::cmsghdr, cmsg_type);
            buf[at..at + size_of::<libc::c_int>()].copy_from_slice(&NEUTRAL_TYPE.to_ne_bytes());
        }
    }
    let mut n = 0usize;
    // SAFETY: every SCM_RIGHTS and SCM_PIDFD header of buf was given another type just above,
    // so the walk has no descriptor to hand out or close.
    for (i, m) in unsafe { ControlMessages::from_kernel(&mut buf) }.enumerate() {
        let (offset, level, ty, cmsg_len, data) = raw
            .get(i)
            .unwrap_or_else(|| panic!("the owning walk yields more than RawIter's {}", raw.len()));
        let ty = if holds_fds(*level, *ty) {
            NEUTRAL_TYPE
        } else {
            *ty
        };
        let t = typed(&m);
        assert_eq!(t, model_decode(*level, ty, data), "message {i}");
        if let ControlMessage::Raw(r) = &m {
            assert_eq!(
                (r.offset, r.level, r.ty, r.cmsg_len, r.data),
                (*offset, *level, ty, *cmsg_len, &data[..]),
                "raw message {i}"
            );
        }
        reencodes(t);
        n += 1;
    }
    assert_eq!(n, raw.len(), "the owning walk ends before RawIter");
}

/// A round trip of UDP and IP messages.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) struct IpInput {
    /// Bytes of storage before it is aligned (taken modulo 1024: the messages are small).
    pub(crate) capacity: u16,
    /// Where the storage starts relative to an aligned address (taken modulo `ALIGN`).
    pub(crate) misalign: u8,
    pub(crate) msgs: Vec<IpMsg>,
}

/// Level and type of the messages a receiver decodes, and of those only sent.
pub(crate) const RECEIVED: [(libc::c_int, libc::c_int); 13] = [
    (libc::SOL_UDP, libc::UDP_GRO),
    (libc::SOL_UDP, libc::UDP_SEGMENT),
    (libc::IPPROTO_IP, libc::IP_PKTINFO),
    (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO),
    (libc::IPPROTO_IP, libc::IP_TOS),
    (libc::IPPROTO_IPV6, libc::IPV6_TCLASS),
    (libc::IPPROTO_IP, libc::IP_TTL),
    (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT),
    (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS),
    (libc::SOL_SOCKET, libc::SO_RXQ_OVFL),
    (libc::SOL_SOCKET, libc::SCM_CREDENTIALS),
    (libc::SOL_SOCKET, libc::SCM_TXTIME),
    (libc::IPPROTO_IP, libc::IP_RECVERR),
];

/// One UDP or IP message to push.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) enum IpMsg {
    UdpSegment(u16),
    IpPktInfo {
        ifindex: u32,
        spec_dst: Ipv4Addr,
        addr: Ipv4Addr,
    },
    Ipv6PktInfo {
        addr: Ipv6Addr,
        ifindex: u32,
    },
    SourceIp(IpAddr),
    IpTos(u8),
    Ipv6TrafficClass(u8),
    IpTtl(u8),
    Ipv6HopLimit(u8),
    Txtime(u64),
    /// `push_raw` of `RECEIVED[kind % 13]` with any data: a message as the kernel might send
    /// it, of any length.
    Received {
        kind: u8,
        data: Vec<u8>,
    },
}

/// The bytes of a plain-data value.
fn struct_bytes<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: T is one of libc's plain-data structs without padding (in_pktinfo, in6_pktinfo),
    // so all its bytes are initialized integers.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(a.octets()),
    }
}

impl IpMsg {
    /// The source address push as the pktinfo push it stands for.
    fn resolved(&self) -> IpMsg {
        match self {
            IpMsg::SourceIp(IpAddr::V4(a)) => IpMsg::IpPktInfo {
                ifindex: 0,
                spec_dst: *a,
                addr: Ipv4Addr::UNSPECIFIED,
            },
            IpMsg::SourceIp(IpAddr::V6(a)) => IpMsg::Ipv6PktInfo {
                addr: *a,
                ifindex: 0,
            },
            other => other.clone(),
        }
    }

    /// What the message decodes to once received.
    fn typed(&self) -> Typed {
        match self.resolved() {
            IpMsg::UdpSegment(_) | IpMsg::Txtime(_) => Typed::Raw,
            IpMsg::IpPktInfo {
                ifindex,
                spec_dst,
                addr,
            } => Typed::IpPktInfo(Ipv4PktInfo {
                ifindex,
                spec_dst,
                addr,
            }),
            IpMsg::Ipv6PktInfo { addr, ifindex } => {
                Typed::Ipv6PktInfo(Ipv6PktInfo { addr, ifindex })
            }
            IpMsg::IpTos(v) => Typed::IpTos(v),
            IpMsg::Ipv6TrafficClass(v) => Typed::Ipv6TrafficClass(v),
            IpMsg::IpTtl(v) => Typed::IpTtl(v),
            IpMsg::Ipv6HopLimit(v) => Typed::Ipv6HopLimit(v),
            IpMsg::Received { .. } => {
                let e = self.expected();
                model_decode(e.level, e.ty, &e.data)
            }
            IpMsg::SourceIp(_) => unreachable!("resolved"),
        }
    }
}

impl Push for IpMsg {
    fn expected(&self) -> Expected {
        let int = |v: u8| libc::c_int::from(v).to_ne_bytes().to_vec();
        let (level, ty, data) = match self.resolved() {
            IpMsg::UdpSegment(s) => (libc::SOL_UDP, libc::UDP_SEGMENT, s.to_ne_bytes().to_vec()),
            IpMsg::IpPktInfo {
                ifindex,
                spec_dst,
                addr,
            } => {
                let p = libc::in_pktinfo {
                    ipi_ifindex: ifindex as libc::c_int,
                    ipi_spec_dst: in_addr(spec_dst),
                    ipi_addr: in_addr(addr),
                };
                (libc::IPPROTO_IP, libc::IP_PKTINFO, struct_bytes(&p))
            }
            IpMsg::Ipv6PktInfo { addr, ifindex } => {
                let p = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: addr.octets(),
                    },
                    ipi6_ifindex: ifindex,
                };
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, struct_bytes(&p))
            }
            IpMsg::IpTos(v) => (libc::IPPROTO_IP, libc::IP_TOS, int(v)),
            IpMsg::Ipv6TrafficClass(v) => (libc::IPPROTO_IPV6, libc::IPV6_TCLASS, int(v)),
            IpMsg::IpTtl(v) => (libc::IPPROTO_IP, libc::IP_TTL, int(v)),
            IpMsg::Ipv6HopLimit(v) => (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, int(v)),
            IpMsg::Txtime(n) => (libc::SOL_SOCKET, libc::SCM_TXTIME, n.to_ne_bytes().to_vec()),
            IpMsg::Received { kind, data } => {
                let (level, ty) = RECEIVED[usize::from(kind) % RECEIVED.len()];
                (level, ty, data)
            }
            IpMsg::SourceIp(_) => unreachable!("resolved"),
        };
        Expected {
            level,
            ty,
            data,
            fds: 0,
            refused: false,
        }
    }

    fn push(&self, enc: &mut Encoder<'_, '_>) -> Result<(), Error> {
        match self {
            IpMsg::UdpSegment(s) => enc.push_udp_segment(*s),
            IpMsg::IpPktInfo {
                ifindex,
                spec_dst,
                addr,
            } => enc.push_ip_pktinfo(Ipv4PktInfo {
                ifindex: *ifindex,
                spec_dst: *spec_dst,
                addr: *addr,
            }),
            IpMsg::Ipv6PktInfo { addr, ifindex } => enc.push_ipv6_pktinfo(Ipv6PktInfo {
                addr: *addr,
                ifindex: *ifindex,
            }),
            IpMsg::SourceIp(a) => enc.push_source_ip(*a),
            IpMsg::IpTos(v) => enc.push_ip_tos(*v),
            IpMsg::Ipv6TrafficClass(v) => enc.push_ipv6_tclass(*v),
            IpMsg::IpTtl(v) => enc.push_ip_ttl(*v),
            IpMsg::Ipv6HopLimit(v) => enc.push_ipv6_hoplimit(*v),
            IpMsg::Txtime(n) => enc.push_txtime(*n),
            IpMsg::Received { kind, data } => {
                let (level, ty) = RECEIVED[usize::from(*kind) % RECEIVED.len()];
                enc.push_raw(level, ty, data)
            }
        }
        .map(drop)
    }
}

/// The round trip of an [`IpInput`]: pushes checked by [`encode_checked`], the bytes walked by
/// `RawIter` (exactly the messages pushed, as libc's structs) and by the owning walk (the
/// values pushed).
pub(crate) fn check_ip_roundtrip(input: &IpInput) {
    let capacity = usize::from(input.capacity) % 1024;
    let misalign = usize::from(input.misalign) % super::STORAGE_ALIGN;
    encode_checked(capacity, misalign, &input.msgs, |bytes, pushed| {
        let items = checked_walk(bytes);
        assert_eq!(items.len(), pushed.len(), "messages decoded");
        for (m, p) in items.iter().zip(pushed) {
            let e = &p.expected;
            assert_eq!(
                (m.offset, m.level, m.ty, m.data),
                (p.offset, e.level, e.ty, &e.data[..]),
                "{:?}",
                input.msgs[p.index]
            );
            assert!(!holds_fds(m.level, m.ty));
        }
        let mut n = 0usize;
        // SAFETY: the bytes hold only the messages pushed, none of them SCM_RIGHTS or
        // SCM_PIDFD (checked just above): the walk has no descriptor to hand out or close.
        for (m, p) in unsafe { ControlMessages::from_kernel(bytes) }.zip(pushed) {
            let msg = &input.msgs[p.index];
            let e = &p.expected;
            // The model reads libc's structs back to the values pushed ...
            assert_eq!(model_decode(e.level, e.ty, &e.data), msg.typed(), "{msg:?}");
            // ... and so does the crate.
            assert_eq!(typed(&m), msg.typed(), "{msg:?}");
            n += 1;
        }
        assert_eq!(n, pushed.len(), "the owning walk ends early");
    });
}

/// `cmsg_ip`: the input as control bytes through the owning walk, and as an [`IpInput`]
/// round trip.
pub(crate) fn cmsg_ip(data: &[u8]) {
    let (controllen, bytes) = split_control_input(data);
    decode_bytes(&bytes[..controllen.min(bytes.len())]);
    if let Ok(input) = IpInput::arbitrary_take_rest(Unstructured::new(data)) {
        check_ip_roundtrip(&input);
    }
}
