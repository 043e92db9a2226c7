//! UDP and IP control messages on loopback: per-datagram source address (`IP_PKTINFO`,
//! `IPV6_PKTINFO`), TOS and traffic class (ECN bits), TTL and hop limit, through a `Batch`
//! (with and without GSO) and through `SendMsg`; receive timestamps, `SCM_TXTIME` and
//! `SO_RXQ_OVFL` drop counts.
#![cfg(unix)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{
    space, CmsgBuffer, ControlMessage, Ipv4PktInfo, Ipv6PktInfo, INT_SPACE, IPV6_PKTINFO_SPACE,
    IP_PKTINFO_SPACE, TXTIME_SPACE,
};
use ancillary::{RecvMsg, SendMsg};
use common::*;

/// What the receiver saw of one datagram.
#[derive(Debug, Default, Clone, PartialEq)]
struct Seen {
    index: u8,
    source: Option<SocketAddr>,
    dest: Option<IpAddr>,
    tos: Option<u8>,
    ttl: Option<u8>,
}

/// Receives `n` datagrams (each starting with its index byte) and what came with them.
fn receive_all(rx: &UdpSocket, n: usize) -> Vec<Seen> {
    let mut batch = RecvBatch::new(64, 2048, 256).unwrap();
    let mut out = Vec::new();
    let mut timeouts = 0;
    while out.len() < n {
        match batch.recv(rx) {
            Ok(_) => {}
            Err(e) if e.is_would_block() && timeouts < 25 => {
                timeouts += 1;
                continue;
            }
            Err(e) => panic!("after {} datagrams: {e}", out.len()),
        }
        for mut d in batch.iter_mut() {
            d.check().unwrap();
            let mut s = Seen {
                index: d.data()[0],
                source: d.socket_addr(),
                ..Seen::default()
            };
            for m in d.messages() {
                match m {
                    ControlMessage::IpPktInfo(p) => s.dest = Some(p.addr.into()),
                    ControlMessage::Ipv6PktInfo(p) => s.dest = Some(p.addr.into()),
                    ControlMessage::IpTos(t) | ControlMessage::Ipv6TrafficClass(t) => {
                        s.tos = Some(t)
                    }
                    ControlMessage::IpTtl(t) | ControlMessage::Ipv6HopLimit(t) => s.ttl = Some(t),
                    other => panic!("unexpected {other:?}"),
                }
            }
            out.push(s);
        }
    }
    out.sort_by_key(|s| s.index);
    out
}

#[test]
fn per_datagram_source_tos_and_ttl_over_ipv4() {
    let rx = udp_receiver("127.0.0.1:0", 4 << 20);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_PKTINFO, 1);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_RECVTOS, 1);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_RECVTTL, 1);
    let to = rx.local_addr().unwrap();
    // Bound to 0.0.0.0, so that IP_PKTINFO may choose any local source address.
    let tx = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = tx.local_addr().unwrap().port();

    let payloads: Vec<[u8; 100]> = (0..40u8).map(|i| [i; 100]).collect();
    let source = |i: u8| -> Ipv4Addr {
        // Alternating at first, then runs of the same (GSO can join those).
        let odd = if i < 20 { i % 2 == 1 } else { i >= 30 };
        if odd {
            Ipv4Addr::new(127, 0, 0, 3)
        } else {
            Ipv4Addr::new(127, 0, 0, 2)
        }
    };
    let tos = |i: u8| if i < 20 { (i % 4) | 0x20 } else { 0x02 };
    let ttl = |i: u8| if i < 20 { 10 + i } else { 64 };
    for gso in [false, true] {
        let mut batch = Batch::new();
        batch.set_gso(gso);
        for (i, p) in payloads.iter().enumerate() {
            let i = i as u8;
            batch
                .push_with(to, p, |c| {
                    c.push_ip_pktinfo(Ipv4PktInfo::source(source(i)))?
                        .push_ip_tos(tos(i))?
                        .push_ip_ttl(ttl(i))?;
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(batch.send(&tx), Ok(40));
        if gso {
            assert_eq!(
                batch.stats().segmented,
                2,
                "two runs of 10: {:?}",
                batch.stats()
            );
        }
        let seen = receive_all(&rx, 40);
        for (i, s) in seen.iter().enumerate() {
            let i = i as u8;
            let want = Seen {
                index: i,
                source: Some(SocketAddr::new(source(i).into(), port)),
                dest: Some(Ipv4Addr::LOCALHOST.into()),
                tos: Some(tos(i)),
                ttl: Some(ttl(i)),
            };
            assert_eq!(s, &want, "gso {gso}");
        }
        assert!(nothing_queued_udp(&rx));
    }
}

#[test]
fn per_datagram_source_tclass_and_hoplimit_over_ipv6() {
    let rx = udp_receiver("[::1]:0", 4 << 20);
    set_int_opt(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1);
    set_int_opt(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 1);
    set_int_opt(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1);
    let to = rx.local_addr().unwrap();
    let tx = UdpSocket::bind("[::]:0").unwrap();
    let port = tx.local_addr().unwrap().port();

    let payloads: Vec<[u8; 300]> = (0..30u8).map(|i| [i; 300]).collect();
    let tclass = |i: u8| if i < 10 { (i % 4) | 0xb8 } else { 0x01 };
    let hops = |i: u8| if i < 10 { 1 + i } else { 255 };
    for gso in [false, true] {
        let mut batch = Batch::new();
        batch.set_gso(gso);
        for (i, p) in payloads.iter().enumerate() {
            let i = i as u8;
            batch
                .push_with(to, p, |c| {
                    c.push_ipv6_pktinfo(Ipv6PktInfo::source(Ipv6Addr::LOCALHOST))?
                        .push_ipv6_tclass(tclass(i))?
                        .push_ipv6_hoplimit(hops(i))?;
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(batch.send(&tx), Ok(30));
        if gso {
            assert_eq!(batch.stats().segmented, 1, "{:?}", batch.stats());
        }
        let seen = receive_all(&rx, 30);
        for (i, s) in seen.iter().enumerate() {
            let i = i as u8;
            let want = Seen {
                index: i,
                source: Some(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port)),
                dest: Some(Ipv6Addr::LOCALHOST.into()),
                tos: Some(tclass(i)),
                ttl: Some(hops(i)),
            };
            assert_eq!(s, &want, "gso {gso}");
        }
    }
}

#[test]
fn sendmsg_with_typed_messages_and_a_timestamp_back() {
    let rx = udp_receiver("127.0.0.1:0", 1 << 20);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_PKTINFO, 1);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_RECVTOS, 1);
    set_int_opt(&rx, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut st = CmsgBuffer::<{ IP_PKTINFO_SPACE + INT_SPACE }>::new();
    let mut control = st.encoder();
    control
        .push_source_ip(Ipv4Addr::new(127, 0, 0, 5).into())
        .unwrap()
        .push_ip_tos(0x03)
        .unwrap();
    let before = SystemTime::now();
    SendMsg::new(&[IoSlice::new(b"typed")])
        .control(&control)
        .to_addr(rx.local_addr().unwrap())
        .send(&tx)
        .unwrap();

    let mut data = [0u8; 16];
    let mut room = CmsgBuffer::<{ IP_PKTINFO_SPACE + 2 * INT_SPACE + space(16) }>::new();
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut room);
    let mut msg = recv.recv(&rx).unwrap();
    msg.check().unwrap();
    assert_eq!(
        msg.socket_addr().map(|a| a.ip()),
        Some(Ipv4Addr::new(127, 0, 0, 5).into())
    );
    let (mut tos, mut stamp) = (None, None);
    for m in msg.messages() {
        match m {
            ControlMessage::IpTos(t) => tos = Some(t),
            ControlMessage::TimestampNs(t) => stamp = t.to_system_time(),
            ControlMessage::IpPktInfo(p) => assert_eq!(p.addr, Ipv4Addr::LOCALHOST),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(tos, Some(0x03));
    let stamp = stamp.expect("SCM_TIMESTAMPNS");
    let slack = Duration::from_secs(5);
    assert!(stamp + slack >= before && stamp <= SystemTime::now() + slack);
}

#[test]
fn txtime_needs_so_txtime_and_then_goes() {
    let rx = udp_receiver("127.0.0.1:0", 1 << 20);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut st = CmsgBuffer::<TXTIME_SPACE>::new();
    let mut control = st.encoder();
    control.push_txtime(1).unwrap();
    let iov = [IoSlice::new(b"t")];
    let msg = SendMsg::new(&iov)
        .control(&control)
        .to_addr(rx.local_addr().unwrap());
    assert_eq!(
        msg.send(&tx).unwrap_err().raw_os_error(),
        Some(libc::EINVAL),
        "SCM_TXTIME without SO_TXTIME"
    );
    // struct sock_txtime { clockid_t clockid; u32 flags; }: CLOCK_MONOTONIC, no flags.
    let txtime = [libc::CLOCK_MONOTONIC, 0];
    // SAFETY: txtime is two live 32-bit words and its size is given.
    let r = unsafe {
        libc::setsockopt(
            raw(&tx),
            libc::SOL_SOCKET,
            libc::SO_TXTIME,
            txtime.as_ptr().cast(),
            8,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(msg.send(&tx), Ok(1));
    let mut b = [0u8; 4];
    assert_eq!(rx.recv(&mut b).unwrap(), 1);
}

#[test]
fn rxq_ovfl_counts_the_datagrams_a_full_socket_dropped() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    set_int_opt(&rx, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096); // the kernel's minimum
    set_int_opt(&rx, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1);
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let payload = [9u8; 1000];
    const SENT: usize = 200;
    let mut batch = Batch::new();
    batch.set_gso(false);
    for _ in 0..SENT {
        batch.push(to, &payload).unwrap();
    }
    assert_eq!(batch.send(&tx), Ok(SENT));

    // A datagram carries the drop count as it stood when the datagram was queued: those
    // queued before the socket filled up carry none; one sent after draining carries all.
    let mut recv = RecvBatch::new(64, 2048, INT_SPACE).unwrap();
    let mut drain = |expect_one: bool| -> (usize, Option<u32>) {
        let (mut received, mut drops) = (0usize, None);
        loop {
            match recv.recv(&rx) {
                Ok(_) => {
                    for mut d in recv.iter_mut() {
                        received += 1;
                        for m in d.messages() {
                            if let ControlMessage::RxqOverflow(n) = m {
                                drops = Some(n);
                            }
                        }
                    }
                    if expect_one {
                        break;
                    }
                }
                Err(e) if e.is_would_block() => break,
                Err(e) => panic!("{e}"),
            }
        }
        (received, drops)
    };
    let (received, drops) = drain(false);
    assert!(received > 0 && received < SENT, "{received} received");
    assert_eq!(drops, None, "queued before any drop");
    tx.send_to(&payload, to).unwrap();
    let (one, drops) = drain(true);
    assert_eq!(one, 1);
    assert_eq!(
        drops,
        Some((SENT - received) as u32),
        "every datagram lost is counted"
    );
}

#[test]
fn ipv6_pktinfo_space_fits_in6_pktinfo() {
    assert_eq!(IPV6_PKTINFO_SPACE, space(20));
    assert_eq!(IP_PKTINFO_SPACE, space(12));
}
