//! What both versions of the `handoff` example share, on every system: the accept loop that
//! answers `<version> <count>`, and the client that connects in a loop and counts what answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Accepts on `listener` until `stop`, answering `<name> <count>` with a count that starts at
/// `served`; returns how many this loop served. The listener is non-blocking, so the loop can
/// look at `stop` between connections.
pub(crate) fn serve(
    name: &'static str,
    listener: TcpListener,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Result<usize>> {
    std::thread::spawn(move || {
        listener.set_nonblocking(true)?;
        let mut mine = 0;
        while !stop.load(Ordering::Acquire) {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    let n = served.fetch_add(1, Ordering::AcqRel) + 1;
                    // An accepted socket inherits the listener's non-blocking mode on Windows.
                    conn.set_nonblocking(false)?;
                    conn.write_all(format!("{name} {n}\n").as_bytes())?;
                    mine += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(mine)
    })
}

/// What the client saw.
#[derive(Default, Debug)]
pub(crate) struct Seen {
    pub(crate) v1: usize,
    pub(crate) v2: usize,
    /// v1 answered after v2 had: the hand-over is one-way.
    pub(crate) v1_after_v2: usize,
    pub(crate) refused: usize,
    pub(crate) other_errors: usize,
}

pub(crate) fn client(
    addr: SocketAddr,
    total: usize,
    progress: Arc<AtomicUsize>,
) -> JoinHandle<Seen> {
    std::thread::spawn(move || {
        let mut seen = Seen::default();
        for i in 0..total {
            progress.store(i, Ordering::Release);
            let answer = TcpStream::connect(addr).and_then(|mut c| {
                let mut s = String::new();
                c.read_to_string(&mut s)?;
                Ok(s)
            });
            match answer {
                Ok(s) if s.starts_with("v1 ") => {
                    seen.v1 += 1;
                    seen.v1_after_v2 += usize::from(seen.v2 > 0);
                }
                Ok(s) if s.starts_with("v2 ") => seen.v2 += 1,
                Ok(_) => seen.other_errors += 1,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => seen.refused += 1,
                Err(_) => seen.other_errors += 1,
            }
        }
        progress.store(total, Ordering::Release);
        seen
    })
}

/// Version 1 after it served the first third of the client's connections and stopped
/// accepting: how many it served, and the client, still connecting.
pub(crate) struct Version1 {
    pub(crate) served: usize,
    pub(crate) total: usize,
    progress: Arc<AtomicUsize>,
    client: JoinHandle<Seen>,
}

/// Listens on 127.0.0.1, starts a client of `total` connections, serves as version 1 until
/// the client made a third of them (or `wait` passed), then stops accepting. Returns the
/// listener to hand over (connections arriving now wait in its queue) and version 1's state.
pub(crate) fn run_version1(total: usize, wait: Duration) -> Result<(TcpListener, Version1)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let served = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let v1 = serve("v1", listener.try_clone()?, served, stop.clone());
    println!("v1 (pid {}): listening on {addr}", std::process::id());

    let progress = Arc::new(AtomicUsize::new(0));
    let client = client(addr, total, progress.clone());
    // Let the client reach a third of its connections on version 1.
    let deadline = Instant::now() + wait;
    while progress.load(Ordering::Acquire) < total / 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }

    // Version 1 stops accepting first, so the state it hands over is final; connections that
    // arrive meanwhile wait in the listening socket's queue, not refused.
    stop.store(true, Ordering::Release);
    let served = v1.join().map_err(|_| "v1's accept loop panicked")??;
    let v1 = Version1 {
        served,
        total,
        progress,
        client,
    };
    Ok((listener, v1))
}

impl Version1 {
    /// The client's connections so far.
    pub(crate) fn connections(&self) -> usize {
        self.progress.load(Ordering::Acquire)
    }

    /// Waits for the client's last connection; what it saw.
    pub(crate) fn finish_client(self) -> Result<Seen> {
        while self.connections() < self.total {
            std::thread::sleep(Duration::from_millis(100));
            eprint!(
                "\rclient: {}/{} connections",
                self.connections(),
                self.total
            );
        }
        eprintln!();
        self.client.join().map_err(|_| "the client panicked".into())
    }
}

/// Fails unless version 2 exited well and the client saw both versions, in order, and no
/// refusal or other error over its `total` connections.
pub(crate) fn judge(seen: &Seen, total: usize, v2: std::process::ExitStatus) -> Result<()> {
    println!("client: {seen:?}");
    if !v2.success() {
        return Err(format!("v2 failed: {v2}").into());
    }
    if seen.refused > 0 || seen.other_errors > 0 || seen.v1_after_v2 > 0 {
        return Err(format!("the hand-over lost connections: {seen:?}").into());
    }
    if seen.v1 == 0 || seen.v2 == 0 || seen.v1 + seen.v2 != total {
        return Err(format!("expected answers from both versions: {seen:?}").into());
    }
    println!(
        "handoff: {total} connections, none refused ({} by v1, {} by v2)",
        seen.v1, seen.v2
    );
    Ok(())
}
