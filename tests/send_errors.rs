//! Every error of send(2) that a real socket on this machine can produce, checked for its typed
//! error and for a message that says what to do.
//!
//! Elsewhere: EPERM for forged credentials in `tests/creds.rs` (an unprivileged child), ENOBUFS
//! at `net.core.optmem_max` and EINVAL beyond 253 fds in `tests/limits.rs`. Not produced:
//! EFAULT (every buffer the crate passes is a live borrow, so safe code cannot make the kernel
//! fault), ENOMEM (needs the kernel out of memory; for control data, a 32-bit process or musl:
//! `tests/error_hints.rs`), ENOBUFS for a full device queue (Linux drops the packet instead, as
//! send(2) says). Advice that depends on what the message carried (EPERM for fds the receiver
//! refuses, ESRCH, EAFNOSUPPORT, PKTINFO refusals, Unix destinations): `tests/error_hints.rs`.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::net::{Shutdown, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{Error, RecvMsg, SendAll, SendFlags, SendMsg};
use common::*;
use nix::sys::socket::{
    setsockopt, socket, sockopt::Linger, AddressFamily, SockFlag, SockType, UnixAddr,
};

/// Sends `data` with no flag of our own beyond the default MSG_NOSIGNAL.
fn send(sock: &impl AsFd, data: &[u8]) -> ancillary::Result<usize> {
    SendMsg::new(&[IoSlice::new(data)]).send(sock)
}

/// Asserts that `err` is `errno` from sendmsg, of `kind` (`None`: one std has no stable name
/// for), and that its message contains `advice`.
#[track_caller]
fn check(err: Error, errno: i32, kind: Option<std::io::ErrorKind>, advice: &str) {
    let kind = kind.unwrap_or_else(|| std::io::Error::from_raw_os_error(errno).kind());
    assert!(
        matches!(err, Error::Os { call: "sendmsg", errno: e, .. } if e == errno),
        "{err}"
    );
    assert_eq!(err.kind(), kind, "{err}");
    let text = err.to_string();
    assert!(text.contains(advice), "{text:?} lacks {advice:?}");
    let io = std::io::Error::from(err);
    assert_eq!(io.kind(), kind);
}

/// Whether a SIGPIPE waits for this thread; takes it if so.
fn take_sigpipe() -> bool {
    use nix::sys::signal::{SigSet, Signal};
    // SAFETY: sigpending writes one sigset_t, which we own.
    let pending = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        assert_eq!(libc::sigpending(&mut set), 0);
        libc::sigismember(&set, libc::SIGPIPE) == 1
    };
    if pending {
        let mut only = SigSet::empty();
        only.add(Signal::SIGPIPE);
        assert_eq!(only.wait().unwrap(), Signal::SIGPIPE);
    }
    pending
}

/// Runs `f` with SIGPIPE blocked in this thread, so that a SIGPIPE stays pending where
/// [`take_sigpipe`] sees it instead of being ignored (the Rust runtime ignores SIGPIPE).
fn with_sigpipe_blocked(f: impl FnOnce()) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGPIPE);
    set.thread_block().unwrap();
    f();
    take_sigpipe();
    set.thread_unblock().unwrap();
}

#[test]
fn epipe_without_sigpipe() {
    with_sigpipe_blocked(|| {
        let (a, b) = pair(SockType::Stream);
        drop(b);
        assert!(!take_sigpipe());
        let err = send(&a, b"x").unwrap_err();
        check(
            err,
            libc::EPIPE,
            Some(std::io::ErrorKind::BrokenPipe),
            "reconnect",
        );
        assert!(!take_sigpipe(), "MSG_NOSIGNAL: no SIGPIPE");
        // SendAll too.
        let err = SendAll::new(&[IoSlice::new(b"x")]).send(&a).unwrap_err();
        check(
            err,
            libc::EPIPE,
            Some(std::io::ErrorKind::BrokenPipe),
            "reconnect",
        );
        assert!(!take_sigpipe());
        // Without MSG_NOSIGNAL the kernel raises SIGPIPE (held pending here).
        let err = SendMsg::new(&[IoSlice::new(b"x")])
            .allow_sigpipe()
            .send(&a)
            .unwrap_err();
        check(
            err,
            libc::EPIPE,
            Some(std::io::ErrorKind::BrokenPipe),
            "reconnect",
        );
        assert!(take_sigpipe(), "SIGPIPE without MSG_NOSIGNAL");

        // TCP after shutting down our own write side.
        let (client, _server) = tcp_pair();
        client.shutdown(Shutdown::Write).unwrap();
        let err = send(&client, b"x").unwrap_err();
        check(
            err,
            libc::EPIPE,
            Some(std::io::ErrorKind::BrokenPipe),
            "reconnect",
        );
        assert!(!take_sigpipe());
    });
}

/// Sends one byte at a time until the first error (the reset may take a moment to arrive).
fn first_error(sock: &impl AsFd) -> Error {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match send(sock, b"x") {
            Err(e) => return e,
            Ok(_) => {
                assert!(Instant::now() < deadline, "no error");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

#[test]
fn econnreset_after_so_linger_zero() {
    let (client, server) = tcp_pair();
    setsockopt(
        &server,
        Linger,
        &libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    )
    .unwrap();
    drop(server); // RST instead of FIN
    let err = first_error(&client);
    check(
        err,
        libc::ECONNRESET,
        Some(std::io::ErrorKind::ConnectionReset),
        "close this socket and reconnect",
    );
}

#[test]
fn econnreset_when_the_peer_closes_with_data_unread() {
    let (client, server) = tcp_pair();
    send(&client, b"never read").unwrap();
    // Wait until the data is queued at the server, then close it unread: the kernel resets.
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut peek = RecvMsg::new(&mut iov).flags(ancillary::RecvFlags::PEEK);
    assert_eq!(peek.recv(&server).unwrap().len(), 1);
    drop(server);
    let err = first_error(&client);
    check(
        err,
        libc::ECONNRESET,
        Some(std::io::ErrorKind::ConnectionReset),
        "reconnect",
    );
}

#[test]
fn eisconn_for_a_destination_on_a_connected_unix_stream() {
    let (a, _b) = pair(SockType::Stream);
    let dest = UnixAddr::new_abstract(b"ancillary-eisconn").unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .to(&dest)
        .send(&a)
        .unwrap_err();
    check(err, libc::EISCONN, None, "send without a destination");
    // TCP ignores a destination on a connected socket (the other choice send(2) allows).
    let (client, _server) = tcp_pair();
    let sent = SendMsg::new(&[IoSlice::new(b"x")])
        .to_addr("127.0.0.1:9".parse().unwrap())
        .send(&client);
    assert_eq!(sent, Ok(1));
}

#[test]
fn edestaddrreq_for_udp_without_destination() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = send(&udp, b"x").unwrap_err();
    check(err, libc::EDESTADDRREQ, None, "name a destination");
}

fn unconnected(family: AddressFamily, ty: SockType) -> OwnedFd {
    socket(family, ty, SockFlag::SOCK_CLOEXEC, None).unwrap()
}

#[test]
fn enotconn_for_unconnected_unix_sockets() {
    for ty in [SockType::Stream, SockType::Datagram, SockType::SeqPacket] {
        let err = send(&unconnected(AddressFamily::Unix, ty), b"x").unwrap_err();
        check(
            err,
            libc::ENOTCONN,
            Some(std::io::ErrorKind::NotConnected),
            "connect it",
        );
    }
    // An unconnected TCP socket gives EPIPE on Linux, not ENOTCONN (send(2), BUGS).
    let err = send(&unconnected(AddressFamily::Inet, SockType::Stream), b"x").unwrap_err();
    check(
        err,
        libc::EPIPE,
        Some(std::io::ErrorKind::BrokenPipe),
        "never connected",
    );
}

#[test]
fn emsgsize_for_a_65508_byte_udp_datagram() {
    let big = vec![0u8; 65528];
    for (local, max) in [("127.0.0.1:0", 65507), ("[::1]:0", 65527)] {
        let Ok(rx) = UdpSocket::bind(local) else {
            eprintln!("no {local} here");
            continue;
        };
        let tx = UdpSocket::bind(local).unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        assert_eq!(send(&tx, &big[..max]), Ok(max));
        let err = send(&tx, &big[..max + 1]).unwrap_err();
        assert!(err.to_string().contains(&max.to_string()), "{err}");
        check(err, libc::EMSGSIZE, None, "send less per message");
    }
}

#[test]
fn eagain_on_a_full_non_blocking_socket() {
    let (a, _b) = pair(SockType::Stream);
    let a = UnixStream::from(a);
    a.set_nonblocking(true).unwrap();
    let chunk = [0u8; 65536];
    let err = (0..100_000)
        .find_map(|_| send(&a, &chunk).err())
        .expect("the buffer fills");
    assert!(err.is_would_block());
    assert_eq!(libc::EAGAIN, libc::EWOULDBLOCK, "one code on Linux");
    check(
        err,
        libc::EAGAIN,
        Some(std::io::ErrorKind::WouldBlock),
        "wait until it is ready",
    );
    // MSG_DONTWAIT gives the same on a blocking socket: see tests/flags.rs.
}

#[test]
fn enotsock_for_a_pipe() {
    let (_r, w) = nix::unistd::pipe().unwrap();
    let err = send(&w, b"x").unwrap_err();
    check(err, libc::ENOTSOCK, None, "pass a socket");
}

#[test]
fn eopnotsupp_for_msg_oob_where_the_socket_type_has_none() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.connect(udp.local_addr().unwrap()).unwrap();
    let (dgram, _d) = pair(SockType::Datagram);
    let (seqpacket, _s) = pair(SockType::SeqPacket);
    for (what, sock) in [
        ("udp", udp.as_fd()),
        ("unix datagram", dgram.as_fd()),
        ("unix seqpacket", seqpacket.as_fd()),
    ] {
        let err = SendMsg::new(&[IoSlice::new(b"!")])
            .flags(SendFlags::OOB)
            .send(sock)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{what}: {err}");
        check(
            err,
            libc::EOPNOTSUPP,
            Some(std::io::ErrorKind::Unsupported),
            "drop the flag",
        );
    }
}

#[test]
fn ebadf_for_a_socket_opened_with_o_path_and_for_a_closed_fd_passed() {
    let path = rustix::fs::open(
        "/",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let err = send(&path, b"x").unwrap_err();
    check(err, libc::EBADF, None, "keep every descriptor open");

    // An fd number that is not open, passed as raw SCM_RIGHTS.
    let (a, _b) = pair(SockType::Datagram);
    let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = space.encoder();
    // SAFETY: no descriptor can have the number i32::MAX (RLIMIT_NOFILE is far below it), so
    // nothing unrelated is passed: the kernel must answer EBADF.
    unsafe { control.push_raw_rights(&[i32::MAX]) }.unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    check(err, libc::EBADF, None, "keep every descriptor open");
}

#[test]
fn einval_for_a_control_message_the_kernel_does_not_know() {
    let (a, _b) = pair(SockType::Datagram);
    let mut space = CmsgBuffer::<64>::new();
    let mut control = space.encoder();
    control.push_raw(libc::SOL_SOCKET, 0x7fff, &[0; 4]).unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    check(
        err,
        libc::EINVAL,
        Some(std::io::ErrorKind::InvalidInput),
        "malformed control message",
    );
}

#[test]
fn econnrefused_after_a_datagram_to_a_closed_port() {
    // A port nobody listens on: bound a moment ago, closed now.
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(closed).unwrap();
    // The ICMP port-unreachable of one datagram fails a later send.
    let err = first_error(&tx);
    check(
        err,
        libc::ECONNREFUSED,
        Some(std::io::ErrorKind::ConnectionRefused),
        "nothing listens",
    );
}

const TOOMANYREFS_ENV: &str = "ANCILLARY_TEST_TOOMANYREFS_CHILD";
const EACCES_ENV: &str = "ANCILLARY_TEST_EACCES_CHILD";

/// Runs `child_exceeds_fds_in_flight` unprivileged, with RLIMIT_NOFILE lowered.
#[test]
fn etoomanyrefs_when_fds_in_flight_exceed_rlimit_nofile() {
    run_unprivileged(
        "child_exceeds_fds_in_flight",
        TOOMANYREFS_ENV,
        "ETOOMANYREFS after",
    );
}

#[test]
#[ignore = "runs in the child process of etoomanyrefs_when_fds_in_flight_exceed_rlimit_nofile"]
fn child_exceeds_fds_in_flight() {
    use nix::sys::resource::{setrlimit, Resource};
    if !is_unprivileged_child(TOOMANYREFS_ENV) {
        return;
    }
    setrlimit(Resource::RLIMIT_NOFILE, 16, 16).unwrap();
    let (a, b) = pair(SockType::Datagram);
    let file = file_with("in flight");
    // Unreceived fds stay in flight and count against the sender's user.
    let (in_flight, err) = (0..64)
        .find_map(|i| {
            send_fds(a.as_fd(), b"fd", &[file.as_fd()])
                .err()
                .map(|e| (i, e))
        })
        .expect("the kernel refuses more fds in flight than RLIMIT_NOFILE");
    println!("ETOOMANYREFS after {in_flight} fds in flight");
    check(
        err,
        libc::ETOOMANYREFS,
        None,
        "let the receiver read them first or raise the limit",
    );
    // Once the receiver has taken them (and closed them), fds go again.
    for _ in 0..in_flight {
        let (_, fds, _) = recv_fds(b.as_fd(), 1);
        assert_eq!(fds.len(), 1);
    }
    send_fds(a.as_fd(), b"fd", &[file.as_fd()]).unwrap();
}

/// Runs `child_sends_to_a_socket_file_without_permission` unprivileged (root bypasses it).
#[test]
fn eacces_for_a_socket_file_without_write_permission() {
    run_unprivileged(
        "child_sends_to_a_socket_file_without_permission",
        EACCES_ENV,
        "EACCES for the socket file",
    );
}

#[test]
#[ignore = "runs in the child process of eacces_for_a_socket_file_without_write_permission"]
fn child_sends_to_a_socket_file_without_permission() {
    use std::os::unix::fs::PermissionsExt;
    if !is_unprivileged_child(EACCES_ENV) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ancillary-eacces-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("rx.sock");
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let tx = std::os::unix::net::UnixDatagram::unbound().unwrap();
    let addr = UnixAddr::new(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .to(&addr)
        .send(&tx)
        .unwrap_err();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        SendMsg::new(&[IoSlice::new(b"y")]).to(&addr).send(&tx),
        Ok(1),
        "with permission it goes"
    );
    drop(rx);
    std::fs::remove_dir_all(&dir).unwrap();
    check(
        err,
        libc::EACCES,
        Some(std::io::ErrorKind::PermissionDenied),
        "write permission on the socket file",
    );
    println!("EACCES for the socket file");
}
