//! Growable control storage whose contents start aligned for `cmsghdr`.

use std::mem::align_of;

/// Bytes on the heap, used from an offset that is aligned for `cmsghdr`, so every message
/// written at an aligned position in [`bytes_mut`](Self::bytes_mut) is aligned in memory.
///
/// A `Vec<u8>` is not aligned for `cmsghdr`: the arena skips up to `align - 1` leading bytes,
/// and on growth copies its contents to the aligned start of the new allocation. Every byte is
/// initialized (zero when allocated). It never shrinks, so once warm it never allocates.
#[derive(Debug, Default)]
pub(crate) struct ControlArena {
    buf: Vec<u8>,
    /// Leading bytes of `buf` skipped so that the rest starts aligned.
    skip: usize,
    used: usize,
}

impl ControlArena {
    fn skip(buf: &[u8]) -> usize {
        buf.as_ptr()
            .align_offset(align_of::<libc::cmsghdr>())
            .min(buf.len())
    }

    /// The aligned storage: `used()` bytes in use, then free room.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.skip..]
    }

    /// As [`bytes`](Self::bytes), writable.
    #[inline]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.skip..]
    }

    /// Bytes in use.
    #[inline]
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// Marks `n` more bytes as used (after writing them into the free room).
    #[inline]
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.used + n <= self.bytes().len());
        self.used += n;
    }

    /// Forgets what is past the first `n` bytes in use (nothing if fewer are in use).
    #[inline]
    pub(crate) fn truncate(&mut self, n: usize) {
        self.used = self.used.min(n);
    }

    /// Forgets the contents, keeping the storage.
    pub(crate) fn clear(&mut self) {
        self.used = 0;
    }

    /// Makes sure at least `room` bytes are free after what is in use.
    ///
    /// Panics if the memory cannot be had: for the rooms of a push, which are bounded
    /// (`MAX_CONTROL_ROOM`).
    #[inline]
    pub(crate) fn reserve(&mut self, room: usize) {
        if self.buf.len() - self.skip < self.used.saturating_add(room) {
            if let Err(e) = self.grow(room) {
                handle(e);
            }
        }
    }

    /// As [`reserve`](Self::reserve), failing instead when the storage would be larger than
    /// the address space or than the allocator gives.
    pub(crate) fn try_reserve(&mut self, room: usize) -> Result<(), NoMemory> {
        if self.buf.len() - self.skip < self.used.saturating_add(room) {
            self.grow(room)?;
        }
        Ok(())
    }

    #[cold]
    fn grow(&mut self, room: usize) -> Result<(), NoMemory> {
        let want = self.used.saturating_add(room);
        let len = want
            .max(self.buf.len().saturating_mul(2))
            .saturating_add(align_of::<libc::cmsghdr>());
        let mut grown = try_zeroed(len)?;
        let skip = Self::skip(&grown);
        grown[skip..skip + self.used].copy_from_slice(&self.bytes()[..self.used]);
        self.buf = grown;
        self.skip = skip;
        Ok(())
    }
}

/// Memory the allocator would not give, or a size past `isize::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoMemory;

/// `vec![0u8; len]` that fails instead of panicking or aborting. Zeroed by the allocator, as
/// `vec!` does, so a large buffer costs nothing until it is touched.
pub(crate) fn try_zeroed(len: usize) -> Result<Vec<u8>, NoMemory> {
    if len == 0 {
        return Ok(Vec::new());
    }
    // Fails for a size past isize::MAX.
    let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| NoMemory)?;
    // SAFETY: `layout` has a non-zero size (len > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(NoMemory);
    }
    // SAFETY: ptr was allocated by the global allocator with the layout of `[u8; len]`, so
    // capacity `len` matches it; all `len` bytes are initialized (zeroed).
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// Out of memory for a bounded room. Reached only through [`ControlArena::reserve`].
#[cold]
fn handle(_: NoMemory) -> ! {
    panic!("out of memory for control storage")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_aligned_and_keeps_contents_across_growth() {
        let mut a = ControlArena::default();
        assert!(a.bytes().is_empty());
        for round in 0..20u8 {
            a.reserve(24);
            let at = a.used();
            let b = a.bytes_mut();
            assert_eq!(b.as_ptr() as usize % align_of::<libc::cmsghdr>(), 0);
            b[at..at + 24].fill(round);
            a.commit(24);
        }
        let b = a.bytes();
        for round in 0..20u8 {
            let i = usize::from(round) * 24;
            assert!(b[i..i + 24].iter().all(|&x| x == round));
        }
        a.clear();
        assert_eq!(a.used(), 0);
        let cap = a.bytes().len();
        a.reserve(cap);
        assert_eq!(a.bytes().len(), cap);
    }
}
