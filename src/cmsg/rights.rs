//! `SCM_RIGHTS` on receive: descriptors handed out as `OwnedFd`, the rest closed on drop.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

const FD_LEN: usize = std::mem::size_of::<RawFd>();
const TAKEN: RawFd = -1;

/// The descriptors of one received `SCM_RIGHTS` message.
///
/// An iterator of [`OwnedFd`]: each descriptor comes out once, owned by the caller. Those not
/// taken are closed when this value drops (or, if it is leaked, when the received message drops).
///
/// Descriptors arrive close-on-exec when received with `MSG_CMSG_CLOEXEC`, which
/// [`RecvMsg`](crate::RecvMsg) passes unless told otherwise.
#[doc(alias = "SCM_RIGHTS")]
pub struct Rights<'a> {
    /// Whole 4-byte slots; a taken or closed slot holds -1.
    slots: &'a mut [u8],
}

impl<'a> Rights<'a> {
    /// # Safety
    /// `slots` is a whole number of `int`s; each non-negative one is a descriptor the kernel
    /// installed for this process that nothing else owns.
    pub(crate) unsafe fn from_kernel(slots: &'a mut [u8]) -> Self {
        debug_assert_eq!(slots.len() % FD_LEN, 0);
        Rights { slots }
    }

    /// Descriptors not yet taken.
    pub fn remaining(&self) -> usize {
        self.slots
            .chunks_exact(FD_LEN)
            .filter(|s| read(s) >= 0)
            .count()
    }

    /// The descriptor numbers not yet taken, without taking them (for logging).
    pub fn raw_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.slots
            .chunks_exact(FD_LEN)
            .map(read)
            .filter(|&fd| fd >= 0)
    }
}

fn read(slot: &[u8]) -> RawFd {
    RawFd::from_ne_bytes([slot[0], slot[1], slot[2], slot[3]])
}

impl Iterator for Rights<'_> {
    type Item = OwnedFd;

    #[inline]
    fn next(&mut self) -> Option<OwnedFd> {
        loop {
            let (slot, rest) = std::mem::take(&mut self.slots).split_first_chunk_mut::<FD_LEN>()?;
            self.slots = rest;
            let fd = RawFd::from_ne_bytes(*slot);
            *slot = TAKEN.to_ne_bytes();
            if fd >= 0 {
                // SAFETY: from_kernel's contract: a non-negative slot is a descriptor the kernel
                // installed for us that nothing else owns; the slot now holds -1, so it is
                // never handed out or closed again.
                return Some(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.slots.len() / FD_LEN))
    }
}

impl std::iter::FusedIterator for Rights<'_> {}

impl Drop for Rights<'_> {
    fn drop(&mut self) {
        for fd in self.by_ref() {
            drop(fd);
        }
    }
}

impl std::fmt::Debug for Rights<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.raw_fds()).finish()
    }
}
