//! Every limit of one message, checked before the syscall, and the kernel's own refusals mapped
//! to the same error.
#![cfg(unix)]

mod common;

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd};

use ancillary::cmsg::{self, space, space_for_fds, CmsgBuffer, Encoder};
use ancillary::limits::{kernel_control_len, optmem_max, Limits};
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
    let counted = kernel_control_len(control.as_bytes());
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::ControlBuffer,
            needed: counted,
            max,
            kernel: None
        }
    );
    let text = err.to_string();
    assert!(
        text.contains(&counted.to_string()) && text.contains(&max.to_string()),
        "{text}"
    );
    assert!(text.contains("net.core.optmem_max"), "{text}");
    nothing_queued(&b);

    // Larger still: the same.
    let mut storage = vec![0u8; max + 10_000];
    let control = control_of(&mut storage, max + 8_000);
    let counted = kernel_control_len(control.as_bytes());
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .send(&a)
        .unwrap_err();
    assert!(
        matches!(err, Error::Limit { limit: Limit::ControlBuffer, needed, .. } if needed == counted)
    );
}

/// The largest one-message control buffer whose size as the kernel counts it (widened in a
/// 32-bit process on a 64-bit kernel) stays below `optmem_max`.
fn largest_below(storage: &mut [u8], max: usize) -> usize {
    let mut below = (max - 1) & !(cmsg::ALIGN - 1);
    for _ in 0..4 {
        if kernel_control_len(control_of(storage, below).as_bytes()) < max {
            return below;
        }
        below -= cmsg::ALIGN;
    }
    panic!("widening adds more than 3 alignment units to one message");
}

#[test]
fn control_buffer_just_below_optmem_max_is_accepted_by_the_kernel() {
    if skip_under_qemu(BIG_CONTROL) {
        return;
    }
    let (a, b) = pair(SockType::Datagram);
    let max = optmem_max();
    let mut storage = vec![0u8; max + 64];
    let below = largest_below(&mut storage, max);
    let control = control_of(&mut storage, below);
    assert_eq!(
        SendMsg::new(&[IoSlice::new(b"x")])
            .control(&control)
            .send(&a),
        Ok(1)
    );
    assert_eq!(recv(raw(&b), &mut [0u8; 4], MsgFlags::empty()), Ok(1));
}

/// The check before the call counts control data as the kernel does: one alignment unit above
/// the largest accepted buffer is refused with nothing sent, and, with the check loosened, the
/// kernel's refusal of it is the same limit. In a 32-bit process on a 64-bit kernel that buffer
/// is still below `optmem_max` as the process counts it, and the kernel answers `ENOMEM`.
#[test]
fn control_buffer_limit_counts_what_the_kernel_counts() {
    let (a, b) = pair(SockType::Datagram);
    let max = optmem_max();
    let mut storage = vec![0u8; max + 64];
    let over = largest_below(&mut storage, max) + cmsg::ALIGN;
    let control = control_of(&mut storage, over);
    let counted = kernel_control_len(control.as_bytes());
    assert!(counted >= max, "{counted} {max}");
    let iov = [IoSlice::new(b"x")];
    let msg = SendMsg::new(&iov).control(&control);
    assert_eq!(
        msg.send(&a),
        Err(Error::Limit {
            limit: Limit::ControlBuffer,
            needed: counted,
            max,
            kernel: None
        })
    );
    nothing_queued(&b);
    if skip_under_qemu(BIG_CONTROL) {
        return;
    }
    assert_eq!(
        msg.limits(Limits::none()).send(&a),
        Err(Error::Limit {
            limit: Limit::ControlBuffer,
            needed: counted,
            max,
            kernel: Some(control_refusal_errno())
        })
    );
    nothing_queued(&b);
}

/// What qemu-user cannot take (PLATFORMS.md).
const BIG_CONTROL: &str =
    "a control buffer near optmem_max sent to the kernel: qemu-user crashes on it";

/// The kernel's refusal of a control buffer at `optmem_max` on `a` maps to the same limit.
fn kernel_refuses_optmem_max(a: &impl AsFd, max: usize) {
    let mut storage = vec![0u8; max + 64];
    let control = control_of(&mut storage, cmsg::align(max));
    let err = SendMsg::new(&[IoSlice::new(b"x")])
        .control(&control)
        .limits(Limits::none())
        .send(a)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            limit: Limit::ControlBuffer,
            needed: kernel_control_len(control.as_bytes()),
            max,
            kernel: Some(control_refusal_errno())
        }
    );
    let name = if control_refusal_errno() == libc::ENOMEM {
        "ENOMEM"
    } else {
        "ENOBUFS"
    };
    assert!(err.to_string().contains(name), "{err}");
}

#[test]
fn kernel_refusals_map_to_the_same_limits() {
    let (a, _b) = pair(SockType::Datagram);
    let max = optmem_max();

    // net.core.optmem_max: ENOBUFS (ENOMEM where the kernel widens the messages).
    if !skip_under_qemu(BIG_CONTROL) {
        kernel_refuses_optmem_max(&a, max);
    }

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
