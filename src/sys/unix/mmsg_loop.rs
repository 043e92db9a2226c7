//! `sendmmsg` and `recvmmsg` where the system has neither (macOS): the same names and
//! signatures as `mmsg.rs`, as a loop of `sendmsg`/`recvmsg` calls, one per datagram. Like the
//! kernel's `sendmmsg`, a loop that fails after at least one message stops there and returns
//! the count; the error is met again by the next call (a receive error after the first
//! datagram, such as a pending asynchronous error the failed call took, is lost).

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;

use super::{recvmsg, send_flags, sendmsg_as_is, Name, RecvOut, MSG_WAITFORONE};

/// Nothing to keep between calls here: no headers are built.
#[derive(Default, Debug)]
pub(crate) struct MmsgScratch {}

/// One message of a `sendmmsg`: everything borrowed for `'a`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutMsg<'a> {
    pub(crate) name: Option<Name<'a>>,
    pub(crate) iov: &'a [IoSlice<'a>],
    pub(crate) control: &'a [u8],
}

/// `sendmmsg` as one `sendmsg` per message (at most 1024 of them): how many messages were
/// sent, from the first, and the bytes of the last of them. An error on the first message is
/// the result; one after it ends the loop.
pub(crate) fn sendmmsg<'a>(
    fd: BorrowedFd<'_>,
    _scratch: &mut MmsgScratch,
    msgs: impl IntoIterator<Item = OutMsg<'a>>,
    flags: libc::c_int,
) -> Result<(usize, usize), i32> {
    let flags = send_flags(fd, flags)?;
    let (mut sent, mut last) = (0usize, 0usize);
    for m in msgs {
        match sendmsg_as_is(fd, m.name, m.iov, m.control, flags) {
            Ok(n) => {
                sent += 1;
                last = n;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok((sent, last))
}

/// One message slot of a `recvmmsg`: everything exclusively borrowed for `'a`.
#[derive(Debug)]
pub(crate) struct InMsg<'a> {
    pub(crate) name: &'a mut libc::sockaddr_storage,
    pub(crate) buf: &'a mut [u8],
    pub(crate) control: &'a mut [u8],
}

/// `recvmmsg` as one `recvmsg` per slot (at most 1024), without timeout: writes what each
/// received message reported into `out` (as long as `msgs`) and returns how many arrived. With
/// `MSG_WAITFORONE`, the calls after the first go with `MSG_DONTWAIT`, and the loop ends at
/// the first that finds nothing. An error on the first slot is the result; one after it ends
/// the loop.
pub(crate) fn recvmmsg<'a>(
    fd: BorrowedFd<'_>,
    _scratch: &mut MmsgScratch,
    msgs: impl IntoIterator<Item = InMsg<'a>>,
    out: &mut [RecvOut],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let wait_for_one = flags & MSG_WAITFORONE != 0;
    let mut flags = flags & !MSG_WAITFORONE;
    let mut n = 0usize;
    for (m, o) in msgs.into_iter().zip(out.iter_mut()) {
        let name: *mut libc::sockaddr_storage = m.name;
        // SAFETY: MaybeUninit<T> has the layout of T, and recvmsg only passes the pointer to the
        // kernel, which writes initialized bytes (never de-initializes the address).
        let name = unsafe { &mut *name.cast::<MaybeUninit<libc::sockaddr_storage>>() };
        let mut iov = [IoSliceMut::new(m.buf)];
        match recvmsg(fd, name, &mut iov, m.control, flags) {
            Ok(r) => {
                *o = r;
                n += 1;
                if wait_for_one {
                    flags |= libc::MSG_DONTWAIT;
                }
            }
            Err(e) if n == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(n)
}
