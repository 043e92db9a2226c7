//! Blasts UDP datagrams at a receiver thread over loopback, three ways, and reports the rate
//! of each:
//!
//! 1. `sendto`: one system call per datagram (the baseline);
//! 2. `Batch`: [`ancillary::batch::Batch`] without GSO: `sendmmsg`, up to 1024 datagrams a call;
//! 3. `Batch+GSO`: the same batch with GSO: runs of datagrams to one destination go as single
//!    `UDP_SEGMENT` messages (the kernel splits them), many of those per `sendmmsg`.
//!
//! The receiver reads with `recvmmsg` (`UDP_GRO` on, so coalesced trains arrive whole and are
//! split back) and counts what arrived; `SO_RXQ_OVFL` tells how many its socket dropped. A
//! sender faster than the receiver loses datagrams: that is the point of the counts.
//!
//! ```text
//! cargo run --release --example datagram_blast            # 1 000 000 datagrams of 1200 bytes
//! cargo run --release --example datagram_blast -- 200000  # another count
//! ```
// Linux only (GSO, GRO, SO_RXQ_OVFL and MSG_CONFIRM): elsewhere the crate is empty, so that the

use std::error::Error;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{ControlMessage, INT_SPACE};
use nix::sys::socket::{setsockopt, sockopt};

const SIZE: usize = 1200;
/// Distinct payloads, used in turn.
const RING: usize = 4096;
/// Datagrams per batch send: what one `sendmmsg` takes.
const CHUNK: usize = 1024;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    SendTo,
    Batch,
    Gso,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::SendTo => "sendto",
            Mode::Batch => "Batch",
            Mode::Gso => "Batch+GSO",
        }
    }
}

/// What the receiver counted.
struct Received {
    datagrams: usize,
    dropped: u32,
}

/// A receiving socket with a large buffer, GRO and drop counting.
fn receiver() -> Result<UdpSocket> {
    let rx = UdpSocket::bind("127.0.0.1:0")?;
    // Forcing past net.core.rmem_max needs CAP_NET_ADMIN; fall back to what is allowed.
    if setsockopt(&rx, sockopt::RcvBufForce, &(64 << 20)).is_err() {
        setsockopt(&rx, sockopt::RcvBuf, &(64 << 20))?;
    }
    setsockopt(&rx, sockopt::RxqOvfl, &1)?;
    setsockopt(&rx, sockopt::UdpGroSegment, &true)?;
    rx.set_read_timeout(Some(Duration::from_millis(100)))?;
    Ok(rx)
}

/// Counts datagrams until the sender is done and the socket stays quiet.
fn receive(rx: UdpSocket, done: Arc<AtomicBool>) -> Result<Received> {
    let mut batch = RecvBatch::new(256, 65535, 2 * INT_SPACE)?;
    let mut got = Received {
        datagrams: 0,
        dropped: 0,
    };
    loop {
        match batch.recv(&rx) {
            Ok(_) => {
                for mut d in batch.iter_mut() {
                    got.datagrams += d.segments().count();
                    for m in d.messages() {
                        if let ControlMessage::RxqOverflow(n) = m {
                            got.dropped = got.dropped.max(n);
                        }
                    }
                }
            }
            Err(e) if e.is_would_block() => {
                if done.load(Ordering::Acquire) {
                    return Ok(got);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Shows how far a mode got, at most ten times a second.
struct Progress {
    name: &'static str,
    total: usize,
    last: Instant,
    shown: usize,
}

impl Progress {
    fn show(&mut self, sent: usize) {
        let due = self.last.elapsed() >= Duration::from_millis(100) || sent == self.total;
        if due && sent != self.shown {
            self.last = Instant::now();
            self.shown = sent;
            let pct = sent as f64 * 100.0 / self.total as f64;
            eprint!(
                "\r  {:<10} {sent:>10}/{} ({pct:5.1}%)",
                self.name, self.total
            );
            let _ = std::io::stderr().flush();
        }
    }
}

/// Sends `n` datagrams to `to` in `mode`; returns the time it took.
fn send(
    mode: Mode,
    n: usize,
    to: SocketAddr,
    ring: &[u8],
    spare: &mut Option<Batch<'static>>,
) -> Result<Duration> {
    let tx = UdpSocket::bind("127.0.0.1:0")?;
    let datagram = |i: usize| &ring[(i % RING) * SIZE..(i % RING + 1) * SIZE];
    let mut progress = Progress {
        name: mode.name(),
        total: n,
        last: Instant::now(),
        shown: usize::MAX,
    };
    let start = Instant::now();
    if mode == Mode::SendTo {
        for i in 0..n {
            tx.send_to(datagram(i), to)?;
            if i % CHUNK == 0 {
                progress.show(i);
            }
        }
    } else {
        let mut batch = spare.take().unwrap_or_default().recycle();
        batch.set_gso(mode == Mode::Gso);
        let mut sent = 0;
        while sent < n {
            let end = (sent + CHUNK).min(n);
            for i in sent..end {
                batch.push(to, datagram(i))?;
            }
            sent += batch.send(&tx)?;
            progress.show(sent);
        }
        *spare = Some(batch.recycle());
    }
    let took = start.elapsed();
    progress.show(n);
    eprintln!();
    Ok(took)
}

pub(crate) fn main() -> Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|e| format!("count {a:?}: {e}"))?,
        None => 1_000_000,
    };
    let mut ring = vec![0u8; RING * SIZE];
    for (i, d) in ring.chunks_mut(SIZE).enumerate() {
        d.fill(i as u8);
    }
    println!(
        "{n} datagrams of {SIZE} bytes to a receiver thread on 127.0.0.1 (GSO: up to {} \
         segments a message)",
        ancillary::limits::udp_max_segments()
    );
    let mut spare = Some(Batch::new());
    let mut rows = Vec::new();
    for mode in [Mode::SendTo, Mode::Batch, Mode::Gso] {
        let rx = receiver()?;
        let to = rx.local_addr()?;
        let done = Arc::new(AtomicBool::new(false));
        let counter = {
            let done = done.clone();
            thread::spawn(move || receive(rx, done).map_err(|e| e.to_string()))
        };
        let took = send(mode, n, to, &ring, &mut spare)?;
        done.store(true, Ordering::Release);
        let got = counter.join().map_err(|_| "the receiver panicked")??;
        rows.push((mode, took, got));
    }

    let base = rows[0].1.as_secs_f64();
    println!(
        "{:<10} {:>14} {:>9} {:>10} {:>10} {:>12}",
        "mode", "datagrams/s", "vs sendto", "received", "lost", "rcvbuf drops"
    );
    for (mode, took, got) in &rows {
        println!(
            "{:<10} {:>14.0} {:>8.2}x {:>10} {:>10} {:>12}",
            mode.name(),
            n as f64 / took.as_secs_f64(),
            base / took.as_secs_f64(),
            got.datagrams,
            n.saturating_sub(got.datagrams),
            got.dropped
        );
    }
    let s = spare.map(|b| b.stats()).unwrap_or_default();
    println!(
        "batch: {} sendmmsg calls, {} messages, {} of them GSO, {} GSO fallbacks",
        s.calls, s.messages, s.segmented, s.fallbacks
    );
    Ok(())
}
