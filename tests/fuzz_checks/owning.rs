//! The owning layer over control data the kernel really produced: `Received`'s and
//! `RecvDatagram`'s accessors (`fds`, `pidfd`, `credentials`, `messages`, `Rights`, `Pidfd`) in
//! any order and combination, with any control room (so also under `MSG_CTRUNC`).
//!
//! Each input sends one message over a Unix datagram socketpair (fds in up to two `SCM_RIGHTS`
//! messages, credentials or not; the receiver with `SO_PASSCRED`/`SO_PASSPIDFD` on or off),
//! receives it with `RecvMsg` or `RecvBatch` into a control buffer of the input's size, runs the
//! input's accessors, and checks: every descriptor handed out is open, close-on-exec and handed
//! out once; a kind is handed out whole when asked for and nothing was truncated; and once the
//! message drops, the process holds exactly the descriptors it held before plus those taken.
//!
//! The check counts the process's open descriptors, so it must not run beside other threads
//! that open or close any: the corpus replay runs it alone in its own test binary.

use std::collections::BTreeSet;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;

use ancillary::batch::RecvBatch;
use ancillary::cmsg::{
    space_for_fds, CmsgBuffer, ControlMessage, Credentials, CREDENTIALS_SPACE, PIDFD_SPACE,
};
use ancillary::{Received, RecvMsg, SendMsg};
use arbitrary::{Arbitrary, Unstructured};

/// `SO_PASSPIDFD` from asm-generic/socket.h.
const SO_PASSPIDFD: libc::c_int = 76;

/// Most fds one input sends, over its two `SCM_RIGHTS` messages.
const MAX_FDS: usize = 8;

/// Room for everything one input can make the kernel deliver.
const ROOM: usize = 2 * space_for_fds(MAX_FDS) + CREDENTIALS_SPACE + PIDFD_SPACE;

/// One accessor call.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub(crate) enum Op {
    /// `fds()`, taking at most this many.
    Fds(u8),
    /// `pidfd()`.
    Pidfd,
    /// `credentials()`.
    Credentials,
    /// `messages()`, taking every descriptor of the first `n` items and dropping the rest.
    Messages(u8),
    /// `raw_messages()`: a non-owning walk.
    Raw,
    /// `check()`.
    Check,
}

/// One input of the `cmsg_owning` target.
#[derive(Debug, Arbitrary)]
pub(crate) struct OwningInput {
    /// Fds in the first and second `SCM_RIGHTS` message (each taken modulo 5).
    rights: (u8, u8),
    /// The sender adds its credentials explicitly.
    send_credentials: bool,
    pass_cred: bool,
    pass_pidfd: bool,
    /// Control room offered, modulo `ROOM + 1`.
    room: u16,
    /// Receive with a one-slot `RecvBatch` instead of `RecvMsg`.
    batch: bool,
    ops: Vec<Op>,
}

/// What the accessors took.
#[derive(Default)]
struct Taken {
    rights: Vec<OwnedFd>,
    pidfds: Vec<OwnedFd>,
}

fn set_int_option(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, on: bool) -> bool {
    let v = libc::c_int::from(on);
    // SAFETY: `v` is a valid int for the duration of the call, with its size passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

fn is_cloexec(fd: RawFd) -> bool {
    // SAFETY: F_GETFD reads the descriptor flags of a number; an unopened number gives -1.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC != 0
}

/// The descriptors open in this process (the one that read the listing is closed again by
/// the time the numbers are checked, so it is left out).
fn open_fds() -> BTreeSet<RawFd> {
    let listed: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    listed
        .into_iter()
        // SAFETY: F_GETFD only reads the flags of a number; an unopened one gives -1.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0)
        .collect()
}

/// Runs `ops` on a received message; panics on a broken promise.
fn run_ops(msg: &mut Received<'_>, ops: &[Op], taken: &mut Taken) {
    for op in ops.iter().take(16) {
        match *op {
            Op::Fds(n) => taken.rights.extend(msg.fds().take(usize::from(n))),
            Op::Pidfd => taken.pidfds.extend(msg.pidfd()),
            Op::Credentials => {
                if let Some(c) = msg.credentials() {
                    assert_eq!(c.pid, std::process::id() as libc::pid_t);
                }
            }
            Op::Messages(n) => {
                for (i, m) in msg.messages().enumerate() {
                    if i >= usize::from(n) {
                        continue; // dropped untaken: a later walk must still find it
                    }
                    match m {
                        ControlMessage::Rights(r) => taken.rights.extend(r),
                        ControlMessage::Pidfd(mut p) => taken.pidfds.extend(p.take()),
                        _ => {}
                    }
                }
            }
            Op::Raw => {
                let _ = msg.raw_messages().count();
            }
            Op::Check => {
                let _ = msg.check();
            }
        }
    }
}

/// The socketpair of this process (made once), as (sender, receiver).
fn sockets() -> &'static (UnixDatagram, UnixDatagram) {
    static PAIR: std::sync::OnceLock<(UnixDatagram, UnixDatagram)> = std::sync::OnceLock::new();
    PAIR.get_or_init(|| UnixDatagram::pair().expect("socketpair"))
}

/// The check of the `cmsg_owning` target.
pub(crate) fn cmsg_owning(data: &[u8]) {
    let Ok(input) = OwningInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (tx, rx) = sockets();
    let counts = [
        usize::from(input.rights.0 % 5),
        usize::from(input.rights.1 % 5),
    ];
    let pidfd_on = set_int_option(rx.as_fd(), libc::SOL_SOCKET, SO_PASSPIDFD, input.pass_pidfd);
    assert!(set_int_option(
        rx.as_fd(),
        libc::SOL_SOCKET,
        libc::SO_PASSCRED,
        input.pass_cred
    ));
    let pidfd_expected = input.pass_pidfd && pidfd_on;

    let files: Vec<std::fs::File> = (0..counts[0] + counts[1])
        .map(|_| std::fs::File::open("/dev/null").expect("/dev/null"))
        .collect();
    let before = open_fds();

    let borrowed: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut out = CmsgBuffer::<ROOM>::new();
    let mut enc = out.encoder();
    for part in [&borrowed[..counts[0]], &borrowed[counts[0]..]] {
        if !part.is_empty() {
            enc.push_rights(part).expect("room for the rights");
        }
    }
    if input.send_credentials {
        enc.push_credentials(Credentials::current())
            .expect("room for the credentials");
    }
    SendMsg::new(&[IoSlice::new(b"owning")])
        .control(&enc)
        .send(tx)
        .expect("sendmsg");

    let room = usize::from(input.room) % (ROOM + 1);
    let sent = counts[0] + counts[1];
    let mut taken = Taken::default();
    let truncated;
    if input.batch {
        let mut batch = RecvBatch::new(1, 16, room).expect("a one-slot batch");
        assert_eq!(batch.recv(rx).expect("recvmmsg"), 1);
        let mut d = batch.iter_mut().next().expect("one datagram");
        truncated = d.is_control_truncated();
        run_ops(&mut d, &input.ops, &mut taken);
    } else {
        let mut buf = CmsgBuffer::<ROOM>::new();
        let mut data = [0u8; 16];
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut recv = RecvMsg::new(&mut iov).control(&mut buf[..room]);
        let mut msg = recv.recv(rx).expect("recvmsg");
        truncated = msg.is_control_truncated();
        run_ops(&mut msg, &input.ops, &mut taken);
    }

    // Every descriptor handed out is open, close-on-exec, and was handed out once.
    let mine: Vec<RawFd> = taken
        .rights
        .iter()
        .chain(&taken.pidfds)
        .map(AsRawFd::as_raw_fd)
        .collect();
    let unique: BTreeSet<RawFd> = mine.iter().copied().collect();
    assert_eq!(unique.len(), mine.len(), "a descriptor handed out twice");
    for &fd in &mine {
        assert!(is_cloexec(fd), "fd {fd} is not open and close-on-exec");
        assert!(!before.contains(&fd), "fd {fd} was open before the receive");
    }
    assert!(taken.rights.len() <= sent, "more fds than were sent");
    assert!(taken.pidfds.len() <= usize::from(pidfd_expected));

    // What was asked for, and not truncated away, came out whole.
    if !truncated {
        let asked_all_fds = input.ops.iter().take(16).any(|op| match op {
            Op::Fds(n) => usize::from(*n) >= sent,
            Op::Messages(n) => usize::from(*n) >= 3,
            _ => false,
        });
        if asked_all_fds {
            assert_eq!(taken.rights.len(), sent, "an fd asked for was lost");
        }
        let asked_pidfd = input.ops.iter().take(16).any(|op| {
            matches!(op, Op::Pidfd) || matches!(op, Op::Messages(n) if usize::from(*n) >= 3)
        });
        if asked_pidfd && pidfd_expected {
            assert_eq!(taken.pidfds.len(), 1, "the pidfd asked for was lost");
        }
    }

    // Once the message dropped, exactly what was taken stays open beside what was there.
    let after = open_fds();
    let expected: BTreeSet<RawFd> = before.union(&unique).copied().collect();
    assert_eq!(
        after, expected,
        "descriptors leaked or closed behind the caller's back"
    );
    drop(taken);
    drop(files);
}
