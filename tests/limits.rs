//! Every limit of one message, checked before the syscall, and the kernel's own refusals mapped
//! to the same error.
#![cfg(unix)]

mod common;

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd};

use ancillary::cmsg::{self, space, space_for_fds, CmsgBuffer, Encoder};
use ancillary::limits::{optmem_max, Limits};
use ancillary::{Error, Limit, SendMsg};
use common::*;
use nix::sys::socket::{recv, MsgFlags, SockType};

fn nothing_queued(sock: &impl AsFd) {
    let r = recv(raw(sock), &mut [0u8; 16], MsgFlags::MSG_DONTWAIT);
    assert_eq!(r, Err(nix::errno::Errno::EAGAIN), "something was sent");
}

/// A control buffer of exactly `total` bytes: one raw IP_TOS message (ignored by Unix sockets).
fn control_of(storage: &mut [u8], total: usize) -> Encoder<'_, 'static> {
    let mut enc = Encoder::new(storage);
    enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &vec![0u8; total - space(0)])
        .unwrap();
    assert_eq!(enc.len(), total);
    enc
}

#[test]
fn control_buffer_at_optmem_max_is_rejected_with_both_numbers() {
    let (a, b) = pair(SockType::Datagram);
    let max = optmem_max();
    let mut storage = vec![0u8; max + 64];
    let control = control_of(&mut storage, cmsg::align(max));
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::ControlBuffer,
            needed: cmsg::align(max),
            max,
            kernel: None
        }
    );
    let text = err.to_string();
    assert!(
        text.contains(&cmsg::align(max).to_string()) && text.contains(&max.to_string()),
        "{text}"
    );
    assert!(text.contains("net.core.optmem_max"), "{text}");
    nothing_queued(&b);

    // Larger still: the same.
    let mut storage = vec![0u8; max + 10_000];
    let control = control_of(&mut storage, max + 8_000);
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    assert!(
        matches!(err, Error::Limit { limit: Limit::ControlBuffer, needed, .. } if needed == max + 8_000)
    );
}

#[test]
fn control_buffer_just_below_optmem_max_is_accepted_by_the_kernel() {
    let (a, b) = pair(SockType::Datagram);
    let max = optmem_max();
    let below = (max - 1) & !(cmsg::ALIGN - 1);
    let mut storage = vec![0u8; max + 64];
    let control = control_of(&mut storage, below);
    assert_eq!(
        SendMsg::new(&[IoSlice::new(b"x")])
            .control(&control)
            .send(&a),
        Ok(1)
    );
    assert_eq!(recv(raw(&b), &mut [0u8; 4], MsgFlags::empty()), Ok(1));
}

#[test]
fn kernel_refusals_map_to_the_same_limits() {
    let (a, _b) = pair(SockType::Datagram);
    let max = optmem_max();

    // net.core.optmem_max: ENOBUFS.
    let mut storage = vec![0u8; max + 64];
    let control = control_of(&mut storage, cmsg::align(max));
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .limits(Limits::none())
        .send(&a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::ControlBuffer,
            needed: cmsg::align(max),
            max,
            kernel: Some(libc::ENOBUFS)
        }
    );
    assert!(err.to_string().contains("ENOBUFS"));

    // SCM_MAX_FD: EINVAL.
    let files = dev_nulls(254);
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut st = CmsgBuffer::<{ space_for_fds(254) }>::new();
    let mut control = st.encoder();
    control.push_rights(&fds).unwrap();
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .limits(Limits::none())
        .send(&a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::Fds,
            needed: 254,
            max: 253,
            kernel: Some(libc::EINVAL)
        }
    );

    // UIO_MAXIOV: EMSGSIZE.
    let iov = vec![IoSlice::new(b"y"); 1025];
    let err = SendMsg::new(&iov)
        .limits(Limits::none())
        .send(&a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::Iovecs,
            needed: 1025,
            max: 1024,
            kernel: Some(libc::EMSGSIZE)
        }
    );
}

#[test]
fn iovec_limit() {
    let (a, b) = pair(SockType::Datagram);
    let iov = vec![IoSlice::new(b"y"); 1025];
    let err = SendMsg::new(&iov).send(&a).unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::Iovecs,
            needed: 1025,
            max: 1024,
            kernel: None
        }
    );
    assert!(err.to_string().contains("UIO_MAXIOV"));
    nothing_queued(&b);
    assert_eq!(SendMsg::new(&iov[..1024]).send(&a), Ok(1024));
}

#[test]
fn control_without_payload_on_a_stream_socket() {
    let f = file_with("x");
    let (a, b) = pair(SockType::Stream);
    let err = send_fds(a.as_fd(), b"", &[f.as_fd()]).unwrap_err();
    assert_eq!(err, Error::ControlWithoutData);
    assert!(err.to_string().contains("at least one byte"));
    nothing_queued(&b);
    // Empty iovecs count as no payload too.
    let mut st = CmsgBuffer::<{ space_for_fds(1) }>::new();
    let mut control = st.encoder();
    control.push_rights(&[f.as_fd()]).unwrap();
    let err = SendMsg::new(&[IoSlice::new(b""), IoSlice::new(b"")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    assert_eq!(err, Error::ControlWithoutData);

    // A datagram may be empty and still carry fds.
    let (c, d) = pair(SockType::Datagram);
    assert_eq!(send_fds(c.as_fd(), b"", &[f.as_fd()]), Ok(0));
    let (data, fds, _) = recv_fds(d.as_fd(), 1);
    assert!(data.is_empty());
    assert_eq!(fds.len(), 1);
}

#[test]
fn caller_limits_are_honoured() {
    let f = file_with("x");
    let (a, _b) = pair(SockType::Datagram);
    let mut st = CmsgBuffer::<{ space_for_fds(3) }>::new();
    let mut control = st.encoder();
    control
        .push_rights(&[f.as_fd(), f.as_fd(), f.as_fd()])
        .unwrap();
    let tight = Limits {
        max_fds: 2,
        ..Limits::kernel()
    };
    let iov = [IoSlice::new(b"x")];
    let msg = SendMsg::new(&iov).control(&control).limits(tight);
    assert!(matches!(
        msg.check(),
        Err(Error::Limit {
            limit: Limit::Fds,
            needed: 3,
            max: 2,
            ..
        })
    ));
    assert!(msg.send(&a).is_err());
}

#[test]
fn receive_iovec_limit() {
    let (_a, b) = pair(SockType::Datagram);
    let mut bufs = vec![[0u8; 1]; 1025];
    let mut iov: Vec<std::io::IoSliceMut<'_>> = bufs
        .iter_mut()
        .map(|b| std::io::IoSliceMut::new(b))
        .collect();
    let mut recv = ancillary::RecvMsg::new(&mut iov);
    let err = recv.recv(&b).unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::Iovecs,
            needed: 1025,
            max: 1024,
            kernel: None
        }
    );
}
