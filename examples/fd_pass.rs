//! Passes an open file and the sender's credentials to a real child process.
//!
//! The parent writes a temporary file, re-executes this program as its child with one end of a
//! Unix socket pair, and sends the file's descriptor (`SCM_RIGHTS`) and its credentials
//! (`SCM_CREDENTIALS`). The child reads the file through the descriptor it received, checks that
//! the credentials name its parent, and answers over the socket. Exits non-zero on any failure.
//!
//! ```text
//! cargo run --release --example fd_pass
//! ```
// Linux only (passes SCM_CREDENTIALS): elsewhere the crate is empty, so that the

use std::error::Error;
use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Command;

use ancillary::cmsg::{space_for_fds, CmsgBuffer, Credentials, CREDENTIALS_SPACE};
use ancillary::{RecvMsg, SendMsg};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{setsockopt, sockopt::PassCred};

const FD_ENV: &str = "ANCILLARY_FD_PASS_SOCKET";
/// Room for what the parent sends: one descriptor and one set of credentials.
const CONTROL: usize = space_for_fds(1) + CREDENTIALS_SPACE;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

pub(crate) fn main() -> Result<()> {
    match std::env::var(FD_ENV) {
        Ok(fd) => child(fd.parse()?),
        Err(_) => parent(),
    }
}

fn parent() -> Result<()> {
    let me = Credentials::current();
    let path = std::env::temp_dir().join(format!("ancillary-fd-pass-{}.txt", me.pid));
    let text = "a line written by the parent, read by the child through a passed fd\n";
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    file.write_all(text.as_bytes())?;
    println!(
        "parent (pid {}): wrote {} bytes to {}",
        me.pid,
        text.len(),
        path.display()
    );

    let (ours, theirs) = UnixStream::pair()?;
    // The child's end must survive exec, and must see credentials.
    fcntl(&theirs, FcntlArg::F_SETFD(FdFlag::empty()))?;
    setsockopt(&theirs, PassCred, &true)?;
    let mut child = Command::new(std::env::current_exe()?)
        .env(FD_ENV, theirs.as_raw_fd().to_string())
        .spawn()?;
    drop(theirs);
    println!("parent: spawned child pid {}", child.id());

    let mut storage = CmsgBuffer::<CONTROL>::new();
    let mut control = storage.encoder();
    control.push_rights(&[file.as_fd()])?;
    control.push_credentials(me)?;
    let sent = SendMsg::new(&[IoSlice::new(b"file")])
        .control(&control)
        .send(&ours)?;
    println!(
        "parent: sent {sent} bytes + SCM_RIGHTS [fd {}] + SCM_CREDENTIALS (pid {}, uid {}, gid {})",
        file.as_raw_fd(),
        me.pid,
        me.uid,
        me.gid
    );
    drop(file);
    std::fs::remove_file(&path)?; // the child reads it through the descriptor alone

    let mut answer = String::new();
    (&ours).read_to_string(&mut answer)?;
    println!("parent: child answered: {}", answer.trim_end());
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("child failed: {status}").into());
    }
    if answer != format!("ok {} bytes: {text}", text.len()) {
        return Err(format!("unexpected answer {answer:?}").into());
    }
    println!("parent: done");
    Ok(())
}

fn child(fd: i32) -> Result<()> {
    // SAFETY: the parent put this descriptor, one end of a socket pair, in our environment and
    // nothing else in this process owns it.
    let sock = UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let parent_pid = std::os::unix::process::parent_id() as i32;
    println!("child (pid {}): waiting on fd {fd}", std::process::id());

    let mut data = [0u8; 16];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<CONTROL>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&sock)?;
    msg.check()?;
    let what = String::from_utf8_lossy(msg.data().unwrap_or_default()).into_owned();
    let creds = msg.credentials().ok_or("no credentials arrived")?;
    let fd = msg.fds().next().ok_or("no descriptor arrived")?;
    drop(msg);
    println!(
        "child: got {what:?} + fd {} + credentials (pid {}, uid {}, gid {})",
        fd.as_raw_fd(),
        creds.pid,
        creds.uid,
        creds.gid
    );
    if creds.pid != parent_pid {
        return Err(format!(
            "credentials name pid {}, my parent is {parent_pid}",
            creds.pid
        )
        .into());
    }

    let mut file = File::from(fd);
    file.seek(SeekFrom::Start(0))?; // the open file description is shared: rewind
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    println!("child: read {} bytes through the passed fd", text.len());
    (&sock).write_all(format!("ok {} bytes: {text}", text.len()).as_bytes())?;
    Ok(())
}
