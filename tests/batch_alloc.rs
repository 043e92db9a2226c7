//! No heap allocation per datagram or per send once a batch is warm: a counting global
//! allocator watches rounds of push (with control messages), sendmmsg with GSO, recycle for
//! new payloads, recvmmsg and walking the received control data.
#![cfg(unix)]

mod common;
#[path = "common/counting.rs"]
mod counting;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{ControlMessage, INT_SPACE, IP_PKTINFO_SPACE};
use common::*;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;
use counting::allocations;

const DATAGRAMS: usize = 300;

/// One round: fill the payloads, push them all (runs with and without control data), send,
/// receive every one and read its control messages. Returns the batch for the next round.
fn round(
    spare: Batch<'static>,
    payloads: &mut [[u8; 200]],
    round: u8,
    to: SocketAddr,
    tx: &UdpSocket,
    rx: &UdpSocket,
    recv: &mut RecvBatch,
) -> Batch<'static> {
    for (i, p) in payloads.iter_mut().enumerate() {
        p.fill(round.wrapping_add(i as u8));
    }
    let mut batch: Batch<'_> = spare.recycle();
    for (i, p) in payloads.iter().enumerate() {
        if i % 3 == 0 {
            batch.push(to, p).unwrap();
        } else {
            batch
                .push_with(to, p, |c| {
                    c.push_ip_pktinfo(ancillary::cmsg::Ipv4PktInfo::source(Ipv4Addr::LOCALHOST))?
                        .push_ip_tos(2)?;
                    Ok(())
                })
                .unwrap();
        }
    }
    assert_eq!(batch.send(tx), Ok(DATAGRAMS));
    let mut got = 0;
    while got < DATAGRAMS {
        recv.recv(rx).unwrap();
        for mut d in recv.iter_mut() {
            assert_eq!(d.data()[0], round.wrapping_add(got as u8));
            let mut tos = 0;
            for m in d.messages() {
                if let ControlMessage::IpTos(t) = m {
                    tos = t;
                }
            }
            assert_eq!(tos, if got % 3 == 0 { 0 } else { 2 });
            got += 1;
        }
    }
    batch.recycle()
}

#[test]
fn warm_batches_do_not_allocate() {
    let rx = udp_receiver("127.0.0.1:0", 8 << 20);
    set_int_opt(&rx, libc::IPPROTO_IP, libc::IP_RECVTOS, 1);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let mut payloads = vec![[0u8; 200]; DATAGRAMS];
    let mut recv = RecvBatch::new(128, 512, IP_PKTINFO_SPACE + INT_SPACE).unwrap();
    // Warm up: arenas grow, the segment cap is probed, optmem_max is read.
    let mut batch = round(Batch::new(), &mut payloads, 0, to, &tx, &rx, &mut recv);
    batch = round(batch, &mut payloads, 1, to, &tx, &rx, &mut recv);

    let before = allocations();
    for r in 2..52 {
        batch = round(batch, &mut payloads, r, to, &tx, &rx, &mut recv);
    }
    let made = allocations() - before;
    assert_eq!(
        made, 0,
        "{made} allocations in 50 rounds of {DATAGRAMS} datagrams"
    );
    let s = batch.stats();
    assert!(s.segmented > 0, "GSO was used: {s:?}");

    // The counter counts: a Vec allocates.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    drop(v);
    assert_eq!(allocations() - before, 1);
}
