//! `sendmmsg(2)` and `recvmmsg(2)`, on the systems that have them as calls.

use std::io::IoSlice;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{control_len_back, msghdr, retry, Name, RecvOut};

/// The C types of `sendmmsg`'s and `recvmmsg`'s `vlen` and `flags`, which differ per system:
/// `unsigned int` and `int` on glibc, `unsigned int` both on musl.
#[cfg(not(target_env = "musl"))]
type MmsgFlags = libc::c_int;
#[cfg(target_env = "musl")]
type MmsgFlags = libc::c_uint;

/// Storage for the raw headers of one `sendmmsg`/`recvmmsg` call.
///
/// It is empty between calls: headers are written into it inside one call of [`sendmmsg`] or
/// [`recvmmsg`], from borrows that outlive that call, and cleared before the call returns.
/// Only the capacity is kept, so a warm batch allocates nothing.
#[derive(Default)]
pub(crate) struct MmsgScratch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
}

// SAFETY: the vectors are empty outside a call (see the type's docs), so no pointer in them is
// ever reachable from another thread; what remains is an allocation of plain memory.
unsafe impl Send for MmsgScratch {}
// SAFETY: as for Send; a shared reference allows no access to the contents at all.
unsafe impl Sync for MmsgScratch {}

impl std::fmt::Debug for MmsgScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmsgScratch")
            .field("capacity", &self.hdrs.capacity())
            .finish()
    }
}

/// One message of a `sendmmsg`: everything borrowed for `'a`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutMsg<'a> {
    pub(crate) name: Option<Name<'a>>,
    pub(crate) iov: &'a [IoSlice<'a>],
    pub(crate) control: &'a [u8],
}

/// An `mmsghdr` around `hdr`.
#[inline]
fn mmsghdr(hdr: libc::msghdr) -> libc::mmsghdr {
    libc::mmsghdr {
        msg_hdr: hdr,
        msg_len: 0,
    }
}

/// `vlen` for `n` headers: callers pass at most 1024 (`UIO_MAXIOV`).
#[inline]
fn vlen(n: usize) -> libc::c_uint {
    libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX)
}

/// `sendmmsg(2)` of `msgs` (at most 1024 (`UIO_MAXIOV`) of them), retried on
/// `EINTR`: how many messages the kernel took, from the first, and the bytes it took of the
/// last of them (`msg_len`). Empty control data goes as NULL with length 0.
pub(crate) fn sendmmsg<'a>(
    fd: BorrowedFd<'_>,
    scratch: &mut MmsgScratch,
    msgs: impl IntoIterator<Item = OutMsg<'a>>,
    flags: libc::c_int,
) -> Result<(usize, usize), i32> {
    let hdrs = &mut scratch.hdrs;
    hdrs.clear();
    for m in msgs {
        let (name, namelen) = m.name.map_or((std::ptr::null(), 0), |n| (n.ptr, n.len));
        // IoSlice is guaranteed ABI-compatible with struct iovec on Unix.
        hdrs.push(mmsghdr(msghdr(
            name as *mut libc::c_void,
            namelen,
            m.iov.as_ptr() as *mut libc::iovec,
            m.iov.len(),
            m.control.as_ptr() as *mut libc::c_void,
            m.control.len(),
        )));
    }
    // SAFETY: every pointer in the headers comes from a borrow of an OutMsg<'a>, and 'a outlives
    // this call; lengths match the borrowed slices; the kernel only reads through them, and
    // writes msg_len into the headers, which we own.
    let result = retry(|| unsafe {
        sendmmsg_call(
            fd.as_raw_fd(),
            hdrs.as_mut_ptr(),
            vlen(hdrs.len()),
            flags as MmsgFlags,
        )
    })
    .map(|r| {
        let k = r as usize;
        let last = k
            .checked_sub(1)
            .and_then(|i| hdrs.get(i))
            .map_or(0, |h| h.msg_len as usize);
        (k, last)
    });
    hdrs.clear();
    result
}

/// The C library's `sendmmsg`.
///
/// # Safety
/// As `sendmmsg(2)`: `hdrs` points to `vlen` headers whose pointers are valid for reads.
#[cfg(not(target_env = "musl"))]
#[inline]
unsafe fn sendmmsg_call(
    fd: libc::c_int,
    hdrs: *mut libc::mmsghdr,
    vlen: libc::c_uint,
    flags: MmsgFlags,
) -> libc::c_int {
    // SAFETY: forwarded to the caller.
    unsafe { libc::sendmmsg(fd, hdrs, vlen, flags) }
}

/// The `sendmmsg` system call itself: musl's `sendmmsg` is, on 64-bit targets, a loop of its
/// `sendmsg` wrapper (one system call per message, each with the wrapper's 1056-byte control
/// limit); the system call sends the whole window at once. See `sendmsg_call` for the
/// header widths.
///
/// # Safety
/// As `sendmmsg(2)`: `hdrs` points to `vlen` headers whose pointers are valid for reads.
#[cfg(target_env = "musl")]
#[inline]
unsafe fn sendmmsg_call(
    fd: libc::c_int,
    hdrs: *mut libc::mmsghdr,
    vlen: libc::c_uint,
    flags: MmsgFlags,
) -> libc::c_int {
    // SAFETY: SYS_sendmmsg takes (int, struct mmsghdr *, unsigned int, unsigned int), passed
    // as the longs syscall(2) reads; the headers are valid (the caller's duty), built from
    // zeroes so their padding fields are zero; the kernel writes only msg_len into them.
    unsafe {
        libc::syscall(
            libc::SYS_sendmmsg,
            libc::c_long::from(fd),
            hdrs,
            libc::c_long::from(vlen),
            libc::c_long::from(flags),
        ) as libc::c_int
    }
}

/// One message slot of a `recvmmsg`: everything exclusively borrowed for `'a`.
#[derive(Debug)]
pub(crate) struct InMsg<'a> {
    pub(crate) name: &'a mut libc::sockaddr_storage,
    pub(crate) buf: &'a mut [u8],
    pub(crate) control: &'a mut [u8],
}

/// `recvmmsg(2)` into `msgs` (at most 1024 (`UIO_MAXIOV`)), without timeout,
/// retried on `EINTR`; writes what each received message reported into `out` (as long as
/// `msgs`) and returns how many messages arrived.
///
/// Every header is built anew from the full buffers on each call, so `msg_controllen`,
/// `msg_namelen` and `msg_flags` never carry over from an earlier call (nix#2813); the lengths
/// the kernel writes back are clamped to the buffers given.
pub(crate) fn recvmmsg<'a>(
    fd: BorrowedFd<'_>,
    scratch: &mut MmsgScratch,
    msgs: impl IntoIterator<Item = InMsg<'a>>,
    out: &mut [RecvOut],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let MmsgScratch { hdrs, iovs } = scratch;
    hdrs.clear();
    iovs.clear();
    for (m, o) in msgs.into_iter().zip(out.iter_mut()) {
        iovs.push(libc::iovec {
            iov_base: m.buf.as_mut_ptr().cast(),
            iov_len: m.buf.len(),
        });
        // The iovec pointer is set below, once `iovs` no longer moves.
        hdrs.push(mmsghdr(msghdr(
            (m.name as *mut libc::sockaddr_storage).cast(),
            size_of::<libc::sockaddr_storage>() as libc::socklen_t,
            std::ptr::null_mut(),
            1,
            m.control.as_mut_ptr().cast(),
            m.control.len(),
        )));
        o.controllen = m.control.len();
    }
    // The iovecs are in place now: point each header at its own.
    let base = iovs.as_mut_ptr();
    for (i, h) in hdrs.iter_mut().enumerate() {
        h.msg_hdr.msg_iov = base.wrapping_add(i);
    }
    // SAFETY: every pointer in the headers comes from an exclusive borrow of an InMsg<'a> ('a
    // outlives this call) or points into `iovs`, which is not touched until the call returns;
    // each length matches its buffer, and the kernel writes at most that much. A call failed
    // with EINTR received nothing, so the headers are still as built.
    let result = retry(|| unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            hdrs.as_mut_ptr(),
            vlen(hdrs.len()),
            flags as MmsgFlags,
            std::ptr::null_mut(),
        )
    })
    .map(|r| r as usize);
    if let Ok(n) = result {
        for (h, o) in hdrs.iter().zip(out.iter_mut()).take(n) {
            o.bytes = h.msg_len as usize;
            o.namelen = h
                .msg_hdr
                .msg_namelen
                .min(size_of::<libc::sockaddr_storage>() as libc::socklen_t);
            o.controllen = control_len_back(h.msg_hdr.msg_controllen).min(o.controllen);
            o.flags = h.msg_hdr.msg_flags;
        }
    }
    hdrs.clear();
    iovs.clear();
    result
}
