//! SCM_CREDENTIALS over real sockets, and the kernel's refusal of forged credentials.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};

use ancillary::cmsg::{CmsgBuffer, ControlMessage, Credentials, CREDENTIALS_SPACE};
use ancillary::{Error, RecvMsg, SendMsg};
use common::*;
use nix::sys::socket::{setsockopt, sockopt::PassCred, SockType};

fn send_creds(sock: &impl std::os::fd::AsFd, creds: Credentials) -> ancillary::Result<usize> {
    let mut storage = CmsgBuffer::<CREDENTIALS_SPACE>::new();
    let mut control = storage.encoder();
    control.push_credentials(creds)?;
    SendMsg::new(&[IoSlice::new(b"who")])
        .control(&control)
        .send(sock)
}

fn recv_creds(sock: &impl std::os::fd::AsFd) -> Option<Credentials> {
    let mut data = [0u8; 8];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<CREDENTIALS_SPACE>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(sock).unwrap();
    msg.check().unwrap();
    let seen = msg.credentials();
    // The typed walk agrees with the shortcut.
    let typed = msg.messages().find_map(|m| match m {
        ControlMessage::Credentials(c) => Some(c),
        _ => None,
    });
    assert_eq!(seen, typed);
    seen
}

#[test]
fn own_credentials_arrive_with_passcred() {
    for ty in [SockType::Stream, SockType::Datagram, SockType::SeqPacket] {
        let (a, b) = pair(ty);
        setsockopt(&b, PassCred, &true).unwrap();
        let me = Credentials::current();
        assert_eq!(me.pid, std::process::id() as i32);
        send_creds(&a, me).unwrap();
        assert_eq!(recv_creds(&b), Some(me), "{ty:?}");
    }
}

#[test]
fn kernel_attaches_credentials_when_none_are_sent() {
    let (a, b) = pair(SockType::Datagram);
    setsockopt(&b, PassCred, &true).unwrap();
    send_fds(std::os::fd::AsFd::as_fd(&a), b"plain", &[]).unwrap();
    assert_eq!(recv_creds(&b), Some(Credentials::current()));
}

#[test]
fn nothing_arrives_without_passcred() {
    let (a, b) = pair(SockType::Datagram);
    send_creds(&a, Credentials::current()).unwrap();
    assert_eq!(recv_creds(&b), None);
}

const CHILD_ENV: &str = "ANCILLARY_TEST_FORGED_PID_CHILD";

/// Runs `child_claims_a_forged_pid` in a child process that is not root.
#[test]
fn forged_pid_is_refused_with_eperm() {
    run_unprivileged(
        "child_claims_a_forged_pid",
        CHILD_ENV,
        "forged pid refused: EPERM",
    );
}

#[test]
#[ignore = "runs in the child process of forged_pid_is_refused_with_eperm"]
fn child_claims_a_forged_pid() {
    if !is_unprivileged_child(CHILD_ENV) {
        return;
    }
    let (a, b) = pair(SockType::Stream);
    setsockopt(&b, PassCred, &true).unwrap();
    let forged = Credentials {
        pid: 1,
        ..Credentials::current()
    };
    let err = send_creds(&a, forged).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Os {
                call: "sendmsg",
                errno: libc::EPERM,
                ..
            }
        ),
        "{err}"
    );
    // The advice is about the credentials, not about a receiver refusing descriptors.
    assert!(err.to_string().contains("own pid"), "{err}");
    assert!(!err.to_string().contains("SO_PASSRIGHTS"), "{err}");
    // The true credentials still pass.
    send_creds(&a, Credentials::current()).unwrap();
    assert_eq!(recv_creds(&b), Some(Credentials::current()));
    println!("forged pid refused: EPERM ({err})");
}
