//! The TOS byte / traffic class and the TTL / hop limit of received datagrams, read through
//! the same calls on every system that has them (Linux, FreeBSD, macOS): the sender sets them
//! with socket options (portable, unlike the send-side messages, which differ per system), the
//! receiver switches on `sockopt::set_recv_tos` / `set_recv_ttl` and reads `Received::tos`,
//! `ecn` and `ttl`, whatever message type and width its kernel uses (Linux: `IP_TOS` one
//! byte, `IP_TTL` int; FreeBSD and macOS: `IP_RECVTOS` / `IP_RECVTTL` one byte; IPv6: ints).
#![cfg(has_recv_tos)]

mod common;

use std::io::IoSliceMut;
use std::net::UdpSocket;
use std::time::Duration;

use ancillary::cmsg::{CmsgBuffer, Ecn, INT_SPACE};
use ancillary::{sockopt, RecvMsg};

/// Receives one datagram on `rx` with room for both messages; gives `(tos, ecn, ttl)`.
fn recv_fields(rx: &UdpSocket) -> (Option<u8>, Option<Ecn>, Option<u8>) {
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut data = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut room = CmsgBuffer::<{ 2 * INT_SPACE }>::new();
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let msg = recv.recv(rx).unwrap();
    msg.check().unwrap();
    (msg.tos(), msg.ecn(), msg.ttl())
}

fn udp6() -> Option<UdpSocket> {
    match UdpSocket::bind("[::1]:0") {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("skipped the IPv6 half: no IPv6 loopback ({e})");
            None
        }
    }
}

#[test]
fn tos_and_ttl_arrive_v4() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    sockopt::set_recv_tos(&rx, true).unwrap();
    sockopt::set_recv_ttl(&rx, true).unwrap();
    if !common::skip_under_qemu(
        "reading IP_RECVTOS/IP_RECVTTL back with getsockopt (qemu-user answers ENOPROTOOPT)",
    ) {
        assert!(sockopt::recv_tos(&rx).unwrap() && sockopt::recv_ttl(&rx).unwrap());
    }
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tos = Ecn::Ect0.to_tos(10); // AF11 with ECT(0)
    common::set_int_opt(&tx, libc::IPPROTO_IP, libc::IP_TOS, tos.into());
    tx.set_ttl(7).unwrap();
    tx.send_to(b"v4", rx.local_addr().unwrap()).unwrap();
    assert_eq!(recv_fields(&rx), (Some(tos), Some(Ecn::Ect0), Some(7)));

    // Switched off: nothing arrives.
    sockopt::set_recv_tos(&rx, false).unwrap();
    sockopt::set_recv_ttl(&rx, false).unwrap();
    tx.send_to(b"v4", rx.local_addr().unwrap()).unwrap();
    assert_eq!(recv_fields(&rx), (None, None, None));
}

#[test]
fn traffic_class_and_hop_limit_arrive_v6() {
    let (Some(rx), Some(tx)) = (udp6(), udp6()) else {
        return;
    };
    sockopt::set_recv_tos(&rx, true).unwrap();
    sockopt::set_recv_ttl(&rx, true).unwrap();
    assert!(sockopt::recv_tos(&rx).unwrap() && sockopt::recv_ttl(&rx).unwrap());
    let tclass = Ecn::Ce.to_tos(46); // EF with CE
    common::set_int_opt(&tx, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tclass.into());
    common::set_int_opt(&tx, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 9);
    tx.send_to(b"v6", rx.local_addr().unwrap()).unwrap();
    assert_eq!(recv_fields(&rx), (Some(tclass), Some(Ecn::Ce), Some(9)));
}
