//! The checks behind the fuzz targets, in one place.
//!
//! `fuzz/fuzz_targets/*.rs` include this file with `#[path]`; `tests/fuzz_corpus.rs` replays every
//! corpus file through the same functions on stable, and `tests/cmsg_props.rs` feeds the round
//! trip check from proptest. Each check takes one input and panics when the crate breaks a
//! promise.
//!
//! Nothing here builds an `OwnedFd` or runs `ControlMessages` over input bytes: that would close
//! whatever descriptor numbers the input names. Only the non-owning [`RawIter`] walks them. The
//! owning layer is checked in [`owning`] over control data the kernel produced for each input.
//!
//! Inputs of `cmsg_decode` and `cmsg_libc_diff` share one format (see [`split_control_input`]),
//! so their corpora are interchangeable; `cmsg_roundtrip` reads a [`RoundtripInput`] with
//! `arbitrary`. `cmsg_ip` (in `ip.rs`) reads every input both ways; `iovec_model` (in
//! `iovec.rs`) reads a sequence of operations with `arbitrary`.

pub(crate) mod iovec;
pub(crate) mod ip;

pub(crate) use iovec::iovec_model;
pub(crate) use ip::cmsg_ip;

use std::cell::RefCell;
use std::mem::{align_of, offset_of, size_of};
use std::os::fd::BorrowedFd;

use ancillary::cmsg::{
    self, Credentials, Encoder, RawCmsg, RawIter, ALIGN, DATA_OFFSET, HEADER_LEN,
};
use ancillary::Error;
use arbitrary::{Arbitrary, Unstructured};

pub(crate) mod owning;

/// What the encoder aligns its storage to: `cmsghdr`'s own alignment (4 on musl, whose
/// `CMSG_ALIGN` is 8).
pub(crate) const STORAGE_ALIGN: usize = align_of::<libc::cmsghdr>();

/// A check: panics if the crate breaks a promise on this input.
pub(crate) type Check = fn(&[u8]);

/// Targets whose check counts the process's open descriptors: replayed alone in their own test
/// binary (tests/fuzz_owning.rs), never beside other tests' threads.
pub(crate) const SERIAL_TARGETS: &[(&str, Check)] = &[("cmsg_owning", owning::cmsg_owning)];

/// Every fuzz target with its check, by the name of its file in `fuzz/fuzz_targets/` and of its
/// directory in `fuzz/corpus/`.
pub(crate) const TARGETS: &[(&str, Check)] = &[
    ("cmsg_decode", cmsg_decode),
    ("cmsg_roundtrip", cmsg_roundtrip),
    ("cmsg_libc_diff", cmsg_libc_diff),
    ("cmsg_ip", cmsg_ip),
    ("iovec_model", iovec_model),
];

/// Bytes of the `msg_controllen` prefix of a control input.
pub(crate) const CONTROLLEN_PREFIX: usize = 8;

/// Splits a control input into `(msg_controllen, buffer)`: the first 8 bytes are
/// `msg_controllen` as a little-endian `u64` (any value, also past the end of the buffer), the
/// rest is the buffer. A shorter input is a `msg_controllen` from the bytes there are and an
/// empty buffer.
pub(crate) fn split_control_input(data: &[u8]) -> (usize, &[u8]) {
    let n = data.len().min(CONTROLLEN_PREFIX);
    let mut prefix = [0u8; CONTROLLEN_PREFIX];
    prefix[..n].copy_from_slice(&data[..n]);
    let controllen = usize::try_from(u64::from_le_bytes(prefix)).unwrap_or(usize::MAX);
    (controllen, &data[n..])
}

/// The input that [`split_control_input`] splits into `(controllen, buf)`.
pub(crate) fn control_input(controllen: u64, buf: &[u8]) -> Vec<u8> {
    let mut v = controllen.to_le_bytes().to_vec();
    v.extend_from_slice(buf);
    v
}

/// A header read straight from the bytes, the way libc's `cmsghdr` lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) offset: usize,
    pub(crate) cmsg_len: usize,
    pub(crate) level: libc::c_int,
    pub(crate) ty: libc::c_int,
}

/// The header at `off`, if all of it lies in `buf`.
fn header_at(buf: &[u8], off: usize) -> Option<Header> {
    let b = buf.get(off..)?.get(..HEADER_LEN)?;
    // SAFETY: b holds HEADER_LEN = size_of::<cmsghdr>() initialized bytes; read_unaligned has no
    // alignment requirement; cmsghdr is plain integers, valid for any bit pattern.
    let h = unsafe { b.as_ptr().cast::<libc::cmsghdr>().read_unaligned() };
    #[allow(clippy::unnecessary_cast)]
    Some(Header {
        offset: off,
        cmsg_len: h.cmsg_len as usize,
        level: h.cmsg_level,
        ty: h.cmsg_type,
    })
}

/// `CMSG_ALIGN(n)` in `u128`, where it cannot overflow.
fn align_wide(n: usize) -> u128 {
    let a = ALIGN as u128;
    (n as u128).div_ceil(a) * a
}

/// The walk that `src/cmsg/decode.rs` documents, written out plainly: headers wholly in the
/// buffer, a `cmsg_len` below the header size ends the walk, the next header at
/// `CMSG_ALIGN(cmsg_len)`. Returns each header with the data range it should yield.
fn documented_walk(buf: &[u8]) -> Vec<(Header, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while let Some(h) = header_at(buf, off) {
        if h.cmsg_len < HEADER_LEN {
            break;
        }
        let end = off + h.cmsg_len.min(buf.len() - off);
        out.push((h, off + DATA_OFFSET.min(end - off)..end));
        let next = off as u128 + align_wide(h.cmsg_len);
        if next > buf.len() as u128 {
            break;
        }
        off = next as usize;
    }
    out
}

/// Walks `buf` with [`RawIter`], checks every promise it makes about each item, compares the
/// walk with [`documented_walk`], and returns the items.
fn checked_walk(buf: &[u8]) -> Vec<RawCmsg<'_>> {
    let base = buf.as_ptr() as usize;
    let limit = buf.len() / HEADER_LEN;
    let mut it = RawIter::new(buf);
    let mut items: Vec<RawCmsg<'_>> = Vec::new();
    for m in it.by_ref() {
        assert!(
            items.len() < limit,
            "more messages than headers fit in {} bytes",
            buf.len()
        );
        if let Some(prev) = items.last() {
            assert!(
                m.offset > prev.offset,
                "offsets not increasing: {} then {}",
                prev.offset,
                m.offset
            );
            assert!(!prev.is_truncated(), "a message after a truncated one");
        }
        // The header lies in the buffer, at an aligned offset, and is what the bytes say.
        assert_eq!(m.offset % ALIGN, 0, "unaligned offset {}", m.offset);
        assert!(
            m.offset + HEADER_LEN <= buf.len(),
            "header at {} runs out of the buffer",
            m.offset
        );
        let h = header_at(buf, m.offset).expect("header in the buffer");
        assert_eq!((m.cmsg_len, m.level, m.ty), (h.cmsg_len, h.level, h.ty));
        assert!(
            m.cmsg_len >= HEADER_LEN,
            "yielded cmsg_len {} below the header",
            m.cmsg_len
        );
        // The data lies in the buffer: compare the addresses themselves.
        let (d0, d1) = (
            m.data.as_ptr() as usize,
            m.data.as_ptr() as usize + m.data.len(),
        );
        assert!(
            base <= d0 && d1 <= base + buf.len(),
            "data outside the buffer"
        );
        let room = buf.len() - m.offset;
        let end = m.cmsg_len.min(room);
        assert_eq!(d0 - base, m.offset + DATA_OFFSET.min(end), "data start");
        assert_eq!(d1 - base, m.offset + end, "data end");
        assert_eq!(m.is_truncated(), m.cmsg_len > room, "is_truncated");
        items.push(m);
    }
    assert!(it.next().is_none(), "RawIter yields after None");
    let expected = documented_walk(buf);
    assert_eq!(
        items.len(),
        expected.len(),
        "walk differs from the documented rules"
    );
    for (m, (h, data)) in items.iter().zip(&expected) {
        assert_eq!(
            (m.offset, m.cmsg_len, m.level, m.ty),
            (h.offset, h.cmsg_len, h.level, h.ty)
        );
        assert_eq!(m.data, &buf[data.clone()]);
    }
    items
}

/// `cmsg_decode`: any bytes as received control data with any `msg_controllen`.
///
/// RawIter never panics, stays in the buffer (checked on the addresses), yields increasing
/// offsets, ends, and walks as `src/cmsg/decode.rs` documents; `with_controllen` is the same
/// walk over the clamped length, and the alignment of the bytes changes nothing.
pub(crate) fn cmsg_decode(data: &[u8]) {
    let (controllen, bytes) = split_control_input(data);
    let walked = &bytes[..controllen.min(bytes.len())];
    let items = checked_walk(walked);
    assert!(RawIter::with_controllen(bytes, controllen).eq(items.iter().copied()));
    // A clone taken halfway goes on where the original is.
    let mut it = RawIter::new(walked);
    let half = items.len() / 2;
    it.by_ref().take(half).for_each(drop);
    assert!(it.clone().eq(items[half..].iter().copied()));
    // The same bytes one byte further on (so misaligned for cmsghdr) decode the same.
    let mut shifted = vec![0u8; walked.len() + 1];
    shifted[1..].copy_from_slice(walked);
    assert!(RawIter::new(&shifted[1..]).eq(items.iter().copied()));
}

/// One header of a libc walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LibcHeader {
    header: Header,
    /// `CMSG_DATA(c)` as an offset in the buffer.
    data_offset: usize,
}

/// How a libc walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LibcEnd {
    /// `CMSG_FIRSTHDR`/`CMSG_NXTHDR` returned null.
    Null,
    /// It returned a header that does not lie wholly in the buffer; the walk is compared up to
    /// there only.
    OutOfBounds,
    /// The next call was not made because it would overflow inside libc (see
    /// [`libc_crate_nxthdr_overflows`]).
    NotCalled,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    /// glibc's `CMSG_NXTHDR` (the macro expands to this exported function).
    fn __cmsg_nxthdr(mhdr: *mut libc::msghdr, cmsg: *mut libc::cmsghdr) -> *mut libc::cmsghdr;
}

/// Whether the `libc` crate's `CMSG_NXTHDR` overflows for a header at `addr` with this
/// `cmsg_len`: its `CMSG_ALIGN` adds `ALIGN - 1` unchecked (an abort with overflow checks on; a
/// result of 0 otherwise, which hands the same header back and never ends a walk), and it adds
/// the header size to the next address unchecked.
fn libc_crate_nxthdr_overflows(addr: usize, cmsg_len: usize) -> bool {
    match cmsg_len.checked_add(ALIGN - 1) {
        None => true,
        Some(a) => addr
            .checked_add(a & !(ALIGN - 1))
            .and_then(|next| next.checked_add(HEADER_LEN))
            .is_none(),
    }
}

/// Which `CMSG_NXTHDR` a libc walk uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nxthdr {
    /// glibc's own, from the C library this process runs on.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    Glibc,
    /// The Rust `libc` crate's rewrite of it.
    LibcCrate,
}

/// Walks `buf` (aligned for `cmsghdr`) with `CMSG_FIRSTHDR`/`CMSG_NXTHDR` over a `msghdr` whose
/// `msg_controllen` is the buffer's length. Only headers wholly inside the buffer are read.
fn libc_walk(buf: &mut [u8], nxthdr: Nxthdr) -> (Vec<LibcHeader>, LibcEnd) {
    assert_eq!(buf.as_ptr() as usize % align_of::<libc::cmsghdr>(), 0);
    let base = buf.as_mut_ptr();
    let (start, len) = (base as usize, buf.len());
    // SAFETY: msghdr is plain data (pointers, integers, explicit padding); all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_control = base.cast();
    msg.msg_controllen = len as _;
    // SAFETY: CMSG_FIRSTHDR reads msg_controllen and msg_control of a valid msghdr and
    // dereferences nothing else.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    let mut out = Vec::new();
    loop {
        if c.is_null() {
            return (out, LibcEnd::Null);
        }
        let at = c as usize;
        if at < start || at.checked_add(HEADER_LEN).is_none_or(|e| e > start + len) {
            return (out, LibcEnd::OutOfBounds);
        }
        assert!(
            out.len() <= len / ALIGN,
            "libc's walk does not end ({nxthdr:?})"
        );
        let header = header_at(buf, at - start).expect("checked in bounds");
        // SAFETY: CMSG_DATA computes an address from c; nothing is dereferenced.
        let data = unsafe { libc::CMSG_DATA(c) } as usize;
        out.push(LibcHeader {
            header,
            data_offset: data - start,
        });
        c = match nxthdr {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: msg is a valid msghdr over buf, and c points at a header wholly inside
            // buf (checked above): __cmsg_nxthdr reads msg's two fields and c's cmsg_len, and
            // returns an address without dereferencing it.
            Nxthdr::Glibc => unsafe { __cmsg_nxthdr(&mut msg, c) },
            Nxthdr::LibcCrate => {
                if libc_crate_nxthdr_overflows(at, header.cmsg_len) {
                    return (out, LibcEnd::NotCalled);
                }
                // SAFETY: as for glibc's: c lies wholly inside buf, and the arithmetic inside
                // cannot overflow (checked just above).
                unsafe { libc::CMSG_NXTHDR(&msg, c) }
            }
        };
    }
}

/// Compares RawIter's `ours` with a libc walk of the same bytes. They must agree header for
/// header, except as `src/cmsg/decode.rs` documents:
/// 1. a message whose `cmsg_len` runs past the end: libc hands it over with that `cmsg_len` and
///    stops; RawIter yields it with its data clamped to the buffer, and stops too;
/// 2. a header whose `cmsg_len` is below the header size: libc hands it over and stops;
///    RawIter stops before it;
/// 3. on musl (and in the `libc` crate's copy of its macro) `CMSG_NXTHDR` ends the walk when
///    the next header would end exactly at the end of the buffer (`>=` where glibc has `>`):
///    a last message that is only a header (or whose header is all that fits) is not handed
///    over; RawIter yields it.
fn compare_with_libc(
    ours: &[RawCmsg<'_>],
    buf_start: usize,
    buf_len: usize,
    theirs: &[LibcHeader],
    end: LibcEnd,
    name: Nxthdr,
) {
    for (i, (m, t)) in ours.iter().zip(theirs).enumerate() {
        let h = t.header;
        assert_eq!(
            (m.offset, m.cmsg_len, m.level, m.ty),
            (h.offset, h.cmsg_len, h.level, h.ty),
            "message {i} differs from {name:?}"
        );
        assert_eq!(
            m.data.as_ptr() as usize - buf_start,
            t.data_offset,
            "CMSG_DATA of message {i}"
        );
        if m.is_truncated() {
            // Difference 1: libc stops after it as well.
            assert_eq!(
                theirs.len(),
                i + 1,
                "{name:?} goes on after a message running past the end"
            );
        }
    }
    match end {
        LibcEnd::Null => match theirs.len().checked_sub(ours.len()) {
            Some(0) => {}
            // Difference 2: libc's last header is one RawIter refuses.
            Some(1) => {
                let last = theirs.last().expect("one more").header;
                assert!(
                    last.cmsg_len < HEADER_LEN,
                    "{name:?} yields a header RawIter does not, with cmsg_len {}",
                    last.cmsg_len
                );
            }
            // Difference 3: musl's walk stops before a last header that fills the buffer.
            None if cfg!(target_env = "musl")
                && name == Nxthdr::LibcCrate
                && ours.len() == theirs.len() + 1
                && ours
                    .last()
                    .is_some_and(|m| m.offset + HEADER_LEN == buf_len) => {}
            _ => panic!(
                "undocumented difference: RawIter yields {} messages, {name:?} {}",
                ours.len(),
                theirs.len()
            ),
        },
        // Compared as far as libc's walk went.
        LibcEnd::OutOfBounds | LibcEnd::NotCalled => {
            assert!(
                ours.len() >= theirs.len(),
                "{name:?} found more before it stopped"
            );
        }
    }
}

/// Copies `bytes` into storage aligned for `cmsghdr` and runs `f` on the copy.
fn with_aligned_copy<R>(bytes: &[u8], f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut storage = vec![0u8; bytes.len() + align_of::<libc::cmsghdr>()];
    let buf = &mut cmsg::aligned_mut(&mut storage)[..bytes.len()];
    buf.copy_from_slice(bytes);
    f(buf)
}

/// Walks `buf` with RawIter and with each libc walk and compares them; returns how many headers
/// each libc walk found and how it ended.
fn diff_with_libc(buf: &mut [u8]) -> Vec<(Nxthdr, usize, LibcEnd)> {
    let walks = [
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        Nxthdr::Glibc,
        Nxthdr::LibcCrate,
    ];
    let theirs: Vec<_> = walks.map(|nxthdr| (nxthdr, libc_walk(buf, nxthdr))).into();
    let ours = checked_walk(buf);
    let start = buf.as_ptr() as usize;
    theirs
        .into_iter()
        .map(|(nxthdr, (headers, end))| {
            compare_with_libc(&ours, start, buf.len(), &headers, end, nxthdr);
            (nxthdr, headers.len(), end)
        })
        .collect()
}

/// `cmsg_libc_diff`: the input of [`cmsg_decode`], copied into aligned storage, walked by
/// RawIter and by libc's `CMSG_FIRSTHDR`/`CMSG_NXTHDR` (glibc's own and the `libc` crate's):
/// the same headers at the same offsets, but for the documented differences.
pub(crate) fn cmsg_libc_diff(data: &[u8]) {
    let (controllen, bytes) = split_control_input(data);
    let walked = &bytes[..controllen.min(bytes.len())];
    with_aligned_copy(walked, diff_with_libc);
}

/// A round trip: messages pushed into storage of some size, then decoded.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) struct RoundtripInput {
    /// Bytes of storage before it is aligned.
    pub(crate) capacity: u16,
    /// Where the storage starts relative to an aligned address (taken modulo the alignment of
    /// `cmsghdr`).
    pub(crate) misalign: u8,
    pub(crate) msgs: Vec<Msg>,
}

/// Most fds one `Msg::Rights` pushes.
pub(crate) const MAX_FDS_PER_MSG: usize = 300;

/// One message to push.
#[derive(Arbitrary, Debug, Clone)]
pub(crate) enum Msg {
    /// `push_rights` with these numbers (made non-negative; the first 300).
    Rights(Vec<u32>),
    /// `push_rights` with `count % 301` consecutive numbers from `first` (made non-negative).
    RightsRun { count: u16, first: u32 },
    /// `push_raw_rights` with the whole 4-byte words of the bytes as numbers.
    RawRights(Vec<u8>),
    /// `push_credentials`.
    Credentials { pid: i32, uid: u32, gid: u32 },
    /// `push_raw` with any level, type and data (refused for `SOL_SOCKET`/`SCM_RIGHTS`).
    Raw { level: i32, ty: i32, data: Vec<u8> },
}

/// The whole 4-byte words of `data` as descriptor numbers.
fn words(data: &[u8]) -> Vec<i32> {
    data.chunks_exact(4)
        .map(|w| i32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

impl Msg {
    /// The descriptor numbers a rights message pushes.
    fn fd_numbers(&self) -> Vec<i32> {
        let nonneg = |n: u32| (n & i32::MAX as u32) as i32;
        match self {
            Msg::Rights(v) => v.iter().take(MAX_FDS_PER_MSG).map(|&n| nonneg(n)).collect(),
            Msg::RightsRun { count, first } => (0..usize::from(*count) % (MAX_FDS_PER_MSG + 1))
                .map(|i| nonneg(first.wrapping_add(i as u32)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Push for Msg {
    fn expected(&self) -> Expected {
        let rights = (libc::SOL_SOCKET, libc::SCM_RIGHTS);
        let (level, ty, data, fds) = match self {
            Msg::Rights(_) | Msg::RightsRun { .. } => {
                let fds = self.fd_numbers();
                let data = fds.iter().flat_map(|n| n.to_ne_bytes()).collect();
                (rights.0, rights.1, data, fds.len())
            }
            Msg::RawRights(data) => {
                let whole = data.len() / 4 * 4;
                (rights.0, rights.1, data[..whole].to_vec(), data.len() / 4)
            }
            Msg::Credentials { pid, uid, gid } => {
                let data = [pid.to_ne_bytes(), uid.to_ne_bytes(), gid.to_ne_bytes()].concat();
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS, data, 0)
            }
            Msg::Raw { level, ty, data } => (*level, *ty, data.clone(), 0),
        };
        // Raw SCM_RIGHTS is refused whatever the room.
        let refused = matches!(self, Msg::Raw { level, ty, .. }
            if (*level, *ty) == rights);
        Expected {
            level,
            ty,
            data,
            fds,
            refused,
        }
    }

    fn push(&self, enc: &mut Encoder<'_, '_>) -> Result<(), Error> {
        match self {
            Msg::Rights(_) | Msg::RightsRun { .. } => {
                let fds: Vec<BorrowedFd<'_>> = self
                    .fd_numbers()
                    .into_iter()
                    // SAFETY: every number is non-negative, so never the -1 that BorrowedFd
                    // cannot hold. No descriptor is sent, closed or otherwise used: the encoder
                    // only copies the number into the storage, which nothing passes to the
                    // kernel, so whether it names an open file does not matter.
                    .map(|n| unsafe { BorrowedFd::borrow_raw(n) })
                    .collect();
                enc.push_rights(&fds).map(drop)
            }
            // SAFETY: as for Rights: the numbers are only copied into storage that nothing passes
            // to the kernel.
            Msg::RawRights(data) => unsafe { enc.push_raw_rights(&words(data)) }.map(drop),
            Msg::Credentials { pid, uid, gid } => enc
                .push_credentials(Credentials {
                    pid: *pid,
                    uid: *uid,
                    gid: *gid,
                })
                .map(drop),
            Msg::Raw { level, ty, data } => enc.push_raw(*level, *ty, data).map(drop),
        }
    }
}

/// `libc::CMSG_SPACE(n)` and `libc::CMSG_LEN(n)`.
fn libc_space_len(n: usize) -> (usize, usize) {
    let n = u32::try_from(n).expect("data length fits in u32");
    // SAFETY: CMSG_SPACE and CMSG_LEN are arithmetic on their argument only.
    unsafe { (libc::CMSG_SPACE(n) as usize, libc::CMSG_LEN(n) as usize) }
}

/// What one push must write, by the rules the encoder documents.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    pub(crate) level: libc::c_int,
    pub(crate) ty: libc::c_int,
    pub(crate) data: Vec<u8>,
    /// Descriptors the push adds to `fd_count`.
    pub(crate) fds: usize,
    /// Refused with `Error::RawRights` whatever the room (a raw `SCM_RIGHTS`).
    pub(crate) refused: bool,
}

/// A message that a check pushes with one of the encoder's methods.
pub(crate) trait Push: std::fmt::Debug {
    /// What the push must write.
    fn expected(&self) -> Expected;
    /// Pushes the message.
    fn push(&self, enc: &mut Encoder<'_, '_>) -> Result<(), Error>;
}

/// A message the encoder wrote.
#[derive(Debug)]
pub(crate) struct Pushed {
    /// Its index in the messages given to [`encode_checked`].
    pub(crate) index: usize,
    /// Where it starts in the encoded bytes.
    pub(crate) offset: usize,
    pub(crate) expected: Expected,
}

/// The byte the storage holds before anything is pushed, so that bytes an encoder should not
/// have written show.
const FILL: u8 = 0xA5;

/// The largest storage [`encode_checked`] takes, with room to misalign it.
const MAX_STORAGE: usize = u16::MAX as usize + 2 * ALIGN;

thread_local! {
    /// The storage and its model, allocated once per thread: a fresh 64 KiB block per input
    /// costs the fuzzer page faults and allocator work on every run.
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> =
        RefCell::new((vec![0; MAX_STORAGE], vec![0; MAX_STORAGE]));
}

/// Writes into `dst` (exactly `CMSG_SPACE` of the data long) the message `e` describes, as
/// libc lays it out: a `cmsghdr`, the data at `CMSG_DATA`, zeroes elsewhere.
fn write_expected(dst: &mut [u8], e: &Expected) {
    let (space, len) = libc_space_len(e.data.len());
    let data_offset = libc_space_len(0).1;
    assert_eq!(dst.len(), space);
    dst.fill(0);
    // SAFETY: cmsghdr is plain integers (and, on some targets, explicit integer padding); the
    // all-zero value is valid.
    let mut h: libc::cmsghdr = unsafe { std::mem::zeroed() };
    h.cmsg_len = len as _;
    h.cmsg_level = e.level;
    h.cmsg_type = e.ty;
    assert!(dst.len() >= size_of::<libc::cmsghdr>());
    // SAFETY: dst holds at least size_of::<cmsghdr>() bytes (asserted just above), and
    // write_unaligned has no alignment requirement.
    unsafe { dst.as_mut_ptr().cast::<libc::cmsghdr>().write_unaligned(h) };
    dst[data_offset..data_offset + e.data.len()].copy_from_slice(&e.data);
}

/// Panics with the first offset where `got` differs from `want`.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &dyn std::fmt::Display) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: storage differs from what it must hold at offset {at:?} \
             (of {} bytes)",
            got.len()
        );
    }
}

/// Pushes `msgs` into `capacity` bytes of dirty storage that starts `misalign` bytes past an
/// aligned address, checks every push, then runs `f` on the encoded bytes (aligned) and the
/// messages written.
///
/// Each push either fails with `Error::Capacity` whose `needed` and `available` are exactly
/// right (`Error::RawRights` for a refused one), or succeeds; `len`, `fd_count`, `remaining`
/// and `is_empty` follow. A model of the storage says what every byte must hold: the fill byte,
/// then each message written exactly as libc lays it out. After every failed push the storage
/// the encoder can reach must equal the model, byte for byte (a failed push writes nothing),
/// and the encoder's length and fd count must be what they were before it.
///
/// Reading the storage needs the encoder gone, so a failed push ends the encoder: the pushes
/// after it go to a new encoder over the storage from where the last message ended (messages
/// fill it contiguously, so the result is the same bytes). A push can thus fail after others
/// (an encoder with a length) as well as first.
pub(crate) fn encode_checked<M: Push, R>(
    capacity: usize,
    misalign: usize,
    msgs: &[M],
    f: impl FnOnce(&mut [u8], &[Pushed]) -> R,
) -> R {
    assert!(capacity <= usize::from(u16::MAX) && misalign < STORAGE_ALIGN);
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let (backing, model) = &mut *scratch;
        let start = backing.as_ptr().align_offset(STORAGE_ALIGN) + misalign;
        let storage = &mut backing[start..start + capacity];
        storage.fill(FILL);
        let model = &mut model[..capacity];
        model.fill(FILL);
        // The aligned part the encoder uses: storage too short to hold an aligned address
        // leaves it empty.
        let skip = storage.as_ptr().align_offset(STORAGE_ALIGN).min(capacity);
        let available = capacity - skip;

        let mut pushed = Vec::new();
        let (mut total, mut fds) = (0usize, 0usize);
        let mut next = 0usize;
        // Where the current encoder starts in the aligned part; `None` for the first, which
        // gets the whole (maybe misaligned) storage and aligns it itself.
        let mut segment: Option<(usize, usize)> = None;
        loop {
            let (base, base_fds) = segment.unwrap_or((0, 0));
            let mut enc = match segment {
                None => Encoder::new(&mut *storage),
                Some((base, _)) => Encoder::new(&mut storage[skip + base..]),
            };
            assert_eq!(enc.capacity(), available - base, "aligned capacity");
            let mut failed = false;
            while let Some(msg) = msgs.get(next) {
                let e = msg.expected();
                let (space, _) = libc_space_len(e.data.len());
                let before = (enc.len(), enc.fd_count());
                let result = msg.push(&mut enc);
                let needed = total + space;
                if e.refused {
                    assert_eq!(result, Err(Error::RawRights), "{msg:?}");
                } else if needed > available {
                    assert_eq!(
                        result,
                        Err(Error::Capacity {
                            needed: needed - base,
                            available: available - base
                        }),
                        "{msg:?}"
                    );
                } else {
                    assert_eq!(
                        result,
                        Ok(()),
                        "{msg:?} into {} free bytes",
                        available - total
                    );
                    write_expected(&mut model[skip + total..skip + needed], &e);
                    fds += e.fds;
                    pushed.push(Pushed {
                        index: next,
                        offset: total,
                        expected: e,
                    });
                    total = needed;
                }
                next += 1;
                if result.is_err() {
                    assert_eq!(
                        (enc.len(), enc.fd_count()),
                        before,
                        "a failed push changed the encoder: {msg:?}"
                    );
                }
                assert_eq!((enc.len(), enc.fd_count()), (total - base, fds - base_fds));
                assert_eq!(enc.remaining(), available - total);
                assert_eq!(enc.is_empty(), total == base);
                assert_eq!(enc.as_bytes().len(), total - base);
                if result.is_err() {
                    failed = true;
                    break;
                }
            }
            // (The encoder is not used again: the storage can be read.) What this encoder could reach holds exactly the model: the messages pushed, the
            // fill byte everywhere else (and so nothing a failed push wrote).
            let reach = match segment {
                None => 0,
                Some((base, _)) => skip + base,
            };
            let what = match next.checked_sub(1).and_then(|i| msgs.get(i)) {
                Some(last) if failed => format!("after the failed push of {last:?}"),
                _ => "after the last push".to_string(),
            };
            assert_same_bytes(&storage[reach..], &model[reach..], &what);
            if !failed {
                break;
            }
            segment = Some((total, fds));
        }
        f(&mut storage[skip..skip + total], &pushed)
    })
}

/// The round trip: every push checked by [`encode_checked`] (exact errors, a failed push
/// changes nothing, the storage holds exactly the messages as libc lays them out); the bytes
/// decode to exactly the messages pushed and walk the same with libc.
pub(crate) fn check_roundtrip(input: &RoundtripInput) {
    let (ucred_pid, ucred_uid, ucred_gid) = (
        offset_of!(libc::ucred, pid),
        offset_of!(libc::ucred, uid),
        offset_of!(libc::ucred, gid),
    );
    assert_eq!(
        (ucred_pid, ucred_uid, ucred_gid, size_of::<libc::ucred>()),
        (0, 4, 8, 12)
    );

    let capacity = usize::from(input.capacity);
    let misalign = usize::from(input.misalign) % STORAGE_ALIGN;
    encode_checked(capacity, misalign, &input.msgs, |bytes, pushed| {
        if !bytes.is_empty() {
            assert_eq!(
                bytes.as_ptr() as usize % STORAGE_ALIGN,
                0,
                "encoded bytes unaligned"
            );
        }
        let items = checked_walk(bytes);
        assert_eq!(items.len(), pushed.len(), "messages decoded");
        for (m, p) in items.iter().zip(pushed) {
            let e = &p.expected;
            let (_, len) = libc_space_len(e.data.len());
            assert_eq!(
                (m.level, m.ty, m.offset, m.cmsg_len),
                (e.level, e.ty, p.offset, len)
            );
            assert_eq!(m.data, &e.data[..]);
            assert!(!m.is_truncated());
        }
        // (Header and padding bytes were compared with libc's layout by encode_checked.)
        // libc walks well-formed bytes exactly as RawIter does. (Empty bytes may lie where no
        // aligned address is, and libc has nothing to walk there.)
        // musl's walk misses a last message that is only a header (difference 3 of
        // `compare_with_libc`).
        let header_only_last =
            pushed.len() > 1 && pushed.last().is_some_and(|p| p.expected.data.is_empty());
        if !bytes.is_empty() {
            with_aligned_copy(bytes, |buf| {
                for (nxthdr, found, end) in diff_with_libc(buf) {
                    let musl_short = cfg!(target_env = "musl")
                        && nxthdr == Nxthdr::LibcCrate
                        && header_only_last;
                    let want = pushed.len() - usize::from(musl_short);
                    assert_eq!((found, end), (want, LibcEnd::Null), "{nxthdr:?}");
                }
            });
        }
    });
}

/// `cmsg_roundtrip`: the input read as a [`RoundtripInput`] by `arbitrary`, then
/// [`check_roundtrip`].
pub(crate) fn cmsg_roundtrip(data: &[u8]) {
    if let Ok(input) = RoundtripInput::arbitrary_take_rest(Unstructured::new(data)) {
        check_roundtrip(&input);
    }
}
