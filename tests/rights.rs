//! SCM_RIGHTS over real socketpairs: every socket type, the 253-fd limit, close-on-exec, EPIPE.
#![cfg(unix)]
// The credentials test is Linux-only; what only it uses is unused elsewhere.
#![cfg_attr(not(has_ucred), allow(unused_imports))]

mod common;

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use ancillary::cmsg::{space_for_fds, CmsgBuffer, ControlMessage};
#[cfg(has_ucred)]
use ancillary::cmsg::{Credentials, CREDENTIALS_SPACE};
use ancillary::{Error, Limit, RecvMsg, SendMsg};
use common::*;
use nix::sys::socket::SockType;

/// Passes a file's fd and a socket's fd; reads and writes through what arrives.
fn pass_file_and_socket(ty: SockType) {
    let (a, b) = pair(ty);
    let file = file_with("contents of the file");
    let (inner_a, inner_b) = UnixStream::pair().unwrap();

    let sent = send_fds(a.as_fd(), b"fds", &[file.as_fd(), inner_b.as_fd()]).unwrap();
    assert_eq!(sent, 3);
    drop(inner_b); // the receiver's copy keeps the socket open
    drop(file);

    let (data, mut fds, truncated) = recv_fds(b.as_fd(), 4);
    assert_eq!(data, b"fds");
    assert!(!truncated);
    assert_eq!(fds.len(), 2);
    let sock = fds.pop().unwrap();
    assert_eq!(read_all(fds.pop().unwrap()), "contents of the file");

    // The received socket is the other end of inner_a.
    let mut sock = UnixStream::from(sock);
    sock.write_all(b"ping").unwrap();
    let mut got = [0u8; 4];
    (&inner_a).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    (&inner_a).write_all(b"pong").unwrap();
    sock.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"pong");
}

#[test]
fn stream_pair_passes_file_and_socket() {
    pass_file_and_socket(SockType::Stream);
}

#[test]
fn datagram_pair_passes_file_and_socket() {
    pass_file_and_socket(SockType::Datagram);
}

#[test]
fn seqpacket_pair_passes_file_and_socket() {
    pass_file_and_socket(SockType::SeqPacket);
}

#[test]
fn max_fds_all_arrive() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(253);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    send_fds(a.as_fd(), b"x", &fds).unwrap();
    let (_, got, truncated) = recv_fds(b.as_fd(), 253);
    assert!(!truncated);
    assert_eq!(got.len(), 253);
    assert!(got.iter().all(is_cloexec));
}

/// 253 fds and the sender's credentials in one message: 1064 bytes of control data on 64-bit
/// Linux, more than musl's `sendmsg` wrapper copies (1056, ENOMEM), so the crate makes the
/// system call itself there.
#[test]
#[cfg(has_ucred)]
fn max_fds_with_credentials_arrive_in_one_message() {
    let (a, b) = pair(SockType::Datagram);
    nix::sys::socket::setsockopt(&b, nix::sys::socket::sockopt::PassCred, &true).unwrap();
    let files = dev_nulls(253);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut storage = CmsgBuffer::<{ space_for_fds(253) + CREDENTIALS_SPACE }>::new();
    let mut control = storage.encoder();
    control.push_rights(&fds).unwrap();
    control.push_credentials(Credentials::current()).unwrap();
    assert_eq!(
        SendMsg::new(&[IoSlice::new(b"x")])
            .control(&control)
            .send(&a),
        Ok(1)
    );
    let mut data = [0u8; 4];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<{ space_for_fds(253) + CREDENTIALS_SPACE }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    msg.check().unwrap();
    assert_eq!(msg.credentials(), Some(Credentials::current()));
    assert_eq!(msg.fds().count(), 253);
}

#[test]
fn fd_254_is_rejected_before_the_syscall() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(254);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let err = send_fds(a.as_fd(), b"x", &fds).unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::Fds,
            needed: 254,
            max: 253,
            kernel: None
        }
    );
    assert!(err.to_string().contains("254") && err.to_string().contains("SCM_MAX_FD"));
    // Nothing was sent.
    nix::sys::socket::recv(
        b.as_raw(),
        &mut [0u8; 4],
        nix::sys::socket::MsgFlags::MSG_DONTWAIT,
    )
    .expect_err("nothing queued");
}

trait AsRaw {
    fn as_raw(&self) -> i32;
}
impl<T: AsFd> AsRaw for T {
    fn as_raw(&self) -> i32 {
        raw(self)
    }
}

/// Two SCM_RIGHTS messages in one sendmsg: the limit counts their sum.
fn send_two_rights(n1: usize, n2: usize) -> ancillary::Result<(usize, usize)> {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(n1 + n2);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut storage = CmsgBuffer::<{ 2 * space_for_fds(127) }>::new();
    let mut control = storage.encoder();
    control.push_rights(&fds[..n1])?.push_rights(&fds[n1..])?;
    assert_eq!(control.fd_count(), n1 + n2);
    SendMsg::new(&[IoSlice::new(b"two")])
        .control(&control)
        .send(&a)?;

    let mut data = [0u8; 8];
    let mut iov = [std::io::IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<{ 2 * space_for_fds(127) }>::new();
    let mut recv = ancillary::RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    msg.check().unwrap();
    let mut counts = vec![];
    for m in msg.messages() {
        match m {
            ControlMessage::Rights(r) => counts.push(r.count()),
            other => panic!("unexpected {other:?}"),
        }
    }
    Ok((counts[0], counts.get(1).copied().unwrap_or(0)))
}

#[test]
fn rights_126_plus_127_accepted() {
    // Linux merges the two SCM_RIGHTS messages into one on receive.
    let (x, y) = send_two_rights(126, 127).unwrap();
    assert_eq!(x + y, 253);
}

#[test]
fn rights_127_plus_127_rejected() {
    let err = send_two_rights(127, 127).unwrap_err();
    assert!(matches!(
        err,
        Error::Limit {
            limit: Limit::Fds,
            needed: 254,
            max: 253,
            kernel: None
        }
    ));
}

/// A batched datagram with two SCM_RIGHTS messages meets the system's rule at push, as
/// `SendMsg` does: macOS takes one per send (refused before the call, nothing queued); the
/// others take both and deliver every descriptor.
#[test]
fn two_rights_messages_in_a_batch_follow_the_system_rule() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(3);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut batch = ancillary::Batch::new();
    let pushed = batch.push_vectored(None, &[IoSlice::new(b"two")], |c| {
        c.push_rights(&fds[..1])?.push_rights(&fds[1..])?;
        Ok(())
    });
    if cfg!(target_vendor = "apple") {
        assert!(matches!(
            pushed,
            Err(Error::Limit {
                limit: Limit::RightsMessages,
                needed: 2,
                max: 1,
                kernel: None
            })
        ));
        assert!(batch.is_empty());
        return;
    }
    pushed.unwrap();
    assert_eq!(batch.send(&a), Ok(1));
    let (data, got, truncated) = recv_fds(b.as_fd(), 3);
    assert_eq!((&data[..], got.len(), truncated), (&b"two"[..], 3, false));
}

#[test]
fn received_fds_are_cloexec_unless_asked_otherwise() {
    let (a, b) = pair(SockType::Stream);
    let f = file_with("x");
    send_fds(a.as_fd(), b"1", &[f.as_fd()]).unwrap();
    let (_, fds, _) = recv_fds(b.as_fd(), 1);
    assert!(is_cloexec(&fds[0]));

    send_fds(a.as_fd(), b"2", &[f.as_fd()]).unwrap();
    let mut data = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut recv = ancillary::RecvMsg::new(&mut iov)
        .control(&mut room)
        .inherit_fds();
    let mut msg = recv.recv(&b).unwrap();
    let fd = msg.fds().next().unwrap();
    assert!(!is_cloexec(&fd));
}

#[test]
fn closed_peer_gives_epipe_without_sigpipe() {
    // SIGPIPE's default action would kill the test process; reaching the assertions proves
    // that MSG_NOSIGNAL is on by default.
    let (a, b) = pair(SockType::Stream);
    drop(b);
    let f = file_with("x");
    let err = send_fds(a.as_fd(), b"x", &[f.as_fd()]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    assert!(err.to_string().contains("EPIPE"));
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
}

#[test]
fn untaken_fds_close_when_the_message_drops() {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = pair(SockType::Datagram);
    // Memory files: no other test can open the same inode, so a reused descriptor number
    // cannot be mistaken for one left open.
    let files: Vec<_> = (0..3).map(|i| file_with(&i.to_string())).collect();
    let inodes: Vec<u64> = files.iter().map(|f| f.metadata().unwrap().ino()).collect();
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    send_fds(a.as_fd(), b"x", &fds).unwrap();
    drop(fds);
    drop(files); // only the copies in flight remain
    let mut data = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<{ space_for_fds(3) }>::new();
    let mut recv = ancillary::RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    let numbers: Vec<i32> = msg
        .raw_messages()
        .flat_map(|m| {
            m.data
                .chunks_exact(4)
                .map(|c| i32::from_ne_bytes(c.try_into().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(numbers.len(), 3);
    let first = msg.fds().next().unwrap(); // take one, leave two
    assert_eq!(raw(&first), numbers[0]);
    drop(msg);
    let open_inodes: Vec<u64> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::metadata(e.ok()?.path()).ok())
        .map(|m| m.ino())
        .collect();
    assert!(open_inodes.contains(&inodes[0]), "the taken fd stays open");
    assert!(!open_inodes.contains(&inodes[1]), "untaken fd left open");
    assert!(!open_inodes.contains(&inodes[2]), "untaken fd left open");
    assert!(is_cloexec(&first));
}
