//! Passing descriptors with `SCM_RIGHTS`, the same round done with raw libc, this crate, nix and
//! rustix: shared by the timed benchmark (`fd_round`) and the instruction counts
//! (`instructions`). Each round builds the control data, sends one byte with the fds, receives
//! it and closes every received fd, on any connected Unix socket pair (datagram, stream or
//! seqpacket).

use std::hint::black_box;
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use ancillary::cmsg::CmsgBuffer;
use ancillary::{RecvMsg, SendMsg};

/// One implementation of one case: runs its operation `iters` times.
pub(crate) type Run<'a> = Box<dyn FnMut(u64) + 'a>;

/// Storage aligned for `cmsghdr`, uninitialized: what a C program declares on its stack.
#[repr(C)]
pub(crate) struct Aligned<const S: usize> {
    _align: [libc::cmsghdr; 0],
    pub(crate) bytes: [MaybeUninit<u8>; S],
}

impl<const S: usize> Aligned<S> {
    pub(crate) fn new() -> Self {
        Aligned {
            _align: [],
            bytes: [MaybeUninit::uninit(); S],
        }
    }
}

/// The fds to pass, in the forms each library takes them.
pub(crate) struct Fds {
    pub(crate) owned: Vec<OwnedFd>,
    pub(crate) raw: Vec<RawFd>,
}

impl Fds {
    pub(crate) fn open(n: usize) -> Self {
        let null = std::fs::File::open("/dev/null").expect("open /dev/null");
        let owned: Vec<OwnedFd> = (0..n)
            .map(|_| OwnedFd::from(null.try_clone().expect("dup /dev/null")))
            .collect();
        let raw = owned.iter().map(|f| f.as_raw_fd()).collect();
        Fds { owned, raw }
    }

    pub(crate) fn borrowed(&self) -> Vec<BorrowedFd<'_>> {
        self.owned.iter().map(|f| f.as_fd()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// raw libc

/// Writes one `SCM_RIGHTS` message for `fds` at the start of `msg`'s control buffer (which must
/// hold `CMSG_SPACE` of it), padding zeroed, and sets `msg_controllen`.
///
/// # Safety
/// `msg.msg_control` points to at least `CMSG_SPACE(fds.len() * 4)` writable bytes aligned for
/// `cmsghdr`.
pub(crate) unsafe fn raw_encode(msg: &mut libc::msghdr, fds: &[RawFd]) {
    let data_len = std::mem::size_of_val(fds) as libc::c_uint;
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
    msg.msg_controllen = space as _;
    // SAFETY: the caller's contract: the control buffer is aligned and holds `space` bytes, so
    // CMSG_FIRSTHDR is non-null and the header, the data and the padding after it lie within.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(msg);
        (*c).cmsg_len = libc::CMSG_LEN(data_len) as _;
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        let data = libc::CMSG_DATA(c);
        std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), data, data_len as usize);
        let used = libc::CMSG_LEN(data_len) as usize;
        std::ptr::write_bytes(c.cast::<u8>().add(used), 0, space - used);
    }
}

/// A `msghdr` with one iovec and a control buffer, nothing else.
pub(crate) fn raw_msghdr(
    iov: *mut libc::iovec,
    control: *mut MaybeUninit<u8>,
    len: usize,
) -> libc::msghdr {
    // SAFETY: msghdr is integers and pointers; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.cast();
    msg.msg_controllen = len as _;
    msg
}

/// Receives one byte and closes every descriptor that came with it; returns how many.
pub(crate) fn raw_recv_close<const S: usize>(b: RawFd, room: &mut Aligned<S>) -> usize {
    let mut byte = 0u8;
    let mut iov = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    let mut msg = raw_msghdr(&mut iov, room.bytes.as_mut_ptr(), S);
    // SAFETY: every pointer in msg points to live storage of the length given with it.
    let r = unsafe { libc::recvmsg(b, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(r == 1, "recvmsg: {}", std::io::Error::last_os_error());
    assert!(msg.msg_flags & libc::MSG_CTRUNC == 0, "control truncated");
    let mut got = 0;
    // SAFETY: the kernel wrote msg_controllen bytes of control messages into room;
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay within msg_controllen; the data of an SCM_RIGHTS message
    // is (cmsg_len - CMSG_LEN(0)) / 4 ints, each a descriptor now ours, closed once here.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let n = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                let data = libc::CMSG_DATA(c).cast::<libc::c_int>();
                for i in 0..n {
                    libc::close(data.add(i).read_unaligned());
                }
                got += n;
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    got
}

pub(crate) fn raw_round<'a, const S: usize>(a: RawFd, b: RawFd, fds: &'a [RawFd]) -> Run<'a> {
    let mut out = Aligned::<S>::new();
    let mut room = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut byte = *b"x";
            let mut iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            let mut msg = raw_msghdr(&mut iov, out.bytes.as_mut_ptr(), S);
            // SAFETY: out is aligned and S = CMSG_SPACE of the fds (checked by the caller).
            unsafe { raw_encode(&mut msg, fds) };
            // SAFETY: every pointer in msg points to live storage of the length given with it.
            let r = unsafe { libc::sendmsg(a, &msg, libc::MSG_NOSIGNAL) };
            assert!(r == 1, "sendmsg: {}", std::io::Error::last_os_error());
            let got = raw_recv_close(b, &mut room);
            assert_eq!(got, fds.len());
        }
    })
}

pub(crate) fn raw_encode_only<'a, const S: usize>(fds: &'a [RawFd]) -> Run<'a> {
    let mut out = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut msg = raw_msghdr(std::ptr::null_mut(), out.bytes.as_mut_ptr(), S);
            // SAFETY: out is aligned and S = CMSG_SPACE of the fds (checked by the caller).
            unsafe { raw_encode(&mut msg, fds) };
            black_box(&mut msg);
            black_box(&mut out);
        }
    })
}

/// Raw libc's counterpart of the nix encoding row: encode, then `sendmsg` on fd -1.
pub(crate) fn raw_encode_ebadf<'a, const S: usize>(fds: &'a [RawFd]) -> Run<'a> {
    let mut out = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut byte = *b"x";
            let mut iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            let mut msg = raw_msghdr(&mut iov, out.bytes.as_mut_ptr(), S);
            // SAFETY: out is aligned and S = CMSG_SPACE of the fds (checked by the caller).
            unsafe { raw_encode(&mut msg, fds) };
            // SAFETY: msg points to live storage; fd -1 makes the kernel fail with EBADF
            // before it reads any of it.
            let r = unsafe { libc::sendmsg(black_box(-1), &msg, libc::MSG_NOSIGNAL) };
            assert!(r == -1);
        }
    })
}

// ---------------------------------------------------------------------------------------------
// ancillary (this crate)

pub(crate) fn ancillary_round<'a, const S: usize>(
    a: BorrowedFd<'a>,
    b: BorrowedFd<'a>,
    fds: &'a [BorrowedFd<'a>],
) -> Run<'a> {
    let mut out = CmsgBuffer::<S>::new();
    let mut room = CmsgBuffer::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = out.encoder();
            control.push_rights(fds).expect("room for the fds");
            let sent = SendMsg::new(&[IoSlice::new(b"x")])
                .control(&control)
                .send(a)
                .expect("sendmsg");
            assert_eq!(sent, 1);
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let mut recv = RecvMsg::new(&mut iov).control(&mut room);
            let mut msg = recv.recv(b).expect("recvmsg");
            msg.check().expect("nothing truncated");
            let mut got = 0;
            for fd in msg.fds() {
                drop(fd);
                got += 1;
            }
            assert_eq!(got, fds.len());
        }
    })
}

pub(crate) fn ancillary_encode_only<'a, const S: usize>(fds: &'a [BorrowedFd<'a>]) -> Run<'a> {
    let mut out = CmsgBuffer::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = out.encoder();
            control.push_rights(fds).expect("room for the fds");
            black_box(control.as_bytes());
        }
    })
}

// ---------------------------------------------------------------------------------------------
// nix

pub(crate) fn nix_round<'a, const N: usize>(a: RawFd, b: RawFd, fds: &'a [RawFd]) -> Run<'a> {
    use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
    let mut room = nix::cmsg_space!([RawFd; N]);
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let sent = sendmsg::<()>(
                a,
                &[IoSlice::new(b"x")],
                &[ControlMessage::ScmRights(fds)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            )
            .expect("sendmsg");
            assert_eq!(sent, 1);
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let msg = recvmsg::<()>(b, &mut iov, Some(&mut room), MsgFlags::MSG_CMSG_CLOEXEC)
                .expect("recvmsg");
            let mut got = 0;
            for c in msg.cmsgs().expect("control not truncated") {
                if let ControlMessageOwned::ScmRights(received) = c {
                    for fd in received {
                        nix::unistd::close(fd).expect("close");
                        got += 1;
                    }
                }
            }
            assert_eq!(got, fds.len());
        }
    })
}

/// nix's `sendmsg` to fd -1: its whole call path (allocation, encoding, free) plus a syscall
/// that fails at once, as nix has no way to encode alone.
pub(crate) fn nix_sendmsg_ebadf(fds: &[RawFd]) -> Run<'_> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let r = sendmsg::<()>(
                black_box(-1),
                &[IoSlice::new(b"x")],
                &[ControlMessage::ScmRights(fds)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            );
            assert_eq!(r, Err(nix::errno::Errno::EBADF));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// rustix

pub(crate) fn rustix_round<'a, const S: usize>(
    a: BorrowedFd<'a>,
    b: BorrowedFd<'a>,
    fds: &'a [BorrowedFd<'a>],
) -> Run<'a> {
    use rustix::net::{
        recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
        SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
    };
    let mut out = Aligned::<S>::new();
    let mut room = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = SendAncillaryBuffer::new(&mut out.bytes);
            assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
            let sent = sendmsg(a, &[IoSlice::new(b"x")], &mut control, SendFlags::NOSIGNAL)
                .expect("sendmsg");
            assert_eq!(sent, 1);
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let mut control = RecvAncillaryBuffer::new(&mut room.bytes);
            let r = recvmsg(b, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC).expect("recvmsg");
            assert!(!r.flags.contains(ReturnFlags::CTRUNC));
            let mut got = 0;
            for m in control.drain() {
                if let RecvAncillaryMessage::ScmRights(received) = m {
                    for fd in received {
                        drop(fd);
                        got += 1;
                    }
                }
            }
            assert_eq!(got, fds.len());
        }
    })
}

pub(crate) fn rustix_encode_only<'a, const S: usize>(fds: &'a [BorrowedFd<'a>]) -> Run<'a> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage};
    let mut out = Aligned::<S>::new();
    Box::new(move |iters| {
        for _ in 0..iters {
            let fds = black_box(fds);
            let mut control = SendAncillaryBuffer::new(&mut out.bytes);
            assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
            black_box(&mut control);
        }
    })
}
