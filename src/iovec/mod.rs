//! Scatter/gather lists (`struct iovec`), pure: nothing here makes a system call.
//!
//! [`IoVecs`] gathers `&[u8]`, [`bytes::Bytes`] and any [`bytes::Buf`] for sending;
//! [`IoVecsMut`] scatters a receive into `&mut [u8]` buffers. Both keep up to
//! [`INLINE`] entries inline, without heap allocation.

use std::io::{IoSlice, IoSliceMut};
use std::ops::{Deref, DerefMut};

use bytes::Buf;
use smallvec::SmallVec;

/// Entries kept inline, without heap allocation.
pub const INLINE: usize = 8;

/// A gather list for sending: `IoSlice`s over the caller's buffers.
///
/// ```
/// use ancillary::IoVecs;
/// let body = bytes::Bytes::from_static(b" world");
/// let mut iov = IoVecs::new();
/// iov.push(b"hello").push_bytes(&body);
/// assert_eq!((iov.len(), iov.total_len()), (2, 11));
/// iov.advance(7);
/// assert_eq!(&*iov[0], b"orld");
/// ```
#[derive(Debug, Default, Clone)]
pub struct IoVecs<'a> {
    v: SmallVec<[IoSlice<'a>; INLINE]>,
    /// Entries before `head` were consumed by [`advance`](Self::advance): the list is
    /// `v[head..]`, so advancing never moves the entries left.
    head: usize,
}

impl<'a> IoVecs<'a> {
    /// An empty list.
    pub fn new() -> Self {
        IoVecs {
            v: SmallVec::new(),
            head: 0,
        }
    }

    /// A list of these slices, in order.
    pub fn from_slices(bufs: &[&'a [u8]]) -> Self {
        let mut v = IoVecs::new();
        for b in bufs {
            v.push(b);
        }
        v
    }

    /// Appends a slice.
    pub fn push(&mut self, buf: &'a [u8]) -> &mut Self {
        self.make_room(1);
        self.v.push(IoSlice::new(buf));
        self
    }

    /// Before storage would grow, reclaims the entries [`advance`](Self::advance) consumed.
    fn make_room(&mut self, extra: usize) {
        if self.head > 0 && self.v.len() + extra > self.v.capacity() {
            self.v.drain(..self.head);
            self.head = 0;
        }
    }

    /// Appends the bytes of a [`bytes::Bytes`] (no copy, no reference count change).
    pub fn push_bytes(&mut self, buf: &'a bytes::Bytes) -> &mut Self {
        self.push(buf)
    }

    /// Appends the chunks of any [`Buf`] as its `chunks_vectored` gives them, up to
    /// [`MAX_IOVECS`](crate::limits::MAX_IOVECS) entries in the list; returns the bytes
    /// appended, which is less than `buf.remaining()` when the buffer has more chunks than that
    /// or does not expose them all (a `Buf` that does not override `chunks_vectored` shows only
    /// its first chunk).
    pub fn push_buf<B: Buf + ?Sized>(&mut self, buf: &'a B) -> usize {
        self.make_room(INLINE);
        let start = self.v.len();
        let mut room = (self.v.inline_size().max(start + 1) - start).max(1);
        loop {
            let limit = crate::limits::MAX_IOVECS.saturating_sub(start - self.head);
            room = room.min(limit);
            if room == 0 {
                return 0;
            }
            self.v.resize(start + room, IoSlice::new(&[]));
            let n = buf.chunks_vectored(&mut self.v[start..]);
            let added: usize = self.v[start..start + n].iter().map(|s| s.len()).sum();
            if n < room || added >= buf.remaining() || room == limit {
                self.v.truncate(start + n);
                return added;
            }
            room *= 2;
        }
    }

    /// Entries in the list.
    pub fn len(&self) -> usize {
        self.v.len() - self.head
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes over all entries, at most `usize::MAX`: the same buffer may be pushed any number
    /// of times, so the lengths may add up past it (the kernel refuses such a list).
    pub fn total_len(&self) -> usize {
        self.as_slice()
            .iter()
            .fold(0usize, |n, s| n.saturating_add(s.len()))
    }

    /// The `IoSlice`s, ready for `sendmsg`.
    pub fn as_slice(&self) -> &[IoSlice<'a>] {
        &self.v[self.head..]
    }

    /// Removes every entry, keeping the storage.
    pub fn clear(&mut self) {
        self.v.clear();
        self.head = 0;
    }

    /// Drops the first `n` bytes (after a partial write): whole entries go, the first one left
    /// may start later. `n` larger than [`total_len`](Self::total_len) empties the list.
    ///
    /// Costs O(entries dropped): the entries left are not moved.
    pub fn advance(&mut self, mut n: usize) {
        for s in &self.v[self.head..] {
            if n < s.len() {
                break;
            }
            n -= s.len();
            self.head += 1;
        }
        if self.head == self.v.len() {
            self.clear();
        } else if n > 0 {
            self.v[self.head].advance(n);
        }
    }
}

impl<'a> Deref for IoVecs<'a> {
    type Target = [IoSlice<'a>];
    fn deref(&self) -> &[IoSlice<'a>] {
        self.as_slice()
    }
}

impl<'a> From<&'a [u8]> for IoVecs<'a> {
    fn from(b: &'a [u8]) -> Self {
        let mut v = IoVecs::new();
        v.push(b);
        v
    }
}

impl<'a> Extend<IoSlice<'a>> for IoVecs<'a> {
    fn extend<I: IntoIterator<Item = IoSlice<'a>>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.make_room(iter.size_hint().0);
        self.v.extend(iter);
    }
}

/// Collects `IoSlice`s, for example those of a `&[IoSlice]`; up to [`INLINE`] stay inline.
///
/// ```
/// use std::io::IoSlice;
/// use ancillary::IoVecs;
/// let bufs = [IoSlice::new(b"head"), IoSlice::new(b"body")];
/// let iov: IoVecs<'_> = bufs.iter().copied().collect();
/// assert_eq!(iov.total_len(), 8);
/// ```
impl<'a> FromIterator<IoSlice<'a>> for IoVecs<'a> {
    fn from_iter<I: IntoIterator<Item = IoSlice<'a>>>(iter: I) -> Self {
        IoVecs {
            v: iter.into_iter().collect(),
            head: 0,
        }
    }
}

/// A scatter list for receiving: `IoSliceMut`s over the caller's buffers.
#[derive(Debug, Default)]
pub struct IoVecsMut<'a> {
    v: SmallVec<[IoSliceMut<'a>; INLINE]>,
}

impl<'a> IoVecsMut<'a> {
    /// An empty list.
    pub fn new() -> Self {
        IoVecsMut { v: SmallVec::new() }
    }

    /// Appends a buffer.
    pub fn push(&mut self, buf: &'a mut [u8]) -> &mut Self {
        self.v.push(IoSliceMut::new(buf));
        self
    }

    /// Entries in the list.
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// Bytes over all entries.
    pub fn total_len(&self) -> usize {
        self.v.iter().map(|s| s.len()).sum()
    }
}

impl<'a> Deref for IoVecsMut<'a> {
    type Target = [IoSliceMut<'a>];
    fn deref(&self) -> &[IoSliceMut<'a>] {
        &self.v
    }
}

impl DerefMut for IoVecsMut<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn advance_over_entries() {
        let a = [1u8; 3];
        let b = [2u8; 4];
        let mut v = IoVecs::from_slices(&[&a, &[], &b]);
        assert_eq!(v.total_len(), 7);
        v.advance(3);
        assert_eq!(v.len(), 1, "the empty entry goes with the first");
        v.advance(1);
        assert_eq!(&*v[0], &[2u8; 3]);
        v.advance(100);
        assert!(v.is_empty());
        v.advance(1);
    }

    #[test]
    fn advance_then_push_reuses_storage() {
        let data = [7u8; 64];
        let mut v = IoVecs::new();
        for _ in 0..INLINE {
            v.push(&data[..2]);
        }
        v.advance(5); // two whole entries and one byte of the third
        assert_eq!((v.len(), v.total_len()), (INLINE - 2, 2 * INLINE - 5));
        assert_eq!(v[0].len(), 1);
        // Room is reclaimed instead of growing onto the heap.
        v.push(&data[..3]).push(&data[..4]);
        assert!(!v.v.spilled());
        assert_eq!(v.len(), INLINE);
        assert_eq!(v.total_len(), 2 * INLINE - 5 + 7);
        assert_eq!(v.as_slice().last().map(|s| s.len()), Some(4));
    }

    #[test]
    fn buf_chunks_are_gathered_beyond_inline() {
        let parts: Vec<Bytes> = (0..20u8).map(|i| Bytes::from(vec![i; 3])).collect();
        let mut chain: Box<dyn Buf> = Box::new(parts[0].clone());
        for p in &parts[1..] {
            chain = Box::new(chain.chain(p.clone()));
        }
        let mut v = IoVecs::new();
        v.push(b"head");
        let n = v.push_buf(&*chain);
        assert_eq!(n, 60);
        assert_eq!(v.len(), 21);
        assert_eq!(&*v[20], &[19u8; 3]);
    }

    #[test]
    fn buf_stops_at_iov_max() {
        let one = Bytes::from_static(b"x");
        let chain = one.clone().chain(one.clone());
        let mut v = IoVecs::new();
        for _ in 0..1023 {
            v.push(b"y");
        }
        assert_eq!(v.push_buf(&chain), 1);
        assert_eq!(v.len(), 1024);
        assert_eq!(v.push_buf(&chain), 0);
    }
}
