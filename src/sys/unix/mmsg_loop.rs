//! `sendmmsg` and `recvmmsg` where the system has neither (macOS): the same names and
//! signatures as `mmsg.rs`, as a loop of `sendmsg`/`recvmsg` calls, one per datagram. Like the
//! kernel's `sendmmsg`, a loop that fails after at least one message stops there and returns
//! the count; the error is met again by the next call (a receive error after the first
//! datagram, such as a pending asynchronous error the failed call took, is lost).

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;

use super::{recvmsg, send_flags, sendmsg_as_is, InSlots, OutRun, RecvOut, MSG_WAITFORONE};

/// Room for the iovecs of one message with several buffers, kept between calls so that a warm
/// batch allocates nothing. Outside a call its pointers are never read through: each message
/// sets them anew from borrows held for that call.
#[derive(Default)]
pub(crate) struct MmsgScratch {
    iovs: Vec<libc::iovec>,
}

// SAFETY: outside a call the pointers in `iovs` are never read through (see the type's docs);
// what remains is an allocation of plain memory.
unsafe impl Send for MmsgScratch {}
// SAFETY: as for Send; a shared reference allows no access to the contents at all.
unsafe impl Sync for MmsgScratch {}

impl std::fmt::Debug for MmsgScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmsgScratch")
            .field("iovecs", &self.iovs.capacity())
            .finish()
    }
}

/// What `sendmmsg` keeps between calls: nothing, since each message goes by its own `sendmsg`
/// from the caller's iovecs.
#[derive(Debug, Default)]
pub(crate) struct SendScratch {}

/// `sendmmsg` as one `sendmsg` per message of `runs` (at most `max`, at most 1024): how many
/// messages were sent, from the first, and the bytes of the last of them. An error on the
/// first message is the result; one after it ends the loop.
pub(crate) fn sendmmsg<'a>(
    fd: BorrowedFd<'_>,
    _scratch: &mut SendScratch,
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
/// how many arrived. Each slot is offered as one iovec per entry of `split`, which must sum
/// to `buf_size` (else this panics). With `MSG_WAITFORONE`, the calls after the first go with
/// `MSG_DONTWAIT`, and the loop ends at the first that finds nothing. An error on the first
/// slot is the result; one after it ends the loop.
pub(crate) fn recvmmsg(
    fd: BorrowedFd<'_>,
    scratch: &mut MmsgScratch,
    slots: InSlots<'_>,
    out: &mut [RecvOut],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let InSlots {
        names,
        data,
        buf_size,
        split,
        control,
        control_size,
    } = slots;
    let iovs = &mut scratch.iovs;
    if split.len() > 1 {
        // The iovecs must cover a slot exactly (a sum that overflows cannot equal it).
        let covered = split.iter().try_fold(0usize, |a, &b| a.checked_add(b));
        assert_eq!(covered, Some(buf_size), "buffer sizes of a slot");
        // SAFETY: iovec is plain data (a pointer and a length); all-zero is valid.
        let zero: libc::iovec = unsafe { std::mem::zeroed() };
        iovs.resize(split.len(), zero);
    }
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
        let mut one = [IoSliceMut::new(buf)];
        let iov: &mut [IoSliceMut<'_>] = if split.len() > 1 && one[0].len() == buf_size {
            // The slot's buffers, in order from its start: `split` sums to its length.
            let mut at = one[0].as_mut_ptr();
            for (v, &size) in iovs.iter_mut().zip(split) {
                v.iov_base = at.cast();
                v.iov_len = size;
                at = at.wrapping_add(size);
            }
            // SAFETY: IoSliceMut is guaranteed ABI-compatible with struct iovec on Unix; each
            // iovec was set just now to a part of `buf` (the slot, exclusively borrowed for
            // this iteration through `one`, which is not used while these live), the parts
            // disjoint and within it since `split` sums to `buf_size`, the slot's length
            // (checked above).
            unsafe { std::slice::from_raw_parts_mut(iovs.as_mut_ptr().cast(), split.len()) }
        } else {
            &mut one
        };
        match recvmsg(fd, name, iov, control, flags) {
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
