//! The advice an OS error gives matches its cause, which depends on what the call carried:
//! each errno here is produced by the kernel on a real socket, and its message is checked for
//! the advice that fits and for the absence of the advice that fits another cause.
//!
//! Elsewhere: EPERM for forged credentials in `tests/creds.rs` (an unprivileged child; its
//! advice is about credentials, not SO_PASSRIGHTS), the errors of plain sends in
//! `tests/send_errors.rs`. ENOMEM for control data is produced only by a 32-bit build (the
//! kernel's compat path) or musl; the test for it skips elsewhere with the reason.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::time::{Duration, Instant};

use ancillary::batch::Batch;
use ancillary::cmsg::{space_for_fds, CmsgBuffer, Credentials, Encoder, Ipv4PktInfo};
use ancillary::{Error, RecvBatch, RecvFlags, RecvMsg, SendFile, SendMsg};
use common::*;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType, UnixAddr};

/// `SO_PASSRIGHTS` (Linux 6.16+): whether the receiver accepts `SCM_RIGHTS`. libc 0.2.191
/// does not define it.
const SO_PASSRIGHTS: libc::c_int = 83;

/// Asserts that `err` is `errno` from `call`, that its message contains every string of
/// `has` and none of `lacks`, and returns what the call carried.
#[track_caller]
fn check(err: &Error, call: &str, errno: i32, has: &[&str], lacks: &[&str]) -> ancillary::Carried {
    let Error::Os {
        call: c,
        errno: e,
        carried,
        ..
    } = *err
    else {
        panic!("not an OS error: {err}");
    };
    assert_eq!((c, e), (call, errno), "{err}");
    let text = err.to_string();
    println!("{text}");
    let hint = err.hint().expect("an OS error has a hint");
    assert!(text.contains(hint), "{text}");
    for s in has {
        assert!(hint.contains(s), "{hint:?} lacks {s:?}");
    }
    for s in lacks {
        assert!(!text.contains(s), "{text:?} has {s:?}");
    }
    carried
}

/// Sends one byte with `control` on `sock`, to `dest` if given.
fn send_with(
    sock: &impl AsFd,
    dest: Option<&UnixAddr>,
    control: &Encoder<'_, '_>,
) -> ancillary::Result<usize> {
    let iov = [IoSlice::new(b"x")];
    let msg = SendMsg::new(&iov).control(control);
    match dest {
        Some(d) => msg.to(d).send(sock),
        None => msg.send(sock),
    }
}

/// A receiver with SO_PASSRIGHTS off, or `None` (printed) where the kernel lacks the option.
fn refusing_fds(ty: SockType) -> Option<(OwnedFd, OwnedFd)> {
    let (a, b) = pair(ty);
    match try_set_int_opt(&b, libc::SOL_SOCKET, SO_PASSRIGHTS, 0) {
        Ok(()) => Some((a, b)),
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
            println!("skipped: SO_PASSRIGHTS needs Linux 6.16+ (setsockopt: ENOPROTOOPT)");
            None
        }
        Err(e) => panic!("setsockopt(SO_PASSRIGHTS): {e}"),
    }
}

#[test]
fn eperm_for_fds_a_receiver_refuses_names_so_passrights_not_credentials() {
    let file = file_with("refused");
    for ty in [SockType::Datagram, SockType::Stream, SockType::SeqPacket] {
        let Some((a, b)) = refusing_fds(ty) else {
            return;
        };
        let mut storage = CmsgBuffer::<{ space_for_fds(1) }>::new();
        let mut control = storage.encoder();
        control.push_rights(&[file.as_fd()]).unwrap();
        let err = send_with(&a, None, &control).unwrap_err();
        let carried = check(
            &err,
            "sendmsg",
            libc::EPERM,
            &["SO_PASSRIGHTS", "security module"],
            &["own pid", "Credentials", "credentials"],
        );
        assert_eq!(carried.fds(), 1, "{ty:?}");
        assert!(!carried.credentials() && !carried.destination());
        assert!(
            err.to_string().contains("the message carried 1 fd"),
            "{err}"
        );
        // The same socket takes a message without descriptors.
        assert_eq!(SendMsg::new(&[IoSlice::new(b"y")]).send(&a), Ok(1));
        drop(b);
    }
}

#[test]
fn eperm_for_fds_and_credentials_names_both_causes() {
    let Some((a, _b)) = refusing_fds(SockType::Datagram) else {
        return;
    };
    let file = file_with("refused");
    let mut storage = CmsgBuffer::<256>::new();
    let mut control = storage.encoder();
    control.push_rights(&[file.as_fd()]).unwrap();
    control.push_credentials(Credentials::current()).unwrap();
    let err = send_with(&a, None, &control).unwrap_err();
    let carried = check(
        &err,
        "sendmsg",
        libc::EPERM,
        &["SO_PASSRIGHTS", "own pid", "separate messages"],
        &[],
    );
    assert!(carried.credentials() && carried.fds() == 1);
}

#[test]
fn eperm_from_a_batch_names_so_passrights() {
    let Some((a, _b)) = refusing_fds(SockType::Datagram) else {
        return;
    };
    let file = file_with("refused");
    let a = UnixDatagram::from(a);
    let mut batch = Batch::new();
    // A Unix datagram batch sends to the connected peer.
    batch
        .push_vectored(None, &[IoSlice::new(b"x")], |c| {
            c.push_rights(&[file.as_fd()])?;
            Ok(())
        })
        .unwrap();
    let err = batch.send(&a).unwrap_err();
    assert_eq!(err.sent(), 0);
    let carried = check(
        &err.error,
        "sendmmsg",
        libc::EPERM,
        &["SO_PASSRIGHTS"],
        &["own pid"],
    );
    assert_eq!(carried.fds(), 1);
}

/// The pid of a child that has exited and been reaped: no process has it (until the kernel
/// gives it out again, which takes a full turn of pid_max).
fn dead_pid() -> i32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    child.wait().unwrap();
    pid
}

#[test]
fn esrch_for_credentials_naming_a_pid_that_does_not_exist() {
    // Only CAP_SYS_ADMIN may claim another pid; without it the kernel answers EPERM first.
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: claiming another pid needs CAP_SYS_ADMIN (not root here)");
        return;
    }
    let (a, _b) = pair(SockType::Datagram);
    let mut storage = CmsgBuffer::<64>::new();
    let mut control = storage.encoder();
    control
        .push_credentials(Credentials {
            pid: dead_pid(),
            ..Credentials::current()
        })
        .unwrap();
    let err = send_with(&a, None, &control).unwrap_err();
    if err.raw_os_error() == Some(libc::EPERM) {
        println!("skipped: root without CAP_SYS_ADMIN here ({err})");
        return;
    }
    let carried = check(
        &err,
        "sendmsg",
        libc::ESRCH,
        &["pid that does not exist", "Credentials::current()"],
        &["SO_PASSRIGHTS", "no such process"],
    );
    assert!(carried.credentials() && carried.fds() == 0);
    assert!(err.to_string().contains("credentials"), "{err}");
}

fn v6_available() -> bool {
    let ok = UdpSocket::bind("[::1]:0").is_ok();
    if !ok {
        println!("skipped: no IPv6 loopback here");
    }
    ok
}

#[test]
fn eafnosupport_for_an_ipv6_destination_on_an_ipv4_socket() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .to_addr("[::1]:9".parse().unwrap())
        .send(&udp)
        .unwrap_err();
    let carried = check(
        &err,
        "sendmsg",
        libc::EAFNOSUPPORT,
        &["address family", "IPv6 address on an IPv4 socket"],
        &[],
    );
    assert!(carried.destination() && carried.control_len() == 0);

    // From a batch too.
    let mut batch = Batch::new();
    batch.push("[::1]:9".parse().unwrap(), b"x").unwrap();
    let err = batch.send(&udp).unwrap_err();
    let carried = check(
        &err.error,
        "sendmmsg",
        libc::EAFNOSUPPORT,
        &["address family"],
        &[],
    );
    assert!(carried.destination());
}

#[test]
fn enetunreach_for_an_ipv4_destination_on_a_v6only_socket() {
    if !v6_available() {
        return;
    }
    let sock = socket(
        AddressFamily::Inet6,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    set_int_opt(&sock, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1);
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .to_addr("[::ffff:127.0.0.1]:9".parse().unwrap())
        .send(&sock)
        .unwrap_err();
    check(
        &err,
        "sendmsg",
        libc::ENETUNREACH,
        &["IPV6_V6ONLY"],
        &["PKTINFO"],
    );
}

/// Sends one byte to 127.0.0.1:9 from an IPv4 UDP socket with `control`.
fn udp_send_with(control: impl FnOnce(&mut Encoder<'_, '_>)) -> Error {
    let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
    let mut storage = CmsgBuffer::<128>::new();
    let mut enc = storage.encoder();
    control(&mut enc);
    SendMsg::new(&[IoSlice::new(b"x")])
        .control(&enc)
        .to_addr("127.0.0.1:9".parse().unwrap())
        .send(&udp)
        .unwrap_err()
}

#[test]
fn pktinfo_refusals_speak_of_the_source_address() {
    // An address this host does not have (TEST-NET-2): no route from it.
    let err = udp_send_with(|c| {
        c.push_ip_pktinfo(Ipv4PktInfo::source(Ipv4Addr::new(198, 51, 100, 77)))
            .unwrap();
    });
    let carried = check(
        &err,
        "sendmsg",
        libc::ENETUNREACH,
        &["source address in IP_PKTINFO"],
        &["IPV6_V6ONLY"],
    );
    assert!(carried.source_address() && carried.destination());
    // A multicast source: the route refuses it.
    let err = udp_send_with(|c| {
        c.push_ip_pktinfo(Ipv4PktInfo::source(Ipv4Addr::new(224, 0, 0, 1)))
            .unwrap();
    });
    check(
        &err,
        "sendmsg",
        libc::EINVAL,
        &["source address in IP_PKTINFO"],
        &["malformed"],
    );
    // An interface that does not exist.
    let err = udp_send_with(|c| {
        let mut info = Ipv4PktInfo::source(Ipv4Addr::UNSPECIFIED);
        info.ifindex = 0x7fff_fff0;
        c.push_ip_pktinfo(info).unwrap();
    });
    check(&err, "sendmsg", libc::ENODEV, &["interface index"], &[]);
}

#[test]
fn einval_for_an_ip_ttl_of_zero_speaks_of_ip_options() {
    let err = udp_send_with(|c| {
        c.push_ip_ttl(0).unwrap();
    });
    let carried = check(
        &err,
        "sendmsg",
        libc::EINVAL,
        &["IP_TTL"],
        &["PKTINFO", "SCM_MAX_FD", "credentials"],
    );
    assert!(carried.ip_options() && !carried.source_address());
}

#[test]
fn einval_for_udp_port_zero_speaks_of_the_destination() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .to_addr("127.0.0.1:0".parse().unwrap())
        .send(&udp)
        .unwrap_err();
    check(
        &err,
        "sendmsg",
        libc::EINVAL,
        &["port 0"],
        &["control message"],
    );
}

/// A fresh directory for socket files, removed by the caller.
fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ancillary-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[test]
fn unix_destinations_that_are_missing_stale_or_of_another_type() {
    let dir = scratch_dir("hints");
    let tx = UnixDatagram::unbound().unwrap();
    let send_to = |path: &std::path::Path| {
        let addr = UnixAddr::new(path).unwrap();
        SendMsg::new(&[IoSlice::new(b"x")])
            .to(&addr)
            .send(&tx)
            .unwrap_err()
    };
    let err = send_to(&dir.join("missing.sock"));
    check(&err, "sendmsg", libc::ENOENT, &["no socket file"], &[]);

    // A socket file whose socket is gone.
    let stale = dir.join("stale.sock");
    drop(UnixDatagram::bind(&stale).unwrap());
    let err = send_to(&stale);
    check(
        &err,
        "sendmsg",
        libc::ECONNREFUSED,
        &["stale file"],
        &["earlier datagram"],
    );

    let stream = dir.join("stream.sock");
    let _listener = UnixListener::bind(&stream).unwrap();
    let err = send_to(&stream);
    check(&err, "sendmsg", libc::EPROTOTYPE, &["another type"], &[]);

    // A destination on an unconnected Unix stream socket: it must be connected.
    let unconnected = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let addr = UnixAddr::new(&stream).unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .to(&addr)
        .send(&unconnected)
        .unwrap_err();
    check(
        &err,
        "sendmsg",
        libc::EOPNOTSUPP,
        &["connect it first"],
        &[],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ebadf_for_a_closed_fd_passed_names_scm_rights() {
    let (a, _b) = pair(SockType::Datagram);
    let mut storage = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = storage.encoder();
    // SAFETY: no descriptor can have the number i32::MAX (RLIMIT_NOFILE is far below it), so
    // nothing unrelated is passed: the kernel must answer EBADF.
    unsafe { control.push_raw_rights(&[i32::MAX]) }.unwrap();
    let err = send_with(&a, None, &control).unwrap_err();
    check(
        &err,
        "sendmsg",
        libc::EBADF,
        &["SCM_RIGHTS", "keep every descriptor open"],
        &["O_PATH"],
    );
}

#[test]
fn ebadf_from_sendfile_for_a_file_not_open_for_reading() {
    let dir = scratch_dir("sendfile-ebadf");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("body"))
        .unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let err = SendFile::new(&[], &file, 0, 4).send(&a).unwrap_err();
    let carried = check(
        &err,
        "sendfile",
        libc::EBADF,
        &["open the file for reading"],
        &["SCM_RIGHTS"],
    );
    assert!(carried.is_empty());
    assert!(!err.to_string().contains("carried"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn receives_get_receive_advice() {
    // Nothing waiting on a non-blocking socket.
    let (a, b) = UnixDatagram::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 8];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let err = RecvMsg::new(&mut iov).recv(&b).err().unwrap();
    check(
        &err,
        "recvmsg",
        libc::EAGAIN,
        &["POLLIN"],
        &["send buffer", "POLLOUT"],
    );
    let mut batch = RecvBatch::new(4, 64, 0).unwrap();
    let err = batch.recv(&b).unwrap_err();
    check(&err, "recvmmsg", libc::EAGAIN, &["POLLIN"], &["POLLOUT"]);
    drop(a);

    // MSG_OOB on a TCP socket with no urgent data.
    let (client, _server) = tcp_pair();
    let mut iov = [IoSliceMut::new(&mut buf)];
    let err = RecvMsg::new(&mut iov)
        .flags(RecvFlags::OOB | RecvFlags::DONTWAIT)
        .recv(&client)
        .err()
        .unwrap();
    check(&err, "recvmsg", libc::EINVAL, &["MSG_OOB"], &["control"]);

    // An unconnected TCP socket.
    let tcp = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let mut iov = [IoSliceMut::new(&mut buf)];
    let err = RecvMsg::new(&mut iov).recv(&tcp).err().unwrap();
    check(
        &err,
        "recvmsg",
        libc::ENOTCONN,
        &["before receiving"],
        &["destination"],
    );
}

#[test]
fn econnrefused_on_receive_names_an_earlier_datagram() {
    let closed: SocketAddr = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.connect(closed).unwrap();
    udp.set_nonblocking(true).unwrap();
    udp.send(b"x").unwrap();
    // The ICMP port-unreachable arrives a moment later; until then the receive would block.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 8];
    let err = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let err = RecvMsg::new(&mut iov).recv(&udp).err().unwrap();
        if !err.is_would_block() {
            break err;
        }
        assert!(Instant::now() < deadline, "no ICMP error arrived");
        std::thread::sleep(Duration::from_millis(5));
    };
    check(
        &err,
        "recvmsg",
        libc::ECONNREFUSED,
        &["earlier datagram", "nothing listens"],
        &["stale"],
    );
}

/// Control data of `count` header-only-sized messages of 4 data bytes, at a level no Unix
/// socket reads (the kernel skips them there), in `storage`.
#[cfg(any(target_env = "musl", target_pointer_width = "32"))]
fn many_small_messages(storage: &mut [u8], count: usize) -> Encoder<'_, 'static> {
    let mut enc = Encoder::new(storage);
    for _ in 0..count {
        enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[0; 4])
            .unwrap();
    }
    enc
}

/// ENOMEM for control data: in a 32-bit process the kernel widens every message before the
/// optmem_max check and answers ENOMEM where the process sees less than optmem_max; musl's
/// sendmsg refuses more than 1056 bytes of control data with ENOMEM.
#[test]
fn enomem_for_control_data_names_the_compat_path_or_musl() {
    #[cfg(not(any(target_env = "musl", target_pointer_width = "32")))]
    println!(
        "skipped: ENOMEM for control data comes only from musl or a 32-bit process \
         (this is a 64-bit glibc build; the choice of advice is unit-tested in error::hints)"
    );
    #[cfg(any(target_env = "musl", target_pointer_width = "32"))]
    {
        use ancillary::cmsg::space;
        let one = space(4);
        let (count, words): (usize, &[&str]) = if cfg!(target_env = "musl") {
            (1056 / one + 1, &["musl", "1056"])
        } else {
            // Below optmem_max as the process sees it, above it once widened.
            (
                ancillary::limits::optmem_max() / one - 1,
                &["32-bit", "widens"],
            )
        };
        let mut storage = vec![0u64; (count * one).div_ceil(8)];
        // SAFETY: u64 storage is initialised, and aligned for cmsghdr; its bytes are viewed
        // as u8 for as long as `storage` is borrowed.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(storage.as_mut_ptr().cast::<u8>(), count * one)
        };
        let enc = many_small_messages(bytes, count);
        let (a, _b) = pair(SockType::Datagram);
        let err = SendMsg::new(&[IoSlice::new(b"x")])
            .control(&enc)
            .send(&a)
            .unwrap_err();
        let carried = check(
            &err,
            "sendmsg",
            libc::ENOMEM,
            words,
            &["out of memory; retry"],
        );
        assert_eq!(carried.control_len(), count * one);
    }
}
