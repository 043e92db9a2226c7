//! Batches of datagrams: `sendmmsg(2)` with a destination, data and control messages per
//! datagram and UDP GSO (`UDP_SEGMENT`); `recvmmsg(2)` into reusable buffers and UDP GRO.
//!
//! [`Batch`] queues datagrams in storage it allocates once and reuses; [`Batch::send`] hands
//! them to the kernel in as few calls as it can, resumes where the kernel stopped, and never
//! sends a datagram twice. [`RecvBatch`] receives many datagrams per call.
//!
//! ```
//! use std::net::UdpSocket;
//! use ancillary::batch::{Batch, RecvBatch};
//!
//! let rx = UdpSocket::bind("127.0.0.1:0")?;
//! let tx = UdpSocket::bind("127.0.0.1:0")?;
//! let to = rx.local_addr()?;
//! let payloads: Vec<[u8; 100]> = (0..10u8).map(|i| [i; 100]).collect();
//!
//! let mut batch = Batch::new();
//! for p in &payloads {
//!     batch.push_with(to, p, |control| {
//!         control.push_ip_tos(0x02)?; // ECT(0)
//!         Ok(())
//!     })?;
//! }
//! assert_eq!(batch.send(&tx)?, 10); // one sendmmsg; one UDP_SEGMENT message if GSO works
//!
//! let mut recv = RecvBatch::new(16, 2048, 64)?;
//! let mut got = 0;
//! while got < 10 {
//!     recv.recv(&rx)?;
//!     for d in recv.iter_mut() {
//!         assert_eq!(d.data(), &[got as u8; 100][..]);
//!         got += 1;
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Sending to a peer that is gone
//! A datagram counts as sent when the kernel queues it. When nothing listens at its
//! destination, the destination host answers with an ICMP error ("port unreachable"); on a
//! connected UDP socket (or one with `IP_RECVERR`) the kernel keeps it as the socket's pending
//! error (`SO_ERROR`) and fails the next datagram sent on the socket with it, once:
//! `ECONNREFUSED`. `sendmmsg(2)` drops an error it meets after its first message and returns
//! the count so far, so on loopback, where the ICMP error is back before the next datagram
//! leaves, every call stops after one datagram and the error is lost.
//!
//! [`Batch::send`] reports it. After a call that stopped short it sends the message it stopped
//! at alone and asks the socket for its pending error; a send to a dead peer on loopback fails
//! after two calls with a [`BatchError`] that is
//! [asynchronous](BatchError::is_asynchronous): [`sent`](BatchError::sent) says how many
//! datagrams went, the rest stay queued, and no datagram is blamed. Send again to resume (on
//! loopback each send then ends the same way after two datagrams), or stop sending to that
//! peer. An error left pending by the last datagram of a send fails the first call of the
//! next one, which then sent nothing. Over a network the ICMP error comes back a round trip
//! later: the batch reports it when a call meets it first or right after a short call; the
//! kernel drops one that a call meets after its first message, and nothing can report it.
//!
//! # References
//! [sendmmsg(2)](https://man7.org/linux/man-pages/man2/sendmmsg.2.html),
//! [recvmmsg(2)](https://man7.org/linux/man-pages/man2/recvmmsg.2.html),
//! [udp(7)](https://man7.org/linux/man-pages/man7/udp.7.html)

mod arena;
mod recv;

pub use recv::{split_gro, RecvBatch, RecvDatagram, RecvIter};
mod error;
mod gso;
mod plan;
mod queue;
mod send;

pub use crate::addr::Destination;
pub use error::BatchError;

use std::fmt;
use std::io::IoSlice;

use self::arena::ControlArena;
use self::gso::SocketInfo;
use self::plan::Planned;
use self::queue::{Entry, Tail};
use crate::error::{Error, Result};
use crate::flags::SendFlags;
use crate::limits::{self, Limits, MAX_MMSG};
use crate::sys::SendScratch;

/// The flags a batch refuses: `MSG_MORE` (where the system has it) would join its datagrams
/// into one; `MSG_OOB` and `MSG_EOR` are for streams and records.
#[cfg(has_msg_more)]
const REFUSED_FLAGS: SendFlags = SendFlags::MORE.union(SendFlags::OOB).union(SendFlags::EOR);
#[cfg(not(has_msg_more))]
const REFUSED_FLAGS: SendFlags = SendFlags::OOB.union(SendFlags::EOR);

/// Control room offered to the first push; it grows to what pushes need.
const INITIAL_CONTROL_ROOM: u32 = 128;

/// Counters of what a [`Batch`] did, since it was created.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// `sendmmsg` calls made, failed ones included. The batch makes no other sending call;
    /// besides these it only asks `getsockopt`: the socket's type, domain and `UDP_SEGMENT`
    /// on the first send to it, and `SO_ERROR` after a call the kernel stopped short.
    pub calls: u64,
    /// Messages the kernel took (a GSO message counts once).
    pub messages: u64,
    /// Of those, messages sent with `UDP_SEGMENT` (GSO).
    pub segmented: u64,
    /// Times the kernel refused GSO (`EIO`, `EINVAL`, `EMSGSIZE` for a GSO message whose
    /// first datagram then went alone) and its datagrams went unsegmented instead. A GSO
    /// message refused because of its datagrams (the first fails alone too) does not count.
    pub fallbacks: u64,
}

/// Many datagrams, each with its own destination, data and control messages, sent with
/// `sendmmsg(2)`.
///
/// The batch borrows the payloads for `'a` and copies nothing but their addresses; the
/// destinations, iovecs and control messages go into storage that the batch allocates as it
/// grows and reuses after every send, so a warm batch makes no heap allocation per datagram or
/// per send. [`recycle`](Self::recycle) keeps that storage for payloads of another lifetime.
/// Sending every few hundred to a thousand datagrams (one `sendmmsg` takes 1024) keeps that
/// storage in cache; batches of many thousands measured slower per datagram.
///
/// **Limits** are checked when a datagram is pushed, and a datagram over one is refused (the
/// batch is unchanged): 1024 iovecs, control data against `net.core.optmem_max`, 253 fds,
/// 65507 bytes of payload towards IPv4 and 65527 towards IPv6, and for
/// [`push_segments`](Self::push_segments) the segment size and count.
///
/// **GSO**: consecutive datagrams to the same destination, with the same control data and the
/// same size (the last may be shorter), are kept as one run as they are pushed;
/// [`send`](Self::send) sends a run in messages carrying `UDP_SEGMENT`, each within the
/// kernel's segment cap ([`udp_max_segments`](crate::limits::udp_max_segments)), the payload
/// cap and the iovec limit. It attaches
/// `UDP_SEGMENT` only to messages of more than one segment, and asks the socket whether it can
/// do GSO (`getsockopt`, nothing is set) on the first send to it. When the kernel refuses a
/// GSO message (`EIO`: no offload, `EINVAL`, `EMSGSIZE`: segment too large for the path) it
/// sends the same datagrams one by one: if the first goes, the kernel refused GSO, and every
/// later datagram on that socket goes without it, until [`set_gso`](Self::set_gso) is called;
/// if the first fails too, the datagrams themselves were refused (control data the kernel does
/// not accept, such as an `IP_TTL` of 0): the send fails at that datagram
/// ([`BatchError::failed`]) and GSO stays on. When the socket has a `UDP_SEGMENT` size of its
/// own (`setsockopt`), every message of one datagram carries `UDP_SEGMENT` 0, so that the kernel
/// does not cut it.
///
/// Every `sendmmsg` passes `MSG_NOSIGNAL` unless [`allow_sigpipe`](Self::allow_sigpipe) says
/// otherwise; flags given to [`set_flags`](Self::set_flags) are added to it.
///
/// **Datagram sockets only**: UDP, Unix datagram or seqpacket. On a stream socket
/// `sendmmsg` may write part of a message and count it as sent, so [`send`](Self::send)
/// refuses one ([`Error::NotDatagramSocket`]); write streams with [`SendAll`](crate::SendAll).
///
/// ```
/// use std::net::UdpSocket;
/// use ancillary::batch::Batch;
///
/// let rx = UdpSocket::bind("127.0.0.1:0")?;
/// let tx = UdpSocket::bind("127.0.0.1:0")?;
/// let payload = [7u8; 1200];
/// let mut batch = Batch::new();
/// for _ in 0..64 {
///     batch.push(rx.local_addr()?, &payload)?;
/// }
/// assert_eq!(batch.send(&tx)?, 64);
/// assert!(batch.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [sendmmsg(2)](https://man7.org/linux/man-pages/man2/sendmmsg.2.html),
/// [udp(7)](https://man7.org/linux/man-pages/man7/udp.7.html) (`UDP_SEGMENT`)
#[doc(alias = "sendmmsg")]
#[doc(alias = "mmsghdr")]
#[doc(alias = "UDP_SEGMENT")]
#[doc(alias = "GSO")]
pub struct Batch<'a> {
    /// The run `push` may add to without looking at `entries`, and its segment size (at most
    /// `u16::MAX`; read only while the tail is open).
    tail: Tail,
    tail_segment: u16,
    iov: Vec<IoSlice<'a>>,
    /// The rest, behind one pointer: what [`push`](Self::push) reads for a datagram that
    /// continues a run to the connected peer or an IPv4 address lies above (an IPv6 one also
    /// reads the last entry), and moving a batch (as [`recycle`](Self::recycle) does on every
    /// send of a loop) moves 48 bytes on a 64-bit target.
    state: Box<State<'a>>,
}

/// What a [`Batch`] holds besides the open run and the iovecs.
struct State<'a> {
    entries: Vec<Entry<'a>>,
    control: ControlArena,
    /// The control room a push offers first: what the last one needed, at most
    /// `MAX_CONTROL_ROOM` (2^20).
    control_room: u32,
    plan: Vec<Planned>,
    headers: SendScratch,
    /// The first entry not yet sent.
    next: usize,
    /// Datagrams of `entries[next]` already sent.
    partial: usize,
    /// Datagrams not yet sent.
    queued: usize,
    gso: bool,
    socket: Option<SocketInfo>,
    /// The most segments per GSO message; 0: the kernel's.
    max_segments: u32,
    limits: Limits,
    /// The flags every call passes: those given, and the defaults not opted out of.
    flags: SendFlags,
    /// `allow_sigpipe` was called: `MSG_NOSIGNAL` is no default.
    sigpipe: bool,
    stats: BatchStats,
}

impl Default for Batch<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("queued", &self.len())
            .field("gso", &self.state.gso)
            .field("flags", &self.state.flags)
            .field("stats", &self.state.stats)
            .finish()
    }
}

/// Moves the storage of an empty vector to another element type of the same layout (the
/// same type with another lifetime). Collecting a vector's own `into_iter` reuses its
/// allocation, and there is no element to convert.
fn relabel<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

impl<'a> Batch<'a> {
    /// An empty batch, with GSO on, `MSG_NOSIGNAL`, and the running kernel's [`Limits`].
    ///
    /// It allocates its bookkeeping (about 220 bytes on a 64-bit target) once; the storage for
    /// datagrams grows as they are pushed.
    pub fn new() -> Self {
        Batch {
            tail: Tail::CLOSED,
            tail_segment: 0,
            iov: Vec::new(),
            state: Box::new(State {
                entries: Vec::new(),
                control: ControlArena::default(),
                control_room: INITIAL_CONTROL_ROOM,
                plan: Vec::new(),
                headers: SendScratch::default(),
                next: 0,
                partial: 0,
                queued: 0,
                gso: true,
                socket: None,
                max_segments: 0,
                limits: Limits::kernel(),
                flags: SendFlags::NOSIGNAL,
                sigpipe: false,
                stats: BatchStats::default(),
            }),
        }
    }

    /// An empty batch with room for `datagrams` datagrams, `iovecs` iovecs and
    /// `control_bytes` bytes of control data before it needs to grow.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] when that room cannot be had: larger than the address space,
    /// or more than the allocator gives. Nothing is kept.
    pub fn with_capacity(datagrams: usize, iovecs: usize, control_bytes: usize) -> Result<Self> {
        let mut b = Self::new();
        let overflow = |what| Error::SizeOverflow { what };
        b.state
            .entries
            .try_reserve(datagrams)
            .map_err(|_| overflow("the datagrams"))?;
        b.iov
            .try_reserve(iovecs)
            .map_err(|_| overflow("the iovecs"))?;
        b.state
            .control
            .try_reserve(control_bytes)
            .map_err(|_| overflow("the control bytes"))?;
        b.state
            .plan
            .try_reserve(datagrams.min(MAX_MMSG))
            .map_err(|_| overflow("the datagrams"))?;
        Ok(b)
    }

    /// Turns GSO (`UDP_SEGMENT`) on or off for the next sends. On by default; without it every
    /// datagram is its own message, and a [`push_segments`](Self::push_segments) payload is
    /// sent as its separate datagrams.
    ///
    /// It also forgets what the batch learnt about the socket it sent on (its type, its
    /// `UDP_SEGMENT` option, a GSO refusal): call it after changing the socket's
    /// `UDP_SEGMENT` option, or to try GSO again after a fallback.
    #[doc(alias = "UDP_SEGMENT")]
    pub fn set_gso(&mut self, enabled: bool) -> &mut Self {
        self.state.gso = enabled;
        self.state.socket = None;
        self
    }

    /// Whether GSO is on.
    pub fn gso(&self) -> bool {
        self.state.gso
    }

    /// The most segments per GSO message: `None` (the default) for the kernel's
    /// [`udp_max_segments`](crate::limits::udp_max_segments). A larger value than the
    /// kernel's lets the kernel be the judge: its `EINVAL` then sends those datagrams one by
    /// one.
    #[doc(alias = "UDP_MAX_SEGMENTS")]
    pub fn set_max_segments(&mut self, max: Option<usize>) -> &mut Self {
        // No kernel allows anywhere near u32::MAX segments: a larger cap is the same as none.
        self.state.max_segments = max.map_or(0, |m| u32::try_from(m.max(1)).unwrap_or(u32::MAX));
        self
    }

    /// Checks pushes against these limits instead of [`Limits::kernel`] (fds, control bytes,
    /// iovecs per datagram).
    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        self.state.limits = limits;
        // The next push checks them (see Tail).
        self.tail = Tail::CLOSED;
        self
    }

    /// Adds these flags (`MSG_*`) to every `sendmmsg`, beside the default `MSG_NOSIGNAL`,
    /// which only [`allow_sigpipe`](Self::allow_sigpipe) removes.
    ///
    /// Each call replaces the flags an earlier `set_flags` gave; the defaults stay:
    /// `set_flags(SendFlags::empty())` goes back to the defaults alone.
    ///
    /// ```
    /// use ancillary::{batch::Batch, SendFlags};
    ///
    /// let mut batch = Batch::new();
    /// batch.set_flags(SendFlags::DONTWAIT)?;
    /// assert_eq!(batch.flags(), SendFlags::NOSIGNAL | SendFlags::DONTWAIT);
    /// batch.set_flags(SendFlags::DONTROUTE)?;
    /// assert_eq!(batch.flags(), SendFlags::NOSIGNAL | SendFlags::DONTROUTE);
    /// # Ok::<(), ancillary::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::BatchFlags`], with the flags unchanged, for `MSG_MORE` (the kernel would join
    /// the datagrams into one), `MSG_OOB` or `MSG_EOR` (for streams and records).
    #[doc(alias = "MSG_MORE")]
    pub fn set_flags(&mut self, flags: SendFlags) -> Result<&mut Self> {
        let refused = flags & REFUSED_FLAGS;
        if !refused.is_empty() {
            return Err(Error::BatchFlags { flags: refused });
        }
        self.state.flags = flags | self.default_flags();
        Ok(self)
    }

    /// Leaves out `MSG_NOSIGNAL`: where the system raises `SIGPIPE` for a send to a closed
    /// peer, it does. (Linux raises it for stream sockets only, which a batch refuses; other
    /// systems raise it for any socket that fails with `EPIPE`.) A `MSG_NOSIGNAL` given to a
    /// later [`set_flags`](Self::set_flags) is passed all the same.
    #[doc(alias = "MSG_NOSIGNAL")]
    #[doc(alias = "SIGPIPE")]
    pub fn allow_sigpipe(&mut self) -> &mut Self {
        self.state.sigpipe = true;
        self.state.flags = self.state.flags - SendFlags::NOSIGNAL;
        self
    }

    /// The defaults not opted out of: `MSG_NOSIGNAL` unless [`allow_sigpipe`](Self::allow_sigpipe).
    fn default_flags(&self) -> SendFlags {
        if self.state.sigpipe {
            SendFlags::empty()
        } else {
            SendFlags::NOSIGNAL
        }
    }

    /// The flags every `sendmmsg` passes: those given to [`set_flags`](Self::set_flags) and
    /// the defaults not opted out of.
    pub fn flags(&self) -> SendFlags {
        self.state.flags
    }

    /// What the batch did so far.
    pub fn stats(&self) -> BatchStats {
        self.state.stats
    }

    /// Datagrams queued and not yet sent (a [`push_segments`](Self::push_segments) payload
    /// counts as the datagrams it is cut into).
    pub fn len(&self) -> usize {
        self.state.queued + self.unsealed()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every queued datagram, sent or not, keeping the storage.
    pub fn clear(&mut self) {
        self.state.entries.clear();
        self.tail = Tail::CLOSED;
        self.iov.clear();
        self.state.control.clear();
        self.state.plan.clear();
        self.state.next = 0;
        self.state.partial = 0;
        self.state.queued = 0;
    }

    /// The same batch, emptied, for payloads borrowed for another lifetime: the storage (and
    /// the settings and counters) are kept, so a loop that refills its buffers between sends
    /// allocates nothing once warm.
    ///
    /// ```
    /// # use std::net::UdpSocket;
    /// # use ancillary::batch::Batch;
    /// # let rx = UdpSocket::bind("127.0.0.1:0")?;
    /// # let tx = UdpSocket::bind("127.0.0.1:0")?;
    /// let mut spare = Batch::new();
    /// let mut buf = [0u8; 64];
    /// for round in 0..3u8 {
    ///     buf.fill(round);
    ///     let mut batch = spare.recycle();
    ///     batch.push(rx.local_addr()?, &buf)?;
    ///     batch.send(&tx)?;
    ///     spare = batch.recycle(); // ends the borrow of `buf`
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recycle<'b>(mut self) -> Batch<'b> {
        self.clear();
        // Every field of the state, named: one added later must be looked at here. Only
        // `entries` (payloads) and `control` (the numbers of fds borrowed for `'a`) hold what
        // was borrowed for `'a`, and `clear` emptied both; the rest are indices, counts,
        // settings and the scratch headers, which point into the batch's own storage.
        let State {
            entries,
            control,
            control_room: _,
            plan: _,
            headers: _,
            next: _,
            partial: _,
            queued: _,
            gso: _,
            socket: _,
            max_segments: _,
            limits: _,
            flags: _,
            sigpipe: _,
            stats: _,
        } = &*self.state;
        debug_assert!(entries.is_empty() && control.used() == 0);
        // SAFETY: `State<'a>` and `State<'b>` are one type but for a lifetime, so they have one
        // layout, and the pointer from `Box::into_raw` becomes a box again at once. The state
        // holds no value of `'a` (see above), so it is a valid `State<'b>`.
        let state = unsafe { Box::from_raw(Box::into_raw(self.state).cast::<State<'b>>()) };
        Batch {
            tail: Tail::CLOSED,
            tail_segment: 0,
            iov: relabel(self.iov),
            state,
        }
    }

    /// The segment cap in force.
    #[inline]
    fn segment_cap(&self) -> usize {
        match self.state.max_segments {
            0 => limits::udp_max_segments(),
            max => max as usize,
        }
    }
}
