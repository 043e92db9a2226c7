//! The async round trip of one descriptor against the sync one, and against tokio-seqpacket,
//! on seqpacket socketpairs, in one run: how much tokio's readiness adds to `sendmsg` +
//! `recvmsg`.
//!
//! One round: send one byte with one descriptor over a Unix seqpacket socketpair, receive it
//! into a slot, close the descriptor. `sync` makes the calls of `SendWithFd`/`RecvWithFd` on the
//! sockets' descriptors; `async` awaits `AsyncSendWithFd`/`AsyncRecvWithFd` on the same
//! sockets (`ancillary::tokio::SeqPacket`) inside one `block_on` per batch (a current-thread
//! runtime); `tokio-sp` does the same with the `tokio-seqpacket` crate's `UnixSeqpacket`
//! (`send_with_ancillary`/`recv_with_ancillary`) on a pair of its own.
//!
//! Method (as `fd_round`): the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`: the kernel's side
//! of a socketpair round runs in the calling thread), batches sized to 40 ms, the two taking
//! turns for 22 rounds of which the first is thrown away; the table gives median ns/op with
//! min and max, and the ratios, the median over rounds of each async row over sync in the
//! same round.
//!
//! `cargo bench --features tokio --bench async_round`; `BENCH_SCALE=4` makes rounds longer.

use std::hint::black_box;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd};
use ancillary::{RecvWithFd, SendWithFd};

const ROUNDS: usize = 22;
const ROUND_TIME: Duration = Duration::from_millis(40);

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a live, writable timespec.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub(crate) fn main() {
    let scale: u32 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let round_time = ROUND_TIME * scale;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let (a, b) = rt.block_on(async { ancillary::tokio::SeqPacket::pair().unwrap() });
    let (c, d) = rt.block_on(async { tokio_seqpacket::UnixSeqpacket::pair().unwrap() });
    let file = std::fs::File::open("/dev/null").unwrap();

    let sync = |iters: u64| {
        let mut buf = [0u8; 8];
        for _ in 0..iters {
            a.as_fd().send_with_fd(b"x", &[file.as_fd()]).unwrap();
            let mut slot: [Option<OwnedFd>; 1] = [None];
            let got = b.as_fd().recv_with_fd(&mut buf, &mut slot).unwrap();
            black_box((got, slot));
        }
    };
    let asynch = |iters: u64| {
        rt.block_on(async {
            let mut buf = [0u8; 8];
            for _ in 0..iters {
                a.send_with_fd(b"x", &[file.as_fd()]).await.unwrap();
                let mut slot: [Option<OwnedFd>; 1] = [None];
                let got = b.recv_with_fd(&mut buf, &mut slot).await.unwrap();
                black_box((got, slot));
            }
        })
    };
    let tokio_sp = |iters: u64| {
        use tokio_seqpacket::ancillary::AncillaryMessageWriter;
        rt.block_on(async {
            let mut buf = [0u8; 8];
            let mut out = [0u8; 64];
            let mut inb = [0u8; 64];
            for _ in 0..iters {
                let mut w = AncillaryMessageWriter::new(&mut out);
                w.add_fds([file.as_fd()]).unwrap();
                c.send_with_ancillary(b"x", &mut w).await.unwrap();
                let (info, anc) = d.recv_with_ancillary(&mut buf, &mut inb).await.unwrap();
                black_box((info.bytes_read(), anc.into_messages().count()));
            }
        })
    };
    let runs: [(&str, &dyn Fn(u64)); 3] =
        [("sync", &sync), ("async", &asynch), ("tokio-sp", &tokio_sp)];

    // Size each batch to the round time.
    let mut iters = [0u64; 3];
    for (i, (_, run)) in runs.iter().enumerate() {
        let mut n = 64;
        loop {
            let t = thread_cpu();
            run(n);
            let took = thread_cpu() - t;
            if took >= round_time / 4 || n > 1 << 30 {
                iters[i] = (n as f64 * round_time.as_secs_f64() / took.as_secs_f64()) as u64;
                break;
            }
            n *= 2;
        }
    }
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    let mut ratios = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        let mut ns = [0.0; 3];
        // Rotate which goes first.
        for k in 0..3 {
            let i = (k + round) % 3;
            let t = thread_cpu();
            (runs[i].1)(iters[i].max(1));
            ns[i] = (thread_cpu() - t).as_nanos() as f64 / iters[i].max(1) as f64;
        }
        if round > 0 {
            for (s, v) in samples.iter_mut().zip(ns) {
                s.push(v);
            }
            ratios[0].push(ns[1] / ns[0]);
            ratios[1].push(ns[2] / ns[0]);
        }
    }
    println!(
        "one-descriptor round trip, Unix seqpacket socketpairs, {} rounds",
        ROUNDS - 1
    );
    println!("{:<8} {:>10} {:>10} {:>10}", "", "median ns", "min", "max");
    for (i, (name, _)) in runs.iter().enumerate() {
        let s = &mut samples[i];
        let (min, max) = (
            s.iter().copied().fold(f64::INFINITY, f64::min),
            s.iter().copied().fold(0.0, f64::max),
        );
        println!("{name:<8} {:>10.0} {min:>10.0} {max:>10.0}", median(s));
    }
    println!(
        "async / sync (median of per-round ratios): {:.3}",
        median(&mut ratios[0])
    );
    println!(
        "tokio-seqpacket / sync (median of per-round ratios): {:.3}",
        median(&mut ratios[1])
    );
}
