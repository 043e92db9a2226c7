//! Every limit of a batched send, refused at push with the numbers and nothing sent: segment
//! count and size, the UDP payload per address family, iovecs per datagram, control bytes
//! against `net.core.optmem_max`, fds; messages per `recvmmsg`.
// Built where the system has what this file tests: GSO segment caps and optmem_max.
#![cfg(linux_like)]

mod common;

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use ancillary::batch::{Batch, RecvBatch};
use ancillary::cmsg::{self, space, Encoder};
use ancillary::limits::{optmem_max, udp_max_segments, Limits, MAX_FDS};
use ancillary::{Error, Limit};
use common::*;
use nix::sys::socket::SockType;

fn limit(err: Error) -> (Limit, usize, usize) {
    match err {
        Error::Limit {
            limit,
            needed,
            max,
            kernel: None,
        } => (limit, needed, max),
        other => panic!("not a limit found before the syscall: {other:?}"),
    }
}

/// Sends what is left in `batch` (a good datagram) and checks the receiver got exactly it.
fn only_the_good_one_arrives(batch: &mut Batch<'_>, tx: &UdpSocket, rx: &UdpSocket) {
    assert_eq!(batch.len(), 1, "the refused datagram was not queued");
    assert_eq!(batch.send(tx), Ok(1));
    let mut buf = [0u8; 16];
    assert_eq!(rx.recv(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"good");
    assert!(nothing_queued_udp(rx));
}

fn sockets(rx_addr: &str, tx_addr: &str) -> (UdpSocket, UdpSocket, SocketAddr) {
    let rx = udp_receiver(rx_addr, 1 << 20);
    let tx = UdpSocket::bind(tx_addr).unwrap();
    let to = rx.local_addr().unwrap();
    (rx, tx, to)
}

#[test]
fn payload_over_the_udp_limit_of_each_family() {
    let big = vec![0u8; 70_000];
    let (rx, tx, to) = sockets("127.0.0.1:0", "127.0.0.1:0");
    let mut batch = Batch::new();
    batch.push(to, b"good").unwrap();
    assert!(batch.push(to, &big[..65_507]).is_ok());
    batch.clear();
    batch.push(to, b"good").unwrap();
    let e = batch.push(to, &big[..65_508]).unwrap_err();
    assert_eq!(limit(e.clone()), (Limit::Payload, 65_508, 65_507));
    assert!(e.to_string().contains("nothing was sent"), "{e}");
    only_the_good_one_arrives(&mut batch, &tx, &rx);

    let (rx, tx, to) = sockets("[::1]:0", "[::1]:0");
    batch.push(to, b"good").unwrap();
    assert_eq!(
        limit(batch.push(to, &big[..65_528]).unwrap_err()),
        (Limit::Payload, 65_528, 65_527)
    );
    only_the_good_one_arrives(&mut batch, &tx, &rx);

    // An IPv4-mapped destination carries IPv4's limit.
    let mapped: SocketAddr = "[::ffff:127.0.0.1]:9".parse().unwrap();
    assert_eq!(
        limit(batch.push(mapped, &big[..65_508]).unwrap_err()),
        (Limit::Payload, 65_508, 65_507)
    );
}

#[test]
fn segment_size_count_and_total() {
    let (rx, tx, to) = sockets("127.0.0.1:0", "127.0.0.1:0");
    let cap = udp_max_segments();
    let data = vec![1u8; 70_000];
    let mut batch = Batch::new();
    batch.push(to, b"good").unwrap();
    let nothing = |_: &mut cmsg::Encoder<'_, '_>| Ok(());

    assert_eq!(
        limit(
            batch
                .push_segments(Some(to), &data[..100], 0, nothing)
                .unwrap_err()
        ),
        (Limit::SegmentSize, 0, 65_507)
    );
    assert_eq!(
        limit(
            batch
                .push_segments(Some(to), &data[..100], 65_508, nothing)
                .unwrap_err()
        ),
        (Limit::SegmentSize, 65_508, 65_507)
    );
    let e = batch
        .push_segments(Some(to), &data[..10 * (cap + 1)], 10, nothing)
        .unwrap_err();
    assert_eq!(limit(e.clone()), (Limit::Segments, cap + 1, cap));
    assert!(e.to_string().contains("UDP_MAX_SEGMENTS"), "{e}");
    // 55 segments of 1200 bytes exceed 65507 in all.
    assert_eq!(
        limit(
            batch
                .push_segments(Some(to), &data[..55 * 1200], 1200, nothing)
                .unwrap_err()
        ),
        (Limit::Payload, 66_000, 65_507)
    );
    // An explicit cap is checked too.
    batch.set_max_segments(Some(4));
    assert_eq!(
        limit(
            batch
                .push_segments(Some(to), &data[..50], 10, nothing)
                .unwrap_err()
        ),
        (Limit::Segments, 5, 4)
    );
    only_the_good_one_arrives(&mut batch, &tx, &rx);

    // At the limits, it goes.
    batch.set_max_segments(None);
    batch
        .push_segments(Some(to), &data[..10 * cap], 10, nothing)
        .unwrap();
    batch
        .push_segments(Some(to), &data[..54 * 1200], 1200, nothing)
        .unwrap();
    assert_eq!(batch.send(&tx), Ok(cap + 54), "every datagram counts");
    let mut buf = [0u8; 2000];
    for _ in 0..cap + 54 {
        rx.recv(&mut buf).unwrap();
    }
    assert!(nothing_queued_udp(&rx));
}

#[test]
fn iovecs_per_datagram() {
    let (rx, tx, to) = sockets("127.0.0.1:0", "127.0.0.1:0");
    let byte = [7u8; 1];
    let iov = vec![IoSlice::new(&byte); 1025];
    let mut batch = Batch::new();
    batch.push(to, b"good").unwrap();
    assert_eq!(
        limit(batch.push_vectored(Some(to), &iov, |_| Ok(())).unwrap_err()),
        (Limit::Iovecs, 1025, 1024)
    );
    only_the_good_one_arrives(&mut batch, &tx, &rx);
    batch
        .push_vectored(Some(to), &iov[..1024], |_| Ok(()))
        .unwrap();
    assert_eq!(batch.send(&tx), Ok(1));
    assert_eq!(rx.recv(&mut [0u8; 2048]).unwrap(), 1024);
}

/// Limits set while a run is open to plain pushes apply to the next push: a limit of no
/// iovecs refuses it, the queue unchanged, and the datagrams pushed before still go.
#[test]
fn limits_set_during_a_run_apply_to_its_next_push() {
    let (rx, tx, to) = sockets("127.0.0.1:0", "127.0.0.1:0");
    let mut batch = Batch::new();
    batch.push(to, b"one!").unwrap();
    batch.push(to, b"two!").unwrap();
    assert_eq!(batch.len(), 2);
    let kernel = Limits::kernel();
    batch.set_limits(Limits {
        max_iovecs: 0,
        ..kernel
    });
    assert_eq!(
        limit(batch.push(to, b"thr!").unwrap_err()),
        (Limit::Iovecs, 1, 0)
    );
    assert_eq!(batch.len(), 2);
    batch.set_limits(kernel);
    batch.push(to, b"four").unwrap();
    assert_eq!(batch.len(), 3);
    assert_eq!(batch.send(&tx), Ok(3));
    let mut buf = [0u8; 64];
    for want in [&b"one!"[..], b"two!", b"four"] {
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], want);
    }
}

#[test]
fn control_bytes_against_optmem_max() {
    let (rx, tx, to) = sockets("127.0.0.1:0", "127.0.0.1:0");
    let max = optmem_max();
    let filler = vec![0u8; max];
    let mut batch = Batch::new();
    batch.push(to, b"good").unwrap();
    // One raw message whose space is exactly optmem_max: refused, with the size the kernel
    // counts (more in a 32-bit process on a 64-bit kernel).
    let raw = |c: &mut Encoder<'_, '_>, len: usize| {
        c.push_raw(libc::IPPROTO_IP, 0x7fff, &filler[..len])
            .map(drop)
    };
    let e = batch
        .push_with(to, b"x", |c| raw(c, max - space(0)))
        .unwrap_err();
    let counted = kernel_len_of(|c| raw(c, max - space(0)));
    assert_eq!(limit(e), (Limit::ControlBuffer, counted, max));
    // Below it on its own, but not with the UDP_SEGMENT a GSO payload adds.
    let just_below = (0..4)
        .map(|k| ((max - 1) & !(cmsg::ALIGN - 1)) - k * cmsg::ALIGN)
        .find(|&n| kernel_len_of(|c| raw(c, n - space(0))) < max)
        .expect("widening adds less than 4 alignment units");
    let with_segment = kernel_len_of(|c| {
        raw(c, just_below - space(0))?;
        c.push_udp_segment(100).map(drop)
    });
    assert!(with_segment >= max);
    let e = batch
        .push_segments(Some(to), &filler[..200], 100, |c| {
            raw(c, just_below - space(0))
        })
        .unwrap_err();
    assert_eq!(limit(e), (Limit::ControlBuffer, with_segment, max));
    only_the_good_one_arrives(&mut batch, &tx, &rx);
}

#[test]
fn fds_per_datagram_on_a_unix_socket() {
    let (a, b) = pair(SockType::Datagram);
    let files = dev_nulls(MAX_FDS + 1);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut batch = Batch::new();
    let e = batch
        .push_vectored(None, &[IoSlice::new(b"fds")], |c| {
            c.push_rights(&fds)?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(limit(e), (Limit::Fds, MAX_FDS + 1, MAX_FDS));
    assert!(batch.is_empty());
    assert_eq!(batch.send(&a), Ok(0));
    // 253 go, and arrive owned.
    batch
        .push_vectored(None, &[IoSlice::new(b"fds")], |c| {
            c.push_rights(&fds[..MAX_FDS])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(batch.send(&a), Ok(1));
    let (data, got, truncated) = recv_fds(b.as_fd(), MAX_FDS);
    assert_eq!(
        (&data[..], got.len(), truncated),
        (&b"fds"[..], MAX_FDS, false)
    );
}

#[test]
fn looser_limits_let_the_kernel_judge() {
    if skip_under_qemu(
        "a control buffer near optmem_max sent to the kernel: qemu-user crashes on it",
    ) {
        return;
    }
    let (rx, tx, to) = sockets("127.0.0.1:0", "127.0.0.1:0");
    let max = optmem_max();
    let filler = vec![0u8; max];
    let mut batch = Batch::new();
    batch.set_limits(Limits::none());
    batch
        .push_with(to, b"x", |c| {
            c.push_raw(libc::IPPROTO_IP, 0x7fff, &filler[..max - space(0)])?;
            Ok(())
        })
        .unwrap();
    let e = batch.send(&tx).unwrap_err();
    assert_eq!(e.sent(), 0);
    assert!(
        matches!(
            e.error,
            Error::Limit {
                limit: Limit::ControlBuffer,
                kernel: Some(errno),
                ..
            } if errno == control_refusal_errno()
        ),
        "{e}"
    );
    assert!(nothing_queued_udp(&rx));
}

#[test]
fn more_than_1024_receive_slots() {
    assert_eq!(
        limit(RecvBatch::new(1025, 100, 0).unwrap_err()),
        (Limit::Messages, 1025, 1024)
    );
    assert!(RecvBatch::new(1024, 100, 0).is_ok());
}

/// `ENOBUFS` for control data below `optmem_max` (here: a socket filter holds part of the
/// socket's option memory) is the kernel's error, not `Limit::ControlBuffer`. (`ENOMEM` in a
/// 32-bit process on a 64-bit kernel.)
#[test]
fn enobufs_below_optmem_max_is_not_a_control_buffer_limit() {
    if skip_under_qemu(
        "a control buffer near optmem_max sent to the kernel: qemu-user crashes on it",
    ) {
        return;
    }
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    // A classic BPF filter of 512 instructions charges several KiB of option memory.
    let mut prog = vec![
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_IMM) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        };
        511
    ];
    prog.push(libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0xffff,
    });
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: fprog points to `prog`, alive for the call; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            tx.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    let optmem = ancillary::limits::optmem_max();
    let data = vec![0u8; optmem - 1000];
    let mut batch = Batch::new();
    batch
        .push_with(rx.local_addr().unwrap(), b"x", |c| {
            c.push_raw(libc::SOL_SOCKET, 0x7ead, &data)?;
            Ok(())
        })
        .unwrap();
    let err = batch.send(&tx).unwrap_err();
    assert!(
        matches!(
            err.error,
            Error::Os {
                call: "sendmmsg",
                errno,
                ..
            } if errno == control_refusal_errno()
        ),
        "{err}"
    );
}

/// Sizes whose product (or alignment) overflows are a typed error, not a panic.
#[test]
fn recv_batch_sizes_that_overflow_are_refused() {
    for (messages, buf, control) in [
        (1, 16, usize::MAX),
        (4, usize::MAX / 2, 0),
        (2, 16, usize::MAX / 2),
        (2, isize::MAX as usize, 0),
    ] {
        match RecvBatch::new(messages, buf, control) {
            Err(e @ Error::SizeOverflow { .. }) => assert!(e.to_string().contains("overflows")),
            other => panic!("{messages} {buf} {control}: {:?}", other.map(|_| ())),
        }
    }
}
