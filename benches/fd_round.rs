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
// targets still type-check (`cargo check`/`clippy`); it has no `main` to run there.
#![cfg_attr(not(linux_like), no_main)]
#![cfg(linux_like)]

use std::hint::black_box;
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{RecvMsg, SendMsg};

/// Descriptor counts measured: one, a few, and the kernel's limit per message (`SCM_MAX_FD`).
const CASES: [usize; 3] = [1, 8, 253];
/// Rounds per implementation; the first is a warm-up and is not counted. Many short rounds
/// rather than a few long ones: on a shared machine, a burst of other work then spoils a few
/// rounds, which the medians leave out.
const ROUNDS: usize = 22;
/// Length of one round of one implementation, before `BENCH_SCALE`.
const ROUND_TIME: Duration = Duration::from_millis(40);

/// One implementation of one case: runs its operation `iters` times.
type Run<'a> = Box<dyn FnMut(u64) + 'a>;

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

/// Storage aligned for `cmsghdr`, uninitialized: what a C program declares on its stack.
#[repr(C)]
struct Aligned<const S: usize> {
    _align: [libc::cmsghdr; 0],
    bytes: [MaybeUninit<u8>; S],
}

impl<const S: usize> Aligned<S> {
    fn new() -> Self {
        Aligned {
            _align: [],
            bytes: [MaybeUninit::uninit(); S],
        }
    }
}

/// The fds to pass, in the forms each library takes them.
struct Fds {
    owned: Vec<OwnedFd>,
    raw: Vec<RawFd>,
}

impl Fds {
    fn open(n: usize) -> Self {
        let null = std::fs::File::open("/dev/null").expect("open /dev/null");
        let owned: Vec<OwnedFd> = (0..n)
            .map(|_| OwnedFd::from(null.try_clone().expect("dup /dev/null")))
            .collect();
        let raw = owned.iter().map(|f| f.as_raw_fd()).collect();
        Fds { owned, raw }
    }

    fn borrowed(&self) -> Vec<BorrowedFd<'_>> {
        self.owned.iter().map(|f| f.as_fd()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// raw libc

/// Writes one `SCM_RIGHTS` message for `fds` at the start of `msg`'s control buffer (which must
/// hold `CMSG_SPACE` of it), padding zeroed, and sets `msg_controllen`.
///
/// # Safety
/// `msg.msg_control` points to at least `CMSG_SPACE(fds.len() * 4)` writable bytes aligned for
/// `cmsghdr`.
unsafe fn raw_encode(msg: &mut libc::msghdr, fds: &[RawFd]) {
    let data_len = std::mem::size_of_val(fds) as libc::c_uint;
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
    msg.msg_controllen = space as _;
    // SAFETY: the caller's contract: the control buffer is aligned and holds `space` bytes, so
    // CMSG_FIRSTHDR is non-null and the header, the data and the padding after it lie within.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(msg);
        (*c).cmsg_len = libc::CMSG_LEN(data_len) as _;
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        let data = libc::CMSG_DATA(c);
        std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), data, data_len as usize);
        let used = libc::CMSG_LEN(data_len) as usize;
        std::ptr::write_bytes(c.cast::<u8>().add(used), 0, space - used);
    }
}

/// A `msghdr` with one iovec and a control buffer, nothing else.
fn raw_msghdr(iov: *mut libc::iovec, control: *mut MaybeUninit<u8>, len: usize) -> libc::msghdr {
    // SAFETY: msghdr is integers and pointers; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.cast();
    msg.msg_controllen = len as _;
    msg
}

/// Receives one byte and closes every descriptor that came with it; returns how many.
fn raw_recv_close<const S: usize>(b: RawFd, room: &mut Aligned<S>) -> usize {
    let mut byte = 0u8;
    let mut iov = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    let mut msg = raw_msghdr(&mut iov, room.bytes.as_mut_ptr(), S);
    // SAFETY: every pointer in msg points to live storage of the length given with it.
    let r = unsafe { libc::recvmsg(b, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(r == 1, "recvmsg: {}", std::io::Error::last_os_error());
    assert!(msg.msg_flags & libc::MSG_CTRUNC == 0, "control truncated");
    let mut got = 0;
    // SAFETY: the kernel wrote msg_controllen bytes of control messages into room;
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay within msg_controllen; the data of an SCM_RIGHTS message
    // is (cmsg_len - CMSG_LEN(0)) / 4 ints, each a descriptor now ours, closed once here.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let n = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                let data = libc::CMSG_DATA(c).cast::<libc::c_int>();
                for i in 0..n {
                    libc::close(data.add(i).read_unaligned());
                }
                got += n;
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    got
}

fn raw_round<'a, const S: usize>(a: RawFd, b: RawFd, fds: &'a [RawFd]) -> Run<'a> {
    let mut out = Aligned::<S>::new();
    let mut room = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut byte = *b"x";
            let mut iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            let mut msg = raw_msghdr(&mut iov, out.bytes.as_mut_ptr(), S);
            // SAFETY: out is aligned and S = CMSG_SPACE of the fds (checked by the caller).
            unsafe { raw_encode(&mut msg, fds) };
            // SAFETY: every pointer in msg points to live storage of the length given with it.
            let r = unsafe { libc::sendmsg(a, &msg, libc::MSG_NOSIGNAL) };
            assert!(r == 1, "sendmsg: {}", std::io::Error::last_os_error());
            let got = raw_recv_close(b, &mut room);
            assert_eq!(got, fds.len());
        }
    })
}

fn raw_encode_only<'a, const S: usize>(fds: &'a [RawFd]) -> Run<'a> {
    let mut out = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut msg = raw_msghdr(std::ptr::null_mut(), out.bytes.as_mut_ptr(), S);
            // SAFETY: out is aligned and S = CMSG_SPACE of the fds (checked by the caller).
            unsafe { raw_encode(&mut msg, fds) };
            black_box(&mut msg);
            black_box(&mut out);
        }
    })
}

/// Raw libc's counterpart of the nix encoding row: encode, then `sendmsg` on fd -1.
fn raw_encode_ebadf<'a, const S: usize>(fds: &'a [RawFd]) -> Run<'a> {
    let mut out = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut byte = *b"x";
            let mut iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            let mut msg = raw_msghdr(&mut iov, out.bytes.as_mut_ptr(), S);
            // SAFETY: out is aligned and S = CMSG_SPACE of the fds (checked by the caller).
            unsafe { raw_encode(&mut msg, fds) };
            // SAFETY: msg points to live storage; fd -1 makes the kernel fail with EBADF
            // before it reads any of it.
            let r = unsafe { libc::sendmsg(black_box(-1), &msg, libc::MSG_NOSIGNAL) };
            assert!(r == -1);
        }
    })
}

// ---------------------------------------------------------------------------------------------
// ancillary (this crate)

fn ancillary_round<'a, const S: usize>(
    a: &'a UnixDatagram,
    b: &'a UnixDatagram,
    fds: &'a [BorrowedFd<'a>],
) -> Run<'a> {
    let mut out = CmsgBuffer::<S>::new();
    let mut room = CmsgBuffer::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = out.encoder();
            control.push_rights(fds).expect("room for the fds");
            let sent = SendMsg::new(&[IoSlice::new(b"x")])
                .control(&control)
                .send(a)
                .expect("sendmsg");
            assert_eq!(sent, 1);
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let mut recv = RecvMsg::new(&mut iov).control(&mut room);
            let mut msg = recv.recv(b).expect("recvmsg");
            msg.check().expect("nothing truncated");
            let mut got = 0;
            for fd in msg.fds() {
                drop(fd);
                got += 1;
            }
            assert_eq!(got, fds.len());
        }
    })
}

fn ancillary_encode_only<'a, const S: usize>(fds: &'a [BorrowedFd<'a>]) -> Run<'a> {
    let mut out = CmsgBuffer::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = out.encoder();
            control.push_rights(fds).expect("room for the fds");
            black_box(control.as_bytes());
        }
    })
}

// ---------------------------------------------------------------------------------------------
// nix

fn nix_round<'a, const N: usize>(a: RawFd, b: RawFd, fds: &'a [RawFd]) -> Run<'a> {
    use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
    let mut room = nix::cmsg_space!([RawFd; N]);
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let sent = sendmsg::<()>(
                a,
                &[IoSlice::new(b"x")],
                &[ControlMessage::ScmRights(fds)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            )
            .expect("sendmsg");
            assert_eq!(sent, 1);
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let msg = recvmsg::<()>(b, &mut iov, Some(&mut room), MsgFlags::MSG_CMSG_CLOEXEC)
                .expect("recvmsg");
            let mut got = 0;
            for c in msg.cmsgs().expect("control not truncated") {
                if let ControlMessageOwned::ScmRights(received) = c {
                    for fd in received {
                        nix::unistd::close(fd).expect("close");
                        got += 1;
                    }
                }
            }
            assert_eq!(got, fds.len());
        }
    })
}

/// nix's `sendmsg` to fd -1: its whole call path (allocation, encoding, free) plus a syscall
/// that fails at once, as nix has no way to encode alone.
fn nix_sendmsg_ebadf(fds: &[RawFd]) -> Run<'_> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let r = sendmsg::<()>(
                black_box(-1),
                &[IoSlice::new(b"x")],
                &[ControlMessage::ScmRights(fds)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            );
            assert_eq!(r, Err(nix::errno::Errno::EBADF));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// rustix

fn rustix_round<'a, const S: usize>(
    a: &'a UnixDatagram,
    b: &'a UnixDatagram,
    fds: &'a [BorrowedFd<'a>],
) -> Run<'a> {
    use rustix::net::{
        recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
        SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
    };
    let mut out = Aligned::<S>::new();
    let mut room = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = SendAncillaryBuffer::new(&mut out.bytes);
            assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
            let sent = sendmsg(a, &[IoSlice::new(b"x")], &mut control, SendFlags::NOSIGNAL)
                .expect("sendmsg");
            assert_eq!(sent, 1);
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let mut control = RecvAncillaryBuffer::new(&mut room.bytes);
            let r = recvmsg(b, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC).expect("recvmsg");
            assert!(!r.flags.contains(ReturnFlags::CTRUNC));
            let mut got = 0;
            for m in control.drain() {
                if let RecvAncillaryMessage::ScmRights(received) = m {
                    for fd in received {
                        drop(fd);
                        got += 1;
                    }
                }
            }
            assert_eq!(got, fds.len());
        }
    })
}

fn rustix_encode_only<'a, const S: usize>(fds: &'a [BorrowedFd<'a>]) -> Run<'a> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage};
    let mut out = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = SendAncillaryBuffer::new(&mut out.bytes);
            assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
            black_box(&mut control);
        }
    })
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
        Entry::new("ancillary", ancillary_round::<S>(s.a, s.b, borrowed)),
        Entry::new("nix 0.31", nix_round::<N>(a, b, raw)),
        Entry::new("rustix 1", rustix_round::<S>(s.a, s.b, borrowed)),
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

fn main() {
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
