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

#[allow(dead_code)]
#[path = "common/udp.rs"]
mod udp;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use ancillary::batch::Batch;
use udp::*;

/// Datagrams per batch send: what one `sendmmsg` takes without GSO. (Much larger batches
/// cost the batch cache misses of their own arenas.)
const CHUNK: usize = 1024;

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

pub(crate) fn main() {
    let nums: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = nums.first().copied().unwrap_or(100_000);
    let rounds = nums.get(1).copied().unwrap_or(11).max(1);

    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let to = rx.local_addr().unwrap();
    let ring = udp::ring();
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
                1 => libc_sendmmsg(&s, n, CHUNK, &mut iovs, &mut hdrs),
                2 => nix_sendmmsg(&s, n, CHUNK, &mut nix_headers),
                3 => batch(&s, n, CHUNK, &mut spare, false),
                4 => libc_gso(&s, n),
                5 => libc_gso_iovecs(&s, n, &mut iovs),
                6 => batch(&s, n, CHUNK, &mut spare, true),
                7 => batch_segments(&s, n, CHUNK, &mut spare),
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
