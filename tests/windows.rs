//! Windows Sockets on real loopback sockets: `WSASendMsg`/`WSARecvMsg` scatter/gather,
//! `IP_PKTINFO` on receive, walking the control messages received, and a socket handed to
//! another process with `WSADuplicateSocketW` (this test binary run again as the child).
//!
//! These run on Windows and under wine. What wine accepts but ignores (a source address in
//! `IP_PKTINFO` on send, ECN, USO, URO) is checked on real Windows only, and by the byte-vector
//! tests of the control-message encoder everywhere; under wine those checks print that they
//! are skipped.
#![cfg(windows)]

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use ancillary::cmsg::{CmsgBuffer, Encoder, INT_SPACE, IPV6_PKTINFO_SPACE, IP_PKTINFO_SPACE};
use ancillary::windows::cmsg::{ControlMessage, Iter};
use ancillary::windows::{
    duplicate_socket, recv_msg, send_msg, set_recv_option, supports_send_offload, Batch, Error,
    ProtocolInfo, RecvBatch, RecvFlags, RecvOption, SendFlags,
};

/// The wine version when running under wine (`ntdll!wine_get_version`), `None` on Windows.
fn wine() -> Option<String> {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: the names are NUL-terminated literals; ntdll is loaded in every process.
    let f = unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        if ntdll.is_null() {
            return None;
        }
        GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast())?
    };
    // SAFETY: wine_get_version takes nothing and returns a static NUL-terminated string.
    let version = unsafe {
        let f: unsafe extern "C" fn() -> *const std::ffi::c_char = std::mem::transmute(f);
        std::ffi::CStr::from_ptr(f())
    };
    Some(version.to_string_lossy().into_owned())
}

/// Two UDP sockets on 127.0.0.1 with a receive timeout, so that no test waits forever.
fn udp_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (a, b)
}

#[test]
fn send_msg_and_recv_msg_scatter_gather() {
    let (a, b) = udp_pair();
    let to = b.local_addr().unwrap();
    let sent = send_msg(
        &a,
        &[IoSlice::new(b"hello, "), IoSlice::new(b"windows")],
        &[],
        Some(to),
        SendFlags::empty(),
    )
    .unwrap();
    assert_eq!(sent, 14);

    let (mut head, mut tail) = ([0u8; 5], [0u8; 32]);
    let mut control = CmsgBuffer::<64>::new();
    let got = recv_msg(
        &b,
        &mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    assert_eq!(got.bytes(), 14);
    assert_eq!(&head, b"hello");
    assert_eq!(&tail[..9], b", windows");
    assert_eq!(got.from(), Some(a.local_addr().unwrap()));
    assert_eq!(got.control_len(), 0);
    assert!(!got.is_truncated() && !got.is_control_truncated());
}

#[test]
fn send_msg_on_a_connected_socket_and_peek() {
    let (a, b) = udp_pair();
    a.connect(b.local_addr().unwrap()).unwrap();
    send_msg(&a, &[IoSlice::new(b"peek")], &[], None, SendFlags::empty()).unwrap();
    let mut buf = [0u8; 8];
    for flags in [RecvFlags::PEEK, RecvFlags::empty()] {
        let got = recv_msg(&b, &mut [IoSliceMut::new(&mut buf)], &mut [], flags).unwrap();
        assert_eq!(&buf[..got.bytes()], b"peek", "{flags:?}");
    }
}

#[test]
fn pktinfo_on_receive_v4() {
    let (a, b) = udp_pair();
    set_recv_option(&b, RecvOption::PktInfoV4, true).unwrap();
    send_msg(
        &a,
        &[IoSlice::new(b"where to?")],
        &[],
        Some(b.local_addr().unwrap()),
        SendFlags::empty(),
    )
    .unwrap();
    let mut data = [0u8; 16];
    let mut control = CmsgBuffer::<{ IP_PKTINFO_SPACE }>::new();
    let got = recv_msg(
        &b,
        &mut [IoSliceMut::new(&mut data)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    assert_eq!(got.control_len(), IP_PKTINFO_SPACE.min(control.len()));
    let msgs: Vec<_> = Iter::new(&control[..got.control_len()]).collect();
    match msgs.as_slice() {
        [ControlMessage::PktInfoV4 { addr, ifindex }] => {
            assert_eq!(*addr, Ipv4Addr::LOCALHOST);
            println!("IP_PKTINFO: to {addr} on interface {ifindex}");
        }
        other => panic!("expected one IP_PKTINFO, got {other:?}"),
    }
}

#[test]
fn pktinfo_on_receive_v6() {
    let Ok(b) = UdpSocket::bind("[::1]:0") else {
        println!("skipped: no IPv6 loopback here");
        return;
    };
    b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let a = UdpSocket::bind("[::1]:0").unwrap();
    set_recv_option(&b, RecvOption::PktInfoV6, true).unwrap();
    let to = b.local_addr().unwrap();
    send_msg(
        &a,
        &[IoSlice::new(b"v6")],
        &[],
        Some(to),
        SendFlags::empty(),
    )
    .unwrap();
    let mut data = [0u8; 4];
    let mut control = CmsgBuffer::<{ IPV6_PKTINFO_SPACE }>::new();
    let got = recv_msg(
        &b,
        &mut [IoSliceMut::new(&mut data)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    assert_eq!(got.from(), Some(a.local_addr().unwrap()));
    let msgs: Vec<_> = Iter::new(&control[..got.control_len()]).collect();
    assert!(
        matches!(msgs.as_slice(), [ControlMessage::PktInfoV6 { addr, .. }] if addr.is_loopback()),
        "{msgs:?}"
    );
}

#[test]
fn control_messages_walked_and_sent() {
    // Several messages at once: everything received is walked to its end, and what the
    // sender attached (a source address, ECN) is either honoured (Windows) or ignored (wine).
    let (a, b) = udp_pair();
    set_recv_option(&b, RecvOption::PktInfoV4, true).unwrap();
    let ecn_asked = set_recv_option(&b, RecvOption::EcnV4, true);
    let tos_asked = set_recv_option(&b, RecvOption::TosV4, true);

    let mut storage = CmsgBuffer::<{ IP_PKTINFO_SPACE + INT_SPACE }>::new();
    let mut out = Encoder::new(&mut storage);
    out.push(&ControlMessage::PktInfoV4 {
        addr: Ipv4Addr::LOCALHOST,
        ifindex: 0,
    })
    .unwrap();
    out.push(&ControlMessage::EcnV4(0b10)).unwrap();
    let to = b.local_addr().unwrap();
    let sent = send_msg(
        &a,
        &[IoSlice::new(b"ect0")],
        out.as_bytes(),
        Some(to),
        SendFlags::empty(),
    );
    match (&sent, wine()) {
        (Ok(4), _) => {}
        (Err(e), Some(v)) => {
            println!("skipped: wine {v} refuses IP_PKTINFO/IP_ECN on send ({e}); sending without");
            send_msg(
                &a,
                &[IoSlice::new(b"ect0")],
                &[],
                Some(to),
                SendFlags::empty(),
            )
            .unwrap();
        }
        (r, _) => panic!("WSASendMsg with IP_PKTINFO and IP_ECN: {r:?}"),
    }

    let mut data = [0u8; 8];
    let mut control = CmsgBuffer::<{ IP_PKTINFO_SPACE + 2 * INT_SPACE }>::new();
    let got = recv_msg(
        &b,
        &mut [IoSliceMut::new(&mut data)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    assert_eq!(&data[..got.bytes()], b"ect0");
    let msgs: Vec<_> = Iter::new(&control[..got.control_len()]).collect();
    println!("received control messages: {msgs:?}");
    // The walk covers every byte: the spaces of what it found add up to what was received.
    let walked: usize = msgs
        .iter()
        .map(|m| match m {
            ControlMessage::PktInfoV4 { .. } => IP_PKTINFO_SPACE,
            ControlMessage::Raw { data, .. } => ancillary::cmsg::space(data.len()),
            _ => INT_SPACE,
        })
        .sum();
    assert_eq!(walked, got.control_len());
    assert!(msgs.iter().any(
        |m| matches!(m, ControlMessage::PktInfoV4 { addr, .. } if *addr == Ipv4Addr::LOCALHOST)
    ));
    let ecn = msgs.iter().find_map(|m| match m {
        ControlMessage::EcnV4(v) => Some(*v),
        _ => None,
    });
    match (wine(), ecn_asked) {
        (Some(v), _) => {
            println!("skipped: wine {v} carries no ECN (got {ecn:?}); see the byte-vector tests")
        }
        (None, Err(e)) => println!("skipped: this Windows has no IP_RECVECN ({e})"),
        (None, Ok(())) => assert_eq!(ecn, Some(0b10)),
    }
    if let Err(e) = tos_asked {
        println!("IP_RECVTOS not available: {e}");
    }
}

#[test]
fn truncated_datagram_is_reported() {
    let (a, b) = udp_pair();
    let to = b.local_addr().unwrap();
    send_msg(
        &a,
        &[IoSlice::new(&[7; 100])],
        &[],
        Some(to),
        SendFlags::empty(),
    )
    .unwrap();
    let mut small = [0u8; 10];
    match recv_msg(
        &b,
        &mut [IoSliceMut::new(&mut small)],
        &mut [],
        RecvFlags::empty(),
    ) {
        Ok(got) => {
            println!("truncation reported as MSG_TRUNC: {got:?}");
            assert!(got.is_truncated(), "{got:?}");
        }
        Err(e) => {
            println!("truncation reported as an error: {e}");
            assert_eq!(e.raw_os_error(), Some(10040), "{e}"); // WSAEMSGSIZE
            assert!(e.to_string().contains("larger buffers"), "{e}");
        }
    }
}

#[test]
fn errors_name_the_call_and_say_what_to_do() {
    let (a, _b) = udp_pair();
    // No destination on an unconnected socket.
    let e = send_msg(&a, &[IoSlice::new(b"x")], &[], None, SendFlags::empty()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Os {
                call: "WSASendMsg",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().is_some());
    println!("{e}");
    // An IPv6 destination from an IPv4 socket.
    let v6: SocketAddr = "[::1]:9".parse().unwrap();
    let e = send_msg(&a, &[IoSlice::new(b"x")], &[], Some(v6), SendFlags::empty()).unwrap_err();
    println!("{e}");
    assert!(e.raw_os_error().is_some());
    // Bytes that are not a WSAPROTOCOL_INFOW.
    let e = ProtocolInfo::from_bytes(&[0; 3]).unwrap_err();
    assert_eq!(
        e,
        Error::ProtocolInfoLength {
            len: 3,
            expected: ProtocolInfo::LEN
        }
    );
}

#[test]
fn udp_offload_probe_changes_nothing() {
    let (a, _b) = udp_pair();
    match (supports_send_offload(&a), wine()) {
        (Ok(on), None) => println!("USO: {on}"),
        (r, Some(v)) => println!("skipped: wine {v} has no USO ({r:?}); see the byte-vector tests"),
        (Err(e), None) => panic!("{e}"),
    }
    // The socket still sends a plain datagram afterwards.
    let (x, y) = udp_pair();
    send_msg(
        &x,
        &[IoSlice::new(b"after")],
        &[],
        Some(y.local_addr().unwrap()),
        SendFlags::empty(),
    )
    .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(y.recv(&mut buf).unwrap(), 5);
}

/// The environment variable that makes this binary the child of [`socket_handed_to_child`].
const CHILD: &str = "ANCILLARY_HANDOVER_CHILD";

#[test]
fn socket_handed_to_child() {
    if std::env::var_os(CHILD).is_some() {
        return; // the child runs handover_child only
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "handover_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let info = duplicate_socket(&listener, child.id()).unwrap();
    assert_eq!(info.as_bytes().len(), ProtocolInfo::LEN);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(info.as_bytes())
        .unwrap();
    // The child owns the socket now: this process lets go of it.
    drop(listener);

    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, format!("child {} on {addr}", child.id()));

    let out = child.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child: {printed}");
    assert!(
        printed.contains("1 passed"),
        "the child test did not run: {printed}"
    );
}

/// The child's half of [`socket_handed_to_child`]: takes the listener from the bytes on its
/// standard input and answers one connection.
#[test]
fn handover_child() {
    if std::env::var_os(CHILD).is_none() {
        println!("skipped: runs only as the child of socket_handed_to_child");
        return;
    }
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).unwrap();
    let socket = ProtocolInfo::from_bytes(&bytes)
        .unwrap()
        .into_socket()
        .unwrap();
    let listener = TcpListener::from(socket);
    let addr = listener.local_addr().unwrap();
    // Bounded: a parent that failed before connecting must not leave this child waiting.
    listener.set_nonblocking(true).unwrap();
    let mut conn = (0..3000)
        .find_map(|_| match listener.accept() {
            Ok((conn, _)) => Some(conn),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                None
            }
            Err(e) => panic!("accept: {e}"),
        })
        .expect("no connection within 30 s");
    conn.set_nonblocking(false).unwrap();
    write!(conn, "child {} on {addr}", std::process::id()).unwrap();
}

/// Receives on `sock` until `n` datagrams came (or the receive timeout), as byte vectors.
fn recv_n(sock: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65_536];
    for _ in 0..n {
        match sock.recv(&mut buf) {
            Ok(len) => got.push(buf[..len].to_vec()),
            Err(e) => panic!("after {} of {n} datagrams: {e}", got.len()),
        }
    }
    got
}

/// A batch of runs, lone datagrams, two destinations and a segmented payload.
fn fill(batch: &mut Batch, b: SocketAddr, c: SocketAddr) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut to_b, mut to_c) = (Vec::new(), Vec::new());
    for i in 0..5u8 {
        let d = vec![i; 300];
        batch.push(b, &d).unwrap();
        to_b.push(d);
    }
    batch.push(b, b"short").unwrap();
    to_b.push(b"short".to_vec());
    for i in 0..2u8 {
        let d = vec![100 + i; 100];
        batch.push(c, &d).unwrap();
        to_c.push(d);
    }
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    batch.push_segments(b, &payload, 256).unwrap();
    to_b.extend(payload.chunks(256).map(<[u8]>::to_vec));
    batch.push(c, b"").unwrap();
    to_c.push(Vec::new());
    (to_b, to_c)
}

#[test]
fn batch_sends_every_datagram_in_order() {
    let (a, b) = udp_pair();
    let (_, c) = udp_pair();
    let (ab, ac) = (b.local_addr().unwrap(), c.local_addr().unwrap());
    for offload in [true, false] {
        let mut batch = Batch::new();
        batch.set_offload(offload);
        let (to_b, to_c) = fill(&mut batch, ab, ac);
        let total = to_b.len() + to_c.len();
        assert_eq!(batch.len(), total);
        assert_eq!(batch.send(&a).unwrap(), total);
        assert!(batch.is_empty());
        let stats = batch.stats();
        println!(
            "offload {offload} (USO probe: {:?}): {stats:?}",
            supports_send_offload(&a)
        );
        assert_eq!(stats.datagrams, total);
        if !offload || !supports_send_offload(&a).unwrap() {
            assert_eq!((stats.messages, stats.offloaded), (total, 0));
        }
        assert_eq!(recv_n(&b, to_b.len()), to_b);
        assert_eq!(recv_n(&c, to_c.len()), to_c);
    }
}

#[test]
fn batch_failure_keeps_the_rest_queued() {
    let (a, b) = udp_pair();
    let mut batch = Batch::new();
    batch.set_offload(false);
    batch.push(b.local_addr().unwrap(), b"one").unwrap();
    // Port 0 is no destination: Windows refuses the datagram (WSAEADDRNOTAVAIL; wine 8 says
    // WSAEINVAL).
    batch
        .push(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), b"two")
        .unwrap();
    batch.push(b.local_addr().unwrap(), b"three").unwrap();
    let e = batch.send(&a).unwrap_err();
    println!("refused: {e}");
    assert_eq!(e.sent, 1);
    assert!(matches!(e.error, Error::Os { .. }), "{e:?}");
    assert_eq!(batch.len(), 2);
    assert_eq!(recv_n(&b, 1), [b"one".to_vec()]);
    batch.clear();
    assert!(batch.is_empty());
    // Sizes are checked before any call.
    let too_big = vec![0u8; batch.limits().max_datagram + 1];
    assert!(matches!(
        batch.push(b.local_addr().unwrap(), &too_big),
        Err(Error::Limit { .. })
    ));
}

#[test]
fn recv_batch_takes_what_is_queued() {
    let (a, b) = udp_pair();
    let to = b.local_addr().unwrap();
    for i in 0..5u8 {
        a.send_to(&[i; 10], to).unwrap();
    }
    let mut rb = RecvBatch::new(8, 2048);
    let mut got = Vec::new();
    // Every datagram is queued already: the first receive takes at least one, FIONREAD the
    // others; bounded in case some arrive late.
    for _ in 0..5 {
        if got.len() >= 5 {
            break;
        }
        let n = rb.recv(&b).unwrap();
        assert!(n >= 1 && n <= rb.capacity());
        for d in rb.iter() {
            assert_eq!(d.from(), Some(a.local_addr().unwrap()));
            assert!(!d.is_truncated());
            got.extend(d.segments().map(<[u8]>::to_vec));
        }
        println!("one recv took {n}");
    }
    let want: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
    assert_eq!(got, want);
}

#[test]
fn the_crate_error_carries_windows_codes() {
    // On Windows `ancillary::Error` is the error of the Windows calls: a failed WSASendMsg
    // gives it with its code and advice, through `?` into io::Error with the same code.
    let (a, _b) = udp_pair();
    let r: ancillary::Result<usize> = send_msg(
        &a,
        &[IoSlice::new(b"x")],
        &[],
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        SendFlags::empty(),
    );
    let e: ancillary::Error = r.unwrap_err();
    let code = e.raw_os_error().expect("a Windows Sockets code");
    assert!(e.hint().is_some(), "{e}");
    assert!(matches!(e, Error::Os { call: "WSASendMsg", errno, .. } if errno == code));
    // Into io::Error as on Unix: the kind std gives the code, the crate's error (with the
    // code and the advice) inside.
    let io = std::io::Error::from(e.clone());
    assert_eq!(io.kind(), std::io::Error::from_raw_os_error(code).kind());
    let inner = io
        .get_ref()
        .and_then(|i| i.downcast_ref::<ancillary::Error>());
    assert_eq!(inner, Some(&e));
    println!("{e}");

    // WSAEWOULDBLOCK: the same test as on Unix, the kind std gives it.
    let (_, b) = udp_pair();
    b.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let e = ancillary::RecvMsg::new(&mut iov).recv(&b).unwrap_err();
    assert!(e.is_would_block(), "{e}");
    assert_eq!(e.raw_os_error(), Some(10035), "{e}");
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    assert!(e.to_string().contains("WSAEWOULDBLOCK"), "{e}");
    assert!(e.to_string().contains("readable"), "{e}");
}

/// The crate's own builders on Windows: `SendMsg` with control data from the Windows encoder,
/// to an address, and `RecvMsg` with `IP_PKTINFO` received.
#[test]
fn crate_builders_round_trip_with_pktinfo() {
    use ancillary::{RecvMsg, SendMsg};
    let (a, b) = udp_pair();
    set_recv_option(&b, RecvOption::PktInfoV4, true).unwrap();
    let mut storage = CmsgBuffer::<{ IP_PKTINFO_SPACE }>::new();
    let mut out = Encoder::new(&mut storage);
    out.push(&ControlMessage::PktInfoV4 {
        addr: Ipv4Addr::LOCALHOST,
        ifindex: 0,
    })
    .unwrap();
    let sent = SendMsg::new(&[IoSlice::new(b"through "), IoSlice::new(b"the builder")])
        .control(&out)
        .to_addr(b.local_addr().unwrap())
        .send(&a)
        .unwrap();
    assert_eq!(sent, 19);

    let mut data = [0u8; 32];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut space = CmsgBuffer::<{ IP_PKTINFO_SPACE }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut space);
    let msg = recv.recv(&b).unwrap();
    msg.check().unwrap();
    assert_eq!(msg.len(), 19);
    assert_eq!(msg.data(), Some(&b"through the builder"[..]));
    assert_eq!(msg.socket_addr(), Some(a.local_addr().unwrap()));
    assert!(!msg.is_data_truncated() && !msg.is_control_truncated());
    let msgs: Vec<_> = msg.messages().collect();
    match msgs.as_slice() {
        [ControlMessage::PktInfoV4 { addr, .. }] => assert_eq!(*addr, Ipv4Addr::LOCALHOST),
        other => panic!("expected one IP_PKTINFO, got {other:?}"),
    }
    assert_eq!(msg.control_bytes().len(), IP_PKTINFO_SPACE);
    let raw: Vec<_> = msg
        .raw_messages()
        .map(|m| (m.level, m.ty, m.data.len()))
        .collect();
    assert_eq!(raw, [(0, 19, 8)]); // IPPROTO_IP, IP_PKTINFO, an IN_PKTINFO
}

/// `SendMsg` with no address on a connected socket; one `RecvMsg` reused, first peeking.
#[test]
fn crate_builders_connected_peek_and_reuse() {
    use ancillary::{RecvMsg, SendMsg};
    let (a, b) = udp_pair();
    a.connect(b.local_addr().unwrap()).unwrap();
    for payload in [&b"one"[..], b"two"] {
        let sent = SendMsg::new(&[IoSlice::new(payload)]).send(&a).unwrap();
        assert_eq!(sent, payload.len());
    }
    let mut data = [0u8; 8];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut peek = RecvMsg::new(&mut iov).flags(RecvFlags::PEEK);
    assert_eq!(peek.recv(&b).unwrap().data(), Some(&b"one"[..]));
    assert_eq!(peek.recv(&b).unwrap().data(), Some(&b"one"[..]));
    let mut recv = RecvMsg::new(&mut iov);
    for want in [&b"one"[..], b"two"] {
        let msg = recv.recv(&b).unwrap();
        assert_eq!(msg.data(), Some(want));
        assert_eq!(msg.control_bytes(), &[][..]);
    }
}

/// A control buffer too small for `IP_PKTINFO`: `Received::check` fails with the crate's
/// error, or Windows refuses the receive with a code; a datagram larger than the buffers is
/// `MSG_TRUNC` or `WSAEMSGSIZE`.
#[test]
fn crate_builders_report_truncation() {
    use ancillary::{RecvMsg, SendMsg};
    let (a, b) = udp_pair();
    set_recv_option(&b, RecvOption::PktInfoV4, true).unwrap();
    let to = b.local_addr().unwrap();
    for _ in 0..2 {
        SendMsg::new(&[IoSlice::new(&[7; 100])])
            .to_addr(to)
            .send(&a)
            .unwrap();
    }
    let mut data = [0u8; 200];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut space = CmsgBuffer::<{ INT_SPACE - 8 }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut space);
    match recv.recv(&b) {
        Ok(msg) => match msg.check() {
            Err(e @ Error::ControlTruncated { .. }) => {
                assert!(msg.is_control_truncated());
                println!("control truncation reported as MSG_CTRUNC: {e}");
            }
            other => println!(
                "skipped: this system does not report the short control buffer \
                 ({other:?}, {} control bytes)",
                msg.control_bytes().len()
            ),
        },
        Err(e) => println!("control truncation reported as an error: {e}"),
    }

    let mut small = [0u8; 10];
    let mut iov = [IoSliceMut::new(&mut small)];
    let mut space = CmsgBuffer::<{ IP_PKTINFO_SPACE }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut space);
    match recv.recv(&b) {
        Ok(msg) => {
            assert!(msg.is_data_truncated(), "{msg:?}");
            let e = msg.check().unwrap_err();
            assert!(matches!(e, Error::DataTruncated { received: 10 }), "{e}");
            println!("data truncation reported as MSG_TRUNC: {e}");
        }
        Err(e) => {
            println!("data truncation reported as an error: {e}");
            assert_eq!(e.raw_os_error(), Some(10040), "{e}"); // WSAEMSGSIZE
        }
    }
}

/// The crate's typed `IP_PKTINFO` and `IPV6_PKTINFO` pushes and the Windows messages write the
/// same bytes, and the crate's walk reads them back: one encoder and one walk for both.
#[test]
fn crate_encoder_and_windows_messages_agree() {
    use ancillary::cmsg::{Ipv4PktInfo, Ipv6PktInfo, Layout, RawIter};
    use std::net::Ipv6Addr;
    let v4 = Ipv4PktInfo {
        addr: Ipv4Addr::new(127, 0, 0, 2),
        ifindex: 3,
    };
    let v6 = Ipv6PktInfo {
        addr: Ipv6Addr::LOCALHOST,
        ifindex: 4,
    };
    let mut a = CmsgBuffer::<{ IP_PKTINFO_SPACE + IPV6_PKTINFO_SPACE }>::new();
    let mut typed = a.encoder();
    typed
        .push_ip_pktinfo(v4)
        .unwrap()
        .push_ipv6_pktinfo(v6)
        .unwrap();
    let mut b = CmsgBuffer::<{ IP_PKTINFO_SPACE + IPV6_PKTINFO_SPACE }>::new();
    let mut windows = Encoder::new(&mut b);
    windows
        .push(&ControlMessage::PktInfoV4 {
            addr: v4.addr,
            ifindex: v4.ifindex,
        })
        .unwrap()
        .push(&ControlMessage::PktInfoV6 {
            addr: v6.addr,
            ifindex: v6.ifindex,
        })
        .unwrap();
    assert_eq!(typed.as_bytes(), windows.as_bytes());
    let want_layout = if cfg!(target_pointer_width = "64") {
        Layout::WINDOWS_64
    } else {
        Layout::WINDOWS_32
    };
    assert_eq!(Layout::NATIVE, want_layout);
    let raw: Vec<_> = RawIter::new(typed.as_bytes())
        .map(|m| (m.level, m.ty, m.data.len(), m.offset))
        .collect();
    assert_eq!(raw, [(0, 19, 8, 0), (41, 19, 20, IP_PKTINFO_SPACE)]);
    let got: Vec<_> = Iter::new(typed.as_bytes()).collect();
    assert_eq!(
        got,
        [
            ControlMessage::PktInfoV4 {
                addr: v4.addr,
                ifindex: 3
            },
            ControlMessage::PktInfoV6 {
                addr: v6.addr,
                ifindex: 4
            }
        ]
    );
}

/// The crate's limits and storage errors speak of what Windows has: the 32-bit counts of a
/// `WSAMSG`, `UDP_SEND_MSG_SIZE`, the Windows spaces; no descriptors.
#[test]
fn the_crate_error_names_windows_limits() {
    use ancillary::Limit;
    let over = |limit, needed, max| Error::Limit {
        limit,
        needed,
        max,
        kernel: None,
    };
    let e = over(Limit::Iovecs, 1 << 33, u32::MAX as usize);
    assert!(e.to_string().contains("WSAMSG"), "{e}");
    assert!(e.to_string().contains("nothing was sent"), "{e}");
    let e = over(Limit::SegmentSize, 0, 65_507);
    assert!(e.to_string().contains("UDP_SEND_MSG_SIZE"), "{e}");
    let e = Error::Capacity {
        needed: 48,
        available: 24,
    };
    assert!(e.to_string().contains("INT_SPACE"), "{e}");
    assert!(!e.to_string().contains("space_for_fds"), "{e}");
    let e = Error::ControlTruncated {
        delivered: 24,
        capacity: 24,
    };
    assert!(e.to_string().contains("WSARecvMsg"), "{e}");
    assert!(!e.to_string().contains("fds"), "{e}");
    assert_eq!(
        std::io::Error::from(Error::Capacity {
            needed: 1,
            available: 0
        })
        .kind(),
        std::io::ErrorKind::StorageFull
    );
}

/// `ancillary::Batch` and `ancillary::RecvBatch` are the Windows batches: the same portable
/// names as on Unix.
#[test]
fn crate_batch_names_on_windows() {
    let (a, b) = udp_pair();
    let to = b.local_addr().unwrap();
    let mut batch: ancillary::Batch = Batch::new();
    batch.push(to, b"one").unwrap();
    batch.push(to, b"two").unwrap();
    let sent: Result<usize, ancillary::BatchError> = batch.send(&a);
    assert_eq!(sent.unwrap(), 2);
    let mut rb: ancillary::RecvBatch = RecvBatch::new(4, 64);
    let mut got = Vec::new();
    for _ in 0..2 {
        if got.len() >= 2 {
            break;
        }
        rb.recv(&b).unwrap();
        got.extend(rb.iter().map(|d| d.data().to_vec()));
    }
    assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
}
