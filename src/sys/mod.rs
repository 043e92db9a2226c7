//! The only code that calls the operating system, chosen per system. A leaf: it imports nothing
//! of the crate, and the layers above ask it (its functions, and the capability constants of
//! the chosen backend) instead of naming a system themselves.
//!
//! Every raw `msghdr` and `mmsghdr` is built here, inside one function call, from borrows the
//! compiler tracks, so no pointer in it outlives what it points to.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;
