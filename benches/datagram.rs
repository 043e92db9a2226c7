//! Sending many 1200-byte UDP datagrams over loopback, the same work done nine ways, in one
//! run, printed as ratios:
//!
//! | strategy | how |
//! | --- | --- |
//! | `libc sendto` | one `sendto(2)` per datagram: the baseline |
//! | `libc sendmmsg` | raw `sendmmsg(2)`, 1024 headers per call |
//! | `nix sendmmsg` | `nix::sys::socket::sendmmsg` with preallocated headers |
//! | `Batch` | this crate's [`Batch`] without GSO |
//! | `libc GSO` | raw `sendmsg(2)` with `UDP_SEGMENT`, 54 segments in one iovec per call |
//! | `libc GSO iovecs` | the same with one iovec per datagram |
//! | `Batch GSO` | [`Batch`] with GSO, datagrams pushed one by one |
//! | `Batch GSO segs` | [`Batch::push_segments`] of 54-segment buffers |
//! | `quinn-udp GSO` | `quinn_udp::UdpSocketState::try_send` of 54-segment transmits |
//!
//! Each round runs every strategy once, in turn (interleaved, so drift of the machine hits all
//! alike); the report gives each strategy's median wall time over the rounds, and the user and
//! system CPU time of the sending thread per datagram over all rounds (user time is what a
//! library adds; on loopback the system time includes the receive path). The receiving socket is not
//! read: once its buffer is full the kernel drops what arrives, after the same loopback path.
//! On a shared machine, prefer many short rounds (`-- 30000 41`).
//!
//! ```text
//! cargo bench --bench datagram                  # 100 000 datagrams per strategy and round
//! cargo bench --bench datagram -- 20000 5       # datagrams, rounds
//! ```
// Linux only (compares with libc/nix sendmmsg, GSO and RUSAGE_THREAD): elsewhere the crate is empty, so that the
// targets still type-check (`cargo check`/`clippy`); it has no `main` to run there.
#![cfg_attr(not(linux_like), no_main)]
#![cfg(linux_like)]

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ancillary::batch::Batch;
use ancillary::cmsg::{CmsgBuffer, UDP_SEGMENT_SPACE};

const SIZE: usize = 1200;
/// Segments per GSO send: as many 1200-byte datagrams as fit in 65507 bytes.
const SEGS: usize = 54;
/// Distinct datagrams, reused in turn: a whole number of GSO buffers.
const RING: usize = SEGS * 76;
/// Datagrams per batch send: what one `sendmmsg` takes without GSO. (Much larger batches
/// cost the batch cache misses of their own arenas.)
const CHUNK: usize = 1024;

struct Setup {
    tx: UdpSocket,
    to: SocketAddr,
    ring: Vec<u8>,
    /// Kept open so that datagrams have a socket to reach (and be dropped at).
    _rx: UdpSocket,
}

fn datagram(ring: &[u8], i: usize) -> &[u8] {
    let k = i % RING;
    &ring[k * SIZE..(k + 1) * SIZE]
}

fn sockaddr(to: SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(a) = to else {
        unreachable!("IPv4 only")
    };
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.ip().octets()),
        },
        sin_zero: [0; 8],
    }
}

fn check(r: isize, what: &str) -> usize {
    assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
    r as usize
}

fn libc_sendto(s: &Setup, n: usize) {
    let addr = sockaddr(s.to);
    for i in 0..n {
        let d = datagram(&s.ring, i);
        // SAFETY: d and addr are live for the call, with their lengths.
        let r = unsafe {
            libc::sendto(
                s.tx.as_raw_fd(),
                d.as_ptr().cast(),
                d.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        check(r, "sendto");
    }
}

fn libc_sendmmsg(s: &Setup, n: usize, iovs: &mut Vec<libc::iovec>, hdrs: &mut Vec<libc::mmsghdr>) {
    let mut addr = sockaddr(s.to);
    let mut i = 0;
    while i < n {
        let k = (n - i).min(1024);
        iovs.clear();
        hdrs.clear();
        for j in 0..k {
            let d = datagram(&s.ring, i + j);
            iovs.push(libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            });
        }
        for iov in iovs.iter_mut() {
            // SAFETY: mmsghdr is plain data; zero is valid.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            hdrs.push(h);
        }
        let mut done = 0;
        while done < k {
            // SAFETY: the headers point at addr, iovs and the ring, all live for the call.
            let r = unsafe {
                libc::sendmmsg(
                    s.tx.as_raw_fd(),
                    hdrs[done..].as_mut_ptr(),
                    (k - done) as libc::c_uint,
                    0,
                )
            };
            done += check(r as isize, "sendmmsg");
        }
        i += k;
    }
}

fn libc_gso(s: &Setup, n: usize) {
    let mut addr = sockaddr(s.to);
    let mut control = CmsgBuffer::<UDP_SEGMENT_SPACE>::new();
    control
        .encoder()
        .push_udp_segment(SIZE as u16)
        .expect("room for UDP_SEGMENT");
    let mut i = 0;
    while i < n {
        let k = (n - i).min(SEGS - (i % RING) % SEGS);
        let start = (i % RING) * SIZE;
        let mut iov = libc::iovec {
            iov_base: s.ring[start..].as_ptr() as *mut libc::c_void,
            iov_len: k * SIZE,
        };
        // SAFETY: msghdr is plain data; zero is valid.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
        m.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        if k > 1 {
            m.msg_control = control.as_mut_ptr().cast();
            m.msg_controllen = control.len() as _; // size_t on glibc, socklen_t on musl
        }
        // SAFETY: the header points at addr, iov, control and the ring, all live for the call.
        let r = unsafe { libc::sendmsg(s.tx.as_raw_fd(), &m, 0) };
        check(r, "sendmsg UDP_SEGMENT");
        i += k;
    }
}

fn libc_gso_iovecs(s: &Setup, n: usize, iovs: &mut Vec<libc::iovec>) {
    let mut addr = sockaddr(s.to);
    let mut control = CmsgBuffer::<UDP_SEGMENT_SPACE>::new();
    control
        .encoder()
        .push_udp_segment(SIZE as u16)
        .expect("room for UDP_SEGMENT");
    let mut i = 0;
    while i < n {
        let k = (n - i).min(SEGS);
        iovs.clear();
        for j in 0..k {
            let d = datagram(&s.ring, i + j);
            iovs.push(libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            });
        }
        // SAFETY: msghdr is plain data; zero is valid.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
        m.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        m.msg_iov = iovs.as_mut_ptr();
        m.msg_iovlen = k as _; // size_t on glibc, int on musl
        if k > 1 {
            m.msg_control = control.as_mut_ptr().cast();
            m.msg_controllen = control.len() as _; // size_t on glibc, socklen_t on musl
        }
        // SAFETY: the header points at addr, iovs, control and the ring, all live for the call.
        let r = unsafe { libc::sendmsg(s.tx.as_raw_fd(), &m, 0) };
        check(r, "sendmsg UDP_SEGMENT");
        i += k;
    }
}

fn nix_sendmmsg(
    s: &Setup,
    n: usize,
    headers: &mut nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrIn>,
) {
    use nix::sys::socket::{sendmmsg, MsgFlags, SockaddrIn};
    let SocketAddr::V4(to) = s.to else {
        unreachable!()
    };
    let addrs = vec![Some(SockaddrIn::from(to)); 1024];
    let mut slices: Vec<[IoSlice<'_>; 1]> = Vec::with_capacity(1024);
    let mut i = 0;
    while i < n {
        let k = (n - i).min(1024);
        slices.clear();
        slices.extend((0..k).map(|j| [IoSlice::new(datagram(&s.ring, i + j))]));
        let mut done = 0;
        while done < k {
            let sent = sendmmsg(
                s.tx.as_raw_fd(),
                headers,
                &slices[done..],
                &addrs[..k - done],
                [],
                MsgFlags::empty(),
            )
            .expect("nix sendmmsg")
            .count();
            done += sent;
        }
        i += k;
    }
}

fn batch(s: &Setup, n: usize, spare: &mut Option<Batch<'static>>, gso: bool) {
    let mut b = spare.take().unwrap_or_default().recycle();
    b.set_gso(gso);
    let mut i = 0;
    while i < n {
        let k = (n - i).min(CHUNK);
        for j in 0..k {
            b.push(s.to, datagram(&s.ring, i + j)).expect("push");
        }
        assert_eq!(b.send(&s.tx).expect("Batch::send"), k);
        i += k;
    }
    *spare = Some(b.recycle());
}

fn batch_segments(s: &Setup, n: usize, spare: &mut Option<Batch<'static>>) {
    let mut b = spare.take().unwrap_or_default().recycle();
    b.set_gso(true);
    let mut i = 0;
    while i < n {
        let mut queued = 0;
        while queued < CHUNK && i < n {
            let k = (n - i).min(SEGS - (i % RING) % SEGS);
            let start = (i % RING) * SIZE;
            b.push_segments(Some(s.to), &s.ring[start..start + k * SIZE], SIZE, |_| {
                Ok(())
            })
            .expect("push_segments");
            i += k;
            queued += k;
        }
        b.send(&s.tx).expect("Batch::send");
    }
    *spare = Some(b.recycle());
}

fn quinn(s: &Setup, n: usize, state: &quinn_udp::UdpSocketState) {
    let mut i = 0;
    while i < n {
        let k = (n - i)
            .min(SEGS - (i % RING) % SEGS)
            .min(state.max_gso_segments());
        let start = (i % RING) * SIZE;
        let t = quinn_udp::Transmit {
            destination: s.to,
            ecn: None,
            contents: &s.ring[start..start + k * SIZE],
            segment_size: (k > 1).then_some(SIZE),
            src_ip: None,
        };
        loop {
            match state.try_send((&s.tx).into(), &t) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("quinn-udp: {e}"),
            }
        }
        i += k;
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// User and system CPU time of this thread so far.
fn cpu_times() -> (Duration, Duration) {
    // SAFETY: rusage is plain data; zero is valid, and getrusage writes only into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a live rusage.
    let r = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(r, 0);
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (d(ru.ru_utime), d(ru.ru_stime))
}

fn main() {
    let nums: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = nums.first().copied().unwrap_or(100_000);
    let rounds = nums.get(1).copied().unwrap_or(11).max(1);

    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let to = rx.local_addr().unwrap();
    let mut ring = vec![0u8; RING * SIZE];
    for (i, d) in ring.chunks_mut(SIZE).enumerate() {
        d.fill(i as u8);
        d[..4].copy_from_slice(&(i as u32).to_le_bytes());
    }
    let s = Setup {
        tx,
        to,
        ring,
        _rx: rx,
    };
    // quinn-udp configures its own socket (non-blocking, IP_PKTINFO, don't-fragment, ...).
    let qtx = UdpSocket::bind("127.0.0.1:0").expect("bind quinn sender");
    let qstate = quinn_udp::UdpSocketState::new((&qtx).into()).expect("quinn-udp state");
    let qs = Setup {
        tx: qtx,
        to,
        ring: s.ring.clone(),
        _rx: s._rx.try_clone().unwrap(),
    };

    let mut iovs = Vec::new();
    let mut hdrs = Vec::new();
    let mut nix_headers = nix::sys::socket::MultiHeaders::preallocate(1024, None);
    let mut spare: Option<Batch<'static>> = Some(Batch::new());

    let names = [
        "libc sendto",
        "libc sendmmsg",
        "nix sendmmsg",
        "Batch",
        "libc GSO",
        "libc GSO iovecs",
        "Batch GSO",
        "Batch GSO segs",
        "quinn-udp GSO",
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut user: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut system: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    println!(
        "{n} datagrams of {SIZE} bytes per strategy, {rounds} rounds; GSO: {} segments per \
         send (kernel cap {}, quinn-udp {})",
        SEGS,
        ancillary::limits::udp_max_segments(),
        qstate.max_gso_segments()
    );
    for round in 0..=rounds {
        for (k, t) in times.iter_mut().enumerate() {
            let (u0, s0) = cpu_times();
            let start = Instant::now();
            match k {
                0 => libc_sendto(&s, n),
                1 => libc_sendmmsg(&s, n, &mut iovs, &mut hdrs),
                2 => nix_sendmmsg(&s, n, &mut nix_headers),
                3 => batch(&s, n, &mut spare, false),
                4 => libc_gso(&s, n),
                5 => libc_gso_iovecs(&s, n, &mut iovs),
                6 => batch(&s, n, &mut spare, true),
                7 => batch_segments(&s, n, &mut spare),
                _ => quinn(&qs, n, &qstate),
            }
            // Round 0 warms up (buffers, caches, the segment cap probe) and is not counted.
            if round > 0 {
                t.push(start.elapsed());
                let (u1, s1) = cpu_times();
                user[k].push(u1 - u0);
                system[k].push(s1 - s0);
            }
        }
        if round > 0 {
            eprint!("\rround {round}/{rounds}");
        }
    }
    eprintln!();
    let med: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    // CPU times are counted in scheduler ticks: only their sums over all rounds mean much.
    let per = |v: &[Duration]| v.iter().sum::<Duration>().as_nanos() as f64 / (n * v.len()) as f64;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{:<16} {:>12} {:>10} {:>14} {:>13}",
        "strategy", "datagrams/s", "vs sendto", "user ns/dgram", "sys ns/dgram"
    );
    for (k, (name, d)) in names.iter().zip(&med).enumerate() {
        println!(
            "{name:<16} {:>12.0} {:>9.2}x {:>14.1} {:>13.1}",
            rate(*d),
            med[0].as_secs_f64() / d.as_secs_f64(),
            per(&user[k]),
            per(&system[k]),
        );
    }
    let ratio = |a: usize, b: usize| med[b].as_secs_f64() / med[a].as_secs_f64();
    println!("same strategy, this crate / raw libc (target >= 0.98):");
    println!("  Batch          / libc sendmmsg:   {:.3}", ratio(3, 1));
    println!("  Batch GSO      / libc GSO iovecs: {:.3}", ratio(6, 5));
    println!("  Batch GSO segs / libc GSO:        {:.3}", ratio(7, 4));
    println!("other libraries:");
    println!("  Batch          / nix sendmmsg:    {:.3}", ratio(3, 2));
    println!("  Batch GSO segs / quinn-udp GSO:   {:.3}", ratio(7, 8));
    println!("  Batch GSO      / quinn-udp GSO:   {:.3}", ratio(6, 8));
    println!("GSO batch / per-datagram sendto (target >= 3):");
    println!("  Batch GSO:      {:.2}", ratio(6, 0));
    println!("  Batch GSO segs: {:.2}", ratio(7, 0));
}
