//! Taking one kind of received descriptor never closes another: with `SO_PASSCRED` and
//! `SO_PASSPIDFD` on, a message carries `SCM_CREDENTIALS`, `SCM_RIGHTS` and `SCM_PIDFD`, and every
//! order and combination of `fds()`, `pidfd()`, `credentials()` and `messages()` gives the caller
//! every descriptor it asks for, on `Received` and on a `RecvBatch` datagram. Also: `data()`
//! answers the same for both. Alone in its binary, so that counting this process's open
//! descriptors sees no other test's.
#![cfg(unix)]

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use ancillary::batch::RecvBatch;
use ancillary::cmsg::{space_for_fds, CmsgBuffer, ControlMessage, CREDENTIALS_SPACE, PIDFD_SPACE};
use ancillary::{Received, RecvFlags, RecvMsg};
use common::*;
use nix::sys::socket::{setsockopt, sockopt, SockType};

/// `SO_PASSPIDFD` from asm-generic/socket.h (the architectures this is built for here).
const SO_PASSPIDFD: libc::c_int = 76;

/// The tests count this process's open descriptors: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const ROOM: usize = space_for_fds(2) + CREDENTIALS_SPACE + PIDFD_SPACE;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Fds,
    Pidfd,
    Credentials,
    /// Walks every message and takes every descriptor it yields.
    MessagesTake,
    /// Walks every message and drops each one untaken.
    MessagesLook,
}

/// What a sequence of accessors took.
#[derive(Default)]
struct Taken {
    fds: Vec<OwnedFd>,
    pidfds: Vec<OwnedFd>,
    credentials: usize,
}

fn run(msg: &mut Received<'_>, steps: &[Step]) -> Taken {
    let mut t = Taken::default();
    for step in steps {
        match step {
            Step::Fds => t.fds.extend(msg.fds()),
            Step::Pidfd => t.pidfds.extend(msg.pidfd()),
            Step::Credentials => {
                let c = msg.credentials().expect("credentials with SO_PASSCRED");
                assert_eq!(c.pid, std::process::id() as libc::pid_t);
                t.credentials += 1;
            }
            Step::MessagesTake => {
                for m in msg.messages() {
                    match m {
                        ControlMessage::Rights(r) => t.fds.extend(r),
                        ControlMessage::Pidfd(mut p) => t.pidfds.extend(p.take()),
                        ControlMessage::Credentials(_) => t.credentials += 1,
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            Step::MessagesLook => {
                let kinds: Vec<_> = msg.messages().map(|m| std::mem::discriminant(&m)).collect();
                assert_eq!(kinds.len(), 3, "credentials, rights and pidfd");
            }
        }
    }
    t
}

fn inode(fd: &impl AsFd) -> (u64, u64) {
    let m = File::from(fd.as_fd().try_clone_to_owned().unwrap())
        .metadata()
        .unwrap();
    (m.dev(), m.ino())
}

fn is_own_pidfd(fd: &OwnedFd) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .any(|l| l == format!("Pid:\t{}", std::process::id()))
}

/// Every permutation of `items`.
fn permutations(items: &[Step]) -> Vec<Vec<Step>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

/// Every order of the four accessors (with `messages()` both taking and only looking), and
/// every pair and single, so both "asked for" and "never asked for" are covered.
fn sequences() -> Vec<Vec<Step>> {
    let mut all = Vec::new();
    for messages in [Step::MessagesTake, Step::MessagesLook] {
        all.extend(permutations(&[
            Step::Fds,
            Step::Pidfd,
            Step::Credentials,
            messages,
        ]));
    }
    let singles = [
        Step::Fds,
        Step::Pidfd,
        Step::Credentials,
        Step::MessagesTake,
        Step::MessagesLook,
    ];
    for a in singles {
        all.push(vec![a]);
        for b in singles {
            all.push(vec![a, b]);
        }
    }
    all.push(vec![]);
    all
}

/// Checks what a sequence took: each kind it asked for, whole, and nothing twice.
fn check(steps: &[Step], t: &Taken, sent: &BTreeSet<(u64, u64)>) {
    let asked_fds = steps
        .iter()
        .any(|s| matches!(s, Step::Fds | Step::MessagesTake));
    let asked_pidfd = steps
        .iter()
        .any(|s| matches!(s, Step::Pidfd | Step::MessagesTake));
    let got: BTreeSet<_> = t.fds.iter().map(inode).collect();
    if asked_fds {
        assert_eq!(t.fds.len(), 2, "{steps:?}: every SCM_RIGHTS fd, once");
        assert_eq!(&got, sent, "{steps:?}: the fds that were sent");
    } else {
        assert!(t.fds.is_empty(), "{steps:?}");
    }
    if asked_pidfd {
        assert_eq!(t.pidfds.len(), 1, "{steps:?}: the pidfd, once");
        assert!(
            is_own_pidfd(&t.pidfds[0]),
            "{steps:?}: a pidfd of the sender"
        );
    } else {
        assert!(t.pidfds.is_empty(), "{steps:?}");
    }
    for fd in t.fds.iter().chain(&t.pidfds) {
        assert!(is_cloexec(fd), "{steps:?}: close-on-exec");
    }
}

fn receiver_with_everything() -> Option<(OwnedFd, OwnedFd)> {
    let (a, b) = pair(SockType::Datagram);
    setsockopt(&b, sockopt::PassCred, &true).unwrap();
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid int for the duration of the call, with its size passed.
    let r = unsafe {
        libc::setsockopt(
            b.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PASSPIDFD,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        eprintln!(
            "skipped: SO_PASSPIDFD refused ({}) on Linux {release}",
            std::io::Error::last_os_error()
        );
        assert!(
            !kernel_at_least(6, 5),
            "SO_PASSPIDFD refused on Linux {release}, which has it"
        );
        return None;
    }
    Some((a, b))
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (major, minor)
}

#[test]
fn every_order_of_accessors_gets_every_descriptor() {
    let _serial = serial();
    let Some((a, b)) = receiver_with_everything() else {
        return;
    };
    let files = [file_with("one"), file_with("two")];
    let sent: BTreeSet<_> = files.iter().map(inode).collect();
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let before = open_fd_count();

    for steps in sequences() {
        send_fds(a.as_fd(), b"x", &fds).unwrap();
        let mut data = [0u8; 4];
        let mut room = CmsgBuffer::<ROOM>::new();
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut recv = RecvMsg::new(&mut iov).control(&mut room);
        let mut msg = recv.recv(&b).unwrap();
        msg.check().unwrap();
        let taken = run(&mut msg, &steps);
        drop(msg);
        check(&steps, &taken, &sent);
        drop(taken);
        assert_eq!(open_fd_count(), before, "{steps:?}: a descriptor leaked");
    }
}

#[test]
fn every_order_of_accessors_gets_every_descriptor_in_a_batch() {
    let _serial = serial();
    let Some((a, b)) = receiver_with_everything() else {
        return;
    };
    let files = [file_with("one"), file_with("two")];
    let sent: BTreeSet<_> = files.iter().map(inode).collect();
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let mut batch = RecvBatch::new(1, 16, ROOM).unwrap();
    let before = open_fd_count();

    for steps in sequences() {
        send_fds(a.as_fd(), b"x", &fds).unwrap();
        assert_eq!(batch.recv(&b).unwrap(), 1);
        let mut d = batch.iter_mut().next().unwrap();
        d.check().unwrap();
        let taken = run(&mut d, &steps);
        drop(d);
        check(&steps, &taken, &sent);
        drop(taken);
        assert_eq!(open_fd_count(), before, "{steps:?}: a descriptor leaked");
    }
    drop(batch);
    assert_eq!(open_fd_count(), before);
}

#[test]
fn a_taken_rights_message_dropped_half_way_leaves_the_rest_to_a_later_walk() {
    let _serial = serial();
    let Some((a, b)) = receiver_with_everything() else {
        return;
    };
    let files = [file_with("one"), file_with("two")];
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let before = open_fd_count();
    send_fds(a.as_fd(), b"x", &fds).unwrap();
    let mut room = CmsgBuffer::<ROOM>::new();
    let mut data = [0u8; 4];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    let first = msg.fds().next().expect("one fd");
    assert_eq!(read_all(first), "one");
    let rest: Vec<_> = msg.fds().collect();
    assert_eq!(rest.len(), 1);
    assert!(msg.pidfd().is_some());
    assert!(msg.pidfd().is_none(), "taken once");
    assert_eq!(msg.fds().count(), 0, "taken once");
    assert_eq!(read_all(rest.into_iter().next().unwrap()), "two");
    drop(msg);
    assert_eq!(open_fd_count(), before);
}

#[test]
fn data_is_what_fitted_in_a_single_buffer_also_with_msg_trunc() {
    let _serial = serial();
    let (a, b) = pair(SockType::Datagram);
    let mut room = CmsgBuffer::<16>::new();

    // One buffer, longer datagram, MSG_TRUNC passed in: len() is the real length, data() what
    // fitted.
    nix::unistd::write(&a, b"0123456789").unwrap();
    let mut small = [0u8; 4];
    let mut iov = [IoSliceMut::new(&mut small)];
    let mut recv = RecvMsg::new(&mut iov)
        .control(&mut room)
        .flags(RecvFlags::TRUNC);
    let msg = recv.recv(&b).unwrap();
    assert_eq!(msg.len(), 10);
    assert!(msg.is_data_truncated());
    assert_eq!(msg.data(), Some(&b"0123"[..]));
    drop(msg);

    // The same without MSG_TRUNC passed in.
    nix::unistd::write(&a, b"0123456789").unwrap();
    let mut iov = [IoSliceMut::new(&mut small)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let msg = recv.recv(&b).unwrap();
    assert_eq!((msg.len(), msg.data()), (4, Some(&b"0123"[..])));
    drop(msg);

    // Two buffers: data that spilled into the second is not in data().
    for (text, want) in [(&b"abc"[..], Some(&b"abc"[..])), (b"abcdef", None)] {
        nix::unistd::write(&a, text).unwrap();
        let (mut x, mut y) = ([0u8; 4], [0u8; 4]);
        let mut iov = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        let mut recv = RecvMsg::new(&mut iov)
            .control(&mut room)
            .flags(RecvFlags::TRUNC);
        let msg = recv.recv(&b).unwrap();
        assert_eq!(msg.data(), want, "{text:?}");
    }

    // A batch datagram: Received::data (through the dereference) agrees with
    // RecvDatagram::data, truncated or not.
    let mut batch = RecvBatch::new(2, 4, 0).unwrap();
    batch.set_flags(RecvFlags::TRUNC);
    let (tx, rx) = pair(SockType::Datagram);
    nix::unistd::write(&tx, b"ab").unwrap();
    nix::unistd::write(&tx, b"0123456789").unwrap();
    let mut got = 0;
    while got < 2 {
        batch.recv(&rx).unwrap();
        for d in batch.iter_mut() {
            let via_received: &Received<'_> = &d;
            assert_eq!(via_received.data(), Some(d.data()));
            assert!(!d.data().is_empty());
            got += 1;
        }
    }
}
