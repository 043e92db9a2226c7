//! No safe function panics, whatever sizes and counts it is given: every public constructor and
//! function that takes a size, a count, an offset or a duration, called with the extremes (0, 1,
//! `usize::MAX`, `u64::MAX`, `Duration::MAX`), on real sockets where it sends or receives.
//!
//! Several cases change process-wide settings (`set_optmem_max`, `set_udp_max_segments`) that
//! the others read, so every test here holds one lock.
// Linux-only items (SendFile on NetBSD, MAP_NORESERVE, GSO) throughout: run where they exist.
#![cfg(linux_like)]

mod common;

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ancillary::batch::{split_gro, Batch, RecvBatch};
use ancillary::cmsg::{
    self, aligned_mut, checked_align, checked_len, checked_space, checked_space_for_fds,
    CmsgBuffer, Encoder, Layout, RawIter,
};
use ancillary::limits::{self, Limits};
use ancillary::{
    wait_writable, Error, IoVecs, IoVecsMut, Limit, Progress, RecvMsg, SendAll, SendFile, SendMsg,
};
use common::*;
use nix::sys::socket::SockType;

static GLOBALS: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    GLOBALS.lock().unwrap_or_else(|e| e.into_inner())
}

const SIZES: [usize; 7] = [
    0,
    1,
    7,
    usize::MAX / 2,
    usize::MAX - 16,
    usize::MAX - 1,
    usize::MAX,
];

fn udp_pair() -> (UdpSocket, UdpSocket, SocketAddr) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    (tx, rx, to)
}

/// A read-only mapping of `len` bytes reserved but never backed: a slice over it is valid, and
/// the same slice pushed `usize::MAX / len + 1` times adds up past `usize::MAX`. `None` when the
/// system refuses every size tried.
struct Huge {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Huge {
    fn new() -> Option<Huge> {
        if common::skip_under_qemu("a mapping of 2^46 bytes and more (qemu-user cannot emulate it)")
        {
            return None;
        }
        let top = usize::BITS - 2;
        for shift in (top - 16..=top).rev() {
            let len = 1usize << shift;
            // SAFETY: a fresh anonymous private mapping; no existing memory is affected.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if ptr != libc::MAP_FAILED {
                return Some(Huge { ptr, len });
            }
        }
        None
    }

    fn slice(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes (zero pages when read), lives as long as
        // `self`, and is never written; len < isize::MAX.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }

    /// How many copies of the slice add up past `usize::MAX`.
    fn copies(&self) -> usize {
        usize::MAX / self.len + 1
    }
}

impl Drop for Huge {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

#[test]
fn layout_new_refuses_what_would_divide_by_zero_or_round_wrongly() {
    let _g = lock();
    // What used to be `Layout { header_len: 16, align: 0 }` (a subtract overflow) and a
    // non-power-of-two alignment cannot be built any more.
    for align in [0, 3, 5, 6, 12, 24, usize::MAX] {
        assert_eq!(Layout::new(16, align), None, "align {align}");
    }
    assert_eq!(Layout::new(0, 8), None);
    assert_eq!(Layout::new(usize::MAX, 8), None);
    for header in SIZES {
        for shift in 0..usize::BITS {
            let Some(l) = Layout::new(header, 1 << shift) else {
                continue;
            };
            for n in SIZES {
                let (a, s, len) = (l.checked_align(n), l.checked_space(n), l.checked_len(n));
                if let Some(s) = s {
                    assert_eq!(s, l.space(n));
                    assert!(a.is_some() && len.is_some());
                }
            }
        }
    }
}

#[test]
fn checked_arithmetic_answers_none_where_the_plain_form_panics() {
    let _g = lock();
    for n in SIZES {
        let (a, s, l, f) = (
            checked_align(n),
            checked_space(n),
            checked_len(n),
            checked_space_for_fds(n),
        );
        assert_eq!(
            a.is_some(),
            std::panic::catch_unwind(|| cmsg::align(n)).is_ok()
        );
        assert_eq!(
            s.is_some(),
            std::panic::catch_unwind(|| cmsg::space(n)).is_ok()
        );
        assert_eq!(
            l.is_some(),
            std::panic::catch_unwind(|| cmsg::len(n)).is_ok()
        );
        assert_eq!(
            f.is_some(),
            std::panic::catch_unwind(|| cmsg::space_for_fds(n)).is_ok()
        );
    }
    assert_eq!(checked_space_for_fds(1), Some(cmsg::space_for_fds(1)));
    assert_eq!(checked_space(usize::MAX), None);
}

#[test]
fn encoder_over_any_storage_refuses_with_capacity() {
    let _g = lock();
    let mut empty = CmsgBuffer::<0>::new();
    let mut one = CmsgBuffer::<1>::new();
    assert!(aligned_mut(&mut []).is_empty());
    for storage in [&mut empty[..], &mut one[..]] {
        let mut enc = Encoder::new(storage);
        assert!(matches!(
            enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[]),
            Err(Error::Capacity { .. })
        ));
        assert!(matches!(enc.push_rights(&[]), Err(Error::Capacity { .. })));
        #[cfg(has_gso)]
        assert!(matches!(
            enc.push_udp_segment(u16::MAX),
            Err(Error::Capacity { .. })
        ));
        #[cfg(has_txtime)]
        assert!(matches!(
            enc.push_txtime(u64::MAX),
            Err(Error::Capacity { .. })
        ));
        assert_eq!((enc.len(), enc.remaining()), (0, enc.capacity()));
    }
    // Many descriptors (the same one repeated) into small storage.
    let f = std::fs::File::open("/dev/null").unwrap();
    let fds = vec![f.as_fd(); 1 << 20];
    let mut st = CmsgBuffer::<64>::new();
    let mut enc = st.encoder();
    assert!(matches!(enc.push_rights(&fds), Err(Error::Capacity { .. })));
    let big = vec![0u8; 1 << 20];
    assert!(matches!(
        enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &big),
        Err(Error::Capacity { .. })
    ));
}

#[test]
fn raw_iter_takes_any_controllen() {
    let _g = lock();
    let mut st = CmsgBuffer::<64>::new();
    st.encoder()
        .push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[1])
        .unwrap();
    for n in SIZES {
        let _ = RawIter::with_controllen(&st, n).count();
        let _ = RawIter::with_controllen(&[], n).count();
    }
}

#[test]
fn iovecs_lengths_saturate_and_advance_takes_any_count() {
    let _g = lock();
    let a = [1u8; 3];
    for n in SIZES {
        let mut v = IoVecs::from_slices(&[&a, &a]);
        v.advance(n);
        assert!(v.total_len() <= 6);
        let mut e = IoVecs::new();
        e.advance(n);
        assert!(e.is_empty());
    }
    let mut b = [0u8; 4];
    let mut m = IoVecsMut::new();
    m.push(&mut b);
    assert_eq!(m.total_len(), 4);

    let Some(huge) = Huge::new() else {
        println!("skipped the aliasing half: no large reserved mapping could be made");
        return;
    };
    // One buffer pushed often enough that the lengths add up past usize::MAX.
    let mut v = IoVecs::new();
    for _ in 0..huge.copies() {
        v.push(huge.slice());
    }
    assert_eq!(v.total_len(), usize::MAX);
    v.advance(usize::MAX);
    assert!(v.total_len() <= huge.len);
}

#[test]
fn send_all_with_lengths_past_usize_max_is_refused_by_the_kernel() {
    let _g = lock();
    let Some(huge) = Huge::new() else {
        println!("skipped: no large reserved mapping could be made");
        return;
    };
    // A datagram socket: one call carries every entry, more than UIO_MAXIOV of them, which
    // the kernel refuses before reading any byte.
    let (a, _b) = pair(SockType::Datagram);
    let slices = vec![IoSlice::new(huge.slice()); huge.copies()];
    let mut job = SendAll::new(&slices).limits(Limits::none());
    assert_eq!(job.remaining(), usize::MAX);
    let err = job.send(&a).unwrap_err();
    assert!(
        matches!(err, Error::Os { .. } | Error::Limit { .. }),
        "{err:?}"
    );
    assert_eq!(job.sent(), 0);
}

#[test]
fn limits_check_any_numbers() {
    let _g = lock();
    for n in SIZES {
        // The control buffer must stay below optmem_max, even usize::MAX.
        assert_eq!(Limits::none().check(n, n, n).is_ok(), n < usize::MAX);
        let zero = Limits {
            max_fds: 0,
            optmem_max: 0,
            max_iovecs: 0,
        };
        assert_eq!(zero.check(n, 0, 0).is_err(), n > 0);
        let _ = zero.check(0, n, n);
        let _ = Limits::kernel().check(n, n, n);
    }
}

#[test]
fn batch_with_capacity_answers_size_overflow() {
    let _g = lock();
    for (d, i, c) in [
        (usize::MAX, 0, 0),
        (0, usize::MAX, 0),
        (0, 0, usize::MAX),
        (usize::MAX, usize::MAX, usize::MAX),
        (usize::MAX / 2, 1, 1),
    ] {
        assert!(
            matches!(
                Batch::with_capacity(d, i, c),
                Err(Error::SizeOverflow { .. })
            ),
            "{d} {i} {c}"
        );
    }
    // Larger than this machine has, smaller than the address space: an error or (with memory
    // overcommitted) an untouched reservation, never a panic or an abort.
    let _ = Batch::with_capacity(1 << (usize::BITS - 12), 0, 0);
    let _ = Batch::with_capacity(0, 0, 1 << (usize::BITS - 12));
    let mut b = Batch::with_capacity(0, 0, 0).unwrap();
    let (tx, _rx, to) = udp_pair();
    b.push(to, b"x").unwrap();
    assert_eq!(b.send(&tx).unwrap(), 1);
    assert!(Batch::with_capacity(1024, 1024, 1 << 16).is_ok());
}

#[test]
fn recv_batch_new_answers_errors_for_any_sizes() {
    let _g = lock();
    for messages in [0, 1, 1024, 1025, usize::MAX] {
        for buf in SIZES {
            for control in SIZES {
                // Skip the combinations that are merely large: they would allocate.
                let product = |s: usize| s.saturating_mul(messages);
                if product(buf) <= 1 << 16 && product(control) <= 1 << 16 {
                    continue;
                }
                let result = RecvBatch::new(messages, buf, control);
                // Past the address space it must be an error; below it (a 2 GiB buffer on a
                // 32-bit target) the allocator may give it, untouched, or refuse: either way
                // no panic.
                let max = isize::MAX as usize;
                // (The control size is rounded up to the cmsghdr alignment first.)
                if messages > 1024 || product(buf) > max || product(control) > max - 16 {
                    assert!(result.is_err(), "{messages} {buf} {control}");
                }
            }
        }
    }
    // Just below isize::MAX once aligned: used to overflow `Vec`'s capacity and panic.
    // On a 64-bit target no allocator gives that much; on a 32-bit one (2 GiB) it may.
    let edge = isize::MAX as usize - 7;
    for r in [RecvBatch::new(1, 0, edge), RecvBatch::new(1, edge, 0)] {
        if cfg!(target_pointer_width = "64") {
            assert!(matches!(r, Err(Error::SizeOverflow { .. })), "{r:?}");
        } else {
            assert!(
                matches!(r, Ok(_) | Err(Error::SizeOverflow { .. })),
                "{r:?}"
            );
        }
    }
    assert!(matches!(
        RecvBatch::new(1, 1 << (usize::BITS - 12), 0),
        Ok(_) | Err(Error::SizeOverflow { .. })
    ));

    // The smallest batches receive on a real socket.
    let (tx, rx, to) = udp_pair();
    rx.set_nonblocking(true).unwrap();
    let mut none = RecvBatch::new(0, 0, 0).unwrap();
    assert_eq!(none.recv(&rx).unwrap(), 0);
    assert_eq!(none.iter_mut().count(), 0);
    tx.send_to(b"abc", to).unwrap();
    let mut tiny = RecvBatch::new(1, 0, 0).unwrap();
    let mut got = 0;
    for _ in 0..100 {
        match tiny.recv(&rx) {
            Ok(n) => {
                got = n;
                break;
            }
            Err(e) if e.is_would_block() => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, 1);
    for d in tiny.iter_mut() {
        assert!(d.data().is_empty());
        // An empty datagram splits into no pieces (`chunks` yields none).
        assert!(d.segments().count() <= 1);
    }
}

#[test]
fn push_segments_and_the_segment_cap_take_any_size() {
    let _g = lock();
    let (tx, rx, to) = udp_pair();
    rx.set_nonblocking(true).unwrap();
    let data = vec![7u8; 3000];
    let no_control = |_: &mut Encoder<'_, '_>| Ok(());
    for size in [0, usize::MAX, usize::from(u16::MAX) + 1] {
        let mut b = Batch::new();
        let err = b
            .push_segments(Some(to), &data, size, no_control)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Limit {
                    limit: Limit::SegmentSize,
                    ..
                }
            ),
            "{size}: {err:?}"
        );
    }
    for max in [Some(0), Some(1), Some(usize::MAX), None] {
        let mut b = Batch::new();
        b.set_max_segments(max);
        // 3000 one-byte segments: over any kernel's cap; with the cap lifted the kernel judges
        // (EINVAL) and the batch sends them one by one.
        match b.push_segments(Some(to), &data, 1, no_control) {
            Ok(()) => assert_eq!(b.send(&tx).unwrap(), 3000),
            Err(Error::Limit {
                limit: Limit::Segments,
                ..
            }) => assert_ne!(max, Some(usize::MAX)),
            Err(e) => panic!("{max:?}: {e:?}"),
        }
    }
    for size in [1, 2, 1472, usize::from(u16::MAX)] {
        let mut b = Batch::new();
        if b.push_segments(Some(to), &data, size, no_control).is_ok() {
            b.send(&tx).unwrap();
        }
    }
}

#[test]
fn push_vectored_with_lengths_past_usize_max_is_a_payload_limit() {
    let _g = lock();
    let Some(huge) = Huge::new() else {
        println!("skipped: no large reserved mapping could be made");
        return;
    };
    let (_tx, _rx, to) = udp_pair();
    let slices = vec![IoSlice::new(huge.slice()); huge.copies()];
    let mut b = Batch::new();
    b.set_limits(Limits::none());
    let err = b
        .push_vectored(Some(to), &slices, |_: &mut Encoder<'_, '_>| Ok(()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: Limit::Payload,
                needed: usize::MAX,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(b.is_empty());
}

#[test]
fn split_gro_takes_any_segment_size() {
    let _g = lock();
    let data = [1u8, 2, 3, 4, 5];
    for size in SIZES {
        let parts: Vec<&[u8]> = split_gro(&data, size).collect();
        assert_eq!(parts.concat(), data);
        assert!(split_gro(&[], size).all(|p| p.is_empty()));
    }
}

#[test]
fn process_wide_limits_take_any_value() {
    let _g = lock();
    let (a, b) = pair(SockType::Datagram);
    let f = std::fs::File::open("/dev/null").unwrap();
    let (tx, _rx, to) = udp_pair();
    let data = vec![1u8; 1000];
    for v in [1, 2, usize::MAX / 2, usize::MAX] {
        limits::set_optmem_max(v);
        limits::set_udp_max_segments(v);
        assert_eq!((limits::optmem_max(), limits::udp_max_segments()), (v, v));
        let _ = send_fds(a.as_fd(), b"x", &[f.as_fd()]);
        let mut batch = Batch::new();
        if batch
            .push_segments(Some(to), &data, 10, |_: &mut Encoder<'_, '_>| Ok(()))
            .is_ok()
        {
            batch.send(&tx).unwrap();
        }
    }
    // 0: probe and read the sysctl again.
    limits::set_optmem_max(0);
    limits::set_udp_max_segments(0);
    assert!(limits::optmem_max() > 1 && limits::udp_max_segments() >= 1);
    let mut buf = [0u8; 8];
    let mut ctl = CmsgBuffer::<{ cmsg::space_for_fds(4) }>::new();
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut r = RecvMsg::new(&mut iov).control(&mut ctl);
    let got = r.recv(&b).unwrap();
    assert_eq!(got.len(), 1);
}

#[test]
fn wait_writable_takes_any_timeout() {
    let _g = lock();
    let (a, _b) = pair(SockType::Stream);
    for t in [
        None,
        Some(Duration::ZERO),
        Some(Duration::new(0, 1)),
        Some(Duration::MAX),
        Some(Duration::from_secs(u64::MAX)),
    ] {
        assert!(wait_writable(&a, t).unwrap(), "{t:?}");
    }
    // A full socket: short timeouts end with false.
    let a = std::os::unix::net::UnixStream::from(a);
    a.set_nonblocking(true).unwrap();
    let chunk = [0u8; 65536];
    for _ in 0..10_000 {
        if nix::unistd::write(&a, &chunk).is_err() {
            break;
        }
    }
    for t in [
        Duration::ZERO,
        Duration::new(0, 1),
        Duration::from_millis(1),
    ] {
        assert!(!wait_writable(&a, Some(t)).unwrap(), "{t:?}");
    }
}

#[test]
fn send_file_takes_any_range() {
    let _g = lock();
    let file = file_with("hello");
    for (offset, len) in [
        (0, 0),
        (0, u64::MAX),
        (u64::MAX, 0),
        (u64::MAX, u64::MAX),
        (1 << 63, 1),
        (i64::MAX as u64, u64::MAX),
        (5, 1),
        (6, 1),
    ] {
        let (a, b) = pair(SockType::Stream);
        let mut job = SendFile::new(&[IoSlice::new(b"h")], &file, offset, len);
        let _ = (
            job.remaining(),
            job.body_sent(),
            job.offset(),
            job.is_done(),
        );
        match job.send(&a) {
            Ok(Progress::Done) => assert!(job.is_done()),
            Ok(Progress::WouldBlock) => panic!("a blocking socket would not block here"),
            Err(Error::FileEnded { .. } | Error::Os { .. }) => {}
            Err(e) => panic!("{offset} {len}: {e:?}"),
        }
        let _ = (
            job.remaining(),
            job.body_sent(),
            job.offset(),
            job.is_done(),
        );
        drop(b);
    }
}

#[test]
fn send_and_receive_with_empty_buffers() {
    let _g = lock();
    let (a, b) = pair(SockType::Datagram);
    SendMsg::new(&[]).send(&a).unwrap();
    let mut none: [IoSliceMut<'_>; 0] = [];
    let mut r = RecvMsg::new(&mut none).control(&mut []);
    let got = r.recv(&b).unwrap();
    assert_eq!(got.len(), 0);
}
