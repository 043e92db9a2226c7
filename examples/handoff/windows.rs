//! A zero-downtime restart on Windows: a TCP server hands its listening socket and its state to
//! a freshly started new version of itself, then stops, while a client keeps connecting; no
//! connection is refused. The Windows counterpart of `../handoff.rs`, which passes the socket
//! with `SCM_RIGHTS`.
//!
//! Version 1 listens on 127.0.0.1 and answers every connection with `v1 <count>`. A client
//! thread connects in a loop. Version 1 then starts version 2 (this program again, as a child
//! process with piped standard input and output), duplicates the listening socket for it with
//! `WSADuplicateSocketW` ([`duplicate_socket`]) and writes the `WSAPROTOCOL_INFOW` bytes and its
//! state (how many connections it has served) to the child's standard input. Version 2 opens the
//! same socket with `WSASocketW(FROM_PROTOCOL_INFO)` ([`ProtocolInfo::into_socket`]), so
//! connections queued meanwhile wait for it instead of being refused, answers with
//! `v2 <count>`, counting on from the state it got, and says it is ready on its standard output;
//! version 1 closes its copy. The client must see answers from version 1, then from version 2,
//! and no refusal. Exits non-zero on any failure.
//!
//! ```text
//! cargo run --release --example handoff            # 2000 connections
//! cargo run --release --example handoff -- 300     # fewer
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ancillary::windows::{duplicate_socket, ProtocolInfo};

use crate::common::{judge, run_version1, serve, Result};

/// Set in version 2's environment: it is the new version, and its standard input carries the
/// socket.
const HANDOFF_ENV: &str = "ANCILLARY_HANDOFF_CHILD";

pub(crate) fn main() -> Result<()> {
    if std::env::var_os(HANDOFF_ENV).is_some() {
        return version2();
    }
    let total = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2000);
    version1(total)
}

fn version1(total: usize) -> Result<()> {
    let (listener, v1) = run_version1(total, Duration::from_secs(60))?;

    // Start version 2 with piped standard input (the socket and the state go there) and output
    // (it answers there).
    let mut child = Command::new(std::env::current_exe()?)
        .env(HANDOFF_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut to_child = child.stdin.take().ok_or("no pipe to v2")?;
    let mut from_child = BufReader::new(child.stdout.take().ok_or("no pipe from v2")?);

    // Hand over: the socket duplicated for version 2's process id, then the state, one line.
    let info = duplicate_socket(&listener, child.id())?;
    let state = format!("served={}\n", v1.served);
    to_child.write_all(info.as_bytes())?;
    to_child.write_all(state.as_bytes())?;
    to_child.flush()?;
    println!(
        "v1: served {}, handed the listener ({} bytes of WSAPROTOCOL_INFOW) and \"{}\" to v2 \
         (pid {}) at connection {} of {total}",
        v1.served,
        info.as_bytes().len(),
        state.trim_end(),
        child.id(),
        v1.connections()
    );
    let mut ready = String::new();
    from_child.read_line(&mut ready)?;
    if ready.trim_end() != "ready" {
        return Err(format!("v2 did not take over: {ready:?}").into());
    }
    drop(listener);
    println!("v1: v2 is ready; v1 has closed its listener");

    let seen = v1.finish_client()?;

    // Closing its standard input tells version 2 to stop.
    drop(to_child);
    let mut answer = String::new();
    from_child.read_to_string(&mut answer)?;
    let status = child.wait()?;
    println!("v2: {}", answer.trim_end());
    judge(&seen, total, status)
}

fn version2() -> Result<()> {
    let mut input = std::io::stdin().lock();
    let mut bytes = [0u8; ProtocolInfo::LEN];
    input.read_exact(&mut bytes)?;
    let listener = TcpListener::from(ProtocolInfo::from_bytes(&bytes)?.into_socket()?);
    let mut text = String::new();
    input.read_line(&mut text)?;
    let served: usize = text
        .trim_end()
        .strip_prefix("served=")
        .ok_or("no state arrived")?
        .parse()?;
    eprintln!(
        "v2 (pid {}): took over {} with \"{}\"",
        std::process::id(),
        listener.local_addr()?,
        text.trim_end()
    );

    let served = Arc::new(AtomicUsize::new(served));
    let stop = Arc::new(AtomicBool::new(false));
    let v2 = serve("v2", listener, served.clone(), stop.clone());
    let mut out = std::io::stdout().lock();
    out.write_all(b"ready\n")?;
    out.flush()?;

    // Serve until version 1 closes our standard input.
    let mut rest = Vec::new();
    input.read_to_end(&mut rest)?;
    stop.store(true, Ordering::Release);
    let mine = v2.join().map_err(|_| "v2's accept loop panicked")??;
    writeln!(
        out,
        "served {mine} connections, {} in all",
        served.load(Ordering::Acquire)
    )?;
    Ok(())
}
