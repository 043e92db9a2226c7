//! Typed `MSG_*` flags for sends and receives. Values come from `libc` for the target, never
//! hard-coded (they differ between systems: `MSG_NOSIGNAL` is 0x4000 on Linux, 0x20000 on FreeBSD).
//! A flag the system does not define does not exist here; a flag the crate emulates (on macOS:
//! `MSG_NOSIGNAL`, `MSG_CMSG_CLOEXEC`, `MSG_WAITFORONE`) takes its value from `sys`, which
//! carries out its meaning and never passes it to the kernel.

use crate::sys;

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not, Sub};

macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $flag:ident = $value:path $([$cfg:meta])? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(libc::c_int);

        impl $name {
            $( $(#[$fmeta])* $(#[cfg($cfg)])? pub const $flag: Self = Self($value); )*

            /// No flag.
            pub const fn empty() -> Self {
                Self(0)
            }
            /// The raw `MSG_*` bits.
            pub const fn bits(self) -> libc::c_int {
                self.0
            }
            /// Flags from raw `MSG_*` bits, kept as they are (unknown bits included).
            pub const fn from_bits_retain(bits: libc::c_int) -> Self {
                Self(bits)
            }
            /// Whether every flag of `other` is set.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
            /// Whether no flag is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
            /// `self` with the flags of `other` added.
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }
            /// `self` without the flags of `other`.
            pub const fn difference(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }
        }

        impl BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                self.union(rhs)
            }
        }
        impl BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                *self = self.union(rhs);
            }
        }
        impl BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }
        impl Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                self.difference(rhs)
            }
        }
        impl Not for $name {
            type Output = Self;
            fn not(self) -> Self {
                Self(!self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut rest = self.0;
                let mut first = true;
                f.write_str(concat!(stringify!($name), "("))?;
                $(
                    $(#[cfg($cfg)])?
                    if $value != 0 && rest & $value == $value {
                        if !first { f.write_str(" | ")?; }
                        f.write_str(concat!("MSG_", stringify!($flag)))?;
                        rest &= !$value;
                        first = false;
                    }
                )*
                if rest != 0 {
                    if !first { f.write_str(" | ")?; }
                    write!(f, "{:#x}", rest)?;
                }
                f.write_str(")")
            }
        }
    };
}

flag_set! {
    /// Flags of `sendmsg(2)` (`MSG_*`).
    ///
    /// Every send builder ([`SendMsg`](crate::SendMsg), [`SendAll`](crate::SendAll),
    /// `SendFile`, [`Batch`](crate::batch::Batch)) passes [`SendFlags::NOSIGNAL`] unless its
    /// `allow_sigpipe` says otherwise; flags given to it are added.
    SendFlags {
        /// `MSG_CONFIRM`: tell the link layer the neighbour answered (datagram and raw sockets).
        #[doc(alias = "MSG_CONFIRM")]
        #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
        CONFIRM = libc::MSG_CONFIRM [has_msg_confirm],
        /// `MSG_DONTROUTE`: send only to directly connected hosts, bypassing the gateway.
        #[doc(alias = "MSG_DONTROUTE")]
        DONTROUTE = libc::MSG_DONTROUTE,
        /// `MSG_DONTWAIT`: do not block; fail with `EAGAIN` instead.
        #[doc(alias = "MSG_DONTWAIT")]
        DONTWAIT = libc::MSG_DONTWAIT,
        /// `MSG_EOR`: end a record (`SOCK_SEQPACKET`).
        #[doc(alias = "MSG_EOR")]
        EOR = libc::MSG_EOR,
        /// `MSG_EOF` (FreeBSD, macOS): send, then shut down the write side of the connection,
        /// as `shutdown(SHUT_WR)` right after the send, in one call: the peer reads the data
        /// and then end-of-file. For connected stream sockets (`AF_UNIX` stream, TCP); a
        /// datagram socket ignores it or refuses the send.
        #[doc(alias = "MSG_EOF")]
        #[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_vendor = "apple"))))]
        EOF = libc::MSG_EOF [has_msg_eof],
        /// `MSG_MORE`: more data follows (cork TCP; join UDP sends into one datagram).
        #[doc(alias = "MSG_MORE")]
        #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
        MORE = libc::MSG_MORE [has_msg_more],
        /// `MSG_NOSIGNAL`: return `EPIPE` instead of raising `SIGPIPE`.
        ///
        /// On macOS, where the flag is not reliably honoured, the crate sets the socket option
        /// `SO_NOSIGPIPE` on the socket before the call instead, and does not pass the flag:
        /// the one socket option the crate sets on a caller's socket. The option stays set
        /// (sockets that `std` creates on macOS have it set already).
        #[doc(alias = "MSG_NOSIGNAL")]
        #[doc(alias = "SO_NOSIGPIPE")]
        NOSIGNAL = sys::MSG_NOSIGNAL,
        /// `MSG_OOB`: out-of-band data (TCP).
        #[doc(alias = "MSG_OOB")]
        OOB = libc::MSG_OOB,
    }
}

flag_set! {
    /// Flags of `recvmsg(2)`: those passed in, and those the kernel sets in `msg_flags`.
    ///
    /// Every receive builder ([`RecvMsg`](crate::RecvMsg),
    /// [`RecvBatch`](crate::batch::RecvBatch)) passes [`RecvFlags::CMSG_CLOEXEC`] unless its
    /// `inherit_fds` says otherwise; flags given to it are added.
    RecvFlags {
        /// `MSG_CMSG_CLOEXEC`: received fds are close-on-exec, atomically.
        ///
        /// On macOS, which has no such flag, the crate sets `FD_CLOEXEC` with `fcntl` on every
        /// received `SCM_RIGHTS` descriptor before the call returns. That is not atomic: a
        /// `fork` in another thread between the `recvmsg` and the `fcntl` lets the child
        /// inherit the descriptors (and an `exec` in the child keep them).
        #[doc(alias = "MSG_CMSG_CLOEXEC")]
        #[doc(alias = "FD_CLOEXEC")]
        CMSG_CLOEXEC = sys::MSG_CMSG_CLOEXEC,
        /// `MSG_DONTWAIT`: do not block; fail with `EAGAIN` instead.
        #[doc(alias = "MSG_DONTWAIT")]
        DONTWAIT = libc::MSG_DONTWAIT,
        /// `MSG_ERRQUEUE`: read the socket's error queue.
        #[doc(alias = "MSG_ERRQUEUE")]
        #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
        ERRQUEUE = libc::MSG_ERRQUEUE [has_errqueue],
        /// `MSG_OOB`: out-of-band data; in `msg_flags`, the data was out-of-band.
        #[doc(alias = "MSG_OOB")]
        OOB = libc::MSG_OOB,
        /// `MSG_PEEK`: leave the data queued.
        #[doc(alias = "MSG_PEEK")]
        PEEK = libc::MSG_PEEK,
        /// `MSG_TRUNC`: passed in on a datagram socket, return the real length of the datagram;
        /// in `msg_flags`, the datagram was longer than the buffers. Passed in on TCP, it
        /// discards the data instead of copying it.
        #[doc(alias = "MSG_TRUNC")]
        TRUNC = libc::MSG_TRUNC,
        /// `MSG_WAITALL`: wait for the full request (stream sockets).
        #[doc(alias = "MSG_WAITALL")]
        WAITALL = libc::MSG_WAITALL,
        /// `MSG_WAITFORONE` (`recvmmsg`): block for the first message only, then take what
        /// else is queued without waiting. On macOS, which has no `recvmmsg`, the crate's loop
        /// of `recvmsg` calls does the same (the later calls go with `MSG_DONTWAIT`).
        #[doc(alias = "MSG_WAITFORONE")]
        WAITFORONE = sys::MSG_WAITFORONE,
        /// In `msg_flags`: the control data was truncated for lack of buffer space.
        #[doc(alias = "MSG_CTRUNC")]
        CTRUNC = libc::MSG_CTRUNC,
        /// In `msg_flags`: the data ends a record (`SOCK_SEQPACKET`).
        #[doc(alias = "MSG_EOR")]
        EOR = libc::MSG_EOR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_compose_and_print() {
        let f = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
        assert!(f.contains(SendFlags::NOSIGNAL));
        assert_eq!((f - SendFlags::NOSIGNAL), SendFlags::DONTWAIT);
        assert_eq!(f.bits(), sys::MSG_NOSIGNAL | libc::MSG_DONTWAIT);
        let s = format!("{:?}", f | SendFlags::from_bits_retain(1 << 29));
        assert!(
            s.contains("MSG_DONTWAIT") && s.contains("MSG_NOSIGNAL") && s.contains("0x20000000"),
            "{s}"
        );
        assert_eq!(format!("{:?}", RecvFlags::empty()), "RecvFlags()");
    }
}
