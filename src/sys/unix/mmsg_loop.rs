//! `sendmmsg` and `recvmmsg` where the system has neither (macOS): the same names and
//! signatures as `mmsg.rs`, as a loop of `sendmsg`/`recvmsg` calls, one per datagram. Like the
//! kernel's `sendmmsg`, a loop that fails after at least one message stops there and returns
//! the count; the error is met again by the next call (a receive error after the first
//! datagram, such as a pending asynchronous error the failed call took, is lost).

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;

use super::{recvmsg, send_flags, sendmsg_as_is, InSlots, OutRun, RecvOut, MSG_WAITFORONE};

/// Nothing to keep between calls here: no headers are built.
#[derive(Default, Debug)]
pub(crate) struct MmsgScratch {}

/// `sendmmsg` as one `sendmsg` per message of `runs` (at most `max`, at most 1024): how many
/// messages were sent, from the first, and the bytes of the last of them. An error on the
/// first message is the result; one after it ends the loop.
pub(crate) fn sendmmsg<'a>(
    fd: BorrowedFd<'_>,
    _scratch: &mut MmsgScratch,
    runs: impl IntoIterator<Item = OutRun<'a>>,
    max: usize,
    flags: libc::c_int,
) -> Result<(usize, usize), i32> {
    let flags = send_flags(fd, flags)?;
    let (mut sent, mut last) = (0usize, 0usize);
    for r in runs {
        for i in 0..r.messages {
            if sent == max {
                return Ok((sent, last));
            }
            let iov = &r.iov[i * r.per..(i + 1) * r.per];
            match sendmsg_as_is(fd, r.name, iov, r.control, flags) {
                Ok(n) => {
                    sent += 1;
                    last = n;
                }
                Err(e) if sent == 0 => return Err(e),
                Err(_) => return Ok((sent, last)),
            }
        }
    }
    Ok((sent, last))
}

/// `recvmmsg` as one `recvmsg` per slot (at most 1024), without timeout: receives into the
/// first `out.len()` slots, writes what each received message reported into `out` and returns
/// how many arrived. With `MSG_WAITFORONE`, the calls after the first go with `MSG_DONTWAIT`,
/// and the loop ends at the first that finds nothing. An error on the first slot is the
/// result; one after it ends the loop.
pub(crate) fn recvmmsg(
    fd: BorrowedFd<'_>,
    _scratch: &mut MmsgScratch,
    slots: InSlots<'_>,
    out: &mut [RecvOut],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let InSlots {
        names,
        data,
        buf_size,
        control,
        control_size,
    } = slots;
    let mut data = data.chunks_mut(buf_size.max(1));
    let mut control = control.chunks_mut(control_size.max(1));
    let msgs = names.iter_mut().map(move |name| {
        let buf = if buf_size == 0 {
            &mut [][..]
        } else {
            data.next().unwrap_or_default()
        };
        let control = if control_size == 0 {
            &mut [][..]
        } else {
            control.next().unwrap_or_default()
        };
        (name, buf, control)
    });
    let wait_for_one = flags & MSG_WAITFORONE != 0;
    let mut flags = flags & !MSG_WAITFORONE;
    let mut n = 0usize;
    for ((name, buf, control), o) in msgs.zip(out.iter_mut()) {
        let name: *mut libc::sockaddr_storage = name;
        // SAFETY: MaybeUninit<T> has the layout of T, and recvmsg only passes the pointer to the
        // kernel, which writes initialized bytes (never de-initializes the address).
        let name = unsafe { &mut *name.cast::<MaybeUninit<libc::sockaddr_storage>>() };
        let mut iov = [IoSliceMut::new(buf)];
        match recvmsg(fd, name, &mut iov, control, flags) {
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
