//! The async forms on tokio's sockets: every socket type, the builders, the one-call forms,
//! batches; received descriptors close-on-exec, no SIGPIPE, no spinning while waiting.
#![cfg(all(feature = "tokio", linux_like))]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::tokio::{AsyncRecvWithFd, AsyncSendWithFd, AsyncSocket, SeqPacket};
use ancillary::{Error, RecvExact, RecvMsg, SendAll, SendMsg};
use common::*;
use tokio::io::unix::AsyncFd;
use tokio::net::{UdpSocket, UnixDatagram, UnixStream};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One message with two descriptors from `tx` to `rx`, by the one-call forms.
async fn round_trip<T: AsyncSocket + Sync, R: AsyncSocket + Sync>(tx: &T, rx: &R) {
    let f1 = file_with("first");
    let f2 = file_with("second");
    assert_eq!(
        tx.send_with_fd(b"two fds", &[f1.as_fd(), f2.as_fd()])
            .await
            .unwrap(),
        7
    );
    let mut buf = [0u8; 16];
    let mut fds: [Option<OwnedFd>; 2] = Default::default();
    let (n, count) = rx.recv_with_fd(&mut buf, &mut fds).await.unwrap();
    assert_eq!((&buf[..n], count), (&b"two fds"[..], 2));
    let [a, b] = fds.map(Option::unwrap);
    assert!(
        is_cloexec(&a) && is_cloexec(&b),
        "received fds are close-on-exec"
    );
    assert_eq!(
        (read_all(a), read_all(b)),
        ("first".into(), "second".into())
    );
}

#[test]
fn every_socket_type() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        round_trip(&a, &b).await;
        {
            let (ra, wa) = a.into_split();
            let (rb, wb) = b.into_split();
            round_trip(&wa, &rb).await;
            round_trip(&wb, &ra).await;
            let (mut a, mut b) = (ra.reunite(wa).unwrap(), rb.reunite(wb).unwrap());
            let (ra, wa) = a.split();
            let (rb, wb) = b.split();
            round_trip(&wa, &rb).await;
            round_trip(&wb, &ra).await;
        }
        let (a, b) = UnixDatagram::pair().unwrap();
        round_trip(&a, &b).await;
        let (a, b) = SeqPacket::pair().unwrap();
        round_trip(&a, &b).await;
        // Any socket registered by hand.
        let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        #[allow(deprecated)] // its replacement is unsafe and new in tokio 1.54
        let (a, b) = (AsyncFd::new(a).unwrap(), AsyncFd::new(b).unwrap());
        round_trip(&a, &b).await;
    });
}

#[test]
fn send_fd_recv_fd_and_vec() {
    rt().block_on(async {
        let (a, b) = SeqPacket::pair().unwrap();
        let f = file_with("one");
        a.send_fd(f.as_fd()).await.unwrap();
        assert_eq!(read_all(b.recv_fd().await.unwrap()), "one");
        let files = dev_nulls(3);
        let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
        a.send_with_fd(b"abc", &fds).await.unwrap();
        let mut got = Vec::new();
        assert_eq!(b.recv_with_fd_vec(&mut [0; 8], &mut got).await.unwrap(), 3);
        assert_eq!(got.len(), 3);
        // Too many for the room: reported, the rest closed.
        a.send_with_fd(b"abc", &fds).await.unwrap();
        let mut one = [None];
        assert_eq!(
            b.recv_with_fd(&mut [0; 8], &mut one).await.unwrap_err(),
            Error::TooManyFds {
                arrived: 3,
                capacity: 1
            }
        );
        assert!(one[0].is_some());
    });
}

#[test]
fn builders_send_and_receive() {
    rt().block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let f = file_with("msg");
        let mut out = CmsgBuffer::<{ space_for_fds(1) }>::new();
        let mut control = out.encoder();
        control.push_rights(&[f.as_fd()]).unwrap();
        let sent = SendMsg::new(&[IoSlice::new(b"hi")])
            .control(&control)
            .send_async(&a)
            .await
            .unwrap();
        assert_eq!(sent, 2);
        let mut data = [0u8; 8];
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut room = CmsgBuffer::<{ space_for_fds(2) }>::new();
        let mut recv = RecvMsg::new(&mut iov).control(&mut room);
        let mut msg = recv.recv_async(&b).await.unwrap();
        msg.check().unwrap();
        assert_eq!(msg.len(), 2);
        let fd = msg.fds().next().unwrap();
        assert!(is_cloexec(&fd));
        assert_eq!(read_all(fd), "msg");
    });
}

/// 4 MiB with one descriptor through a socket whose buffer holds far less: the writer waits
/// for room many times, the descriptor goes once, every byte arrives in order.
#[test]
fn send_all_and_recv_exact_across_many_partial_writes() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let data = pattern(4 << 20);
        let f = file_with("big");
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 4 << 20];
            let mut fds = Vec::new();
            let n = RecvExact::new(&mut buf)
                .fds_vec(&mut fds)
                .recv_all_async(&b)
                .await
                .unwrap();
            (buf, fds, n)
        });
        let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
        let mut control = space.encoder();
        control.push_rights(&[f.as_fd()]).unwrap();
        let mut job = SendAll::new(&[IoSlice::new(&data)]).control(&control);
        assert_eq!(job.send_all_async(&a).await.unwrap(), data.len());
        let (buf, fds, n) = reader.await.unwrap();
        assert_eq!(n, 1);
        assert_eq!(fds.len(), 1);
        assert!(buf == data, "bytes differ");
    });
}

/// More datagrams than the socket queues: the batch waits for room and resumes at the first
/// unsent; the reader gets every datagram once, in order.
#[test]
fn batch_waits_and_resumes_recv_batch_receives() {
    const N: usize = 3000;
    rt().block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let reader = tokio::spawn(async move {
            let mut batch = RecvBatch::new(64, 64, 0).unwrap();
            let mut seen = Vec::with_capacity(N);
            while seen.len() < N {
                batch.recv_async(&b).await.unwrap();
                for d in batch.iter_mut() {
                    seen.push(u32::from_le_bytes(d.data()[..4].try_into().unwrap()));
                }
            }
            seen
        });
        let payloads: Vec<[u8; 4]> = (0..N as u32).map(u32::to_le_bytes).collect();
        let mut batch = Batch::new();
        for p in &payloads {
            batch
                .push_vectored(None, &[IoSlice::new(p)], |_| Ok(()))
                .unwrap();
        }
        let flags = batch.flags();
        assert_eq!(batch.send_async(&a).await.unwrap(), N);
        assert_eq!(batch.flags(), flags, "the batch's flags are given back");
        let seen = reader.await.unwrap();
        assert_eq!(seen, (0..N as u32).collect::<Vec<_>>());
    });
}

#[test]
fn udp_batch_and_one_call_without_fds() {
    rt().block_on(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut batch = Batch::new();
        for _ in 0..10 {
            batch.push(rx.local_addr().unwrap(), b"dgram").unwrap();
        }
        assert_eq!(batch.send_async(&tx).await.unwrap(), 10);
        let mut rb = RecvBatch::new(16, 64, 0).unwrap();
        let mut got = 0;
        while got < 10 {
            got += rb.recv_async(&rx).await.unwrap();
        }
        tx.connect(rx.local_addr().unwrap()).await.unwrap();
        tx.send_with_fd(b"plain", &[]).await.unwrap();
        let mut fds = [None];
        assert_eq!(
            rx.recv_with_fd(&mut [0; 8], &mut fds).await.unwrap(),
            (5, 0)
        );
    });
}

/// A send to a closed peer fails with EPIPE; no SIGPIPE kills the test.
#[test]
fn no_sigpipe() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let f = file_with("");
        let err = a.send_with_fd(b"x", &[f.as_fd()]).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    });
}

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a live, writable timespec.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Waiting receives and sends park the task: 300 ms of waiting costs almost no CPU. A
/// would-block that did not clear tokio's readiness would spin here.
#[test]
fn waiting_does_not_spin() {
    rt().block_on(async {
        let (a, _full) = UnixStream::pair().unwrap();
        let (_quiet, b) = UnixStream::pair().unwrap();
        // Fill a's send buffer so that a send must wait.
        let fill = vec![0u8; 1 << 16];
        while a.try_write(&fill).is_ok() {}
        let start = thread_cpu();
        let mut buf = [0u8; 4];
        let mut fds = [None];
        tokio::select! {
            r = b.recv_with_fd(&mut buf, &mut fds) => panic!("nothing was sent: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(150)) => {}
        }
        let mut job = SendAll::new(&[IoSlice::new(b"late")]);
        tokio::select! {
            r = job.send_all_async(&a) => panic!("the buffer is full: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(150)) => {}
        }
        // A future that spins (readiness never cleared) burns the whole 300 ms of waiting on
        // this thread; one that waits burns next to nothing. Half of it tells them apart with
        // room for a busy machine.
        let used = thread_cpu() - start;
        assert!(
            used < Duration::from_millis(150),
            "{used:?} of CPU in 300 ms of waiting: the futures spin"
        );
    });
}
