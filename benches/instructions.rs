//! User-space instructions per operation, counted by `valgrind --tool=callgrind`: the same work
//! done by raw libc, this crate, rustix, nix and quinn-udp. Instruction counts are exact and
//! repeatable whatever else the machine is doing, unlike times; they leave out the kernel's side
//! of each call, which is the same for every implementation.
//!
//! Method: each row runs this binary again under callgrind (`--child NAME N`), collecting only
//! inside [`measured`] (`--collect-atstart=no --toggle-collect`), once with N and once with 2N
//! operations; the difference over N is the cost of one operation, with set-up, warm-up and
//! one-time costs (first-use probes, the growth of reused buffers) subtracted. Rows that need
//! untimed preparation before every operation (filling a receive queue) run it outside
//! [`measured`]. glibc's `rep stosb`/`rep movsb` paths are turned off with `GLIBC_TUNABLES`,
//! because valgrind counts their iterations per byte.
//!
//! ```text
//! cargo bench --bench instructions            # every table (about 5 minutes)
//! cargo bench --bench instructions -- --short # a few rows (what CI runs)
//! cargo bench --bench instructions -- --child fd/dgram/1/ancillary 100   # one row, natively
//! ```
//!
//! Tables: (a) one fd round (build the control data, `sendmsg` one byte with k fds, `recvmsg`,
//! close every fd) on datagram, stream and seqpacket socketpairs; (b) what each fd beyond the
//! first costs; (c) sending 1200-byte UDP datagrams over loopback, per datagram, with 64 and
//! 1024 datagrams per batch call; (d) receiving them, per datagram.

#[allow(dead_code)]
#[path = "common/fd.rs"]
mod fd;
#[allow(dead_code)]
#[path = "common/udp.rs"]
mod udp;

use std::hint::black_box;
use std::io::IoSlice;
use std::mem::size_of;
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Command;

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{space_for_fds, INT_SPACE};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// One measured operation, `iters` times.
type Op = Box<dyn FnMut(u64)>;

/// A row: what to run before every operation, untimed (if anything), the operation, and how
/// many units (fds, datagrams) one operation handles.
struct Work {
    prep: Option<Box<dyn FnMut()>>,
    op: Op,
}

/// The only code callgrind counts (`--toggle-collect`).
#[inline(never)]
fn measured(op: &mut dyn FnMut(u64), iters: u64) {
    op(black_box(iters));
}

const FD_COUNTS: [usize; 4] = [1, 8, 64, 253];
const FD_IMPLS: [&str; 4] = ["libc", "ancillary", "rustix", "nix"];
const SOCKETS: [&str; 3] = ["dgram", "stream", "seqpacket"];
const SEND_IMPLS: [&str; 9] = [
    "libc-sendmmsg",
    "rustix-sendmmsg",
    "nix-sendmmsg",
    "batch",
    "libc-gso-iovecs",
    "batch-gso",
    "libc-gso",
    "batch-segments",
    "quinn-gso",
];
const CHUNKS: [usize; 2] = [64, 1024];
const RECV_IMPLS: [&str; 2] = ["libc-recvmmsg", "recvbatch"];
/// Datagrams one receive operation takes: what the queue is filled with before it.
const RECV_DATAGRAMS: usize = 54;

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

// ---------------------------------------------------------------------------------------------
// fd rounds

fn fd_work(socket: &str, n: usize, implementation: &str) -> Option<Work> {
    let ty = match socket {
        "dgram" => SockType::Datagram,
        "stream" => SockType::Stream,
        "seqpacket" => SockType::SeqPacket,
        _ => return None,
    };
    let (a, b) = socketpair(AddressFamily::Unix, ty, None, SockFlag::SOCK_CLOEXEC).ok()?;
    let (a, b): (&'static OwnedFd, &'static OwnedFd) = (leak(a), leak(b));
    let fds: &'static fd::Fds = leak(fd::Fds::open(n));
    let borrowed: &'static [BorrowedFd<'static>] = leak(fds.borrowed());
    let op = match n {
        1 => fd_op::<1, { space_for_fds(1) }>(a, b, fds, borrowed, implementation),
        8 => fd_op::<8, { space_for_fds(8) }>(a, b, fds, borrowed, implementation),
        64 => fd_op::<64, { space_for_fds(64) }>(a, b, fds, borrowed, implementation),
        253 => fd_op::<253, { space_for_fds(253) }>(a, b, fds, borrowed, implementation),
        _ => None,
    }?;
    Some(Work { prep: None, op })
}

fn fd_op<const N: usize, const S: usize>(
    a: &'static OwnedFd,
    b: &'static OwnedFd,
    fds: &'static fd::Fds,
    borrowed: &'static [BorrowedFd<'static>],
    implementation: &str,
) -> Option<Op> {
    let (ra, rb) = (a.as_raw_fd(), b.as_raw_fd());
    Some(match implementation {
        "libc" => fd::raw_round::<S>(ra, rb, &fds.raw),
        "ancillary" => fd::ancillary_round::<S>(a.as_fd(), b.as_fd(), borrowed),
        "rustix" => fd::rustix_round::<S>(a.as_fd(), b.as_fd(), borrowed),
        "nix" => fd::nix_round::<N>(ra, rb, &fds.raw),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// UDP sends

fn udp_setup() -> &'static udp::Setup {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let to = rx.local_addr().expect("local address");
    let ring = udp::ring();
    leak(udp::Setup {
        tx,
        to,
        ring,
        _rx: rx,
    })
}

/// rustix's `sendmmsg` with a destination per message and no control data, `chunk` per call
/// (its headers in a `Vec` made for each call).
fn rustix_sendmmsg(s: &'static udp::Setup, chunk: usize) -> Op {
    use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
    let to = SocketAddrAny::from(s.to);
    let iovs: Vec<[IoSlice<'static>; 1]> = (0..chunk)
        .map(|i| [IoSlice::new(udp::datagram(&s.ring, i))])
        .collect();
    let iovs = leak(iovs);
    let to = leak(to);
    let mut controls: Vec<SendAncillaryBuffer<'static, 'static, 'static>> = Vec::new();
    controls.resize_with(chunk, SendAncillaryBuffer::default);
    Box::new(move |iters| {
        for _ in 0..iters {
            // An MMsgHdr borrows its control buffer for as long as it lives: the headers are
            // made anew for each call, as a caller of rustix's sendmmsg makes them.
            let mut hdrs: Vec<MMsgHdr<'_>> = iovs
                .iter()
                .zip(controls.iter_mut())
                .map(|(iov, c)| MMsgHdr::new_with_addr(to, iov, c))
                .collect();
            let mut done = 0;
            while done < chunk {
                done += sendmmsg(&s.tx, &mut hdrs[done..], SendFlags::empty()).expect("sendmmsg");
            }
        }
    })
}

fn send_work(chunk: usize, implementation: &str) -> Option<Work> {
    let s = udp_setup();
    let op: Op = match implementation {
        "libc-sendmmsg" => {
            let (mut iovs, mut hdrs) = (Vec::new(), Vec::new());
            Box::new(move |iters| {
                for _ in 0..iters {
                    udp::libc_sendmmsg(s, chunk, chunk, &mut iovs, &mut hdrs);
                }
            })
        }
        "rustix-sendmmsg" => rustix_sendmmsg(s, chunk),
        "nix-sendmmsg" => {
            let mut headers = nix::sys::socket::MultiHeaders::preallocate(chunk, None);
            Box::new(move |iters| {
                for _ in 0..iters {
                    udp::nix_sendmmsg(s, chunk, chunk, &mut headers);
                }
            })
        }
        "batch" | "batch-gso" => {
            let gso = implementation == "batch-gso";
            let mut spare = Some(Batch::new());
            Box::new(move |iters| {
                for _ in 0..iters {
                    udp::batch(s, chunk, chunk, &mut spare, gso);
                }
            })
        }
        "batch-segments" => {
            let mut spare = Some(Batch::new());
            Box::new(move |iters| {
                for _ in 0..iters {
                    udp::batch_segments(s, chunk, chunk, &mut spare);
                }
            })
        }
        "libc-gso" => Box::new(move |iters| {
            for _ in 0..iters {
                udp::libc_gso(s, chunk);
            }
        }),
        "libc-gso-iovecs" => {
            let mut iovs = Vec::new();
            Box::new(move |iters| {
                for _ in 0..iters {
                    udp::libc_gso_iovecs(s, chunk, &mut iovs);
                }
            })
        }
        "quinn-gso" => {
            // quinn-udp configures its own socket (non-blocking, IP_PKTINFO, ...).
            let state = leak(quinn_udp::UdpSocketState::new((&s.tx).into()).expect("quinn-udp"));
            Box::new(move |iters| {
                for _ in 0..iters {
                    udp::quinn(s, chunk, state);
                }
            })
        }
        _ => return None,
    };
    Some(Work { prep: None, op })
}

// ---------------------------------------------------------------------------------------------
// UDP receives

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, v: libc::c_int) {
    // SAFETY: `v` is a live int, with its size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Raw `recvmmsg(2)` into preallocated buffers, headers rebuilt before every call (as a loop
/// must, since the kernel overwrites their lengths); counts datagrams, split at `UDP_GRO`.
fn libc_recvmmsg(rx: &'static UdpSocket, slots: usize, size: usize, control: usize) -> Op {
    let mut bufs = vec![0u8; slots * size];
    let mut controls = vec![0u64; slots * control.div_ceil(8)];
    // SAFETY: sockaddr_storage and mmsghdr are plain data; zero is valid.
    let mut names: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; slots];
    let mut iovs: Vec<libc::iovec> = Vec::with_capacity(slots);
    // SAFETY: as above.
    let mut hdrs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; slots];
    Box::new(move |iters| {
        for _ in 0..iters {
            let mut got = 0;
            while got < RECV_DATAGRAMS {
                iovs.clear();
                iovs.extend(bufs.chunks_mut(size).map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: b.len(),
                }));
                let cbytes = control.div_ceil(8) * 8;
                for (i, h) in hdrs.iter_mut().enumerate() {
                    h.msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
                    h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as _;
                    h.msg_hdr.msg_iov = &mut iovs[i];
                    h.msg_hdr.msg_iovlen = 1;
                    if control > 0 {
                        h.msg_hdr.msg_control = controls[i * cbytes / 8..]
                            .as_mut_ptr()
                            .cast::<libc::c_void>();
                        h.msg_hdr.msg_controllen = cbytes as _;
                    }
                }
                // SAFETY: every pointer in the headers points to live, owned storage of the
                // length given with it.
                let r = unsafe {
                    libc::recvmmsg(
                        rx.as_raw_fd(),
                        hdrs.as_mut_ptr(),
                        slots as libc::c_uint,
                        // int on glibc, unsigned on musl
                        (libc::MSG_WAITFORONE | libc::MSG_CMSG_CLOEXEC) as _,
                        std::ptr::null_mut(),
                    )
                };
                assert!(r > 0, "recvmmsg: {}", std::io::Error::last_os_error());
                for h in &hdrs[..r as usize] {
                    let len = h.msg_len as usize;
                    let mut seg = 0usize;
                    if control > 0 {
                        // SAFETY: the kernel wrote msg_controllen bytes of control messages;
                        // CMSG_FIRSTHDR/CMSG_NXTHDR stay within them.
                        unsafe {
                            let mut c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                            while !c.is_null() {
                                if (*c).cmsg_level == libc::SOL_UDP
                                    && (*c).cmsg_type == libc::UDP_GRO
                                {
                                    seg = libc::CMSG_DATA(c).cast::<libc::c_int>().read_unaligned()
                                        as usize;
                                }
                                c = libc::CMSG_NXTHDR(&h.msg_hdr, c);
                            }
                        }
                    }
                    got += if seg > 0 { len.div_ceil(seg) } else { 1 };
                }
            }
            assert_eq!(got, RECV_DATAGRAMS);
        }
    })
}

/// This crate's `RecvBatch`, datagrams counted through `segment_count()`.
fn recv_batch(rx: &'static UdpSocket, slots: usize, size: usize, control: usize) -> Op {
    let mut batch = RecvBatch::new(slots, size, control).expect("RecvBatch");
    Box::new(move |iters| {
        for _ in 0..iters {
            let mut got = 0;
            while got < RECV_DATAGRAMS {
                batch.recv(rx).expect("recvmmsg");
                for d in batch.iter_mut() {
                    got += d.segment_count();
                }
            }
            assert_eq!(got, RECV_DATAGRAMS);
        }
    })
}

fn recv_work(gro: bool, implementation: &str) -> Option<Work> {
    let rx: &'static UdpSocket = leak(UdpSocket::bind("127.0.0.1:0").expect("bind receiver"));
    let tx: &'static UdpSocket = leak(UdpSocket::bind("127.0.0.1:0").expect("bind sender"));
    set_int(rx.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20);
    let to = rx.local_addr().expect("local address");
    let payload: &'static [u8] = leak(vec![7u8; udp::SIZE * RECV_DATAGRAMS]);
    let (slots, size, control) = if gro {
        set_int(rx.as_raw_fd(), libc::SOL_UDP, libc::UDP_GRO, 1);
        (8, 65535, INT_SPACE)
    } else {
        (64, 2048, 0)
    };
    let op = match implementation {
        "libc-recvmmsg" => libc_recvmmsg(rx, slots, size, control),
        "recvbatch" => recv_batch(rx, slots, size, control),
        _ => return None,
    };
    // Before every operation: RECV_DATAGRAMS datagrams queued, as one GSO send (which GRO
    // keeps together) or one sendmmsg.
    let mut spare = Some(Batch::new());
    let prep: Box<dyn FnMut()> = Box::new(move || {
        let mut b = spare.take().unwrap_or_default().recycle();
        b.set_gso(gro);
        if gro {
            b.push_segments(Some(to), payload, udp::SIZE, |_| Ok(()))
                .expect("push_segments");
        } else {
            for d in payload.chunks(udp::SIZE) {
                b.push(to, d).expect("push");
            }
        }
        assert_eq!(b.send(tx).expect("send"), RECV_DATAGRAMS);
        spare = Some(b.recycle());
    });
    Some(Work {
        prep: Some(prep),
        op,
    })
}

// ---------------------------------------------------------------------------------------------

/// The workload named `name`, set up and ready.
fn work(name: &str) -> Option<Work> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["fd", socket, n, implementation] => fd_work(socket, n.parse().ok()?, implementation),
        ["send", chunk, implementation] => send_work(chunk.parse().ok()?, implementation),
        ["recv", implementation] => recv_work(false, implementation),
        ["recv-gro", implementation] => recv_work(true, implementation),
        _ => None,
    }
}

/// Runs a workload `iters` times: what callgrind watches.
fn child(name: &str, iters: u64) {
    let mut w = work(name).unwrap_or_else(|| panic!("no workload named {name}"));
    match w.prep.as_mut() {
        None => measured(&mut *w.op, iters),
        Some(prep) => {
            for _ in 0..iters {
                prep();
                measured(&mut *w.op, 1);
            }
        }
    }
}

const TUNABLES: &str =
    "glibc.cpu.x86_rep_stosb_threshold=0xffffffffffff:glibc.cpu.x86_rep_movsb_threshold=0xffffffffffff";

/// Instructions callgrind counts inside [`measured`] for `iters` operations of `name`.
fn count(name: &str, iters: u64) -> u64 {
    let exe = std::env::current_exe().expect("this benchmark's path");
    let out = std::env::temp_dir().join(format!(
        "ancillary-callgrind-{}-{}.out",
        std::process::id(),
        name.replace('/', "_")
    ));
    let status = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=*::measured",
            "--quiet",
        ])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .args(["--child", name, &iters.to_string()])
        .env("GLIBC_TUNABLES", TUNABLES)
        .status()
        .expect("run valgrind");
    assert!(status.success(), "{name} under callgrind: {status}");
    let text = std::fs::read_to_string(&out).expect("callgrind output");
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no totals in callgrind's output for {name}"))
}

/// Instructions per operation of `name`: the difference between `2n` and `n` operations.
fn per_op(name: &str, n: u64) -> f64 {
    let one = count(name, n);
    let two = count(name, 2 * n);
    two.saturating_sub(one) as f64 / n as f64
}

fn print_row(label: &str, cells: &[String]) {
    print!("| {label} |");
    for c in cells {
        print!(" {c} |");
    }
    println!();
}

fn table_header(first: &str, columns: &[&str]) {
    print_row(
        first,
        &columns.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
    );
    print!("|---|");
    for _ in columns {
        print!("---:|");
    }
    println!();
}

fn driver(short: bool) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("instructions: valgrind is not installed here; nothing counted");
        return;
    }
    let n: u64 = if short { 20 } else { 100 };
    let sockets: &[&str] = if short { &["dgram"] } else { &SOCKETS };
    let counts: &[usize] = if short { &[1, 253] } else { &FD_COUNTS };
    let chunks: &[usize] = if short { &[64] } else { &CHUNKS };
    println!(
        "instructions: user-space instructions per operation (callgrind, {n} and {} operations \
         per row, the difference over {n})",
        2 * n
    );

    println!("\n(a) one fd round: control data, sendmsg of 1 byte with k fds, recvmsg, close");
    table_header("socket, fds", &FD_IMPLS);
    let mut per_fd = vec![(0.0, 0.0); FD_IMPLS.len()];
    for socket in sockets {
        for &k in counts {
            let cells: Vec<f64> = FD_IMPLS
                .iter()
                .map(|i| per_op(&format!("fd/{socket}/{k}/{i}"), n))
                .collect();
            if *socket == "dgram" {
                for (p, c) in per_fd.iter_mut().zip(&cells) {
                    if k == 1 {
                        p.0 = *c;
                    } else if k == 253 {
                        p.1 = *c;
                    }
                }
            }
            let cells: Vec<String> = cells.iter().map(|c| format!("{c:.0}")).collect();
            print_row(&format!("{socket}, {k}"), &cells);
        }
    }

    println!("\n(b) each fd beyond the first (datagram rounds, 253 fds against 1)");
    table_header("", &FD_IMPLS);
    let cells: Vec<String> = per_fd
        .iter()
        .map(|(one, all)| format!("{:.1}", (all - one) / 252.0))
        .collect();
    print_row("per extra fd", &cells);

    println!("\n(c) UDP send, 1200-byte datagrams over loopback, per datagram");
    let impls: &[&str] = &SEND_IMPLS;
    table_header("datagrams per call", impls);
    for &chunk in chunks {
        let cells: Vec<String> = impls
            .iter()
            .map(|i| {
                format!(
                    "{:.1}",
                    per_op(&format!("send/{chunk}/{i}"), n) / chunk as f64
                )
            })
            .collect();
        print_row(&chunk.to_string(), &cells);
    }

    println!("\n(d) UDP receive, per datagram ({RECV_DATAGRAMS} queued before each operation)");
    table_header("", &RECV_IMPLS);
    for kind in ["recv", "recv-gro"] {
        let cells: Vec<String> = RECV_IMPLS
            .iter()
            .map(|i| {
                let per = per_op(&format!("{kind}/{i}"), n) / RECV_DATAGRAMS as f64;
                format!("{per:.1}")
            })
            .collect();
        print_row(
            if kind == "recv" {
                "recvmmsg"
            } else {
                "with UDP_GRO"
            },
            &cells,
        );
    }
}

pub(crate) fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let name = args.get(i + 1).expect("--child NAME ITERS");
        let iters = args
            .get(i + 2)
            .and_then(|v| v.parse().ok())
            .expect("--child NAME ITERS");
        return child(name, iters);
    }
    let short = args.iter().any(|a| a == "--short");
    if args.iter().any(|a| a == "--bench") || short {
        return driver(short);
    }
    // `cargo test --benches`: every workload once, natively, so that they stay runnable.
    for socket in SOCKETS {
        for k in FD_COUNTS {
            for i in FD_IMPLS {
                child(&format!("fd/{socket}/{k}/{i}"), 1);
            }
        }
    }
    for chunk in CHUNKS {
        for i in SEND_IMPLS {
            child(&format!("send/{chunk}/{i}"), 1);
        }
    }
    for kind in ["recv", "recv-gro"] {
        for i in RECV_IMPLS {
            child(&format!("{kind}/{i}"), 1);
        }
    }
    println!("instructions: every workload ran once (run with `cargo bench` to count)");
}
