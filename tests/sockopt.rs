//! The typed socket options of `ancillary::sockopt` on real sockets: each is set, read back,
//! and its control message seen arriving through the typed accessors of `Received`; the peer
//! queries on a socketpair and from a child process.
#![cfg(linux_like)]

mod common;
use common::skip_under_qemu;

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::time::{Duration, SystemTime};

use ancillary::cmsg::{
    space, CmsgBuffer, Credentials, Ecn, CREDENTIALS_SPACE, INT_SPACE, IPV6_PKTINFO_SPACE,
    PIDFD_SPACE,
};
use ancillary::{sockopt, Error, RecvBatch, RecvMsg, SendMsg};

/// Room for every message the IP options switch on at once.
const ROOM: usize = IPV6_PKTINFO_SPACE + 3 * INT_SPACE + 2 * space(16);

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release.trim().split(['.', '-']);
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    (next(), next()) >= (major, minor)
}

/// A loopback IPv6 UDP socket, or `None` (printed) where IPv6 is off.
fn udp6() -> Option<UdpSocket> {
    match UdpSocket::bind("[::1]:0") {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback ({e})");
            None
        }
    }
}

/// Sends `data` from `tx` to `to` with the control messages `control` writes.
fn send_with(
    tx: &UdpSocket,
    to: SocketAddr,
    data: &[u8],
    control: impl FnOnce(&mut ancillary::cmsg::Encoder<'_, '_>),
) {
    let mut room = CmsgBuffer::<64>::new();
    let mut enc = room.encoder();
    control(&mut enc);
    SendMsg::new(&[IoSlice::new(data)])
        .control(&enc)
        .to_addr(to)
        .send(tx)
        .unwrap();
}

/// Checks `set(true)`, `get`, `set(false)`, `get` on `socket`.
fn toggles<S: AsFd>(
    socket: &S,
    set: fn(&S, bool) -> ancillary::Result<()>,
    get: fn(&S) -> ancillary::Result<bool>,
    what: &str,
) {
    for on in [true, false, true] {
        set(socket, on).unwrap_or_else(|e| panic!("{what} = {on}: {e}"));
        assert_eq!(get(socket).unwrap(), on, "{what}");
    }
}

#[test]
fn boolean_options_read_back_what_was_set() {
    if skip_under_qemu("SO_TIMESTAMPNS, SO_RXQ_OVFL and SO_PASSPIDFD among the options toggled (qemu-user answers ENOPROTOOPT)") {
        return;
    }
    let (_, unix) = UnixDatagram::pair().unwrap();
    toggles(
        &unix,
        |s, on| sockopt::set_pass_credentials(s, on),
        |s| sockopt::pass_credentials(s),
        "SO_PASSCRED",
    );
    toggles(
        &unix,
        |s, on| sockopt::set_timestamp_ns(s, on),
        |s| sockopt::timestamp_ns(s),
        "SO_TIMESTAMPNS",
    );
    toggles(
        &unix,
        |s, on| sockopt::set_rxq_overflow(s, on),
        |s| sockopt::rxq_overflow(s),
        "SO_RXQ_OVFL",
    );
    let mut udp = vec![UdpSocket::bind("127.0.0.1:0").unwrap()];
    udp.extend(udp6());
    for s in &udp {
        toggles(
            s,
            |s, on| sockopt::set_recv_pktinfo(s, on),
            |s| sockopt::recv_pktinfo(s),
            "pktinfo",
        );
        toggles(
            s,
            |s, on| sockopt::set_recv_tos(s, on),
            |s| sockopt::recv_tos(s),
            "tos",
        );
        toggles(
            s,
            |s, on| sockopt::set_recv_ttl(s, on),
            |s| sockopt::recv_ttl(s),
            "ttl",
        );
        toggles(
            s,
            |s, on| sockopt::set_udp_gro(s, on),
            |s| sockopt::udp_gro(s),
            "UDP_GRO",
        );
    }
    if kernel_at_least(6, 5) {
        toggles(
            &unix,
            |s, on| sockopt::set_pass_pidfd(s, on),
            |s| sockopt::pass_pidfd(s),
            "SO_PASSPIDFD",
        );
    } else {
        let e = sockopt::set_pass_pidfd(&unix, true).unwrap_err();
        eprintln!("skipped SO_PASSPIDFD before Linux 6.5: {e}");
        assert_eq!(e.raw_os_error(), Some(libc::ENOPROTOOPT), "{e}");
        assert!(e.to_string().contains("Linux 6.5"), "{e}");
    }
}

/// The TOS setter of an IPv6 socket sets the IPv4 option as well (dual stack), and the options
/// are the kernel's own: read back with a plain getsockopt.
#[test]
fn ipv6_setter_sets_both_families() {
    let Some(s) = udp6() else { return };
    sockopt::set_recv_tos(&s, true).unwrap();
    assert_eq!(
        common::get_int_opt(&s, libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS),
        1
    );
    assert_eq!(
        common::get_int_opt(&s, libc::IPPROTO_IP, libc::IP_RECVTOS),
        1
    );
    sockopt::set_recv_tos(&s, false).unwrap();
    assert_eq!(
        common::get_int_opt(&s, libc::IPPROTO_IP, libc::IP_RECVTOS),
        0
    );
}

#[test]
fn credentials_arrive_with_so_passcred() {
    let (a, b) = UnixDatagram::pair().unwrap();
    sockopt::set_pass_credentials(&b, true).unwrap();
    a.send(b"no credentials attached").unwrap();
    let mut data = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<CREDENTIALS_SPACE>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let msg = recv.recv(&b).unwrap();
    msg.check().unwrap();
    assert_eq!(msg.credentials(), Some(Credentials::current()));
}

#[test]
fn pidfd_arrives_with_so_passpidfd() {
    if skip_under_qemu("SO_PASSPIDFD (qemu-user answers ENOPROTOOPT)") {
        return;
    }
    let (a, b) = UnixDatagram::pair().unwrap();
    if let Err(e) = sockopt::set_pass_pidfd(&b, true) {
        assert!(!kernel_at_least(6, 5), "{e}");
        eprintln!("skipped: {e}");
        return;
    }
    a.send(b"x").unwrap();
    let mut data = [0u8; 8];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<{ PIDFD_SPACE + CREDENTIALS_SPACE }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&b).unwrap();
    msg.check().unwrap();
    let pidfd = msg.pidfd().expect("SCM_PIDFD");
    assert_eq!(pidfd_pid(&pidfd), std::process::id() as i32);
}

/// The pid a pidfd names, from /proc/self/fdinfo.
fn pidfd_pid(fd: &OwnedFd) -> i32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .expect("a pidfd's fdinfo has Pid")
        .trim()
        .parse()
        .unwrap()
}

/// Receives one datagram on `rx` into room for every IP message; runs `check` on it.
fn recv_one(rx: &UdpSocket, check: impl FnOnce(&ancillary::Received<'_>)) {
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut data = [0u8; 1500];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<ROOM>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let msg = recv.recv(rx).unwrap();
    msg.check().unwrap();
    check(&msg);
}

#[test]
fn destination_address_and_interface_arrive_v4() {
    let rx = UdpSocket::bind("0.0.0.0:0").unwrap();
    sockopt::set_recv_pktinfo(&rx, true).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    for last in [1u8, 7] {
        let to = SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port));
        tx.send_to(b"where to?", to).unwrap();
        recv_one(&rx, |m| {
            let d = m.destination().expect("IP_PKTINFO");
            assert_eq!(d.ip, to.ip());
            assert_ne!(d.ifindex, 0, "loopback has an index");
            assert_eq!(m.ecn(), None, "IP_RECVTOS is off");
        });
    }
}

#[test]
fn destination_address_arrives_v6_and_dual_stack() {
    let Ok(rx) = UdpSocket::bind("[::]:0") else {
        eprintln!("skipped: no IPv6");
        return;
    };
    sockopt::set_recv_pktinfo(&rx, true).unwrap();
    let port = rx.local_addr().unwrap().port();
    if let Some(tx) = udp6() {
        tx.send_to(b"v6", (Ipv6Addr::LOCALHOST, port)).unwrap();
        recv_one(&rx, |m| {
            assert_eq!(m.destination().unwrap().ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
        });
    }
    if common::get_int_opt(&rx, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) == 0 {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"v4 to a dual-stack socket", (Ipv4Addr::LOCALHOST, port))
            .unwrap();
        sockopt::set_recv_tos(&rx, true).unwrap();
        sockopt::set_recv_ttl(&rx, true).unwrap();
        send_with(
            &tx,
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            b"tos",
            |c| {
                c.push_ip_tos(Ecn::Ce.to_tos(1)).unwrap();
                c.push_ip_ttl(3).unwrap();
            },
        );
        recv_one(&rx, |m| {
            assert_eq!(m.destination().unwrap().ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        });
        recv_one(&rx, |m| {
            assert_eq!(m.destination().unwrap().ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert_eq!(
                (m.ecn(), m.tos(), m.ttl()),
                (Some(Ecn::Ce), Some(7), Some(3))
            );
        });
    } else {
        eprintln!("skipped the dual-stack half: net.ipv6.bindv6only is on");
    }
}

/// Every ECN codepoint sent in the TOS byte (IPv4) or traffic class (IPv6) comes back as sent,
/// DSCP included, with IP_RECVTOS / IPV6_RECVTCLASS on.
#[test]
fn ecn_round_trips_over_loopback() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    sockopt::set_recv_tos(&rx, true).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    for ecn in [Ecn::NotEct, Ecn::Ect0, Ecn::Ect1, Ecn::Ce] {
        let tos = ecn.to_tos(10); // AF11
        send_with(&tx, to, b"ecn", |c| {
            c.push_ip_tos(tos).unwrap();
        });
        recv_one(&rx, |m| {
            assert_eq!(m.ecn(), Some(ecn));
            assert_eq!(m.tos(), Some(tos));
        });
    }
    let Some(rx6) = udp6() else { return };
    let Some(tx6) = udp6() else { return };
    sockopt::set_recv_tos(&rx6, true).unwrap();
    let to6 = rx6.local_addr().unwrap();
    for ecn in [Ecn::NotEct, Ecn::Ect0, Ecn::Ect1, Ecn::Ce] {
        send_with(&tx6, to6, b"ecn6", |c| {
            c.push_ipv6_tclass(ecn.into()).unwrap();
        });
        recv_one(&rx6, |m| assert_eq!(m.ecn(), Some(ecn)));
    }
}

#[test]
fn ttl_and_hop_limit_arrive() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    sockopt::set_recv_ttl(&rx, true).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    send_with(&tx, rx.local_addr().unwrap(), b"ttl", |c| {
        c.push_ip_ttl(7).unwrap();
    });
    recv_one(&rx, |m| assert_eq!(m.ttl(), Some(7)));
    let (Some(rx6), Some(tx6)) = (udp6(), udp6()) else {
        return;
    };
    sockopt::set_recv_ttl(&rx6, true).unwrap();
    send_with(&tx6, rx6.local_addr().unwrap(), b"hops", |c| {
        c.push_ipv6_hoplimit(9).unwrap();
    });
    recv_one(&rx6, |m| assert_eq!(m.ttl(), Some(9)));
}

#[test]
fn timestamp_arrives_with_so_timestampns() {
    if skip_under_qemu("SO_TIMESTAMPNS (qemu-user answers ENOPROTOOPT)") {
        return;
    }
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    sockopt::set_timestamp_ns(&rx, true).unwrap();
    let before = SystemTime::now() - Duration::from_secs(1);
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"when?", rx.local_addr().unwrap())
        .unwrap();
    recv_one(&rx, |m| {
        let t = m
            .timestamp()
            .expect("SCM_TIMESTAMPNS")
            .to_system_time()
            .unwrap();
        assert!(
            t >= before && t <= SystemTime::now() + Duration::from_secs(1),
            "{t:?}"
        );
    });
}

/// Every accessor at once, through a RecvBatch (RecvDatagram dereferences to Received).
#[test]
fn accessors_work_on_batch_datagrams() {
    if skip_under_qemu(
        "SO_TIMESTAMPNS and SO_RXQ_OVFL among the accessors (qemu-user answers ENOPROTOOPT)",
    ) {
        return;
    }
    let rx = UdpSocket::bind("0.0.0.0:0").unwrap();
    for set in [
        sockopt::set_recv_pktinfo,
        sockopt::set_recv_tos,
        sockopt::set_recv_ttl,
    ] {
        set(&rx, true).unwrap();
    }
    sockopt::set_timestamp_ns(&rx, true).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 3), rx.local_addr().unwrap().port()));
    let mut batch = ancillary::Batch::new();
    for i in 0..4u8 {
        batch
            .push_with(to, b"batched", |c| {
                c.push_ip_tos(Ecn::Ect0.to_tos(i))?;
                c.push_ip_ttl(20 + i)?;
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(batch.send(&tx).unwrap(), 4);
    let mut recv = RecvBatch::new(8, 64, ROOM).unwrap();
    let mut got = 0u8;
    for _ in 0..50 {
        if got == 4 {
            break;
        }
        recv.recv_timeout(&rx, Duration::from_secs(5)).unwrap();
        for d in recv.iter_mut() {
            assert_eq!(d.destination().unwrap().ip, to.ip());
            assert_eq!(d.tos(), Some(Ecn::Ect0.to_tos(got)));
            assert_eq!(d.ecn(), Some(Ecn::Ect0));
            assert_eq!(d.ttl(), Some(20 + got));
            assert!(d.timestamp().is_some());
            assert_eq!(d.gro_segment_size(), None);
            got += 1;
        }
    }
    assert_eq!(got, 4);
}

#[test]
fn gro_segment_size_arrives_with_udp_gro() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    sockopt::set_udp_gro(&rx, true).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let train = [5u8; 400];
    let mut batch = ancillary::Batch::new();
    batch
        .push_segments(rx.local_addr().unwrap(), &train, 100, |_| Ok(()))
        .unwrap();
    assert_eq!(batch.send(&tx).unwrap(), 4);
    if batch.stats().segmented == 0 {
        eprintln!("skipped: this kernel sent the train without GSO");
        return;
    }
    let mut left = 400;
    for _ in 0..4 {
        if left == 0 {
            break;
        }
        recv_one(&rx, |m| {
            let n = m.len();
            if n > 100 {
                assert_eq!(m.gro_segment_size(), Some(100));
            }
            left -= n;
        });
    }
    assert_eq!(left, 0);
}

/// SO_RXQ_OVFL counts what an overflowing receive queue dropped.
#[test]
fn rxq_overflow_counts_drops() {
    if skip_under_qemu("SO_RXQ_OVFL (qemu-user answers ENOPROTOOPT)") {
        return;
    }
    let rx = common::udp_receiver("127.0.0.1:0", 4096);
    sockopt::set_rxq_overflow(&rx, true).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    for _ in 0..200 {
        tx.send_to(&[1u8; 1000], to).unwrap();
    }
    // Drain what was queued (bounded), then one more datagram carries the count.
    rx.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1000];
    let mut queued = 0;
    while rx.recv(&mut buf).is_ok() && queued < 1000 {
        queued += 1;
    }
    rx.set_nonblocking(false).unwrap();
    assert!(
        queued < 200,
        "the queue took everything; nothing was dropped"
    );
    tx.send_to(b"after", to).unwrap();
    recv_one(&rx, |m| {
        let drops = m.rxq_overflow().expect("SO_RXQ_OVFL after drops");
        assert_eq!(drops as usize, 200 - queued);
    });
}

#[test]
fn peer_credentials_and_pidfd_on_a_socketpair() {
    let (a, b) = UnixStream::pair().unwrap();
    assert_eq!(
        sockopt::peer_credentials(&a).unwrap(),
        Credentials::current()
    );
    assert_eq!(
        sockopt::peer_credentials(&b).unwrap(),
        Credentials::current()
    );
    match sockopt::peer_pidfd(&a) {
        Ok(pidfd) => {
            assert!(common::is_cloexec(&pidfd), "a pidfd is close-on-exec");
            assert_eq!(pidfd_pid(&pidfd), std::process::id() as i32);
        }
        Err(e) => {
            assert!(!kernel_at_least(6, 5), "{e}");
            assert_eq!(e.raw_os_error(), Some(libc::ENOPROTOOPT));
            eprintln!("skipped SO_PEERPIDFD: {e}");
        }
    }
}

const CHILD_ENV: &str = "ANCILLARY_SOCKOPT_CHILD";

/// The child of `peer_queries_name_a_child_process`: connects to the path it was given,
/// writes one byte and waits for the parent to close.
#[test]
#[ignore = "run by peer_queries_name_a_child_process"]
fn child_connects_and_waits() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut s = UnixStream::connect(path).unwrap();
    s.write_all(b"!").unwrap();
    let mut rest = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.read_to_end(&mut rest);
    println!("child done");
}

#[test]
fn peer_queries_name_a_child_process() {
    if skip_under_qemu(
        "a child process re-executing the test binary (no binfmt_misc for qemu-user)",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ancillary-sockopt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("peer.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_connects_and_waits",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut byte = [0u8; 1];
    conn.read_exact(&mut byte).unwrap();
    let child_pid = child.id() as i32;
    let creds = sockopt::peer_credentials(&conn).unwrap();
    assert_eq!(creds.pid, child_pid);
    assert_eq!(creds.uid, Credentials::current().uid);
    let pidfd = match sockopt::peer_pidfd(&conn) {
        Ok(p) => Some(p),
        Err(e) => {
            assert!(!kernel_at_least(6, 5), "{e}");
            eprintln!("skipped SO_PEERPIDFD: {e}");
            None
        }
    };
    if let Some(p) = &pidfd {
        assert_eq!(pidfd_pid(p), child_pid);
        assert!(common::is_cloexec(p));
    }
    drop(conn);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("child done"));
    if let Some(p) = pidfd {
        // The child has exited (and been reaped): the pidfd stays valid and reads readable.
        assert!(ancillary::wait_readable(&p, Some(Duration::from_secs(5))).unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_name_the_call_and_say_what_to_do() {
    let (a, _b) = UnixDatagram::pair().unwrap();
    let e = sockopt::set_recv_pktinfo(&a, true).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Os {
                call: "setsockopt",
                errno: libc::EOPNOTSUPP,
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains("IPv4 or IPv6 socket"), "{text}");
    let e = sockopt::recv_tos(&a).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Os {
                call: "getsockopt",
                ..
            }
        ),
        "{e:?}"
    );

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    if kernel_at_least(6, 5) {
        let e = sockopt::peer_pidfd(&udp).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODATA), "{e}");
        assert!(e.to_string().contains("no peer process"), "{e}");
    }
    let e = sockopt::set_udp_gro(&a, true).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Os {
                call: "setsockopt",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("call again"), "{e}");
}
