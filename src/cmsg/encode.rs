//! The encoder: appends control messages to aligned storage.

use std::marker::PhantomData;
use std::mem::size_of;
#[cfg(unix)]
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

#[cfg(has_ucred)]
use super::creds::{Credentials, UCRED_LEN};
use super::decode::{HeaderFormat, Native};
#[cfg(unix)]
use super::HEADER_LEN;
use super::{aligned_mut, Layout, ALIGN};
use crate::{Error, Result};

const FD_LEN: usize = size_of::<libc::c_int>();

/// Appends control messages to caller storage, ready for `sendmsg(2)` (`WSASendMsg` on
/// Windows).
///
/// Each push writes a complete message (header, data, zeroed padding) or nothing: when the
/// storage is too small the push fails with [`Error::Capacity`] and the encoder is unchanged.
/// The `'fd` lifetime keeps every descriptor pushed with `push_rights` open for as long as the
/// encoder (and a [`SendMsg`](crate::SendMsg) that uses it) lives. On Windows, which passes no
/// descriptors, the encoder writes the `WSACMSGHDR` layout and `'fd` bounds nothing; its typed
/// Windows messages (`IP_ECN`, `UDP_SEND_MSG_SIZE`, ...) are pushed with `push` and an
/// `ancillary::windows::cmsg::ControlMessage`.
///
/// ```
/// use std::os::fd::AsFd;
/// use ancillary::cmsg::{space_for_fds, CmsgBuffer, Credentials, CREDENTIALS_SPACE};
///
/// let file = std::fs::File::open("/dev/null")?;
/// let mut storage = CmsgBuffer::<{ space_for_fds(1) + CREDENTIALS_SPACE }>::new();
/// let mut control = storage.encoder();
/// control.push_rights(&[file.as_fd()])?;
/// control.push_credentials(Credentials::current())?;
/// assert_eq!(control.len(), storage_len());
/// assert_eq!(control.fd_count(), 1);
/// # fn storage_len() -> usize { space_for_fds(1) + CREDENTIALS_SPACE }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "cmsghdr")]
#[doc(alias = "CMSG_FIRSTHDR")]
#[doc(alias = "CMSG_NXTHDR")]
pub struct Encoder<'b, 'fd> {
    buf: &'b mut [u8],
    len: usize,
    #[cfg(unix)]
    fds: usize,
    #[cfg(unix)]
    _fds: PhantomData<BorrowedFd<'fd>>,
    #[cfg(not(unix))]
    _fds: PhantomData<&'fd ()>,
}

impl<'b, 'fd> Encoder<'b, 'fd> {
    /// An encoder over `buf`, which it first aligns forward for `cmsghdr` (a [`CmsgBuffer`]
    /// is already aligned; a byte slice from a `Vec` may lose up to 7 bytes).
    ///
    /// [`CmsgBuffer`]: super::CmsgBuffer
    #[inline]
    pub fn new(buf: &'b mut [u8]) -> Self {
        Encoder {
            buf: aligned_mut(buf),
            len: 0,
            #[cfg(unix)]
            fds: 0,
            _fds: PhantomData,
        }
    }

    /// `SCM_RIGHTS`: pass these descriptors. The receiver gets new descriptors for the same
    /// open files.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage is too small. The kernel's limit of 253 fds per
    /// message is checked when sending, over all `SCM_RIGHTS` messages together.
    #[doc(alias = "SCM_RIGHTS")]
    #[cfg(unix)]
    #[inline]
    pub fn push_rights(&mut self, fds: &[BorrowedFd<'fd>]) -> Result<&mut Self> {
        let data_len = fds
            .len()
            .checked_mul(FD_LEN)
            .ok_or(self.too_big(usize::MAX))?;
        let data = self.reserve(libc::SOL_SOCKET, libc::SCM_RIGHTS, data_len)?;
        // One descriptor is one 4-byte store: an array assignment, which cannot be merged with
        // the general case into one `memcpy` call (as a `copy_from_slice` of 4 bytes was).
        if let ([fd], Some(slot)) = (fds, data.first_chunk_mut::<FD_LEN>()) {
            *slot = fd.as_raw_fd().to_ne_bytes();
        } else {
            // SAFETY: BorrowedFd is `repr(transparent)` over RawFd (its documented
            // representation is a host file descriptor), so `fds` is `data_len` initialized
            // bytes of descriptor numbers, readable for the borrow's length.
            let raw = unsafe { std::slice::from_raw_parts(fds.as_ptr().cast::<u8>(), data_len) };
            data.copy_from_slice(raw);
        }
        self.fds += fds.len();
        Ok(self)
    }

    /// `SCM_CREDENTIALS`: claim these credentials (see [`Credentials`] for what the kernel
    /// accepts). The receiver needs `SO_PASSCRED`.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage is too small.
    #[doc(alias = "SCM_CREDENTIALS")]
    #[cfg(has_ucred)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    #[inline]
    pub fn push_credentials(&mut self, creds: Credentials) -> Result<&mut Self> {
        let data = self.reserve(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, UCRED_LEN)?;
        data.copy_from_slice(&creds.to_bytes());
        Ok(self)
    }

    /// `SCM_CREDS` with a zeroed `struct cmsgcred`: ask the kernel to attach this process's
    /// credentials (pid, real and effective uid, real gid, up to 16 groups), which it writes
    /// over the zeroes; the sender claims nothing. The receiver reads them with
    /// [`ScmCreds::cmsgcred`](super::ScmCreds::cmsgcred) (or
    /// [`Received::scm_creds`](crate::Received::scm_creds)), unless it set `LOCAL_CREDS`, which
    /// makes the kernel send its own `struct sockcred` in place of this message. Only on a Unix
    /// socket; count [`CMSGCRED_SPACE`](super::CMSGCRED_SPACE) in the storage.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage is too small.
    #[doc(alias = "SCM_CREDS")]
    #[doc(alias = "cmsgcred")]
    #[cfg(freebsd)]
    #[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
    #[inline]
    pub fn push_creds(&mut self) -> Result<&mut Self> {
        let data = self.reserve(
            libc::SOL_SOCKET,
            libc::SCM_CREDS,
            size_of::<libc::cmsgcred>(),
        )?;
        data.fill(0);
        Ok(self)
    }

    /// `SCM_RIGHTS` from raw descriptor numbers, for callers that hold no `BorrowedFd`.
    ///
    /// # Safety
    /// Every number must be an open descriptor that stays open until the message has been sent
    /// (or dropped unsent): nothing in the encoder's type keeps it open, and passing a number
    /// that was closed and reused would hand an unrelated file to the receiver.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage is too small.
    #[doc(alias = "SCM_RIGHTS")]
    #[cfg(unix)]
    #[inline]
    pub unsafe fn push_raw_rights(&mut self, fds: &[RawFd]) -> Result<&mut Self> {
        let available = self.buf.len();
        let data_len = fds.len().checked_mul(FD_LEN).ok_or(Error::Capacity {
            needed: usize::MAX,
            available,
        })?;
        let data = self.reserve(libc::SOL_SOCKET, libc::SCM_RIGHTS, data_len)?;
        for (slot, fd) in data.chunks_exact_mut(FD_LEN).zip(fds) {
            slot.copy_from_slice(&fd.to_ne_bytes());
        }
        self.fds += fds.len();
        Ok(self)
    }

    /// Any control message, given as level, type and data bytes, written as they are: for
    /// messages this encoder has no method for.
    ///
    /// # Errors
    /// - `Error::RawRights` for `SOL_SOCKET`/`SCM_RIGHTS` (Unix): raw bytes would pass
    ///   descriptor numbers that nothing keeps open; use `push_rights` or `push_raw_rights`;
    /// - [`Error::Capacity`] if the storage is too small.
    #[inline]
    pub fn push_raw(
        &mut self,
        level: libc::c_int,
        ty: libc::c_int,
        data: &[u8],
    ) -> Result<&mut Self> {
        #[cfg(unix)]
        if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS {
            return Err(Error::RawRights);
        }
        let dst = self.reserve(level, ty, data.len())?;
        dst.copy_from_slice(data);
        Ok(self)
    }

    /// The encoded bytes: what goes into `msg_control`, `msg_controllen` long.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Bytes encoded so far (the sum of `CMSG_SPACE` of the messages).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was pushed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of (aligned) storage.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes still free.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Descriptors over all `SCM_RIGHTS` messages pushed.
    #[cfg(unix)]
    #[inline]
    pub fn fd_count(&self) -> usize {
        self.fds
    }

    /// Forgets every message, keeping the storage.
    ///
    /// The encoder keeps its `'fd` lifetime: to encode descriptors that live shorter (a loop
    /// that opens a file per message), make a new encoder per message instead
    /// ([`CmsgBuffer::encoder`](super::CmsgBuffer::encoder) costs nothing).
    pub fn clear(&mut self) {
        self.len = 0;
        #[cfg(unix)]
        {
            self.fds = 0;
        }
    }

    #[cfg(unix)]
    fn too_big(&self, needed: usize) -> Error {
        Error::Capacity {
            needed,
            available: self.buf.len(),
        }
    }

    /// Writes a header for `data_len` bytes of data, zeroes the padding and returns the data
    /// bytes, which the caller must overwrite entirely.
    #[inline]
    fn reserve(
        &mut self,
        level: libc::c_int,
        ty: libc::c_int,
        data_len: usize,
    ) -> Result<&mut [u8]> {
        let (data, end) = reserve_in(Native, self.buf, self.len, level, ty, data_len)?;
        self.len = end;
        Ok(data)
    }
}

/// Writes a message of `data_len` bytes of data at `len` in `buf` in format `h`: the header,
/// zeroed padding; returns the data bytes (which the caller must overwrite entirely) and the
/// new length. Nothing is written on error.
#[inline(always)]
fn reserve_in<H: HeaderFormat>(
    h: H,
    buf: &mut [u8],
    len: usize,
    level: libc::c_int,
    ty: libc::c_int,
    data_len: usize,
) -> Result<(&mut [u8], usize)> {
    let layout = h.layout();
    let available = buf.len();
    let overflow = || Error::Capacity {
        needed: usize::MAX,
        available,
    };
    let space = layout.checked_space(data_len).ok_or_else(overflow)?;
    let end = len.checked_add(space).ok_or_else(overflow)?;
    if end > available {
        return Err(Error::Capacity {
            needed: end,
            available,
        });
    }
    let data_offset = layout.data_offset();
    let header_len = layout.header_len();
    let cmsg_len = data_offset + data_len; // cannot overflow: <= space
    let msg = &mut buf[len..end];
    let (head, rest) = msg.split_at_mut(data_offset);
    h.write(&mut head[..header_len], cmsg_len, level, ty)
        .map_err(|()| Error::Capacity {
            needed: cmsg_len,
            available: header_len,
        })?;
    head[header_len..].fill(0);
    if H::NATIVE {
        // The padding is shorter than ALIGN and ends the message: zero the message's last
        // ALIGN bytes with one store, then hand out the data, which the caller overwrites.
        if let Some(tail) = rest.last_chunk_mut::<ALIGN>() {
            *tail = [0; ALIGN];
        }
    } else {
        rest[data_len..].fill(0);
    }
    Ok((&mut rest[..data_len], end))
}

/// Writes control messages in another system's layout ([`Layout`]): the bytes its
/// `CMSG_FIRSTHDR`, `CMSG_NXTHDR`, `CMSG_LEN` and `CMSG_DATA` would produce, with `cmsg_len`
/// as that system's field (8 bytes for [`Layout::LINUX_64`], 4 for the others) in this
/// machine's byte order.
///
/// A tool for tests and tools that build other systems' bytes; nothing it writes is meant for
/// this system's `sendmsg`, so it takes no descriptors to keep open, only numbers. Levels and
/// types are the other system's numbers (`SOL_SOCKET` is `0xffff` on the BSDs and macOS, 1 on
/// Linux; `SCM_RIGHTS` is 1 on all of them). The storage is used from its first byte,
/// unaligned. Each push writes a whole message or fails with [`Error::Capacity`], changing
/// nothing.
///
/// ```
/// use ancillary::cmsg::{ForeignEncoder, Layout};
/// let mut buf = [0xAA; 32];
/// let mut enc = ForeignEncoder::new(&mut buf, Layout::FREEBSD_64);
/// enc.push_rights(0xffff, &[7])?;
/// assert_eq!(enc.len(), 24); // data at 16, padded to 8
/// assert_eq!(&enc.as_bytes()[..4], &20u32.to_ne_bytes());
/// # Ok::<(), ancillary::Error>(())
/// ```
#[derive(Debug)]
pub struct ForeignEncoder<'b> {
    buf: &'b mut [u8],
    len: usize,
    layout: Layout,
}

impl<'b> ForeignEncoder<'b> {
    /// An encoder over `buf` writing in `layout`.
    pub fn new(buf: &'b mut [u8], layout: Layout) -> Self {
        ForeignEncoder {
            buf,
            len: 0,
            layout,
        }
    }

    /// The layout written.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Any control message: level, type and data bytes, written as they are.
    ///
    /// # Errors
    /// [`Error::Capacity`] if the storage is too small, or if the message's `cmsg_len` does
    /// not fit the layout's field.
    pub fn push_raw(&mut self, level: i32, ty: i32, data: &[u8]) -> Result<&mut Self> {
        let (dst, end) = reserve_in(self.layout, self.buf, self.len, level, ty, data.len())?;
        dst.copy_from_slice(data);
        self.len = end;
        Ok(self)
    }

    /// An `SCM_RIGHTS` message (type 1 on every system) at level `sol_socket` (that system's
    /// `SOL_SOCKET`) carrying these descriptor numbers as 4-byte ints.
    ///
    /// # Errors
    /// [`Error::Capacity`] as for [`push_raw`](Self::push_raw).
    #[doc(alias = "SCM_RIGHTS")]
    pub fn push_rights(&mut self, sol_socket: i32, fds: &[i32]) -> Result<&mut Self> {
        let data_len = fds.len().checked_mul(FD_LEN).ok_or(Error::Capacity {
            needed: usize::MAX,
            available: self.buf.len(),
        })?;
        let (dst, end) = reserve_in(self.layout, self.buf, self.len, sol_socket, 1, data_len)?;
        for (slot, fd) in dst.chunks_exact_mut(FD_LEN).zip(fds) {
            slot.copy_from_slice(&fd.to_ne_bytes());
        }
        self.len = end;
        Ok(self)
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Bytes encoded so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

// glibc: `size_t cmsg_len; int cmsg_level; int cmsg_type;`, no implicit padding. (musl makes
// its padding an explicit field, which `mem::zeroed` initializes.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const _: () = assert!(
    std::mem::offset_of!(libc::cmsghdr, cmsg_level) == size_of::<usize>()
        && std::mem::offset_of!(libc::cmsghdr, cmsg_type) == size_of::<usize>() + 4
        && HEADER_LEN == size_of::<usize>() + 8
);

/// Writes a `cmsghdr` into `dst` (exactly `HEADER_LEN` bytes); `Err` if `cmsg_len` does not
/// fit its field.
#[cfg(unix)]
#[inline]
pub(super) fn write_header(
    dst: &mut [u8],
    cmsg_len: usize,
    level: libc::c_int,
    ty: libc::c_int,
) -> std::result::Result<(), ()> {
    assert_eq!(dst.len(), HEADER_LEN);
    // SAFETY: cmsghdr is plain integers (and, on some targets, explicit integer padding); the
    // all-zero value is valid.
    let mut hdr: libc::cmsghdr = unsafe { std::mem::zeroed() };
    #[allow(clippy::useless_conversion)]
    {
        hdr.cmsg_len = cmsg_len.try_into().map_err(|_| ())?;
    }
    hdr.cmsg_level = level;
    hdr.cmsg_type = ty;
    // SAFETY: dst is HEADER_LEN = size_of::<cmsghdr>() writable bytes (asserted above);
    // write_unaligned has no alignment requirement; cmsghdr has no implicit padding (asserted
    // at compile time for glibc above), so every byte written is initialized.
    unsafe { std::ptr::write_unaligned(dst.as_mut_ptr().cast::<libc::cmsghdr>(), hdr) };
    Ok(())
}

impl std::fmt::Debug for Encoder<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Encoder");
        d.field("len", &self.len).field("capacity", &self.buf.len());
        #[cfg(unix)]
        d.field("fds", &self.fds);
        d.finish()
    }
}

// Byte vectors of Linux messages (SOL_IP, credentials).
#[cfg(all(test, linux_like))]
mod tests {
    use super::*;
    use crate::cmsg::{space, space_for_fds, CmsgBuffer, RawIter, DATA_OFFSET};
    use std::os::fd::AsFd;

    #[test]
    fn encodes_like_libc_macros() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let g = std::fs::File::open("/dev/null").unwrap();
        let mut ours = CmsgBuffer::<128>::new();
        let mut enc = ours.encoder();
        enc.push_rights(&[f.as_fd(), g.as_fd()]).unwrap();
        enc.push_raw(libc::SOL_IP, libc::IP_TOS, &[1, 2, 3])
            .unwrap();
        let n = enc.len();
        assert_eq!(n, space_for_fds(2) + space(3));

        // The same with CMSG_FIRSTHDR / CMSG_NXTHDR / CMSG_DATA into 0xAA-filled storage.
        let mut theirs = CmsgBuffer::<128>::new();
        theirs.fill(0xAA);
        // SAFETY: msghdr is plain data; zero is valid.
        let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
        mh.msg_control = theirs.as_mut_ptr().cast();
        mh.msg_controllen = n as _;
        // SAFETY: the buffer is 128 bytes, aligned, and msg_controllen covers both messages.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&mh);
            std::ptr::write_bytes(c.cast::<u8>(), 0, space(8));
            (*c).cmsg_len = libc::CMSG_LEN(8) as _;
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            let d = libc::CMSG_DATA(c).cast::<libc::c_int>();
            d.write_unaligned(f.as_raw_fd());
            d.add(1).write_unaligned(g.as_raw_fd());
            let c = libc::CMSG_NXTHDR(&mh, c);
            std::ptr::write_bytes(c.cast::<u8>(), 0, space(3));
            (*c).cmsg_len = libc::CMSG_LEN(3) as _;
            (*c).cmsg_level = libc::SOL_IP;
            (*c).cmsg_type = libc::IP_TOS;
            std::ptr::copy_nonoverlapping([1u8, 2, 3].as_ptr(), libc::CMSG_DATA(c), 3);
        }
        assert_eq!(ours[..n], theirs[..n]);
    }

    #[test]
    fn full_storage_is_an_error_and_changes_nothing() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let mut st = CmsgBuffer::<{ space_for_fds(1) }>::new();
        let mut enc = st.encoder();
        enc.push_rights(&[f.as_fd()]).unwrap();
        let before = enc.as_bytes().to_vec();
        let err = enc.push_rights(&[f.as_fd()]).unwrap_err();
        assert_eq!(
            err,
            Error::Capacity {
                needed: 2 * space_for_fds(1),
                available: space_for_fds(1)
            }
        );
        assert_eq!(enc.as_bytes(), &before[..]);
        assert_eq!(enc.fd_count(), 1);
        let err = enc.push_raw(1, 2, &[0; 1000]).unwrap_err();
        assert!(
            matches!(err, Error::Capacity { needed, .. } if needed == space_for_fds(1) + space(1000))
        );
    }

    #[test]
    fn padding_is_zeroed_even_over_dirty_storage() {
        let mut st = CmsgBuffer::<64>::new();
        st.fill(0xFF);
        let mut enc = st.encoder();
        enc.push_raw(7, 9, &[0xAB]).unwrap();
        let b = enc.as_bytes();
        assert_eq!(b.len(), space(1));
        assert_eq!(b[DATA_OFFSET], 0xAB);
        assert!(b[DATA_OFFSET + 1..].iter().all(|&x| x == 0));
        let m = RawIter::new(b).next().unwrap();
        assert_eq!((m.level, m.ty, m.data), (7, 9, &[0xAB][..]));
    }

    #[test]
    fn raw_rights_count_and_unaligned_storage() {
        #[allow(clippy::useless_vec)] // a heap block is 16-aligned, so [1..] is not
        let mut v = vec![0u8; 100];
        let mut enc = Encoder::new(&mut v[1..]);
        assert!(enc.capacity() >= 92);
        assert_eq!(
            enc.push_raw(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[0; 12])
                .unwrap_err(),
            Error::RawRights
        );
        assert!(enc.is_empty());
        // SAFETY: 0, 1 and 2 are stdin, stdout and stderr, open for the whole test; the message
        // is never sent.
        unsafe { enc.push_raw_rights(&[0, 1, 2]) }.unwrap();
        assert_eq!(enc.fd_count(), 3);
        let m = RawIter::new(enc.as_bytes()).next().unwrap();
        assert_eq!(m.data, [0i32, 1, 2].map(i32::to_ne_bytes).concat());
        enc.clear();
        assert!(enc.is_empty());
        assert_eq!(enc.fd_count(), 0);
    }
}
