//! No heap allocation per message on the async paths once warm: a counting global allocator
//! watches the runtime's thread (a current-thread runtime runs every future on it) through
//! many round trips, tokio's own work included.
#![cfg(all(feature = "tokio", linux_like))]

mod common;
#[path = "common/counting.rs"]
mod counting;

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, OwnedFd};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd};
use ancillary::{RecvExact, RecvMsg, SendMsg};
use common::*;
use tokio::net::{UnixDatagram, UnixStream};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;
use counting::allocations;

const ROUNDS: usize = 200;

#[test]
fn async_round_trips_do_not_allocate() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (da, db) = UnixDatagram::pair().unwrap();
        let f = file_with("x");
        let mut buf = [0u8; 64];
        let mut fds: [Option<OwnedFd>; 2] = Default::default();
        let mut batch = Batch::with_capacity(8, 8, 0).unwrap();
        let mut rbatch = RecvBatch::new(8, 64, 0).unwrap();
        let payload = [7u8; 16];

        let mut round = async |count: bool| {
            let before = allocations();
            // The one-call forms.
            a.send_with_fd(b"ping", &[f.as_fd()]).await.unwrap();
            let (n, k) = b.recv_with_fd(&mut buf, &mut fds).await.unwrap();
            assert_eq!((n, k), (4, 1));
            fds[0] = None;
            // The builders.
            let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
            let mut control = space.encoder();
            control.push_rights(&[f.as_fd()]).unwrap();
            SendMsg::new(&[IoSlice::new(b"pong")])
                .control(&control)
                .send_async(&da)
                .await
                .unwrap();
            let mut room = CmsgBuffer::<{ space_for_fds(2) }>::new();
            let mut iov = [IoSliceMut::new(&mut buf)];
            let mut recv = RecvMsg::new(&mut iov).control(&mut room);
            let mut msg = recv.recv_async(&db).await.unwrap();
            assert_eq!(msg.fds().count(), 1);
            drop(msg);
            // Receive-exact.
            a.send_with_fd(b"exact", &[f.as_fd()]).await.unwrap();
            let mut five = [0u8; 5];
            let got = RecvExact::new(&mut five)
                .fds(&mut fds)
                .recv_all_async(&b)
                .await
                .unwrap();
            assert_eq!(got, 1);
            fds[0] = None;
            // Batches (their storage reserved up front).
            for _ in 0..4 {
                batch
                    .push_vectored(None, &[IoSlice::new(&payload)], |_| Ok(()))
                    .unwrap();
            }
            assert_eq!(batch.send_async(&da).await.unwrap(), 4);
            let mut got = 0;
            while got < 4 {
                got += rbatch.recv_async(&db).await.unwrap();
            }
            if count {
                allocations() - before
            } else {
                0
            }
        };
        // Warm past tokio's first coop-budget yield (128 readiness operations, in the 18th
        // round): the first time it defers the task, tokio grows a list of its own once.
        for _ in 0..100 {
            round(false).await;
        }
        let mut total = 0;
        for i in 0..ROUNDS {
            let n = round(true).await;
            if n > 0 {
                eprintln!("round {i}: {n} allocations");
            }
            total += n;
        }
        assert_eq!(total, 0, "{total} allocations in {ROUNDS} warm rounds");
    });
}
