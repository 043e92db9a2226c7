//! A descriptor broker on tokio: one process hands out open files to many concurrent client
//! processes over a Unix socket, and checks who each client is before it answers.
//!
//! The broker listens on a Unix socket in a fresh temporary directory and starts N clients
//! (this program again, as child processes; 32 by default), which all connect at once. Each
//! client sends a request (`GET memfd <n>` or `GET pipe <n>`) with its credentials
//! (`SCM_CREDENTIALS`). For each connection, a task of the broker (one current-thread
//! runtime):
//!
//! - asks the kernel who the peer is: [`sockopt::peer_credentials`] (`SO_PEERCRED`) and,
//!   from Linux 6.5, [`sockopt::peer_pidfd`] (`SO_PEERPIDFD`);
//! - receives the request with [`RecvMsg::recv_async`], `SO_PASSCRED` and (from Linux 6.5)
//!   `SO_PASSPIDFD` on, and takes the `SCM_CREDENTIALS` and `SCM_PIDFD` it came with;
//! - checks that they agree: the same pid, uid and gid; both pidfds name that pid; the pid is
//!   one of the clients this broker started, and the request names that client;
//! - answers with a descriptor ([`AsyncSendWithFd::send_with_fd`]): a memfd, or the read end
//!   of a pipe, with the resource's bytes in it.
//!
//! The client checks that the broker is its parent (`SO_PEERCRED` again), reads the
//! descriptor to its end and checks every byte. A stranger (a connection from the broker
//! process itself, not a client it started) is refused. The broker prints each client it
//! served and a summary, and exits non-zero on any failure: a check that fails, a client that
//! exits non-zero, or a run over 60 s.
//!
//! ```text
//! cargo run --release --features tokio --example fd_broker           # 32 clients
//! cargo run --release --features tokio --example fd_broker -- 200    # 200 clients
//! ```
//!
//! [`sockopt::peer_credentials`]: ancillary::sockopt::peer_credentials
//! [`sockopt::peer_pidfd`]: ancillary::sockopt::peer_pidfd
//! [`RecvMsg::recv_async`]: ancillary::RecvMsg::recv_async
//! [`AsyncSendWithFd::send_with_fd`]: ancillary::tokio::AsyncSendWithFd::send_with_fd

use std::collections::HashMap;
use std::error::Error;
use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use ancillary::cmsg::{CmsgBuffer, Credentials, CREDENTIALS_SPACE, PIDFD_SPACE};
use ancillary::sockopt;
use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd};
use ancillary::{RecvMsg, RecvWithFd, SendMsg};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// Set in a client's environment: the broker's socket, and which client it is.
const SOCKET_ENV: &str = "ANCILLARY_FD_BROKER_SOCKET";
const INDEX_ENV: &str = "ANCILLARY_FD_BROKER_CLIENT";
/// The longest the whole run may take.
const DEADLINE: Duration = Duration::from_secs(60);

pub(crate) fn main() -> Result<()> {
    if let Ok(path) = std::env::var(SOCKET_ENV) {
        let index = std::env::var(INDEX_ENV)?.parse()?;
        return client(Path::new(&path), index)
            .map_err(|e| format!("client {index} (pid {}): {e}", std::process::id()).into());
    }
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|e| format!("client count {a:?}: {e}"))?,
        None => 32,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let dir = std::env::temp_dir().join(format!("ancillary-fd-broker-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = rt.block_on(async {
        tokio::time::timeout(DEADLINE, broker(dir.join("broker.sock"), n))
            .await
            .unwrap_or_else(|_| Err(format!("not done in {DEADLINE:?}").into()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The resource a client asks for: a memfd for even clients, a pipe for odd ones.
fn kind(index: usize) -> &'static str {
    if index % 2 == 0 {
        "memfd"
    } else {
        "pipe"
    }
}

/// The bytes of client `index`'s resource (a few KiB, less than a pipe holds).
fn contents(index: usize, pid: u32) -> Vec<u8> {
    let line = format!("{} #{index} for pid {pid}\n", kind(index));
    line.repeat(4096 / line.len()).into_bytes()
}

/// The pid a pidfd names, from `/proc/self/fdinfo` (-1 once the process is gone).
fn pidfd_pid(pidfd: BorrowedFd<'_>) -> Result<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))?;
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .ok_or("no Pid: line in the pidfd's fdinfo")?;
    Ok(pid.trim().parse()?)
}

/// How one connection went.
enum Outcome {
    Served {
        index: usize,
        pid: i32,
        bytes: usize,
    },
    Refused {
        pid: i32,
        why: String,
    },
}

async fn broker(path: PathBuf, n: usize) -> Result<()> {
    let start = Instant::now();
    let listener = tokio::net::UnixListener::bind(&path)?;
    // SO_PASSPIDFD and SO_PEERPIDFD came with Linux 6.5.
    let pidfds = match sockopt::set_pass_pidfd(&listener, true) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => false,
        Err(e) => return Err(e.into()),
    };
    println!(
        "fd_broker: listening on {}; starting {n} clients; checking SO_PEERCRED and \
         SCM_CREDENTIALS{}",
        path.display(),
        if pidfds {
            ", SO_PEERPIDFD and SCM_PIDFD"
        } else {
            " (no pidfds: this kernel is older than 6.5)"
        }
    );

    let exe = std::env::current_exe()?;
    let mut children: Vec<Child> = Vec::with_capacity(n);
    let mut clients = HashMap::with_capacity(n);
    for index in 0..n {
        let child = Command::new(&exe)
            .env(SOCKET_ENV, &path)
            .env(INDEX_ENV, index.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?;
        clients.insert(child.id() as i32, index);
        children.push(child);
    }
    let clients = Rc::new(clients);

    let local = tokio::task::LocalSet::new();
    let served = local
        .run_until(async {
            // A stranger: a process this broker did not start as a client (the broker itself).
            let stranger = {
                let path = path.clone();
                tokio::task::spawn_local(async move { stranger(&path).await })
            };
            let mut tasks = Vec::with_capacity(n + 1);
            for _ in 0..=n {
                let (stream, _) = listener.accept().await?;
                let clients = clients.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    serve(stream, &clients, pidfds).await
                }));
            }
            let mut outcomes = Vec::with_capacity(n + 1);
            for (k, t) in tasks.into_iter().enumerate() {
                let outcome = t
                    .await
                    .map_err(|e| format!("connection {k}: {e}"))?
                    .map_err(|e| format!("connection {k}: {e}"))?;
                match &outcome {
                    Outcome::Served { index, pid, bytes } if n <= 64 || index % (n / 16) == 0 => {
                        println!(
                            "  client {index:>3} (pid {pid}): {} of {bytes} bytes; {checked}",
                            kind(*index),
                            checked = if pidfds {
                                "SO_PEERCRED, SCM_CREDENTIALS and both pidfds agree"
                            } else {
                                "SO_PEERCRED and SCM_CREDENTIALS agree"
                            }
                        )
                    }
                    Outcome::Served { .. } => {}
                    Outcome::Refused { pid, why } => println!("  refused pid {pid}: {why}"),
                }
                outcomes.push(outcome);
            }
            stranger.await.map_err(|e| format!("the stranger: {e}"))??;
            Ok::<_, Box<dyn Error + Send + Sync>>(outcomes)
        })
        .await?;

    let mut failed = Vec::new();
    for (index, mut child) in children.into_iter().enumerate() {
        let status = child.wait()?;
        if !status.success() {
            failed.push(format!("client {index} exited with {status}"));
        }
    }
    let clients_served = served
        .iter()
        .filter(|o| matches!(o, Outcome::Served { .. }))
        .count();
    let refused = served.len() - clients_served;
    if !failed.is_empty() {
        return Err(failed.join("; ").into());
    }
    if clients_served != n || refused != 1 {
        return Err(
            format!("{clients_served} clients served of {n}, {refused} refused of 1").into(),
        );
    }
    println!(
        "fd_broker: {n} clients served, {n} descriptors passed, every peer checked, 1 stranger \
         refused, in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Serves one connection: checks the peer, then answers its request with a descriptor.
async fn serve(
    stream: tokio::net::UnixStream,
    clients: &HashMap<i32, usize>,
    pidfds: bool,
) -> Result<Outcome> {
    sockopt::set_pass_credentials(&stream, true)?;
    if pidfds {
        sockopt::set_pass_pidfd(&stream, true)?;
    }
    // Who the kernel says connected.
    let peer = sockopt::peer_credentials(&stream)?;
    let peer_pidfd = if pidfds {
        Some(sockopt::peer_pidfd(&stream)?)
    } else {
        None
    };

    // The request, with the credentials it was sent with and a pidfd of its sender.
    let mut buf = [0u8; 64];
    let mut control = CmsgBuffer::<{ CREDENTIALS_SPACE + PIDFD_SPACE }>::new();
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut msg = RecvMsg::new(&mut iov).control(&mut control);
    let mut got = msg.recv_async(&stream).await?;
    got.check()?;
    let len = got.len();
    let sent = got
        .credentials()
        .ok_or("the request came without SCM_CREDENTIALS")?;
    let sent_pidfd = if pidfds {
        Some(got.pidfd().ok_or("the request came without SCM_PIDFD")?)
    } else {
        None
    };
    drop(got);
    let request = std::str::from_utf8(&buf[..len])?;

    // The checks.
    if sent != peer {
        return Err(format!("SCM_CREDENTIALS {sent:?}, SO_PEERCRED {peer:?}").into());
    }
    for (name, fd) in [("SO_PEERPIDFD", &peer_pidfd), ("SCM_PIDFD", &sent_pidfd)] {
        if let Some(fd) = fd {
            let pid = pidfd_pid(fd.as_fd())?;
            if pid != peer.pid {
                return Err(format!("{name} names pid {pid}, SO_PEERCRED pid {}", peer.pid).into());
            }
        }
    }
    let me = Credentials::current();
    let refusal = match clients.get(&peer.pid) {
        _ if (peer.uid, peer.gid) != (me.uid, me.gid) => {
            Some(format!("uid {} gid {} is not ours", peer.uid, peer.gid))
        }
        None => Some("not a client this broker started".to_string()),
        Some(&index) if request != format!("GET {} {index}", kind(index)) => {
            Some(format!("client {index} asked for {request:?}"))
        }
        Some(_) => None,
    };
    if let Some(why) = refusal {
        stream.send_with_fd(b"DENIED", &[]).await?;
        return Ok(Outcome::Refused { pid: peer.pid, why });
    }
    let index = clients[&peer.pid];

    // The resource: its bytes in a memfd (rewound) or in a pipe (whose write end is closed).
    let data = contents(index, peer.pid as u32);
    let fd: OwnedFd = if kind(index) == "memfd" {
        let mut file = File::from(rustix::fs::memfd_create(
            "fd_broker",
            rustix::fs::MemfdFlags::CLOEXEC,
        )?);
        file.write_all(&data)?;
        file.seek(SeekFrom::Start(0))?;
        file.into()
    } else {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        File::from(write).write_all(&data)?;
        read
    };
    let answer = format!("OK {}", data.len());
    stream
        .send_with_fd(answer.as_bytes(), &[fd.as_fd()])
        .await?;
    Ok(Outcome::Served {
        index,
        pid: peer.pid,
        bytes: data.len(),
    })
}

/// Connects as a process the broker did not start, and expects a refusal.
async fn stranger(path: &Path) -> Result<()> {
    let stream = tokio::net::UnixStream::connect(path).await?;
    let mut storage = CmsgBuffer::<CREDENTIALS_SPACE>::new();
    let mut control = storage.encoder();
    control.push_credentials(Credentials::current())?;
    SendMsg::new(&[IoSlice::new(b"GET memfd 0")])
        .control(&control)
        .send_async(&stream)
        .await?;
    let mut buf = [0u8; 64];
    let mut slot: [Option<OwnedFd>; 1] = [None];
    let (len, fds) = stream.recv_with_fd(&mut buf, &mut slot).await?;
    if &buf[..len] != b"DENIED" || fds != 0 {
        return Err(format!(
            "the stranger got {:?} and {fds} descriptors",
            String::from_utf8_lossy(&buf[..len])
        )
        .into());
    }
    Ok(())
}

/// A client: checks that the broker is its parent, asks for its resource with its
/// credentials, and checks every byte of the descriptor it gets.
fn client(path: &Path, index: usize) -> Result<()> {
    let stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    let broker = sockopt::peer_credentials(&stream)?;
    if broker.pid != std::os::unix::process::parent_id() as i32 {
        return Err(format!("the socket's peer is pid {}, not my parent", broker.pid).into());
    }
    let mut storage = CmsgBuffer::<CREDENTIALS_SPACE>::new();
    let mut control = storage.encoder();
    control.push_credentials(Credentials::current())?;
    let request = format!("GET {} {index}", kind(index));
    SendMsg::new(&[IoSlice::new(request.as_bytes())])
        .control(&control)
        .send(&stream)?;

    let mut buf = [0u8; 64];
    let mut slot: [Option<OwnedFd>; 1] = [None];
    let (len, _) = stream.recv_with_fd(&mut buf, &mut slot)?;
    let answer = std::str::from_utf8(&buf[..len])?;
    let fd = slot[0]
        .take()
        .ok_or_else(|| format!("answer {answer:?} without a descriptor"))?;
    let mut got = Vec::new();
    File::from(fd).read_to_end(&mut got)?;
    let want = contents(index, std::process::id());
    if answer != format!("OK {}", want.len()) || got != want {
        return Err(format!(
            "answer {answer:?} with {} bytes not those asked for",
            got.len()
        )
        .into());
    }
    Ok(())
}
