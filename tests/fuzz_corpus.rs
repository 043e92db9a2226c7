//! The fuzz corpus on stable: every file of every target's corpus (`fuzz/corpus/<target>/`)
//! replayed through the targets' own checks, and the program that makes the seeds.
//!
//! The seeds are made by [`seeds`]: real control buffers that the kernel wrote into `recvmsg`
//! over socketpairs and loopback UDP (`kernel-*`), hand-made edge cases (`edge-*`) and round
//! trip inputs chosen for their shape (`rt-*`). To write them into the corpus:
//!
//! ```text
//! ANCILLARY_WRITE_CORPUS=1 cargo test --test fuzz_corpus
//! ```
//!
//! Kernel captures hold this run's descriptor numbers, pid and uids, so they differ from run to
//! run in those numbers only; everything else is byte for byte reproducible.
#![cfg(unix)]

#[allow(dead_code)]
mod fuzz_checks;

use std::io::{IoSlice, IoSliceMut};
use std::net::UdpSocket;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};

use ancillary::cmsg::{
    space, space_for_fds, CmsgBuffer, Credentials, RawIter, CREDENTIALS_SPACE, HEADER_LEN,
    MAX_RIGHTS_SPACE,
};
use ancillary::{RecvFlags, RecvMsg, SendMsg};
use arbitrary::{Arbitrary, Unstructured};
use fuzz_checks::{control_input, Msg, RoundtripInput, TARGETS};
use nix::sys::socket::{self as sock, sockopt};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = corpus_root().join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "corpus directory {} is missing ({e}): the replay needs it",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_passes_its_targets_check() {
    let mut failed = Vec::new();
    for (target, check) in TARGETS {
        let files = corpus_files(target);
        assert!(!files.is_empty(), "the corpus of {target} is empty");
        for file in files {
            let data = std::fs::read(&file).expect("read corpus file");
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "checks failed on: {failed:#?}");
}

#[test]
fn every_fuzz_target_has_a_check_and_a_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = TARGETS
        .iter()
        .chain(fuzz_checks::SERIAL_TARGETS)
        .map(|(t, _)| t.to_string())
        .collect();
    known.sort();
    assert_eq!(on_disk, known);
    for t in &known {
        assert!(corpus_files(t).len() >= 20, "{t} has fewer than 20 seeds");
    }
}

/// Every seed [`seeds`] makes is in the corpus; the hand-made ones byte for byte.
#[test]
fn the_corpus_holds_the_generated_seeds() {
    let write = std::env::var_os("ANCILLARY_WRITE_CORPUS").is_some();
    for seed in seeds() {
        let check = TARGETS
            .iter()
            .find(|(t, _)| *t == seed.target)
            .expect("known target")
            .1;
        check(&seed.bytes);
        let path = corpus_root().join(seed.target).join(&seed.name);
        if write {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("create corpus dir");
            std::fs::write(&path, &seed.bytes).expect("write seed");
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{} ({e}): regenerate with ANCILLARY_WRITE_CORPUS=1",
                path.display()
            )
        });
        if seed.name.starts_with("edge-") {
            assert_eq!(on_disk, seed.bytes, "{} is stale", path.display());
        }
    }
}

struct Seed {
    target: &'static str,
    name: String,
    bytes: Vec<u8>,
}

/// All seeds: control buffers go to `cmsg_decode`, `cmsg_libc_diff` and `cmsg_ip`.
fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut control = kernel_inputs();
    control.extend(edge_inputs());
    for (name, bytes) in ip_inputs() {
        out.push(Seed {
            target: "cmsg_ip",
            name,
            bytes,
        });
    }
    for (name, bytes) in iovec_inputs() {
        out.push(Seed {
            target: "iovec_model",
            name,
            bytes,
        });
    }
    for (name, bytes) in control {
        for target in ["cmsg_decode", "cmsg_libc_diff", "cmsg_ip"] {
            out.push(Seed {
                target,
                name: name.clone(),
                bytes: bytes.clone(),
            });
        }
    }
    for (name, bytes) in roundtrip_inputs() {
        out.push(Seed {
            target: "cmsg_roundtrip",
            name,
            bytes,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Real kernel buffers

/// What one `recvmsg` received: the control bytes and the flags.
struct Capture {
    control: Vec<u8>,
    flags: RecvFlags,
}

impl Capture {
    fn truncated(&self) -> bool {
        self.flags.contains(RecvFlags::CTRUNC)
    }

    /// `(level, type, data length, cmsg_len)` of each message.
    fn shape(&self) -> Vec<(i32, i32, usize, usize)> {
        RawIter::new(&self.control)
            .map(|m| (m.level, m.ty, m.data.len(), m.cmsg_len))
            .collect()
    }
}

/// Receives one message on `rx` with `room` bytes of control buffer (aligned), and keeps a
/// copy of the control bytes. The `Received` drops here, closing every descriptor that arrived.
fn capture<Fd: AsFd>(rx: Fd, room: usize) -> Capture {
    let mut data = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut storage = CmsgBuffer::<{ MAX_RIGHTS_SPACE + 256 }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut storage[..room]);
    let got = recv.recv(rx).expect("recvmsg");
    Capture {
        control: got.control_bytes().to_vec(),
        flags: got.flags(),
    }
}

/// Sends one byte with `n` copies of a descriptor for `/dev/null` in one `SCM_RIGHTS` message
/// (split into `parts` messages), with the sender's credentials if `creds`.
fn send_fds<Fd: AsFd>(tx: Fd, n: usize, parts: usize, creds: bool) {
    let null = std::fs::File::open("/dev/null").expect("/dev/null");
    let fds: Vec<BorrowedFd<'_>> = vec![null.as_fd(); n];
    let mut storage = CmsgBuffer::<{ MAX_RIGHTS_SPACE + 256 }>::new();
    let mut enc = storage.encoder();
    if n > 0 {
        for chunk in fds.chunks(n.div_ceil(parts)) {
            enc.push_rights(chunk).expect("room for the fds");
        }
    }
    if creds {
        enc.push_credentials(Credentials::current())
            .expect("room for credentials");
    }
    let sent = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&enc)
        .send(tx)
        .expect("sendmsg");
    assert_eq!(sent, 1);
}

fn passcred<Fd: AsFd>(fd: Fd) {
    sock::setsockopt(&fd, sockopt::PassCred, &true).expect("SO_PASSCRED");
}

fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    sock::socketpair(
        sock::AddressFamily::Unix,
        sock::SockType::SeqPacket,
        None,
        sock::SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair")
}

const SOL: i32 = libc::SOL_SOCKET;
const RIGHTS: i32 = libc::SCM_RIGHTS;
const CREDS: i32 = libc::SCM_CREDENTIALS;

/// Captures real control buffers, checks what the kernel did, and returns them as control
/// inputs: `msg_controllen` equal to what the kernel reported, plus a few with other lengths.
fn kernel_inputs() -> Vec<(String, Vec<u8>)> {
    let mut caps: Vec<(&str, Capture)> = Vec::new();
    let dgram = || UnixDatagram::pair().expect("socketpair");

    for (name, n) in [
        ("kernel-rights-1", 1usize),
        ("kernel-rights-8", 8),
        ("kernel-rights-253", 253),
    ] {
        let (a, b) = dgram();
        send_fds(&a, n, 1, false);
        let c = capture(&b, space_for_fds(n));
        assert!(!c.truncated());
        assert_eq!(c.shape(), [(SOL, RIGHTS, 4 * n, HEADER_LEN + 4 * n)]);
        caps.push((name, c));
    }
    // MSG_CTRUNC: 8 fds into room for 2; the kernel keeps 2 and closes 6.
    let (a, b) = dgram();
    send_fds(&a, 8, 1, false);
    let c = capture(&b, space_for_fds(2));
    assert!(c.truncated());
    assert_eq!(c.shape(), [(SOL, RIGHTS, 8, HEADER_LEN + 8)]);
    caps.push(("kernel-rights-8-into-2", c));
    // 30 bytes of room: 3 fds fit (14 bytes after the header), and the padding after them is
    // cut: cmsg_len 28, msg_controllen 30, not CMSG_SPACE(12) = 32.
    let (a, b) = dgram();
    send_fds(&a, 8, 1, false);
    let c = capture(&b, 30);
    assert!(c.truncated());
    assert_eq!(c.shape(), [(SOL, RIGHTS, 12, HEADER_LEN + 12)]);
    assert_eq!(c.control.len(), 30);
    caps.push(("kernel-rights-8-into-30-bytes", c));
    // Room for a header only: no fd fits, nothing is written.
    let (a, b) = dgram();
    send_fds(&a, 3, 1, false);
    let c = capture(&b, HEADER_LEN);
    assert!(c.truncated());
    caps.push(("kernel-rights-3-into-header", c));
    // Two SCM_RIGHTS messages sent arrive as one.
    let (a, b) = dgram();
    send_fds(&a, 5, 2, false);
    let c = capture(&b, space_for_fds(5));
    assert_eq!(c.shape(), [(SOL, RIGHTS, 20, HEADER_LEN + 20)]);
    caps.push(("kernel-rights-3-and-2-merged", c));
    // Stream and seqpacket sockets.
    let (a, b) = UnixStream::pair().expect("socketpair");
    send_fds(&a, 2, 1, false);
    let c = capture(&b, space_for_fds(2));
    assert_eq!(c.shape(), [(SOL, RIGHTS, 8, HEADER_LEN + 8)]);
    caps.push(("kernel-stream-rights-2", c));
    let (a, b) = seqpacket_pair();
    send_fds(&a, 4, 1, false);
    let c = capture(&b, space_for_fds(4));
    assert_eq!(c.shape(), [(SOL, RIGHTS, 16, HEADER_LEN + 16)]);
    caps.push(("kernel-seqpacket-rights-4", c));

    // SCM_CREDENTIALS with SO_PASSCRED: attached by the kernel, or sent explicitly.
    let me = Credentials::current();
    for (name, sent) in [
        ("kernel-creds-passcred", false),
        ("kernel-creds-sent", true),
    ] {
        let (a, b) = dgram();
        passcred(&b);
        send_fds(&a, 0, 1, sent);
        let c = capture(&b, CREDENTIALS_SPACE);
        assert_eq!(c.shape(), [(SOL, CREDS, 12, HEADER_LEN + 12)]);
        let m = RawIter::new(&c.control).next().expect("credentials");
        assert_eq!(
            m.data,
            &[
                me.pid.to_ne_bytes(),
                me.uid.to_ne_bytes(),
                me.gid.to_ne_bytes()
            ]
            .concat()[..]
        );
        caps.push((name, c));
    }
    // Credentials and rights together, then too little room for both.
    let (a, b) = dgram();
    passcred(&b);
    send_fds(&a, 3, 1, false);
    let c = capture(&b, CREDENTIALS_SPACE + space_for_fds(3));
    let mut shape = c.shape();
    shape.sort();
    assert_eq!(
        shape,
        [
            (SOL, RIGHTS, 12, HEADER_LEN + 12),
            (SOL, CREDS, 12, HEADER_LEN + 12)
        ]
    );
    caps.push(("kernel-creds-and-rights-3", c));
    let (a, b) = dgram();
    passcred(&b);
    send_fds(&a, 4, 1, false);
    let c = capture(&b, CREDENTIALS_SPACE + space_for_fds(1));
    assert!(c.truncated());
    caps.push(("kernel-creds-and-rights-4-into-1", c));
    // Credentials cut short: the kernel writes a shorter cmsg_len and what data fits.
    for (name, room) in [
        ("kernel-creds-into-24", 24),
        ("kernel-creds-into-20", 20),
        ("kernel-creds-into-16", 16),
    ] {
        let (a, b) = dgram();
        passcred(&b);
        send_fds(&a, 0, 1, false);
        let c = capture(&b, room);
        assert!(c.truncated());
        assert_eq!(c.shape(), [(SOL, CREDS, room - HEADER_LEN, room)]);
        caps.push((name, c));
    }

    // Loopback UDP: several IP-level messages, some with data lengths that leave padding.
    let (name, c) = udp_capture(256);
    assert!(!c.truncated());
    let shape = c.shape();
    assert!(
        shape.contains(&(libc::IPPROTO_IP, libc::IP_TOS, 1, HEADER_LEN + 1)),
        "{shape:?}"
    );
    assert!(shape.iter().any(|s| s.1 == libc::IP_PKTINFO), "{shape:?}");
    caps.push((name, c));
    let (name, c) = udp_capture(40);
    assert!(c.truncated());
    caps.push((name, c));

    let mut out = Vec::new();
    for (name, c) in caps {
        let len = c.control.len() as u64;
        out.push((name.to_string(), control_input(len, &c.control)));
        if name == "kernel-rights-8"
            || name == "kernel-creds-and-rights-3"
            || name == "kernel-udp-4-messages"
        {
            // The same bytes with msg_controllen past the end, and cutting the last header.
            out.push((
                format!("{name}-controllen-max"),
                control_input(u64::MAX, &c.control),
            ));
            out.push((
                format!("{name}-controllen-short"),
                control_input(len - 9, &c.control),
            ));
        }
    }
    out
}

/// Loopback UDP with `IP_PKTINFO`, `IP_RECVTOS`, `IP_RECVTTL` and `SO_TIMESTAMPNS` on, received
/// with `room` bytes of control buffer.
fn udp_capture(room: usize) -> (&'static str, Capture) {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock::setsockopt(&rx, sockopt::Ipv4PacketInfo, &true).expect("IP_PKTINFO");
    sock::setsockopt(&rx, sockopt::IpRecvTos, &true).expect("IP_RECVTOS");
    sock::setsockopt(&rx, sockopt::Ipv4RecvTtl, &true).expect("IP_RECVTTL");
    sock::setsockopt(&rx, sockopt::ReceiveTimestampns, &true).expect("SO_TIMESTAMPNS");
    tx.send_to(b"x", rx.local_addr().expect("addr"))
        .expect("send");
    let c = capture(&rx, room);
    let name = if room >= 256 {
        "kernel-udp-4-messages"
    } else {
        "kernel-udp-into-40-bytes"
    };
    (name, c)
}

// ---------------------------------------------------------------------------------------------
// Hand-made control buffers

/// A header as the bytes of a `cmsghdr` (64-bit Linux layout).
fn hdr(cmsg_len: usize, level: i32, ty: i32) -> Vec<u8> {
    [
        &cmsg_len.to_ne_bytes()[..],
        &level.to_ne_bytes(),
        &ty.to_ne_bytes(),
    ]
    .concat()
}

/// A message: header, `data_len` bytes of `fill`, padded to `space(data_len)`.
fn msg(cmsg_len: usize, level: i32, ty: i32, data_len: usize, fill: u8) -> Vec<u8> {
    let mut m = hdr(cmsg_len, level, ty);
    m.resize(space(data_len).max(HEADER_LEN), 0);
    m[HEADER_LEN..HEADER_LEN + data_len].fill(fill);
    m
}

fn edge_inputs() -> Vec<(String, Vec<u8>)> {
    let whole =
        |name: &str, buf: Vec<u8>| (name.to_string(), control_input(buf.len() as u64, &buf));
    let fd = |n: i32| n.to_ne_bytes();
    let rights2 = [&hdr(24, SOL, RIGHTS)[..], &fd(3), &fd(4)].concat();
    let mut v = vec![
        ("edge-empty-input".to_string(), Vec::new()),
        ("edge-controllen-cut".to_string(), vec![5, 0, 0]),
        whole("edge-empty-buffer", Vec::new()),
        whole("edge-rights-2", rights2.clone()),
        (
            "edge-controllen-cuts-header".to_string(),
            control_input(10, &rights2),
        ),
        (
            "edge-controllen-huge".to_string(),
            control_input(u64::MAX, &rights2),
        ),
        (
            "edge-controllen-zero".to_string(),
            control_input(0, &rights2),
        ),
    ];
    for len in [0usize, 8, 15] {
        v.push(whole(
            &format!("edge-len-{len}"),
            msg(len, SOL, RIGHTS, 8, 0x11),
        ));
    }
    v.push(whole("edge-len-16-header-only", hdr(16, 7, 7)));
    v.push(whole(
        "edge-len-17-one-byte",
        msg(17, libc::IPPROTO_IP, libc::IP_TOS, 1, 0x02),
    ));
    v.push(whole(
        "edge-len-1000-runs-past",
        msg(1000, SOL, RIGHTS, 8, 0x22),
    ));
    for (name, len) in [
        ("edge-len-max", usize::MAX),
        ("edge-len-max-minus-7", usize::MAX - 7),
        ("edge-len-max-minus-8", usize::MAX - 8),
        ("edge-len-max-minus-23", usize::MAX - 23),
    ] {
        v.push(whole(
            name,
            [msg(24, SOL, RIGHTS, 8, 0x33), msg(len, 1, 2, 8, 0x44)].concat(),
        ));
    }
    // A good message, then one whose cmsg_len is below the header size.
    v.push(whole(
        "edge-second-len-8",
        [msg(20, SOL, RIGHTS, 4, 0x55), msg(8, 1, 1, 0, 0)].concat(),
    ));
    // A good message, then a second one that runs past the end.
    v.push(whole(
        "edge-second-runs-past",
        [msg(20, SOL, RIGHTS, 4, 0x66), msg(64, 1, 1, 8, 0x77)].concat(),
    ));
    // A good message and 15 bytes of a next header.
    let mut partial = msg(20, SOL, RIGHTS, 4, 0x66);
    partial.extend_from_slice(&hdr(16, 1, 1)[..15]);
    v.push(whole("edge-trailing-partial-header", partial));
    // Data lengths that leave padding, one after the other.
    let chain: Vec<u8> = (0..6usize)
        .flat_map(|i| msg(HEADER_LEN + i * 3 + 1, 1, i as i32, i * 3 + 1, i as u8))
        .collect();
    v.push(whole("edge-unaligned-lengths", chain));
    // A message whose cmsg_len leaves no padding although the next header is not aligned to it.
    let mut no_pad = msg(HEADER_LEN + 3, 1, 1, 3, 0x88);
    no_pad.truncate(HEADER_LEN + 3);
    no_pad.extend_from_slice(&[0; 5]);
    no_pad.extend_from_slice(&msg(16, 2, 2, 0, 0));
    v.push(whole("edge-padding-then-header", no_pad));
    v.push(whole(
        "edge-64-empty-messages",
        (0..64).flat_map(|i| hdr(16, 0, i)).collect(),
    ));
    v
}

// ---------------------------------------------------------------------------------------------
// Round trip inputs

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn decode(bytes: &[u8]) -> Option<RoundtripInput> {
    RoundtripInput::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

/// The space all of `input`'s messages need.
fn total_space(input: &RoundtripInput) -> usize {
    input
        .msgs
        .iter()
        .map(|m| match m {
            Msg::Rights(v) => space_for_fds(v.len().min(fuzz_checks::MAX_FDS_PER_MSG)),
            Msg::RightsRun { count, .. } => space_for_fds(usize::from(*count) % 301),
            Msg::RawRights(d) | Msg::Raw { data: d, .. } => space(d.len()),
            Msg::Credentials { .. } => CREDENTIALS_SPACE,
        })
        .sum()
}

fn fits(i: &RoundtripInput) -> bool {
    total_space(i) + 8 <= usize::from(i.capacity)
}

fn run_with(i: &RoundtripInput, n: usize) -> bool {
    i.msgs
        .iter()
        .any(|m| matches!(m, Msg::RightsRun { count, .. } if usize::from(*count) % 301 == n))
}

type Want = (&'static str, fn(&RoundtripInput) -> bool);

/// Round trip inputs of given shapes, found by decoding pseudo-random bytes until one fits
/// each shape (two per shape, with different sizes of input).
fn roundtrip_inputs() -> Vec<(String, Vec<u8>)> {
    let wants: &[Want] = &[
        ("no-messages", |i| i.msgs.is_empty()),
        ("rights-run-1", |i| {
            i.msgs.len() == 1 && run_with(i, 1) && fits(i)
        }),
        ("rights-run-8", |i| {
            i.msgs.len() <= 2 && run_with(i, 8) && fits(i)
        }),
        ("rights-run-253", |i| run_with(i, 253) && fits(i)),
        ("rights-run-300", |i| run_with(i, 300) && fits(i)),
        ("rights-list", |i| {
            i.msgs
                .iter()
                .any(|m| matches!(m, Msg::Rights(v) if v.len() >= 4))
                && fits(i)
        }),
        ("credentials", |i| {
            i.msgs.iter().any(|m| matches!(m, Msg::Credentials { .. })) && fits(i)
        }),
        ("raw-empty", |i| {
            i.msgs
                .iter()
                .any(|m| matches!(m, Msg::Raw { data, .. } if data.is_empty()))
                && fits(i)
        }),
        ("raw-odd-lengths", |i| {
            i.msgs
                .iter()
                .filter(|m| matches!(m, Msg::Raw { data, .. } if data.len() % 2 == 1))
                .count()
                >= 2
                && fits(i)
        }),
        ("raw-rights-odd", |i| {
            i.msgs
                .iter()
                .any(|m| matches!(m, Msg::RawRights(d) if d.len() % 4 != 0))
                && fits(i)
        }),
        ("all-kinds", |i| {
            let has = |f: fn(&Msg) -> bool| i.msgs.iter().any(f);
            has(|m| matches!(m, Msg::Rights(_) | Msg::RightsRun { .. }))
                && has(|m| matches!(m, Msg::Credentials { .. }))
                && has(|m| matches!(m, Msg::Raw { .. }))
                && has(|m| matches!(m, Msg::RawRights(_)))
                && fits(i)
        }),
        ("zero-capacity", |i| i.capacity == 0 && !i.msgs.is_empty()),
        ("first-too-big", |i| {
            i.msgs.len() >= 2
                && usize::from(i.capacity) < 64
                && total_space(i) > usize::from(i.capacity)
        }),
        ("full-midway", |i| {
            let cap = usize::from(i.capacity);
            i.msgs.len() >= 3 && cap > 64 && total_space(i) > cap && total_space(i) < 4 * cap
        }),
        ("misaligned-storage", |i| {
            i.misalign % 8 != 0 && !i.msgs.is_empty() && fits(i)
        }),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // No capacity, storage starting one byte past an aligned address: the encoder is empty and
    // its (empty) bytes start where no aligned address is.
    let unaligned_empty = vec![0, 0, 1];
    let i = decode(&unaligned_empty).expect("decodes");
    assert_eq!((i.capacity, i.misalign, i.msgs.len()), (0, 1, 0));
    let mut out = vec![("rt-empty-unaligned-storage".to_string(), unaligned_empty)];
    for (name, want) in wants {
        for (k, len) in [(1, 48usize), (2, 600)] {
            let mut tries = 0u32;
            let bytes = loop {
                tries += 1;
                assert!(tries < 2_000_000, "no input found for {name}");
                let n = 1 + (rng.next() as usize) % len;
                let b = rng.bytes(n);
                if decode(&b).is_some_and(|i| want(&i)) {
                    break b;
                }
            };
            out.push((format!("rt-{name}-{k}"), bytes));
        }
    }
    out
}

/// A shape of input, by name.
type Shape<T> = (&'static str, fn(&T) -> bool);

/// Pseudo-random inputs of `len` bytes at most, each decoded with `decode`, until one passes
/// `want`: two per shape, with different sizes of input.
fn search<T>(
    rng: &mut Rng,
    prefix: &str,
    wants: &[Shape<T>],
    decode: fn(&[u8]) -> Option<T>,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, want) in wants {
        for (k, len) in [(1, 48usize), (2, 600)] {
            let mut tries = 0u32;
            let bytes = loop {
                tries += 1;
                assert!(tries < 2_000_000, "no input found for {name}");
                let n = 1 + (rng.next() as usize) % len;
                let b = rng.bytes(n);
                if decode(&b).is_some_and(|i| want(&i)) {
                    break b;
                }
            };
            out.push((format!("{prefix}-{name}-{k}"), bytes));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// UDP and IP messages

/// Hand-made control buffers of the messages `src/cmsg/ip.rs` decodes, at the edges of each
/// type (as the kernel sends it, shorter, out of range), and round trip inputs of chosen shapes.
/// (The kernel's own UDP captures come with the other control inputs.)
fn ip_inputs() -> Vec<(String, Vec<u8>)> {
    use fuzz_checks::ip::{IpInput, IpMsg};
    let whole =
        |name: &str, buf: Vec<u8>| (name.to_string(), control_input(buf.len() as u64, &buf));
    let message = |level: i32, ty: i32, data: &[u8]| {
        let mut m = msg(HEADER_LEN + data.len(), level, ty, data.len(), 0);
        m[HEADER_LEN..HEADER_LEN + data.len()].copy_from_slice(data);
        m
    };
    let int = |v: i32| v.to_ne_bytes().to_vec();
    let (ip, ip6, udp) = (libc::IPPROTO_IP, libc::IPPROTO_IPV6, libc::SOL_UDP);
    let mut ts16 = 1_700_000_000i64.to_ne_bytes().to_vec();
    ts16.extend_from_slice(&999_999_999i64.to_ne_bytes());
    let typed = [
        message(udp, libc::UDP_GRO, &int(1200)),
        message(
            ip,
            libc::IP_PKTINFO,
            &[1, 0, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2],
        ),
        message(
            ip6,
            libc::IPV6_PKTINFO,
            &[[0; 15].as_slice(), &[1, 2, 0, 0, 0]].concat(),
        ),
        message(ip, libc::IP_TOS, &[0xb9]),
        message(ip, libc::IP_TOS, &int(0x02)),
        message(ip6, libc::IPV6_TCLASS, &int(0x01)),
        message(ip, libc::IP_TTL, &int(64)),
        message(ip6, libc::IPV6_HOPLIMIT, &int(255)),
        message(SOL, libc::SCM_TIMESTAMPNS, &ts16),
        message(SOL, libc::SCM_TIMESTAMPNS, &[int(3), int(4)].concat()),
        message(SOL, libc::SO_RXQ_OVFL, &7u32.to_ne_bytes()),
    ]
    .concat();
    let out_of_range = [
        message(udp, libc::UDP_GRO, &int(-1)),
        message(udp, libc::UDP_GRO, &int(65536)),
        message(ip, libc::IP_PKTINFO, &[0; 11]),
        message(ip6, libc::IPV6_PKTINFO, &[0; 19]),
        message(ip, libc::IP_TOS, &[]),
        message(ip, libc::IP_TOS, &int(256)),
        message(ip6, libc::IPV6_TCLASS, &int(-1)),
        message(ip, libc::IP_TTL, &[1, 0, 0]),
        message(SOL, libc::SCM_TIMESTAMPNS, &[0; 12]),
        message(
            SOL,
            libc::SCM_TIMESTAMPNS,
            &[int(0), int(1_000_000_000)].concat(),
        ),
        message(SOL, libc::SO_RXQ_OVFL, &[0; 3]),
    ]
    .concat();
    // Descriptor messages among them: the check gives them another type before the owning walk.
    let with_fds = [
        message(SOL, RIGHTS, &int(0)),
        message(ip, libc::IP_TTL, &int(1)),
        message(SOL, ancillary::cmsg::SCM_PIDFD, &int(1)),
    ]
    .concat();
    let mut out = vec![
        whole("ip-every-type", typed),
        whole("ip-short-or-out-of-range", out_of_range),
        whole("ip-among-descriptor-messages", with_fds),
    ];
    fn has(i: &IpInput, f: fn(&IpMsg) -> bool) -> bool {
        i.msgs.iter().any(f)
    }
    fn fits(i: &IpInput) -> bool {
        usize::from(i.capacity) % 1024 >= 8 + i.msgs.len() * ancillary::cmsg::IPV6_PKTINFO_SPACE
    }
    let wants: &[Shape<IpInput>] = &[
        ("pktinfo", |i| {
            has(i, |m| {
                matches!(m, IpMsg::IpPktInfo { .. } | IpMsg::Ipv6PktInfo { .. })
            }) && fits(i)
        }),
        ("source-ip", |i| {
            has(i, |m| matches!(m, IpMsg::SourceIp(_))) && fits(i)
        }),
        ("ints", |i| {
            has(i, |m| {
                matches!(
                    m,
                    IpMsg::IpTos(_)
                        | IpMsg::Ipv6TrafficClass(_)
                        | IpMsg::IpTtl(_)
                        | IpMsg::Ipv6HopLimit(_)
                )
            }) && fits(i)
        }),
        ("gso-txtime", |i| {
            has(i, |m| matches!(m, IpMsg::UdpSegment(_) | IpMsg::Txtime(_))) && fits(i)
        }),
        ("received", |i| {
            has(i, |m| matches!(m, IpMsg::Received { .. })) && fits(i)
        }),
        ("full-midway", |i| i.msgs.len() >= 3 && !fits(i)),
    ];
    let mut rng = Rng(0x5851_F42D_4C95_7F2D);
    let decode = |b: &[u8]| IpInput::arbitrary_take_rest(Unstructured::new(b)).ok();
    out.extend(search(&mut rng, "iprt", wants, decode));
    out
}

// ---------------------------------------------------------------------------------------------
// Gather lists

/// `IoVecs` operation sequences of chosen shapes.
fn iovec_inputs() -> Vec<(String, Vec<u8>)> {
    use fuzz_checks::iovec::{IoVecInput, Op};
    fn has(i: &IoVecInput, f: fn(&Op) -> bool) -> bool {
        i.ops.iter().any(f)
    }
    let wants: &[Shape<IoVecInput>] = &[
        ("push-then-advance", |i| {
            i.pool.len() >= 4
                && i.ops.len() >= 2
                && matches!(i.ops[0], Op::Push(_))
                && has(i, |o| matches!(o, Op::Advance(_)))
        }),
        ("advance-any", |i| {
            has(i, |o| matches!(o, Op::AdvanceAny(_)))
        }),
        ("advance-all", |i| {
            i.ops.len() >= 2 && has(i, |o| matches!(o, Op::AdvanceAll))
        }),
        ("bytes", |i| has(i, |o| matches!(o, Op::PushBytes(_)))),
        ("chunks-vectored", |i| {
            has(
                i,
                |o| matches!(o, Op::PushChunks { cuts, count, vectored: true } if !cuts.is_empty() && count % 1100 > 8),
            )
        }),
        ("chunks-first-only", |i| {
            has(
                i,
                |o| matches!(o, Op::PushChunks { cuts, vectored: false, .. } if !cuts.is_empty()),
            )
        }),
        ("chain", |i| {
            has(i, |o| matches!(o, Op::PushChain(c) if c.len() >= 2))
        }),
        ("extend", |i| {
            has(i, |o| matches!(o, Op::Extend(c) if !c.is_empty()))
        }),
        ("past-iov-max", |i| {
            has(
                i,
                |o| matches!(o, Op::PushMany { count, .. } if count % 1100 >= 1020),
            )
        }),
        ("clear", |i| {
            i.ops.len() >= 2 && has(i, |o| matches!(o, Op::Clear))
        }),
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let decode = |b: &[u8]| IoVecInput::arbitrary_take_rest(Unstructured::new(b)).ok();
    search(&mut rng, "iov", wants, decode)
}
