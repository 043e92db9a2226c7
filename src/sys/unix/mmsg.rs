//! `sendmmsg(2)` and `recvmmsg(2)`, on the systems that have them as calls.

use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{control_len_back, retry, InSlots, MsgFields, OutRun, RecvOut};

/// The C types of `sendmmsg`'s and `recvmmsg`'s `vlen` and `flags`, which differ per system:
/// `unsigned int` and `int` on glibc and NetBSD, `unsigned int` both on musl, `size_t` and
/// `int` on FreeBSD (whose calls are loops in its C library, one system call per message).
/// `mmsghdr.msg_len` is `unsigned int` except on FreeBSD (`ssize_t`); it is only ever read
/// with `as usize`.
#[cfg(not(target_env = "musl"))]
type MmsgFlags = libc::c_int;
#[cfg(target_env = "musl")]
type MmsgFlags = libc::c_uint;
#[cfg(not(freebsd))]
type Vlen = libc::c_uint;
#[cfg(freebsd)]
type Vlen = libc::size_t;

/// Storage for the raw headers of one `sendmmsg` call: the headers alone, since a send
/// points them at the caller's iovecs.
///
/// Headers are written into it inside one call of [`sendmmsg`], from borrows that outlive that
/// call, and kept for the next call, which sets every pointer and length in the headers it
/// passes before the kernel sees them: anew, or, for the headers of a run of messages that the
/// last call set as a run (`written`), by finding its first header holding exactly the values
/// it would write. What is left between calls is never read through, and reaches the kernel
/// only where it equals what the call would write. A warm batch allocates nothing.
#[derive(Default)]
pub(crate) struct SendScratch {
    hdrs: Vec<libc::mmsghdr>,
    /// The first run of more than one message that the last call set headers for: its first
    /// header and how many (0: none).
    written_at: u32,
    written: u32,
}

/// `Send`, `Sync` and `Debug` for a scratch type of raw headers (a `hdrs` vector).
macro_rules! scratch_impls {
    ($t:ident) => {
        // SAFETY: outside a call the pointers in the scratch are never read through (see the
        // type's docs): each call sets them from borrows it holds for its length (anew, or by
        // finding them equal to what it would set), so none is reachable from another thread;
        // what remains is an allocation of plain memory.
        unsafe impl Send for $t {}
        // SAFETY: as for Send; a shared reference allows no access to the contents at all.
        unsafe impl Sync for $t {}

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("capacity", &self.hdrs.capacity())
                    .finish()
            }
        }
    };
}

scratch_impls!(SendScratch);

/// Storage for the raw headers and iovecs of one `recvmmsg` call.
///
/// Headers are written into it inside one call of [`recvmmsg`], from borrows that outlive
/// that call, and kept for the next call, which sets every pointer and length in the headers
/// it passes anew before the kernel sees them (or finds them set from buffers at the same
/// addresses), so what is left between calls is never read through. A warm batch allocates
/// nothing.
#[derive(Default)]
pub(crate) struct MmsgScratch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
    /// The slots `recvmmsg` last set the headers up for, by address and size: when the next
    /// call's are the same, only the fields the kernel writes back are reset.
    slots: Option<SlotsKey>,
}

/// Where a `recvmmsg`'s slots lie: the start of each of its buffers and the slot sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlotsKey {
    names: *const libc::sockaddr_storage,
    data: *const u8,
    buf_size: usize,
    /// The buffer sizes of a slot (which sum to `buf_size`: the same address and length mean
    /// the same sizes, see `InSlots`).
    split: *const [usize],
    control: *const u8,
    control_size: usize,
    n: usize,
}

scratch_impls!(MmsgScratch);

/// `vlen` for `n` headers: callers pass at most 1024 (`UIO_MAXIOV`).
#[inline]
#[allow(clippy::useless_conversion)] // usize itself on FreeBSD
fn vlen(n: usize) -> Vlen {
    Vlen::try_from(n).unwrap_or(Vlen::MAX)
}

/// `sendmmsg(2)` of the messages of `runs`, at most `max` of them (at most 1024
/// (`UIO_MAXIOV`)), retried on `EINTR`: how many messages the kernel took, from the first, and
/// the bytes it took of the last of them (`msg_len`). Empty control data goes as NULL with
/// length 0.
pub(crate) fn sendmmsg<'a>(
    fd: BorrowedFd<'_>,
    scratch: &mut SendScratch,
    runs: impl IntoIterator<Item = OutRun<'a>>,
    max: usize,
    flags: libc::c_int,
) -> Result<(usize, usize), i32> {
    let hdrs = &mut scratch.hdrs;
    // The headers stay from call to call (their padding fields zero from when they were
    // made): each message rewrites every field the kernel reads, unless the last call set
    // them to the same values (`written`). The kernel writes back `msg_len`, which is read
    // only for a message it took in this call. A kernel that writes back more of the header
    // (NetBSD's is reported to copy back its own `msg_iov` and `msg_flags`) leaves values
    // that differ from what a call would write: the comparison fails and the run is
    // written anew.
    debug_assert!(max <= 1024, "at most UIO_MAXIOV messages a call");
    let (last_at, last) = (scratch.written_at as usize, scratch.written as usize);
    scratch.written = 0;
    let mut n = 0;
    for r in runs {
        let take = r.messages.min(max - n);
        if hdrs.len() < n + take {
            grow(hdrs, n + take);
        }
        let (name, namelen) = r.name.map_or((std::ptr::null(), 0), |n| (n.ptr, n.len));
        // IoSlice is guaranteed ABI-compatible with struct iovec on Unix. Message i of the
        // run takes iovecs i * per .. (i + 1) * per, within the slice (see OutRun).
        let mut fields = MsgFields {
            name: name as *mut libc::c_void,
            namelen,
            iov: r.iov.as_ptr() as *mut libc::iovec,
            iovlen: r.per,
            control: r.control.as_ptr() as *mut libc::c_void,
            controllen: r.control.len(),
        };
        if take == 1 {
            // The common message of a GSO send: one message a run, set without a loop.
            fields.set(&mut hdrs[n].msg_hdr);
        } else if take > 1 {
            // The first run of several messages is remembered. The last call's first such run
            // wrote its headers as a run too, and nothing wrote them since: when it started
            // here, covered as many, and its first header is this run's first as it would be
            // written, so is every one (the same name and control data, the iovecs `per`
            // apart from the same first).
            if scratch.written == 0 {
                // At most 1024 messages (`max`).
                scratch.written_at = n as u32;
                scratch.written = take as u32;
                if last_at == n && take <= last && fields.is_in(&hdrs[n].msg_hdr) {
                    n += take;
                    if n == max {
                        break;
                    }
                    continue;
                }
            }
            for h in &mut hdrs[n..n + take] {
                fields.set(&mut h.msg_hdr);
                fields.iov = fields.iov.wrapping_add(r.per);
            }
        }
        n += take;
        if n == max {
            break;
        }
    }
    let hdrs = &mut hdrs[..n];
    // SAFETY: the first n headers each hold what was set from an OutRun<'a> of this call:
    // set just now, or found holding those values (a run whose headers the last call's first
    // run of several messages wrote, and nothing since, from the same first header on). Every
    // pointer is that of a borrow of an OutRun<'a> (its name, its control data, and `per`
    // iovecs of its slice, which holds `per` for each of its messages), and 'a outlives this
    // call; lengths match the borrowed slices; the kernel only reads through them, and writes
    // back into the headers, which we own.
    retry(|| unsafe {
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
    })
}

/// Makes `hdrs` `n` long with all-zero headers (their padding fields stay zero from then on).
#[cold]
fn grow(hdrs: &mut Vec<libc::mmsghdr>, n: usize) {
    // SAFETY: mmsghdr is plain data (pointers and integers, explicit padding on some
    // targets); all-zero is a valid value.
    let zero: libc::mmsghdr = unsafe { std::mem::zeroed() };
    hdrs.resize(n, zero);
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
    vlen: Vlen,
    flags: MmsgFlags,
) -> libc::c_int {
    // SAFETY: forwarded to the caller. (FreeBSD's returns ssize_t, at most vlen.)
    #[allow(clippy::unnecessary_cast)]
    unsafe {
        libc::sendmmsg(fd, hdrs, vlen, flags) as libc::c_int
    }
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
    vlen: Vlen,
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

/// `recvmmsg(2)` into the first `out.len()` slots of `slots` (at most 1024 (`UIO_MAXIOV`)),
/// without timeout, retried on `EINTR`; writes what each received message reported into `out`
/// and returns how many messages arrived.
///
/// The headers stay in `scratch` from call to call, but every field the kernel reads or
/// writes (pointers, `msg_controllen`, `msg_namelen`, `msg_flags`) is as set from the full
/// buffers before each call: set anew when the buffers differ from the last call's or that
/// call failed, else reset from what the kernel wrote as it is read, so nothing carries over
/// from an earlier call (nix#2813); the lengths the kernel writes back are clamped to the
/// buffers given.
///
/// # Panics
/// If `slots` holds fewer than `out.len()` slots, or its `split` does not sum to `buf_size`.
pub(crate) fn recvmmsg(
    fd: BorrowedFd<'_>,
    scratch: &mut MmsgScratch,
    slots: InSlots<'_>,
    out: &mut [RecvOut],
    flags: libc::c_int,
) -> Result<usize, i32> {
    let n = out.len();
    let InSlots {
        names,
        data,
        buf_size,
        split,
        control,
        control_size,
    } = slots;
    let names = &mut names[..n];
    // The slots' total sizes are checked here once, so the walk below stays in bounds.
    let data = &mut data[..buf_size.checked_mul(n).expect("data slots")];
    let control = &mut control[..control_size.checked_mul(n).expect("control slots")];
    let MmsgScratch { hdrs, iovs, slots } = scratch;
    let namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let controllen = super::control_len(control_size);
    let key = SlotsKey {
        names: names.as_ptr(),
        data: data.as_ptr(),
        buf_size,
        split,
        control: control.as_ptr(),
        control_size,
        n,
    };
    // With the same buffers at the same addresses as last time, every pointer and the iovecs
    // (which the kernel only reads) are as this call would set them, and what the kernel
    // wrote back was reset as it was read (below): nothing to do.
    if *slots != Some(key) || hdrs.len() != n {
        // The iovecs must cover the slot exactly (checked when they are built; a slot size
        // that overflows cannot equal `buf_size`).
        let covered = split.iter().try_fold(0usize, |a, &b| a.checked_add(b));
        assert_eq!(covered, Some(buf_size), "buffer sizes of a slot");
        *slots = None;
        // SAFETY: mmsghdr and iovec are plain data (pointers and integers, explicit padding
        // on some targets); all-zero is valid. Every field used is set below before the call.
        let zero: (libc::mmsghdr, libc::iovec) = unsafe { std::mem::zeroed() };
        hdrs.clear();
        hdrs.resize(n, zero.0);
        // `split.len()` iovecs per slot (from 1 to 1024, checked by the caller), so at most
        // 1024 × 1024 in all.
        let per = split.len().max(1);
        iovs.clear();
        iovs.resize(n * per, zero.1);
        let iov_len = super::iov_len(per);
        let mut buf = data.as_mut_ptr();
        // Empty control room goes as NULL with length 0, as `MsgFields` sets it.
        let mut room = if control_size > 0 {
            control.as_mut_ptr()
        } else {
            std::ptr::null_mut()
        };
        let slots_iovs = iovs.chunks_mut(per);
        for ((h, iov), name) in hdrs.iter_mut().zip(slots_iovs).zip(names.iter_mut()) {
            // Slot i's iovecs: its buffers in order from its start.
            let mut at = buf;
            for (v, &size) in iov.iter_mut().zip(split) {
                v.iov_base = at.cast();
                v.iov_len = size;
                at = at.wrapping_add(size);
            }
            let m = &mut h.msg_hdr;
            m.msg_name = (name as *mut libc::sockaddr_storage).cast();
            m.msg_namelen = namelen;
            m.msg_iov = iov.as_mut_ptr();
            m.msg_iovlen = iov_len;
            m.msg_control = room.cast();
            m.msg_controllen = controllen;
            m.msg_flags = 0;
            // Slot i + 1 (one past the end after the last: never read through).
            buf = buf.wrapping_add(buf_size);
            room = room.wrapping_add(control_size);
        }
        *slots = Some(key);
    }
    // SAFETY: every pointer in the headers is the address of a buffer exclusively borrowed
    // for this call (`names[i]`, slot i of `data` and of `control`, which lie within the
    // slices sized above: set from them just now, or set from buffers at the very same
    // addresses and sizes, split the same way, by an earlier call) or points to the
    // `split.len()` iovecs of `iovs` from i * split.len(), which cover slot i of `data` (their
    // sizes sum to `buf_size`) and are not touched until the call returns; each length
    // matches its buffer, and the kernel writes at most that much. A call failed with EINTR
    // received nothing, so the headers are still as set.
    let result = retry(|| unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            hdrs.as_mut_ptr(),
            vlen(n),
            flags as MmsgFlags,
            std::ptr::null_mut(),
        )
    })
    .map(|r| r as usize);
    match result {
        Ok(got) => {
            // Each header the kernel wrote back is read, and reset for the next call at once.
            let got = got.min(n);
            for (h, o) in hdrs[..got].iter_mut().zip(&mut out[..got]) {
                let m = &mut h.msg_hdr;
                o.bytes = h.msg_len as usize;
                o.namelen = std::mem::replace(&mut m.msg_namelen, namelen).min(namelen);
                o.controllen =
                    control_len_back(std::mem::replace(&mut m.msg_controllen, controllen))
                        .min(control_size);
                o.flags = std::mem::replace(&mut m.msg_flags, 0);
            }
        }
        // A failed call may have written to any header: set them all up anew next time.
        Err(_) => *slots = None,
    }
    result
}
