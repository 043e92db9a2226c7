//! What both versions of the `handoff` example share, on every system: the accept loop that
//! answers `<version> <count>`, and the client that connects in a loop and counts what answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

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
