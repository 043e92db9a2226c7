//! `SCM_RIGHTS` and `SCM_PIDFD` on receive: descriptors handed out as `OwnedFd` when the caller
//! takes them, and left in place (for the owner of the buffer to close) when it does not.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

const FD_LEN: usize = std::mem::size_of::<RawFd>();
const TAKEN: RawFd = -1;

/// The descriptors of one received `SCM_RIGHTS` message.
///
/// An iterator of [`OwnedFd`]: each descriptor comes out once, owned by the caller. Dropping this
/// value takes and closes nothing: descriptors not taken stay in the control data, where a later
/// walk can still take them ([`Received::fds`](crate::Received::fds) after
/// [`Received::messages`](crate::Received::messages), say), and the received message
/// ([`Received`](crate::Received), [`RecvDatagram`](crate::batch::RecvDatagram)) closes
/// whatever was never taken when it drops.
///
/// Descriptors arrive close-on-exec when received with `MSG_CMSG_CLOEXEC`, which
/// [`RecvMsg`](crate::RecvMsg) passes unless told otherwise.
#[doc(alias = "SCM_RIGHTS")]
pub struct Rights<'a> {
    /// The 4-byte slots not yet looked at, as a pointer pair (one comparison per slot); a
    /// taken or closed slot holds -1.
    slots: std::slice::IterMut<'a, Slot>,
}

/// One `int` of an `SCM_RIGHTS` message, as bytes: control data is not aligned for `int` in
/// general.
type Slot = [u8; FD_LEN];

impl<'a> Rights<'a> {
    /// # Safety
    /// `slots` is a whole number of `int`s; each non-negative one is a descriptor the kernel
    /// installed for this process that nothing else owns.
    #[inline]
    pub(crate) unsafe fn from_kernel(slots: &'a mut [u8]) -> Self {
        debug_assert_eq!(slots.len() % FD_LEN, 0);
        let len = slots.len() / FD_LEN;
        // SAFETY: `[u8; 4]` has the size of 4 bytes and the alignment of one, so the first
        // `len * 4` bytes of `slots` (all of them, for a whole number of ints) are `len` of
        // them; the new slice takes over the exclusive borrow for the same lifetime.
        let slots = unsafe { std::slice::from_raw_parts_mut(slots.as_mut_ptr().cast(), len) };
        Rights {
            slots: slots.iter_mut(),
        }
    }

    /// No descriptors.
    #[inline]
    pub(crate) fn empty() -> Self {
        Rights {
            slots: [].iter_mut(),
        }
    }

    /// Descriptors not yet taken.
    pub fn remaining(&self) -> usize {
        self.raw_fds().count()
    }

    /// The descriptor numbers not yet taken, without taking them (for logging).
    pub fn raw_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.slots
            .as_slice()
            .iter()
            .map(|s| RawFd::from_ne_bytes(*s))
            .filter(|&fd| fd >= 0)
    }

    /// Takes the next slot if it holds a descriptor; leaves it (taken before, or none left)
    /// otherwise. The check comes before the step, so that the common case is a straight line.
    #[inline(always)]
    pub(crate) fn take_next(&mut self) -> Option<OwnedFd> {
        let fd = RawFd::from_ne_bytes(*self.slots.as_slice().first()?);
        if fd < 0 {
            return None;
        }
        if let Some(slot) = self.slots.next() {
            *slot = TAKEN.to_ne_bytes();
        }
        // SAFETY: from_kernel's contract: a non-negative slot is a descriptor the kernel
        // installed for us that nothing else owns; the slot now holds -1, so it is never
        // handed out or closed again.
        Some(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Takes the next slot: `None` when none is left, `Some(None)` for one taken before,
    /// `Some(Some(fd))` for a descriptor, now the caller's. One step per slot, without a loop
    /// of its own, so that a walk over several messages is one loop.
    #[inline(always)]
    pub(crate) fn step(&mut self) -> Option<Option<OwnedFd>> {
        let slot = self.slots.next()?;
        let fd = RawFd::from_ne_bytes(*slot);
        *slot = TAKEN.to_ne_bytes();
        if fd < 0 {
            return Some(None);
        }
        // SAFETY: from_kernel's contract: a non-negative slot is a descriptor the kernel
        // installed for us that nothing else owns; the slot now holds -1, so it is never
        // handed out or closed again.
        Some(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

impl Iterator for Rights<'_> {
    type Item = OwnedFd;

    #[inline]
    fn next(&mut self) -> Option<OwnedFd> {
        loop {
            if let Some(fd) = self.step()? {
                return Some(fd);
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.slots.len()))
    }
}

impl std::iter::FusedIterator for Rights<'_> {}

impl std::fmt::Debug for Rights<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.raw_fds()).finish()
    }
}

/// The pidfd of one received `SCM_PIDFD` message (Linux 6.5+, with `SO_PASSPIDFD` on the
/// receiving socket).
///
/// [`take`](Self::take) hands it out once, as an [`OwnedFd`]. Dropping this value takes and
/// closes nothing: a pidfd never taken stays in the control data, and the received message
/// closes it when it drops.
///
/// # What a pidfd proves
/// It is the pidfd of the process whose pid the message's credentials carry (`SCM_CREDENTIALS`,
/// which the kernel attaches with `SO_PASSCRED`), not necessarily of the process that called
/// `sendmsg`: a sender with `CAP_SYS_ADMIN` may claim the pid of another live process, and the
/// receiver then gets that process's pidfd. It does rule out pid reuse: the pidfd names the
/// process that held that pid when the message was sent, and stays tied to it.
///
/// To learn who is at the other end of a connected socket, ask the socket rather than a
/// message: `getsockopt(SO_PEERCRED)` gives the credentials and `getsockopt(SO_PEERPIDFD)`
/// (Linux 6.5+) a pidfd of the process that called `connect(2)` or `socketpair(2)`, fixed at
/// that moment and not claimable by the peer.
///
/// Pidfds always arrive close-on-exec: the kernel opens them with `O_CLOEXEC` whatever the
/// receive flags say ([`RecvMsg::inherit_fds`](crate::RecvMsg::inherit_fds) does not apply).
#[doc(alias = "SCM_PIDFD")]
#[doc(alias = "SO_PASSPIDFD")]
#[cfg(has_pidfd)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub struct Pidfd<'a> {
    /// One `int` slot; -1 once taken.
    slot: Rights<'a>,
}

#[cfg(has_pidfd)]
impl<'a> Pidfd<'a> {
    /// # Safety
    /// As [`Rights::from_kernel`], for a single `int`.
    pub(crate) unsafe fn from_kernel(slot: &'a mut [u8]) -> Self {
        debug_assert_eq!(slot.len(), FD_LEN);
        // SAFETY: forwarded to the caller: one whole int, a descriptor nothing else owns if
        // non-negative.
        let slot = unsafe { Rights::from_kernel(slot) };
        Pidfd { slot }
    }

    /// Takes the pidfd; `None` if it was taken already (by this or an earlier walk).
    #[inline]
    pub fn take(&mut self) -> Option<OwnedFd> {
        self.slot.next()
    }

    /// The pidfd's number while it is not taken (for logging), without taking it.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.slot.raw_fds().next()
    }
}

#[cfg(has_pidfd)]
impl std::fmt::Debug for Pidfd<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pidfd").field(&self.raw_fd()).finish()
    }
}
