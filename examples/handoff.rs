//! A zero-downtime restart: a TCP server hands its listening socket and its state to a freshly
//! started new version of itself, then stops, while a client keeps connecting; no connection is
//! refused.
//!
//! Version 1 listens on 127.0.0.1 and answers every connection with `v1 <count>`. A client
//! thread connects in a loop. Version 1 then starts version 2 (this program again, as a child
//! process, with one end of a Unix socket pair) and sends it, in one message, the listening
//! socket (`SCM_RIGHTS`) and its state (how many connections it has served). Version 2 takes
//! over the same socket, so connections queued meanwhile wait for it instead of being refused,
//! answers with `v2 <count>`, counting on from the state it got, and says it is ready; version 1
//! stops accepting and closes its copy. The client must see answers from version 1, then from
//! version 2, and no refusal. Exits non-zero on any failure.
//!
//! ```text
//! cargo run --release --example handoff            # 2000 connections
//! cargo run --release --example handoff -- 300     # fewer
//! ```

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{RecvMsg, SendMsg};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};

use crate::common::{judge, run_version1, serve, Result};

/// Set in version 2's environment: the descriptor of its end of the socket pair.
const HANDOFF_ENV: &str = "ANCILLARY_HANDOFF_SOCKET";

pub(crate) fn main() -> Result<()> {
    match std::env::var(HANDOFF_ENV) {
        Ok(fd) => version2(fd.parse()?),
        Err(_) => {
            let total = std::env::args()
                .nth(1)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(2000);
            version1(total)
        }
    }
}

fn version1(total: usize) -> Result<()> {
    let (listener, v1) = run_version1(total, Duration::from_secs(30))?;

    // Start version 2 with one end of a socket pair that survives exec.
    let (ours, theirs) = UnixStream::pair()?;
    fcntl(&theirs, FcntlArg::F_SETFD(FdFlag::empty()))?;
    let mut child = Command::new(std::env::current_exe()?)
        .env(HANDOFF_ENV, theirs.as_raw_fd().to_string())
        .spawn()?;
    drop(theirs);

    // Hand over: the listening socket and the state, in one message.
    let state = format!("served={}", v1.served);
    let mut storage = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = storage.encoder();
    control.push_rights(&[listener.as_fd()])?;
    SendMsg::new(&[IoSlice::new(state.as_bytes())])
        .control(&control)
        .send(&ours)?;
    println!(
        "v1: served {}, handed listener fd {} and \"{state}\" to v2 (pid {}) at connection {} \
         of {total}",
        v1.served,
        listener.as_raw_fd(),
        child.id(),
        v1.connections()
    );
    drop(listener);
    let mut ready = [0u8; 5];
    (&ours).read_exact(&mut ready)?;
    println!("v1: v2 is ready; v1 has closed its listener");

    let seen = v1.finish_client()?;

    (&ours).write_all(b"quit")?;
    let mut answer = String::new();
    (&ours).read_to_string(&mut answer)?;
    let status = child.wait()?;
    println!("v2: {answer}");
    judge(&seen, total, status)
}

fn version2(fd: i32) -> Result<()> {
    // SAFETY: version 1 put this descriptor, one end of a socket pair, in our environment, and
    // nothing else in this process owns it.
    let control_socket = UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut state = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut state)];
    let mut room = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&control_socket)?;
    msg.check()?;
    let text = String::from_utf8(msg.data().unwrap_or_default().to_vec())?;
    let listener = TcpListener::from(msg.fds().next().ok_or("no listener arrived")?);
    drop(msg);
    let served: usize = text
        .strip_prefix("served=")
        .ok_or("no state arrived")?
        .parse()?;
    println!(
        "v2 (pid {}): took over {} with \"{text}\"",
        std::process::id(),
        listener.local_addr()?
    );

    let served = Arc::new(AtomicUsize::new(served));
    let stop = Arc::new(AtomicBool::new(false));
    let v2 = serve("v2", listener, served.clone(), stop.clone());
    (&control_socket).write_all(b"ready")?;

    let mut quit = [0u8; 4];
    (&control_socket).read_exact(&mut quit)?;
    stop.store(true, Ordering::Release);
    let mine = v2.join().map_err(|_| "v2's accept loop panicked")??;
    (&control_socket).write_all(
        format!(
            "served {mine} connections, {} in all",
            served.load(Ordering::Acquire)
        )
        .as_bytes(),
    )?;
    Ok(())
}
