//! Passing descriptors with `SCM_RIGHTS`: the same work done with raw libc, this crate, nix and
//! rustix, measured in one run.
//!
//! - (a) one round: build the control data, `sendmsg` one byte with 1, 8 or 253 descriptors over
//!   a Unix datagram socketpair, `recvmsg` it, close every received descriptor;
//! - (b) encoding alone: building the `SCM_RIGHTS` control data, no syscall. nix encodes inside
//!   `sendmsg` and exposes no way to encode alone, so its row is its whole `sendmsg` call into a
//!   syscall that fails at once (`EBADF`), next to raw libc doing the same.
//!
//! Method: time is the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, user and system: the
//! kernel's side of a socketpair round runs in the calling thread), so time that other programs
//! take from a shared machine is not counted. Each measurement is a batch of iterations sized to
//! take 40 ms; every implementation of one case is warmed up, then the implementations take
//! turns (in rotating order) for 22 rounds, the first of which is thrown away. The table shows
//! per implementation the median ns/op over rounds and its spread (min, max); `ratio` is the
//! median over rounds of its time over raw libc's time in the same round (neighbours in time,
//! so a slow spell cancels out); `min/min` compares the best rounds.
//!
//! Storage is made once per implementation and reused by every iteration, as a loop passing
//! descriptors would: a stack buffer aligned for `cmsghdr` for raw libc and rustix, a
//! `CmsgBuffer` for this crate, the `Vec` of `cmsg_space!` for nix's receive (nix's `sendmsg`
//! allocates its own on every call).
//!
//! `cargo bench --bench fd_round`; `BENCH_SCALE=4` makes every round four times longer (the
//! default run takes about 30 s). For a profiler, `BENCH_PROFILE=round:1:ancillary
//! BENCH_ITERS=10000` runs that one entry 10000 times, untimed (see `profile`).
// Linux only (compares with nix and rustix calls that take Linux flags): elsewhere the crate is empty, so that the

#[allow(dead_code)]
#[path = "common/fd.rs"]
mod fd;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use ancillary::cmsg::space_for_fds;
use fd::*;

/// Descriptor counts measured: one, a few, and the kernel's limit per message (`SCM_MAX_FD`).
const CASES: [usize; 3] = [1, 8, 253];
/// Rounds per implementation; the first is a warm-up and is not counted. Many short rounds
/// rather than a few long ones: on a shared machine, a burst of other work then spoils a few
/// rounds, which the medians leave out.
const ROUNDS: usize = 22;
/// Length of one round of one implementation, before `BENCH_SCALE`.
const ROUND_TIME: Duration = Duration::from_millis(40);

struct Entry<'a> {
    name: &'static str,
    run: Run<'a>,
    iters: u64,
    /// ns per operation, one per counted round.
    samples: Vec<f64>,
}

impl<'a> Entry<'a> {
    fn new(name: &'static str, run: Run<'a>) -> Self {
        Entry {
            name,
            run,
            iters: 1,
            samples: Vec::with_capacity(ROUNDS),
        }
    }

    fn time(&mut self, iters: u64) -> Duration {
        let start = cpu_time();
        (self.run)(iters);
        cpu_time().saturating_sub(start)
    }

    fn median(&self) -> f64 {
        median(self.samples.clone())
    }

    fn min(&self) -> f64 {
        self.samples.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn max(&self) -> f64 {
        self.samples.iter().copied().fold(0.0, f64::max)
    }

    /// The median over rounds of this entry's time over `base`'s time in the same round:
    /// neighbours in time, so a slow spell of the machine cancels out.
    fn paired_ratio(&self, base: &Entry<'_>) -> f64 {
        median(
            self.samples
                .iter()
                .zip(&base.samples)
                .map(|(x, b)| x / b)
                .collect(),
        )
    }
}

/// CPU time of this thread, user and system (`CLOCK_THREAD_CPUTIME_ID`): the work each
/// implementation makes the machine do, kernel side included (a socketpair send and receive run
/// in the calling thread), without the time other programs on a shared machine take from it.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec; the clock id is a constant Linux knows.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(mut s: Vec<f64>) -> f64 {
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Warms up and sizes every entry, then runs the rounds, entries taking turns.
fn measure(entries: &mut [Entry<'_>], round: Duration) {
    for e in entries.iter_mut() {
        // Doubling until a batch lasts a tenth of a round is also the warm-up.
        let mut iters = 1u64;
        let elapsed = loop {
            let t = e.time(iters);
            if t >= round / 10 || iters >= 1 << 40 {
                break t;
            }
            iters *= 2;
        };
        let per_op = elapsed.as_secs_f64() / iters as f64;
        e.iters = ((round.as_secs_f64() / per_op) as u64).max(1);
    }
    let n = entries.len();
    for r in 0..ROUNDS {
        for k in 0..n {
            let e = &mut entries[(r + k) % n];
            let t = e.time(e.iters);
            if r > 0 {
                e.samples.push(t.as_nanos() as f64 / e.iters as f64);
            }
        }
    }
}

/// Prints one case: each entry's median, spread and ratios to its baseline (an index; an entry
/// that is its own baseline shows 1.00).
fn report(fds: usize, entries: &[Entry<'_>], baseline: &[usize]) {
    for (i, (e, &b)) in entries.iter().zip(baseline).enumerate() {
        let base = &entries[b];
        println!(
            "{:<44} {:>4} {:>10.1} {:>10.1} {:>10.1} {:>7.3} {:>7.3}  {}",
            e.name,
            fds,
            e.median(),
            e.min(),
            e.max(),
            e.paired_ratio(base),
            e.min() / base.min(),
            if b == 0 || b == i { "" } else { base.name },
        );
    }
}

fn header(title: &str) {
    println!("\n{title}");
    println!(
        "{:<44} {:>4} {:>10} {:>10} {:>10} {:>7} {:>7}  ratio against (if not raw libc)",
        "implementation", "fds", "ns/op", "min", "max", "ratio", "min/min"
    );
}

// ---------------------------------------------------------------------------------------------

struct Setup<'a> {
    a: &'a UnixDatagram,
    b: &'a UnixDatagram,
    raw: &'a [RawFd],
    borrowed: &'a [BorrowedFd<'a>],
}

/// The round entries for `N` fds; `S` is `CMSG_SPACE` of them. Raw libc first.
fn rounds<'a, const N: usize, const S: usize>(s: &Setup<'a>) -> Vec<Entry<'a>> {
    assert_eq!(S, space_for_fds(N));
    let (a, b) = (s.a.as_raw_fd(), s.b.as_raw_fd());
    let (raw, borrowed) = (&s.raw[..N], &s.borrowed[..N]);
    vec![
        Entry::new("raw libc", raw_round::<S>(a, b, raw)),
        Entry::new(
            "ancillary",
            ancillary_round::<S>(s.a.as_fd(), s.b.as_fd(), borrowed),
        ),
        Entry::new("nix 0.31", nix_round::<N>(a, b, raw)),
        Entry::new(
            "rustix 1",
            rustix_round::<S>(s.a.as_fd(), s.b.as_fd(), borrowed),
        ),
    ]
}

/// The encoding entries for `N` fds, with the index of each one's baseline.
fn encodings<'a, const N: usize, const S: usize>(s: &Setup<'a>) -> (Vec<Entry<'a>>, Vec<usize>) {
    assert_eq!(S, space_for_fds(N));
    let (raw, borrowed) = (&s.raw[..N], &s.borrowed[..N]);
    let entries = vec![
        Entry::new("raw libc", raw_encode_only::<S>(raw)),
        Entry::new("ancillary", ancillary_encode_only::<S>(borrowed)),
        Entry::new("rustix 1", rustix_encode_only::<S>(borrowed)),
        Entry::new(
            "raw libc: encode + sendmsg(-1) (EBADF)",
            raw_encode_ebadf::<S>(raw),
        ),
        Entry::new(
            "nix 0.31: whole sendmsg(-1) call (EBADF) [1]",
            nix_sendmsg_ebadf(raw),
        ),
    ];
    (entries, vec![0, 0, 0, 3, 3])
}

/// The round entries for a case.
fn round_case<'a>(n: usize, setup: &Setup<'a>) -> Vec<Entry<'a>> {
    match n {
        1 => rounds::<1, { space_for_fds(1) }>(setup),
        8 => rounds::<8, { space_for_fds(8) }>(setup),
        253 => rounds::<253, { space_for_fds(253) }>(setup),
        _ => panic!("no storage size for {n} fds; the cases are {CASES:?}"),
    }
}

/// The encoding entries for a case, with their baselines.
fn encoding_case<'a>(n: usize, setup: &Setup<'a>) -> (Vec<Entry<'a>>, Vec<usize>) {
    match n {
        1 => encodings::<1, { space_for_fds(1) }>(setup),
        8 => encodings::<8, { space_for_fds(8) }>(setup),
        253 => encodings::<253, { space_for_fds(253) }>(setup),
        _ => panic!("no storage size for {n} fds; the cases are {CASES:?}"),
    }
}

/// `BENCH_PROFILE=round|encode:FDS:NAME BENCH_ITERS=K`: runs the one entry whose name starts
/// with NAME K times, untimed, for a profiler (`valgrind --tool=callgrind`). With K = 0 it
/// measures the setup alone, to subtract.
fn profile(spec: &str, setup: &Setup<'_>) {
    let mut parts = spec.splitn(3, ':');
    let (section, n, name) = match (parts.next(), parts.next(), parts.next()) {
        (Some(s), Some(n), Some(name)) => (s, n.parse().expect("FDS is a number"), name),
        _ => panic!("BENCH_PROFILE is round|encode:FDS:NAME, e.g. round:1:ancillary"),
    };
    let iters: u64 = std::env::var("BENCH_ITERS")
        .map(|v| v.parse().expect("BENCH_ITERS is a number"))
        .unwrap_or(10_000);
    let mut entries = match section {
        "round" => round_case(n, setup),
        "encode" => encoding_case(n, setup).0,
        _ => panic!("BENCH_PROFILE section is round or encode, not {section}"),
    };
    let e = entries
        .iter_mut()
        .find(|e| e.name.starts_with(name))
        .unwrap_or_else(|| panic!("no entry named {name}"));
    (e.run)(iters);
    println!("ran {section} {n} fds '{}' {iters} times", e.name);
}

pub(crate) fn main() {
    let (a, b) = UnixDatagram::pair().expect("socketpair");
    let fds = Fds::open(*CASES.iter().max().expect("cases"));
    let borrowed = fds.borrowed();
    let setup = Setup {
        a: &a,
        b: &b,
        raw: &fds.raw,
        borrowed: &borrowed,
    };
    if let Ok(spec) = std::env::var("BENCH_PROFILE") {
        return profile(&spec, &setup);
    }

    let scale: f64 = match std::env::var("BENCH_SCALE") {
        Ok(v) => v.parse().expect("BENCH_SCALE is a number, e.g. 4 or 0.5"),
        Err(_) => 1.0,
    };
    assert!(scale > 0.0, "BENCH_SCALE must be positive");
    let round = ROUND_TIME.mul_f64(scale);
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that short.
    let round = if std::env::args().any(|a| a == "--bench") {
        round
    } else {
        Duration::from_millis(1)
    };

    println!(
        "fd_round: thread CPU time, {} counted rounds of {:?} per implementation and case \
         (after one warm-up round); BENCH_SCALE={scale}",
        ROUNDS - 1,
        round
    );

    header("(a) one round: encode + sendmsg + recvmsg + close every fd, Unix datagram socketpair, 1 data byte");
    for n in CASES {
        let mut entries = round_case(n, &setup);
        measure(&mut entries, round);
        report(n, &entries, &[0; 4]);
    }

    header("(b) SCM_RIGHTS encoding alone, no syscall (except the two EBADF rows)");
    for n in CASES {
        let (mut entries, baseline) = encoding_case(n, &setup);
        measure(&mut entries, round);
        report(n, &entries, &baseline);
    }
    println!(
        "\n[1] nix encodes inside sendmsg() (ControlMessage::space() and encode_into() are \
         private), so encoding alone cannot be timed: this row is its whole call path (a Vec \
         allocated and zeroed, the encoding, the free) into a sendmsg on fd -1 that the kernel \
         refuses at once with EBADF, compared with raw libc encoding into the same failing call."
    );
}
