//! Flags given to a builder add to its safe defaults; only the named opt-outs remove one.
//! Receive builders (`RecvMsg`, `RecvBatch`) keep `MSG_CMSG_CLOEXEC`: received fds are
//! close-on-exec. Send builders (`SendMsg`, `SendAll`, `SendFile`, `Batch`) keep
//! `MSG_NOSIGNAL`: a closed peer gives `EPIPE`, and no `SIGPIPE` is raised (SIGPIPE is blocked
//! here, so that a raised one stays pending where the test sees it). Linux raises `SIGPIPE`
//! for stream sockets only, and a `Batch` refuses those: what its `sendmmsg` passes is checked
//! with a seccomp filter instead, which fails the call unless the flags are the ones expected.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{Error, RecvFlags, RecvMsg, SendAll, SendFile, SendFlags, SendMsg};
use common::*;
use nix::sys::socket::SockType;

// ---- receive builders: MSG_CMSG_CLOEXEC stays ----------------------------------------------

/// Two fds sent on `a` in one datagram: /dev/null, without FD_CLOEXEC on our side, so that
/// close-on-exec on the received copies can only come from the receive flags.
fn send_two_fds(a: &OwnedFd) {
    let files = dev_nulls(2);
    for f in &files {
        nix::fcntl::fcntl(
            f.as_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .unwrap();
        assert!(!is_cloexec(f));
    }
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    assert_eq!(send_fds(a.as_fd(), b"fds", &fds).unwrap(), 3);
}

/// Receives one message on `b` with `RecvMsg` set up by `setup`; the fds received.
fn recv_msg_fds(
    b: &OwnedFd,
    setup: impl for<'x, 'y> FnOnce(RecvMsg<'x, 'y>) -> RecvMsg<'x, 'y>,
) -> Vec<OwnedFd> {
    let mut data = [0u8; 16];
    let mut room = CmsgBuffer::<{ space_for_fds(2) }>::new();
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = setup(RecvMsg::new(&mut iov).control(&mut room));
    let mut msg = recv.recv(b).unwrap();
    msg.check().unwrap();
    let fds: Vec<_> = msg.fds().collect();
    assert_eq!(fds.len(), 2);
    fds
}

#[test]
fn recv_msg_flags_keep_fds_close_on_exec() {
    let (a, b) = pair(SockType::Datagram);
    send_two_fds(&a);
    let fds = recv_msg_fds(&b, |r| r.flags(RecvFlags::DONTWAIT));
    assert!(
        fds.iter().all(is_cloexec),
        "DONTWAIT dropped MSG_CMSG_CLOEXEC"
    );
    send_two_fds(&a);
    let fds = recv_msg_fds(&b, |r| r.flags(RecvFlags::DONTWAIT).flags(RecvFlags::PEEK));
    assert!(fds.iter().all(is_cloexec), "a second flags() dropped it");
    // Peeked, so the message is still queued: take it.
    let _ = recv_msg_fds(&b, |r| r);

    // The opt-out removes it; a later explicit flag brings it back.
    send_two_fds(&a);
    let fds = recv_msg_fds(&b, |r| r.inherit_fds().flags(RecvFlags::DONTWAIT));
    assert!(fds.iter().all(|f| !is_cloexec(f)), "inherit_fds");
    send_two_fds(&a);
    let fds = recv_msg_fds(&b, |r| r.inherit_fds().flags(RecvFlags::CMSG_CLOEXEC));
    assert!(fds.iter().all(is_cloexec));
}

/// Receives one datagram on `b` with `batch`; the fds it carried.
fn recv_batch_fds(b: &OwnedFd, batch: &mut RecvBatch) -> Vec<OwnedFd> {
    assert_eq!(batch.recv(b).unwrap(), 1);
    let mut d = batch.iter_mut().next().unwrap();
    d.check().unwrap();
    let fds: Vec<_> = d.fds().collect();
    assert_eq!(fds.len(), 2);
    fds
}

#[test]
fn recv_batch_set_flags_keeps_fds_close_on_exec() {
    let (a, b) = pair(SockType::Datagram);
    let defaults = RecvFlags::CMSG_CLOEXEC | RecvFlags::WAITFORONE;
    let mut batch = RecvBatch::new(4, 16, space_for_fds(2)).unwrap();
    assert_eq!(batch.flags(), defaults);

    send_two_fds(&a);
    batch.set_flags(RecvFlags::DONTWAIT);
    assert_eq!(batch.flags(), defaults | RecvFlags::DONTWAIT);
    let fds = recv_batch_fds(&b, &mut batch);
    assert!(
        fds.iter().all(is_cloexec),
        "DONTWAIT dropped MSG_CMSG_CLOEXEC"
    );

    // DONTWAIT reached the kernel: an empty queue does not block.
    let err = batch.recv(&b).unwrap_err();
    assert!(err.is_would_block(), "{err}");

    // A second set_flags replaces the first one's flags; the defaults stay.
    batch.set_flags(RecvFlags::TRUNC);
    assert_eq!(batch.flags(), defaults | RecvFlags::TRUNC);
    send_two_fds(&a);
    let fds = recv_batch_fds(&b, &mut batch);
    assert!(fds.iter().all(is_cloexec));
    batch.set_flags(RecvFlags::empty());
    assert_eq!(batch.flags(), defaults);

    // The opt-out removes it, for later set_flags too; an explicit flag brings it back.
    batch.inherit_fds().set_flags(RecvFlags::DONTWAIT);
    assert_eq!(batch.flags(), RecvFlags::WAITFORONE | RecvFlags::DONTWAIT);
    send_two_fds(&a);
    let fds = recv_batch_fds(&b, &mut batch);
    assert!(fds.iter().all(|f| !is_cloexec(f)), "inherit_fds");
    batch.set_flags(RecvFlags::CMSG_CLOEXEC);
    send_two_fds(&a);
    let fds = recv_batch_fds(&b, &mut batch);
    assert!(fds.iter().all(is_cloexec));
}

/// `MSG_WAITFORONE` is a default of `RecvBatch` too: flags given keep it, and only
/// `wait_for_all` removes it. Without it, a blocking call with one datagram queued and room
/// for more waits for the receive timeout.
#[test]
fn recv_batch_set_flags_keeps_wait_for_one() {
    let timeout = Duration::from_secs(1);
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(timeout)).unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut batch = RecvBatch::new(4, 64, 0).unwrap();
    let timed = |batch: &mut RecvBatch| {
        tx.send_to(b"one", rx.local_addr().unwrap()).unwrap();
        let start = Instant::now();
        assert_eq!(batch.recv(&rx).unwrap(), 1);
        start.elapsed()
    };
    batch.set_flags(RecvFlags::TRUNC);
    let t = timed(&mut batch);
    assert!(
        t < timeout * 9 / 10,
        "waited {t:?}: MSG_WAITFORONE was dropped"
    );
    batch.wait_for_all().set_flags(RecvFlags::TRUNC);
    assert!(!batch.flags().contains(RecvFlags::WAITFORONE));
    let t = timed(&mut batch);
    assert!(
        t >= timeout * 9 / 10,
        "returned after {t:?} without MSG_WAITFORONE"
    );
}

// ---- send builders: MSG_NOSIGNAL stays -------------------------------------------------------

/// Whether a SIGPIPE is pending for this thread; takes it if so.
fn take_sigpipe() -> bool {
    // SAFETY: sigset_t is plain data filled by sigpending and sigemptyset; a zero timeout
    // never waits and a null siginfo is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        assert_eq!(libc::sigpending(&mut set), 0);
        if libc::sigismember(&set, libc::SIGPIPE) != 1 {
            return false;
        }
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        assert_eq!(
            libc::sigtimedwait(&set, std::ptr::null_mut(), &zero),
            libc::SIGPIPE
        );
        true
    }
}

/// Runs `f` with SIGPIPE blocked in this thread, so that a raised SIGPIPE stays pending where
/// [`take_sigpipe`] sees it (the Rust runtime ignores SIGPIPE, which would hide it).
fn with_sigpipe_blocked(f: impl FnOnce()) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGPIPE);
    set.thread_block().unwrap();
    take_sigpipe();
    f();
    take_sigpipe();
    set.thread_unblock().unwrap();
}

/// A Unix stream whose peer is gone.
fn dead_stream() -> OwnedFd {
    pair(SockType::Stream).0
}

#[track_caller]
fn assert_epipe(r: ancillary::Result<impl std::fmt::Debug>, call: &'static str) {
    let err = r.unwrap_err();
    assert!(
        matches!(err, Error::Os { call: c, errno: libc::EPIPE, .. } if c == call),
        "{err}"
    );
}

#[test]
fn send_msg_flags_keep_nosignal() {
    with_sigpipe_blocked(|| {
        let a = dead_stream();
        let iov = [IoSlice::new(b"x")];
        let msg = SendMsg::new(&iov).flags(SendFlags::DONTWAIT);
        assert_eq!(msg.send_flags(), SendFlags::NOSIGNAL | SendFlags::DONTWAIT);
        assert_epipe(msg.send(&a), "sendmsg");
        assert!(!take_sigpipe(), "DONTWAIT dropped MSG_NOSIGNAL");
        let msg = SendMsg::new(&iov)
            .flags(SendFlags::DONTWAIT)
            .flags(SendFlags::DONTROUTE);
        assert_epipe(msg.send(&a), "sendmsg");
        assert!(!take_sigpipe(), "a second flags() dropped MSG_NOSIGNAL");
        // The opt-out removes it: the kernel raises SIGPIPE (held pending here).
        assert_epipe(
            SendMsg::new(&iov)
                .flags(SendFlags::DONTWAIT)
                .allow_sigpipe()
                .send(&a),
            "sendmsg",
        );
        assert!(take_sigpipe(), "allow_sigpipe");
    });
}

#[test]
fn send_all_flags_keep_nosignal() {
    with_sigpipe_blocked(|| {
        let a = dead_stream();
        let iov = [IoSlice::new(b"x")];
        let mut job = SendAll::new(&iov).flags(SendFlags::DONTWAIT);
        assert_epipe(job.send(&a), "sendmsg");
        assert!(!take_sigpipe(), "DONTWAIT dropped MSG_NOSIGNAL");
        let mut job = SendAll::new(&iov)
            .flags(SendFlags::DONTWAIT)
            .allow_sigpipe();
        assert_epipe(job.send(&a), "sendmsg");
        assert!(take_sigpipe(), "allow_sigpipe");
    });
}

#[test]
fn send_file_flags_keep_nosignal() {
    let file = file_with("body");
    with_sigpipe_blocked(|| {
        let a = dead_stream();
        // The header fails first (sendmsg); with no header, the body (sendfile).
        for (header, call) in [(&b"head"[..], "sendmsg"), (&b""[..], "sendfile")] {
            let iov = [IoSlice::new(header)];
            let mut job = SendFile::new(&iov, &file, 0, 4).flags(SendFlags::DONTWAIT);
            assert_epipe(job.send(&a), call);
            assert!(!take_sigpipe(), "{call}: DONTWAIT dropped no-SIGPIPE");
            let mut job = SendFile::new(&iov, &file, 0, 4)
                .flags(SendFlags::DONTWAIT)
                .allow_sigpipe();
            assert_epipe(job.send(&a), call);
            assert!(take_sigpipe(), "{call}: allow_sigpipe");
        }
    });
}

/// The errno the seccomp filter below answers with: one no socket call gives.
const FILTERED: i32 = libc::ENOTRECOVERABLE;

/// Installs, in the calling thread only, a seccomp filter that fails every `sendmmsg` whose
/// flags are not `expected` with [`FILTERED`]. Err: why it cannot be installed here.
fn require_sendmmsg_flags(expected: SendFlags) -> Result<(), String> {
    // struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64), args[6] (u64).
    const ARG3: u32 = 16 + 3 * 8;
    let low_half = if cfg!(target_endian = "little") {
        ARG3
    } else {
        ARG3 + 4
    };
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut prog = [
        stmt(ld, 0),
        jump(jeq, libc::SYS_sendmmsg as u32, 0, 3),
        stmt(ld, low_half),
        jump(jeq, expected.bits() as u32, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ERRNO | FILTERED as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: prctl with these options reads only `fprog`, which points at `prog`, both alive
    // for the call; no_new_privs and the filter apply to this thread (and threads it creates).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(format!(
                "PR_SET_NO_NEW_PRIVS: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &fprog as *const libc::sock_fprog,
        ) != 0
        {
            return Err(format!(
                "seccomp filter: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// One datagram from `tx` to `rx` with `batch`; the errno if the call failed.
fn batch_send(
    batch: &mut Batch<'_>,
    tx: &std::net::UdpSocket,
    to: std::net::SocketAddr,
) -> Option<i32> {
    batch.clear();
    batch.push(to, b"datagram").unwrap();
    match batch.send(tx) {
        Ok(n) => {
            assert_eq!(n, 1);
            None
        }
        Err(e) => Some(e.error.raw_os_error().expect("an OS error")),
    }
}

#[test]
fn batch_set_flags_keeps_nosignal() {
    let mut batch = Batch::new();
    assert_eq!(batch.flags(), SendFlags::NOSIGNAL);
    batch.set_flags(SendFlags::DONTWAIT).unwrap();
    assert_eq!(batch.flags(), SendFlags::NOSIGNAL | SendFlags::DONTWAIT);
    // A second set_flags replaces the first one's flags; the defaults stay.
    batch.set_flags(SendFlags::DONTROUTE).unwrap();
    assert_eq!(batch.flags(), SendFlags::NOSIGNAL | SendFlags::DONTROUTE);
    // A refused flag changes nothing.
    assert!(batch.set_flags(SendFlags::MORE).is_err());
    assert_eq!(batch.flags(), SendFlags::NOSIGNAL | SendFlags::DONTROUTE);
    batch.set_flags(SendFlags::empty()).unwrap();
    assert_eq!(batch.flags(), SendFlags::NOSIGNAL);

    // What the kernel is given: in a thread of its own, where sendmmsg fails unless its flags
    // are exactly MSG_NOSIGNAL | MSG_DONTWAIT.
    let verdict = std::thread::spawn(|| {
        let rx = udp_receiver("127.0.0.1:0", 1 << 16);
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        // Before the filter: the batch learns the socket (getsockopt, a probe send).
        let mut batch = Batch::new();
        assert_eq!(batch_send(&mut batch, &tx, to), None);
        require_sendmmsg_flags(SendFlags::NOSIGNAL | SendFlags::DONTWAIT)?;
        // The filter sees sendmmsg's flags: the defaults alone are refused.
        if batch_send(&mut batch, &tx, to) != Some(FILTERED) {
            return Err("the filter does not see sendmmsg (socketcall?)".to_string());
        }
        batch.set_flags(SendFlags::DONTROUTE).unwrap();
        batch.set_flags(SendFlags::DONTWAIT).unwrap();
        assert_eq!(
            batch_send(&mut batch, &tx, to),
            None,
            "set_flags(DONTWAIT) did not pass MSG_NOSIGNAL | MSG_DONTWAIT"
        );
        // The opt-out removes MSG_NOSIGNAL, for later set_flags too.
        batch
            .allow_sigpipe()
            .set_flags(SendFlags::DONTWAIT)
            .unwrap();
        assert_eq!(batch.flags(), SendFlags::DONTWAIT);
        assert_eq!(batch_send(&mut batch, &tx, to), Some(FILTERED));
        // An explicit MSG_NOSIGNAL is passed all the same.
        batch
            .set_flags(SendFlags::NOSIGNAL | SendFlags::DONTWAIT)
            .unwrap();
        assert_eq!(batch_send(&mut batch, &tx, to), None);
        let mut got = 0;
        let mut buf = [0u8; 16];
        while rx.recv(&mut buf).is_ok() {
            got += 1;
        }
        assert_eq!(got, 3, "the datagrams the filter let through arrived");
        Ok(())
    })
    .join()
    .unwrap();
    if let Err(why) = verdict {
        println!("skipped the kernel side of batch_set_flags_keeps_nosignal: {why}");
    }
}
