//! `SendFile` to a dead peer gives `EPIPE`, never `SIGPIPE`, unless `allow_sigpipe`:
//! `sendfile(2)` takes no `MSG_NOSIGNAL`, so the signal is blocked around the call and a
//! `SIGPIPE` the call raised is taken. Checked in child processes with the default disposition
//! (which ends the process), over TCP loopback and Unix streams; and in this process that a
//! `SIGPIPE` pending before the call stays pending and the signal mask is restored.
#![cfg(unix)]

mod common;

use std::fs::File;
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

use ancillary::{Error, SendFile};
use common::*;
use nix::sys::socket::{setsockopt, sockopt::SndBuf, SockType};

const CHILD_ENV: &str = "ANCILLARY_TEST_SENDFILE_SIGPIPE_CHILD";
const CHILD: &str = "child_sends_a_file_to_a_dead_peer";

/// A memfd holding `data`, positioned at its start.
fn file_of(data: &[u8]) -> File {
    let mut f = File::from(
        rustix::fs::memfd_create("ancillary-sigpipe", rustix::fs::MemfdFlags::CLOEXEC).unwrap(),
    );
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// Whether `err` is `EPIPE` from `sendfile`.
fn is_broken_pipe(err: &Error) -> bool {
    matches!(
        err,
        Error::Os {
            call: "sendfile",
            errno: libc::EPIPE,
            ..
        }
    )
}

/// The signals blocked in this thread, from 1 to `SIGRTMAX`.
fn blocked_signals() -> Vec<i32> {
    // SAFETY: sigset_t is plain data; pthread_sigmask with a null new set only writes the
    // current mask into `old`, which we own.
    let old = unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut old),
            0
        );
        old
    };
    (1..=libc::SIGRTMAX())
        // SAFETY: `old` is an initialised sigset_t and `s` a valid signal number.
        .filter(|&s| unsafe { libc::sigismember(&old, s) } == 1)
        .collect()
}

/// `how` (`SIG_BLOCK`, `SIG_UNBLOCK`) for these signals in this thread.
fn mask(how: libc::c_int, signals: &[i32]) {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset; the signals are valid.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        assert_eq!(libc::pthread_sigmask(how, &set, std::ptr::null_mut()), 0);
    }
}

/// Whether SIGPIPE is pending for this thread.
fn sigpipe_pending() -> bool {
    // SAFETY: sigpending writes one sigset_t, which we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        assert_eq!(libc::sigpending(&mut set), 0);
        libc::sigismember(&set, libc::SIGPIPE) == 1
    }
}

/// Takes a pending SIGPIPE (SIGPIPE must be blocked); whether there was one.
fn take_sigpipe() -> bool {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset; a zero timeout never waits
    // and a null siginfo is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) == libc::SIGPIPE
    }
}

/// Runs the child test with `scenario`; its exit status and standard output.
fn run_child(scenario: &str) -> (std::process::ExitStatus, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, scenario)
        .output()
        .expect("spawn the child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "child {scenario}: {:?}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, stdout)
}

const SCENARIOS: [&str; 3] = ["unix", "tcp", "unix-midway"];

#[test]
fn sendfile_to_a_dead_peer_gives_epipe_and_no_sigpipe() {
    for scenario in SCENARIOS {
        let (status, stdout) = run_child(&format!("{scenario} default"));
        assert_eq!(
            status.signal(),
            None,
            "{scenario}: the child died of a signal (13: SIGPIPE)"
        );
        assert!(
            status.success() && stdout.contains("child got EPIPE"),
            "{scenario}: {status:?}\n{stdout}"
        );
    }
}

#[test]
fn allow_sigpipe_lets_sendfile_raise_sigpipe() {
    for scenario in SCENARIOS {
        let (status, stdout) = run_child(&format!("{scenario} allow"));
        assert!(
            stdout.contains("child sending"),
            "{scenario}: the child did not reach the send\n{stdout}"
        );
        assert_eq!(
            status.signal(),
            Some(libc::SIGPIPE),
            "{scenario}: {status:?}\n{stdout}"
        );
    }
}

/// In the child: SIGPIPE gets its default disposition (the Rust runtime ignores it), and a
/// `SendFile` writes to a peer that is gone:
/// - `unix`: a Unix stream whose peer is closed, body only (the header would fail first);
/// - `tcp`: TCP on 127.0.0.1 whose peer closed, body only, repeated until the peer's reset
///   makes the send fail;
/// - `unix-midway`: a header and 8 MiB of body on a Unix stream with a small send buffer,
///   whose peer reads the header and then closes while `sendfile` is blocked mid-body.
#[test]
#[ignore = "runs in the child processes of the tests above"]
fn child_sends_a_file_to_a_dead_peer() {
    let Some(scenario) = std::env::var(CHILD_ENV).ok() else {
        return;
    };
    let (kind, allow) = scenario.split_once(' ').unwrap();
    let allow = allow == "allow";
    // SAFETY: setting a signal's disposition to the default is always valid; no handler of ours
    // is involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    mask(libc::SIG_UNBLOCK, &[libc::SIGPIPE]);
    let job = |header: &'static [u8], file: &'static File, len| {
        let job = SendFile::new(&[IoSlice::new(header)], file, 0, len);
        if allow {
            job.allow_sigpipe()
        } else {
            job
        }
    };
    let err = match kind {
        "unix" => {
            let file = Box::leak(Box::new(file_of(b"body")));
            let (a, b) = pair(SockType::Stream);
            drop(b);
            println!("child sending");
            job(b"", file, 4).send_all(&a).unwrap_err()
        }
        "tcp" => {
            let file = Box::leak(Box::new(file_of(&pattern(4096))));
            let (client, server) = tcp_pair();
            drop(server);
            println!("child sending");
            let mut err = None;
            // The first sends go; the peer answers them with a reset.
            for _ in 0..500 {
                match job(b"", file, 4096).send_all(&client) {
                    Ok(_) => std::thread::sleep(Duration::from_millis(2)),
                    Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {}
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            err.expect("the send to a closed TCP peer kept succeeding")
        }
        "unix-midway" => {
            let body = pattern(8 << 20);
            let file = Box::leak(Box::new(file_of(&body)));
            let (a, b) = pair(SockType::Stream);
            setsockopt(&a, SndBuf, &4096).unwrap();
            let header: &'static [u8] = b"HEADER\n";
            let reader = std::thread::spawn(move || {
                let mut b = File::from(b);
                let mut got = vec![0u8; header.len()];
                b.read_exact(&mut got).unwrap();
                // Let sendfile fill the buffer and block, then go away.
                std::thread::sleep(Duration::from_millis(50));
                drop(b);
            });
            println!("child sending");
            let mut job = job(header, file, body.len() as u64);
            let err = job.send_all(&a).unwrap_err();
            reader.join().unwrap();
            assert_eq!(job.header_sent(), header.len());
            assert!(job.body_sent() < body.len() as u64);
            err
        }
        other => panic!("unknown scenario {other}"),
    };
    assert!(is_broken_pipe(&err), "{err}");
    println!("child got EPIPE");
}

/// With SIGPIPE blocked by the caller: no SIGPIPE is left pending by the call, the mask is as
/// it was, and other blocked signals stay blocked.
#[test]
fn a_blocked_sigpipe_is_not_left_pending_and_the_mask_is_kept() {
    let file = file_of(b"body");
    mask(libc::SIG_BLOCK, &[libc::SIGPIPE, libc::SIGUSR2]);
    while take_sigpipe() {}
    let before = blocked_signals();
    assert!(before.contains(&libc::SIGPIPE) && before.contains(&libc::SIGUSR2));
    for tcp in [false, true] {
        // TCP with our write side shut down; a Unix stream whose peer is gone.
        let (a, _peer): (OwnedFd, Option<OwnedFd>) = if tcp {
            let (client, server) = tcp_pair();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            (client.into(), Some(server.into()))
        } else {
            (pair(SockType::Stream).0, None)
        };
        let err = SendFile::new(&[], &file, 0, 4).send(&a).unwrap_err();
        assert!(is_broken_pipe(&err), "tcp: {tcp}: {err}");
        let pending = sigpipe_pending();
        let after = blocked_signals();
        while take_sigpipe() {}
        assert!(
            !pending,
            "tcp: {tcp}: the SIGPIPE sendfile raised was left pending"
        );
        assert_eq!(after, before, "tcp: {tcp}");
    }
    mask(libc::SIG_UNBLOCK, &[libc::SIGPIPE, libc::SIGUSR2]);
}

/// A SIGPIPE that was pending before the call (raised for this thread while blocked) is still
/// pending after it: only the call's own signal is taken.
#[test]
fn a_sigpipe_pending_before_the_call_stays_pending() {
    let file = file_of(b"body");
    mask(libc::SIG_BLOCK, &[libc::SIGPIPE]);
    while take_sigpipe() {}
    // SAFETY: pthread_self is this thread, alive; SIGPIPE is blocked, so it stays pending.
    let r = unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGPIPE) };
    assert_eq!(r, 0);
    assert!(sigpipe_pending());
    let (a, b) = pair(SockType::Stream);
    drop(b);
    let err = SendFile::new(&[], &file, 0, 4).send(&a).unwrap_err();
    assert!(is_broken_pipe(&err), "{err}");
    let pending = sigpipe_pending();
    let still_blocked = blocked_signals().contains(&libc::SIGPIPE);
    while take_sigpipe() {}
    mask(libc::SIG_UNBLOCK, &[libc::SIGPIPE]);
    assert!(pending, "the SIGPIPE pending before the call was taken");
    assert!(still_blocked, "the mask was not restored");
}

/// With SIGPIPE unblocked (as in most threads), it is unblocked again after the call, and the
/// rest of the mask is untouched.
#[test]
fn an_unblocked_sigpipe_is_unblocked_after_the_call() {
    let file = file_of(b"body");
    mask(libc::SIG_UNBLOCK, &[libc::SIGPIPE]);
    mask(libc::SIG_BLOCK, &[libc::SIGUSR2]);
    let before = blocked_signals();
    assert!(!before.contains(&libc::SIGPIPE));
    let (a, b) = pair(SockType::Stream);
    drop(b);
    let err = SendFile::new(&[], &file, 0, 4).send(&a).unwrap_err();
    assert!(is_broken_pipe(&err), "{err}");
    let after = blocked_signals();
    mask(libc::SIG_UNBLOCK, &[libc::SIGUSR2]);
    assert_eq!(after, before);
}
