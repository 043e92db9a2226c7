//! `SendAll` on real stream sockets: partial writes resumed after poll on TCP loopback, control
//! data sent exactly once even when the first attempt would block, blocking sockets, EINTR,
//! errors in the middle, and sockets that are not streams.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{
    wait_writable, Error, IoVecs, Limit, Limits, Progress, SendAll, SendFlags, SendMsg,
};
use common::*;
use nix::sys::socket::{setsockopt, sockopt::SndBuf, SockType};

/// Calls `send` until done, waiting for POLLOUT in between; returns how often it waited.
fn drive(job: &mut SendAll<'_, '_>, sock: &impl AsFd) -> usize {
    let (mut waits, deadline) = (0usize, Instant::now() + Duration::from_secs(30));
    while job.send(sock).unwrap() == Progress::WouldBlock {
        assert!(Instant::now() < deadline, "sender timed out");
        assert!(wait_writable(sock, Some(Duration::from_secs(10))).unwrap());
        waits += 1;
    }
    waits
}

#[test]
fn tcp_sixteen_mib_resumed_after_poll_arrive_in_order() {
    let data = pattern(16 << 20);
    let slices = irregular_slices(&data, 48 * 1024);
    let (client, server) = tcp_pair();
    setsockopt(&client, SndBuf, &32768).unwrap();
    client.set_nonblocking(true).unwrap();
    let reader = std::thread::spawn(move || read_slowly(server));

    let mut job = SendAll::new(&slices);
    let waits = drive(&mut job, &client);
    assert!(waits > 0, "the small buffer made the sender wait");
    assert_eq!(job.sent(), data.len());
    drop(client);

    let got = reader.join().unwrap();
    assert_eq!(got.bytes.len(), data.len());
    if let Some(at) = got.bytes.iter().zip(&data).position(|(x, y)| x != y) {
        panic!("byte {at} differs");
    }
    assert!(got.fds.is_empty());
}

/// Fills the send buffer of a non-blocking `sock` until the kernel takes no more; returns the
/// bytes queued.
fn fill(sock: &impl AsFd) -> usize {
    let chunk = [0xeeu8; 4096];
    let mut queued = 0;
    for _ in 0..100_000 {
        match SendMsg::new(&[IoSlice::new(&chunk)])
            .flags(SendFlags::DONTWAIT)
            .send(sock)
        {
            Ok(n) => queued += n,
            Err(e) if e.is_would_block() => return queued,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the send buffer never filled");
}

#[test]
fn control_waits_for_the_first_byte_written() {
    let (a, b) = pair(SockType::Stream);
    setsockopt(&a, SndBuf, &4096).unwrap();
    let a = UnixStream::from(a);
    a.set_nonblocking(true).unwrap();
    let filler = fill(&a);

    let file = file_with("once");
    let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = space.encoder();
    control.push_rights(&[file.as_fd()]).unwrap();
    let body = pattern(64 * 1024);
    let mut job = SendAll::new(&[IoSlice::new(b"<"), IoSlice::new(&body)]).control(&control);

    // Nothing fits: nothing was written, so the fd has not gone either.
    assert_eq!(job.send(&a), Ok(Progress::WouldBlock));
    assert_eq!(job.sent(), 0);
    assert!(job.control_pending());

    let reader = std::thread::spawn(move || read_slowly(b));
    drive(&mut job, &a);
    assert!(job.is_done() && !job.control_pending());
    // Done stays done, with no further call.
    assert_eq!(job.send(&a), Ok(Progress::Done));
    drop(job);
    drop(a);

    let got = reader.join().unwrap();
    assert_eq!(got.bytes.len(), filler + 1 + body.len());
    assert!(got.bytes[..filler].iter().all(|&x| x == 0xee));
    assert_eq!(got.bytes[filler], b'<');
    assert!(got.bytes[filler + 1..] == body[..]);
    assert_eq!(got.fds.len(), 1, "the fd arrives exactly once");
    assert_eq!(read_all(got.fds.into_iter().next().unwrap()), "once");
}

#[test]
fn send_all_on_blocking_and_non_blocking_sockets() {
    let data = pattern(3 << 20);
    let slices = irregular_slices(&data, 64 * 1024);
    for non_blocking in [false, true] {
        let (a, b) = pair(SockType::Stream);
        setsockopt(&a, SndBuf, &16384).unwrap();
        let a = UnixStream::from(a);
        a.set_nonblocking(non_blocking).unwrap();
        let files = [file_with("x"), file_with("y")];
        let mut space = CmsgBuffer::<{ space_for_fds(2) }>::new();
        let mut control = space.encoder();
        control
            .push_rights(&[files[0].as_fd(), files[1].as_fd()])
            .unwrap();

        let reader = std::thread::spawn(move || read_slowly(b));
        let sent = SendAll::new(&slices)
            .control(&control)
            .send_all(&a)
            .unwrap();
        assert_eq!(sent, data.len());
        drop(a);
        let got = reader.join().unwrap();
        assert!(got.bytes == data, "non-blocking: {non_blocking}");
        assert_eq!((got.fds.len(), got.reads_with_fds), (2, 1));
    }
}

#[test]
fn iovec_windows_on_a_stream_follow_the_limits() {
    // 3000 one-byte iovecs, in windows of 7 per call: all arrive in order.
    let data = pattern(3000);
    let slices: Vec<IoSlice<'_>> = data.chunks(1).map(IoSlice::new).collect();
    let (a, b) = pair(SockType::Stream);
    let reader = std::thread::spawn(move || read_slowly(b));
    let limits = Limits {
        max_iovecs: 7,
        ..Limits::kernel()
    };
    let sent = SendAll::new(&slices).limits(limits).send_all(&a).unwrap();
    assert_eq!(sent, 3000);
    drop(a);
    assert!(reader.join().unwrap().bytes == data);
}

#[test]
fn on_a_seqpacket_socket_it_is_one_record() {
    let (a, b) = pair(SockType::SeqPacket);
    let mut iov = IoVecs::new();
    iov.push(b"one ").push(b"record");
    assert_eq!(SendAll::from_iovecs(iov).send_all(&a), Ok(10));
    let (data, _, _) = recv_fds(b.as_fd(), 0);
    assert_eq!(data, b"one record");

    // A record is atomic: more iovecs than one sendmsg takes is an error, not several records.
    let bytes = [1u8; 1025];
    let slices: Vec<IoSlice<'_>> = bytes.chunks(1).map(IoSlice::new).collect();
    let err = SendAll::new(&slices).send(&a).unwrap_err();
    assert!(matches!(
        err,
        Error::Limit {
            limit: Limit::Iovecs,
            needed: 1025,
            ..
        }
    ));
}

#[test]
fn nothing_to_send() {
    // No bytes and no control data: done without a system call, on any descriptor.
    let file = std::fs::File::open("/dev/null").unwrap();
    let mut job = SendAll::new(&[IoSlice::new(b"")]);
    assert!(job.is_done());
    assert_eq!(job.send(&file), Ok(Progress::Done));

    // Control data needs a byte to ride on.
    let (a, _b) = pair(SockType::Stream);
    let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = space.encoder();
    control.push_rights(&[file.as_fd()]).unwrap();
    let mut job = SendAll::new(&[]).control(&control);
    assert_eq!(job.send(&a), Err(Error::ControlWithoutData));
    assert!(job.control_pending());
}

#[test]
fn an_error_midway_keeps_the_progress() {
    let (a, b) = pair(SockType::Stream);
    setsockopt(&a, SndBuf, &4096).unwrap();
    let a = UnixStream::from(a);
    a.set_nonblocking(true).unwrap();
    let body = pattern(1 << 20);
    let mut job = SendAll::new(&[IoSlice::new(&body)]);
    assert_eq!(job.send(&a), Ok(Progress::WouldBlock));
    let sent = job.sent();
    assert!(sent > 0);
    drop(b);
    let err = job.send(&a).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Os {
                call: "sendmsg",
                errno: libc::EPIPE,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(job.sent(), sent);
    assert_eq!(job.remaining(), body.len() - sent);
}

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn signals_during_a_blocked_send_are_retried() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // No SA_RESTART: a signal while sendmsg waits makes it return EINTR (or a short count).
    let action = SigAction::new(
        SigHandler::Handler(count_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only touches an atomic, which is async-signal-safe; no other test in
    // this binary uses SIGUSR1.
    unsafe { sigaction(Signal::SIGUSR1, &action) }.unwrap();

    let data = pattern(2 << 20);
    let (a, b) = pair(SockType::Stream);
    let mut b = std::fs::File::from(b);
    setsockopt(&a, SndBuf, &4096).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let sender = std::thread::spawn({
        let data = data.clone();
        move || {
            // SAFETY: pthread_self cannot fail. A pthread_t is an integer on glibc and a pointer
            // on musl: it crosses the channel as a usize.
            tx.send(unsafe { libc::pthread_self() } as usize).unwrap();
            SendAll::new(&[IoSlice::new(&data)]).send_all(&a)
        }
    });
    let thread = rx.recv().unwrap() as libc::pthread_t;
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    for _ in 0..10 {
        // The sender is blocked on a full buffer: interrupt it, then let some bytes through.
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: `thread` is the sender, alive until joined below.
        assert_eq!(unsafe { libc::pthread_kill(thread, libc::SIGUSR1) }, 0);
        let n = b.read(&mut buf[..1000]).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    // Then read the rest: the sender finishes and closes its end.
    for _ in 0..1_000_000 {
        let n = b.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(sender.join().unwrap(), Ok(data.len()));
    assert!(got == data);
    assert!(SIGNALS.load(Ordering::SeqCst) >= 10);
}

/// A timeout too long for the clock waits without limit instead of panicking.
#[test]
fn wait_writable_with_the_longest_timeout() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    assert_eq!(
        ancillary::wait_writable(&a, Some(std::time::Duration::MAX)),
        Ok(true)
    );
}
