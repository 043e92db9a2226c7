//! Futures dropped at every await point: a cancelled send never sends descriptors twice nor
//! loses track of what went; a cancelled receive received nothing, or kept what it received
//! owned and counted.
#![cfg(all(feature = "tokio", linux_like))]

mod common;

use std::future::Future;
use std::io::IoSlice;
use std::os::fd::{AsFd, OwnedFd};
use std::task::Poll;
use std::time::Duration;

use ancillary::batch::Batch;
use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd};
use ancillary::{RecvExact, RecvWithFd, SendAll};
use common::*;
use tokio::net::{UnixDatagram, UnixStream};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Polls `fut` once and drops it: its output if it completed in that poll.
async fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        Poll::Ready(match fut.as_mut().poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// 1 MiB and one descriptor through a small socket buffer, each `send_all_async` future
/// polled once and dropped: the peer gets every byte once, in order, and the descriptor once,
/// with the first bytes.
#[test]
fn send_all_dropped_at_every_await() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let data = pattern(1 << 20);
        let f = file_with("once");
        let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
        let mut control = space.encoder();
        control.push_rights(&[f.as_fd()]).unwrap();
        let mut job = SendAll::new(&[IoSlice::new(&data)]).control(&control);
        let (mut got, mut fds) = (Vec::new(), Vec::<OwnedFd>::new());
        let mut buf = vec![0u8; 1 << 16];
        let mut cancelled = 0;
        for _ in 0..1_000_000 {
            if job.is_done() {
                break;
            }
            if poll_once(job.send_all_async(&a)).await.is_none() {
                cancelled += 1;
            }
            // Drain what is queued (b is non-blocking: tokio made it so).
            loop {
                match b.as_fd().recv_with_fd_vec(&mut buf, &mut fds) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(got.len(), job.sent(), "the peer has what the job counts");
            assert_eq!(fds.len(), usize::from(job.sent() > 0));
            tokio::task::yield_now().await;
        }
        assert!(job.is_done());
        assert!(cancelled > 0, "no future was dropped while pending");
        assert!(got == data, "bytes differ");
        assert_eq!(fds.len(), 1);
        assert_eq!(read_all(fds.pop().unwrap()), "once");
    });
}

/// 3000 datagrams through a socket that queues far fewer, each `send_async` future polled once
/// and dropped: every datagram arrives once, in order, and the batch holds exactly the rest.
#[test]
fn batch_send_dropped_at_every_await() {
    const N: usize = 3000;
    rt().block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let payloads: Vec<[u8; 4]> = (0..N as u32).map(u32::to_le_bytes).collect();
        let mut batch = Batch::new();
        for p in &payloads {
            batch
                .push_vectored(None, &[IoSlice::new(p)], |_| Ok(()))
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut cancelled = 0;
        for _ in 0..1_000_000 {
            if batch.is_empty() {
                break;
            }
            if poll_once(batch.send_async(&a)).await.is_none() {
                cancelled += 1;
            }
            let mut buf = [0u8; 8];
            loop {
                // The call itself, not tokio's try_recv, which trusts readiness the reactor
                // has not seen yet.
                match b.as_fd().recv_with_fd(&mut buf, &mut []) {
                    Ok((n, _)) => {
                        assert_eq!(n, 4);
                        seen.push(u32::from_le_bytes(buf[..4].try_into().unwrap()));
                    }
                    Err(e) if e.is_would_block() => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(seen.len() + batch.len(), N, "none lost, none sent twice");
            tokio::task::yield_now().await;
        }
        assert!(cancelled > 0, "no future was dropped while pending");
        assert_eq!(seen, (0..N as u32).collect::<Vec<_>>());
    });
}

/// A receive that loses a race with a timer received nothing: the message sent afterwards,
/// descriptor included, comes whole to the next receive.
#[test]
fn recv_dropped_by_select_receives_nothing() {
    rt().block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let mut buf = [0u8; 8];
        let mut fds = [None];
        for _ in 0..3 {
            tokio::select! {
                r = b.recv_with_fd(&mut buf, &mut fds) => panic!("nothing was sent: {r:?}"),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            tokio::select! {
                r = b.recv_fd() => panic!("nothing was sent: {r:?}"),
                _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
        assert!(fds[0].is_none());
        let f = file_with("after");
        a.send_with_fd(b"late", &[f.as_fd()]).await.unwrap();
        assert_eq!(b.recv_with_fd(&mut buf, &mut fds).await.unwrap(), (4, 1));
        assert_eq!(read_all(fds[0].take().unwrap()), "after");
    });
}

/// A receive-exact cut by a timer half way: what arrived is in the buffer and counted, its
/// descriptor owned; calling again reads the rest and its descriptor.
#[test]
fn recv_exact_dropped_half_way_resumes() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (f1, f2) = (file_with("1"), file_with("2"));
        a.send_with_fd(b"first", &[f1.as_fd()]).await.unwrap();
        let mut buf = [0u8; 10];
        let mut fds: [Option<OwnedFd>; 2] = Default::default();
        let mut job = RecvExact::new(&mut buf).fds(&mut fds);
        tokio::select! {
            r = job.recv_all_async(&b) => panic!("only half was sent: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(30)) => {}
        }
        assert_eq!((job.received(), job.fd_count()), (5, 1));
        a.send_with_fd(b"other", &[f2.as_fd()]).await.unwrap();
        assert_eq!(job.recv_all_async(&b).await.unwrap(), 2);
        assert_eq!(&buf, b"firstother");
        let names: Vec<_> = fds.into_iter().map(|f| read_all(f.unwrap())).collect();
        assert_eq!(names, ["1", "2"]);
    });
}
