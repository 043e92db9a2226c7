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

use std::fmt;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::sys::socket::{SockaddrIn, SockaddrIn6};

use self::arena::ControlArena;
use crate::cmsg::{Encoder, UDP_SEGMENT_SPACE};
use crate::error::{Carried, Error, Limit, Result};
use crate::flags::SendFlags;
use crate::limits::{
    self, Limits, MAX_MMSG, OPTMEM_EXEMPT, UDP_MAX_PAYLOAD_V4, UDP_MAX_PAYLOAD_V6,
};
use crate::sys::{self, MmsgScratch, Name, OutMsg};

/// The space `UDP_SEGMENT` adds to a GSO message's control data.
const SEGMENT_SPACE: usize = UDP_SEGMENT_SPACE;

/// Control room offered to the first push; it grows to what pushes need.
const INITIAL_CONTROL_ROOM: usize = 128;

/// The most control room a push may grow to when no limit is checked.
const MAX_CONTROL_ROOM: usize = 1 << 20;

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    /// No `msg_name`: the socket's peer.
    Connected,
    V4(SockaddrIn),
    V6(SockaddrIn6),
}

impl Dest {
    fn new(addr: Option<SocketAddr>) -> Self {
        match addr {
            None => Dest::Connected,
            Some(SocketAddr::V4(a)) => Dest::V4(a.into()),
            Some(SocketAddr::V6(a)) => Dest::V6(a.into()),
        }
    }

    fn name(&self) -> Option<Name<'_>> {
        match self {
            Dest::Connected => None,
            Dest::V4(a) => Some(Name::new(a)),
            Dest::V6(a) => Some(Name::new(a)),
        }
    }
}

/// The largest UDP payload towards `addr`, if its family is known.
#[inline]
fn payload_cap(addr: Option<SocketAddr>) -> Option<usize> {
    match addr {
        None => None,
        Some(SocketAddr::V4(_)) => Some(UDP_MAX_PAYLOAD_V4),
        Some(SocketAddr::V6(a)) if a.ip().to_ipv4_mapped().is_some() => Some(UDP_MAX_PAYLOAD_V4),
        Some(SocketAddr::V6(_)) => Some(UDP_MAX_PAYLOAD_V6),
    }
}

/// What an entry of the batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One datagram, with any number of iovecs.
    Single,
    /// Datagrams pushed one after another to one destination with the same control data, one
    /// iovec each, all `segment` bytes long but the last, which may be shorter: what GSO
    /// messages carry.
    Run,
    /// A GSO payload pushed whole (`push_segments`): one iovec, cut every `segment` bytes.
    Train,
}

/// Datagrams queued together: one datagram, a run of them, or a pushed GSO payload.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    kind: Kind,
    /// `None`: the connected peer.
    dest: Option<SocketAddr>,
    /// Its iovecs in `Batch::iov`.
    iov_start: usize,
    iov_end: usize,
    /// Its control data (every datagram's) in the arena.
    control_at: usize,
    control_len: usize,
    /// Payload bytes over all its datagrams.
    len: usize,
    /// The size of each datagram but the last (of a single datagram: its size).
    segment: usize,
    /// Datagrams in it.
    datagrams: usize,
    /// The payload of a `Train`, to cut at any datagram.
    data: &'a [u8],
    fds: usize,
}

impl Entry<'_> {
    /// The size of its last datagram.
    fn last_len(&self) -> usize {
        self.len - (self.datagrams - 1) * self.segment
    }
}

/// One message of the next `sendmmsg`.
#[derive(Debug, Clone, Copy)]
struct Planned {
    /// The entry whose destination and control data the message carries.
    entry: usize,
    /// Its destination, as `msg_name` wants it.
    name: Dest,
    /// The entry's datagrams it carries, from the first not yet sent.
    datagrams: usize,
    /// Its iovecs, in `Batch::iov` or (for a piece of a cut payload) in `Batch::pieces`.
    iov_start: usize,
    iov_end: usize,
    pieces: bool,
    /// Its control data: the entry's, in the arena; or (`own_control` false) a copy of it
    /// followed by `UDP_SEGMENT`, in `Batch::gso_control`.
    control_at: usize,
    control_len: usize,
    own_control: bool,
    /// Whether it is a GSO message (more than one datagram).
    segmented: bool,
    /// Payload bytes it carries.
    bytes: usize,
}

/// What [`Batch::send`] found out about the socket it last sent on, so that it asks once per
/// socket rather than once per send.
#[derive(Debug, Clone, Copy)]
struct SocketInfo {
    fd: RawFd,
    /// `getsockopt(UDP_SEGMENT)` worked: the socket may do GSO.
    gso: bool,
    /// The socket's own `UDP_SEGMENT` size (0: none).
    segment_option: libc::c_int,
    /// The kernel refused a GSO message on it: later sends go without GSO.
    gso_refused: bool,
    /// An IPv4 or IPv6 socket (`SO_DOMAIN`): the kind whose asynchronous errors are ICMP errors.
    inet: bool,
}

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
    entries: Vec<Entry<'a>>,
    iov: Vec<IoSlice<'a>>,
    control: ControlArena,
    control_room: usize,
    plan: Vec<Planned>,
    gso_control: ControlArena,
    pieces: Vec<IoSlice<'a>>,
    headers: MmsgScratch,
    /// The first entry not yet sent.
    next: usize,
    /// Datagrams of `entries[next]` already sent.
    partial: usize,
    /// Datagrams not yet sent.
    queued: usize,
    gso: bool,
    socket: Option<SocketInfo>,
    max_segments: Option<usize>,
    limits: Limits,
    /// The flags every call passes: those given, and the defaults not opted out of.
    flags: SendFlags,
    /// The defaults not opted out of (`MSG_NOSIGNAL` unless `allow_sigpipe`).
    default_flags: SendFlags,
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
            .field("gso", &self.gso)
            .field("flags", &self.flags)
            .field("stats", &self.stats)
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
    pub fn new() -> Self {
        Batch {
            entries: Vec::new(),
            iov: Vec::new(),
            control: ControlArena::default(),
            control_room: INITIAL_CONTROL_ROOM,
            plan: Vec::new(),
            gso_control: ControlArena::default(),
            pieces: Vec::new(),
            headers: MmsgScratch::default(),
            next: 0,
            partial: 0,
            queued: 0,
            gso: true,
            socket: None,
            max_segments: None,
            limits: Limits::kernel(),
            flags: SendFlags::NOSIGNAL,
            default_flags: SendFlags::NOSIGNAL,
            stats: BatchStats::default(),
        }
    }

    /// An empty batch with room for `datagrams` datagrams, `iovecs` iovecs and
    /// `control_bytes` bytes of control data before it needs to grow.
    pub fn with_capacity(datagrams: usize, iovecs: usize, control_bytes: usize) -> Self {
        let mut b = Self::new();
        b.entries.reserve(datagrams);
        b.iov.reserve(iovecs);
        b.control.reserve(control_bytes);
        b.plan.reserve(datagrams.min(MAX_MMSG));
        b
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
        self.gso = enabled;
        self.socket = None;
        self
    }

    /// Whether GSO is on.
    pub fn gso(&self) -> bool {
        self.gso
    }

    /// The most segments per GSO message: `None` (the default) for the kernel's
    /// [`udp_max_segments`](crate::limits::udp_max_segments). A larger value than the
    /// kernel's lets the kernel be the judge: its `EINVAL` then sends those datagrams one by
    /// one.
    #[doc(alias = "UDP_MAX_SEGMENTS")]
    pub fn set_max_segments(&mut self, max: Option<usize>) -> &mut Self {
        self.max_segments = max.map(|m| m.max(1));
        self
    }

    /// Checks pushes against these limits instead of [`Limits::kernel`] (fds, control bytes,
    /// iovecs per datagram).
    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
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
        let refused = flags & (SendFlags::MORE | SendFlags::OOB | SendFlags::EOR);
        if !refused.is_empty() {
            return Err(Error::BatchFlags { flags: refused });
        }
        self.flags = flags | self.default_flags;
        Ok(self)
    }

    /// Leaves out `MSG_NOSIGNAL`: where the system raises `SIGPIPE` for a send to a closed
    /// peer, it does. (Linux raises it for stream sockets only, which a batch refuses; other
    /// systems raise it for any socket that fails with `EPIPE`.) A `MSG_NOSIGNAL` given to a
    /// later [`set_flags`](Self::set_flags) is passed all the same.
    #[doc(alias = "MSG_NOSIGNAL")]
    #[doc(alias = "SIGPIPE")]
    pub fn allow_sigpipe(&mut self) -> &mut Self {
        self.default_flags = self.default_flags - SendFlags::NOSIGNAL;
        self.flags = self.flags - SendFlags::NOSIGNAL;
        self
    }

    /// The flags every `sendmmsg` passes: those given to [`set_flags`](Self::set_flags) and
    /// the defaults not opted out of.
    pub fn flags(&self) -> SendFlags {
        self.flags
    }

    /// What the batch did so far.
    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    /// Datagrams queued and not yet sent (a [`push_segments`](Self::push_segments) payload
    /// counts as the datagrams it is cut into).
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every queued datagram, sent or not, keeping the storage.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.iov.clear();
        self.control.clear();
        self.plan.clear();
        self.gso_control.clear();
        self.pieces.clear();
        self.next = 0;
        self.partial = 0;
        self.queued = 0;
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
        Batch {
            entries: relabel(self.entries),
            iov: relabel(self.iov),
            control: self.control,
            control_room: self.control_room,
            plan: self.plan,
            gso_control: self.gso_control,
            pieces: relabel(self.pieces),
            headers: self.headers,
            next: 0,
            partial: 0,
            queued: 0,
            gso: self.gso,
            socket: self.socket,
            max_segments: self.max_segments,
            limits: self.limits,
            flags: self.flags,
            default_flags: self.default_flags,
            stats: self.stats,
        }
    }

    /// Queues one datagram of `data` to `dest`.
    ///
    /// # Errors
    /// [`Error::Limit`] ([`Limit::Payload`]) if `data` is larger than a UDP datagram to that
    /// address family can be; the batch is unchanged.
    pub fn push(&mut self, dest: SocketAddr, data: &'a [u8]) -> Result<()> {
        // What push_entry does for one slice without control data, without the rest.
        if let Some(cap) = payload_cap(Some(dest)) {
            if data.len() > cap {
                return Err(limit(Limit::Payload, data.len(), cap));
            }
        }
        self.limits.check(0, 0, 1)?;
        let slice = IoSlice::new(data);
        if !self.join(Some(dest), slice, 0, 0) {
            self.push_single(Some(dest), slice, self.control.used(), 0, 0);
        }
        Ok(())
    }

    /// Adds a datagram (one iovec, control data already in the arena at `control_at` but not
    /// committed) to the last entry if it continues that entry's run; `false` if it does not.
    #[inline]
    fn join(
        &mut self,
        dest: Option<SocketAddr>,
        slice: IoSlice<'a>,
        control_at: usize,
        control_len: usize,
    ) -> bool {
        let Some(last) = self.entries.last() else {
            return false;
        };
        let len = slice.len();
        let joins = last.kind != Kind::Train
            && self.entries.len() > self.next
            && last.dest == dest
            && last.fds == 0
            && last.iov_end - last.iov_start == last.datagrams
            && (1..=usize::from(u16::MAX)).contains(&last.segment)
            && (1..=last.segment).contains(&len)
            && last.last_len() == last.segment
            && last.control_len == control_len
            && (control_len == 0
                || self.control.bytes()[last.control_at..last.control_at + control_len]
                    == self.control.bytes()[control_at..control_at + control_len]);
        if !joins {
            return false;
        }
        self.iov.push(slice);
        let last = self.entries.last_mut().expect("checked above");
        last.kind = Kind::Run;
        last.iov_end += 1;
        last.datagrams += 1;
        last.len += len;
        self.queued += 1;
        true
    }

    /// Queues a new entry of one datagram of one iovec (control data committed already).
    fn push_single(
        &mut self,
        dest: Option<SocketAddr>,
        slice: IoSlice<'a>,
        control_at: usize,
        control_len: usize,
        fds: usize,
    ) {
        let iov_start = self.iov.len();
        let len = slice.len();
        self.iov.push(slice);
        self.queue_single(dest, iov_start, control_at, control_len, len, fds);
    }

    /// Queues a new entry of one datagram whose iovecs are `iov[iov_start..]`, just pushed.
    fn queue_single(
        &mut self,
        dest: Option<SocketAddr>,
        iov_start: usize,
        control_at: usize,
        control_len: usize,
        len: usize,
        fds: usize,
    ) {
        self.entries.push(Entry {
            kind: Kind::Single,
            dest,
            iov_start,
            iov_end: self.iov.len(),
            control_at,
            control_len,
            len,
            segment: len,
            datagrams: 1,
            data: &[],
            fds,
        });
        self.queued += 1;
    }

    /// Queues one datagram of `data` to `dest`, with control messages written by `control`
    /// (source address, ECN, ...).
    ///
    /// `control` writes into the batch's storage; it is called again, on a fresh encoder, if
    /// that storage had to grow ([`Error::Capacity`]).
    ///
    /// ```
    /// # use std::net::{Ipv4Addr, UdpSocket};
    /// # use ancillary::batch::Batch;
    /// # let rx = UdpSocket::bind("127.0.0.1:0")?;
    /// # let tx = UdpSocket::bind("0.0.0.0:0")?;
    /// let mut batch = Batch::new();
    /// batch.push_with(rx.local_addr()?, b"from 127.0.0.2", |c| {
    ///     c.push_source_ip(Ipv4Addr::new(127, 0, 0, 2).into())?; // IP_PKTINFO
    ///     c.push_ip_tos(0x01)?; // ECT(1)
    ///     Ok(())
    /// })?;
    /// batch.send(&tx)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Limit`] for a payload, control buffer or fd count over its limit; any error
    /// `control` returns. The batch is unchanged.
    pub fn push_with<F>(&mut self, dest: SocketAddr, data: &'a [u8], control: F) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        self.push_entry(Some(dest), Payload::One(data), 0, Some(control))
    }

    /// Queues one datagram gathered from `iov`, to `dest` (`None`: the connected peer), with
    /// control messages written by `control` (see [`push_with`](Self::push_with)).
    ///
    /// # Errors
    /// [`Error::Limit`] for more than 1024 iovecs or a payload, control buffer or fd count over
    /// its limit; any error `control` returns. The batch is unchanged.
    pub fn push_vectored<F>(
        &mut self,
        dest: Option<SocketAddr>,
        iov: &[IoSlice<'a>],
        control: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        self.push_entry(dest, Payload::Many(iov), 0, Some(control))
    }

    /// Queues a GSO payload: `data` goes out as datagrams of `segment_size` bytes (the last
    /// may be shorter), in one `UDP_SEGMENT` message when the socket can, else one by one.
    /// Every datagram carries the control messages written by `control`. A payload of at most
    /// `segment_size` bytes is a single datagram and goes without `UDP_SEGMENT`.
    ///
    /// # Errors
    /// [`Error::Limit`] with the batch unchanged: [`Limit::SegmentSize`] for a segment size of
    /// 0 or larger than one datagram can be, [`Limit::Segments`] for more segments than the
    /// kernel's cap, [`Limit::Payload`] for more than 65507 (IPv4) or 65527 (IPv6) bytes in
    /// all, [`Limit::ControlBuffer`] when the control data with `UDP_SEGMENT` reaches
    /// `optmem_max`; any error `control` returns.
    #[doc(alias = "UDP_SEGMENT")]
    pub fn push_segments<F>(
        &mut self,
        dest: Option<SocketAddr>,
        data: &'a [u8],
        segment_size: usize,
        control: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let cap = payload_cap(dest)
            .unwrap_or(UDP_MAX_PAYLOAD_V6)
            .min(usize::from(u16::MAX));
        if segment_size == 0 || segment_size > cap {
            return Err(limit(Limit::SegmentSize, segment_size, cap));
        }
        let segment = if data.len() > segment_size {
            segment_size
        } else {
            0
        };
        self.push_entry(dest, Payload::One(data), segment, Some(control))
    }

    /// The segment cap in force.
    fn segment_cap(&self) -> usize {
        self.max_segments.unwrap_or_else(limits::udp_max_segments)
    }

    fn push_entry<F>(
        &mut self,
        dest: Option<SocketAddr>,
        payload: Payload<'_, 'a>,
        segment: usize,
        control: Option<F>,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let (iovecs, len) = match payload {
            Payload::One(d) => (1, d.len()),
            Payload::Many(v) => (v.len(), v.iter().map(|s| s.len()).sum()),
        };
        if iovecs > self.limits.max_iovecs {
            return Err(limit(Limit::Iovecs, iovecs, self.limits.max_iovecs));
        }
        if let Some(cap) = payload_cap(dest) {
            if len > cap {
                return Err(limit(Limit::Payload, len, cap));
            }
        }
        let segment_cap = if segment != 0 { self.segment_cap() } else { 1 };
        if segment != 0 && len.div_ceil(segment) > segment_cap {
            return Err(limit(Limit::Segments, len.div_ceil(segment), segment_cap));
        }

        // Control data, written in place at the end of the arena.
        let at = self.control.used();
        let (control_len, fds) = match control {
            Some(control) => self.encode_control(at, control)?,
            None => (0, 0),
        };
        // A GSO payload always goes with UDP_SEGMENT.
        let with_segment = if segment != 0 { SEGMENT_SPACE } else { 0 };
        let own = &self.control.bytes()[at..at + control_len];
        let kernel_len = limits::kernel_control_len(own) + kernel_segment_space(with_segment);
        self.limits.check(fds, kernel_len, iovecs)?;

        let one = match payload {
            Payload::One(d) => Some(IoSlice::new(d)),
            Payload::Many([s]) => Some(*s),
            Payload::Many(_) => None,
        };
        if segment == 0 && fds == 0 {
            if let Some(slice) = one {
                if self.join(dest, slice, at, control_len) {
                    return Ok(()); // the run's control data serves; this copy is dropped
                }
            }
        }
        self.control.commit(control_len);
        match (one, payload) {
            (Some(slice), _) if segment == 0 => {
                self.push_single(dest, slice, at, control_len, fds);
            }
            (_, Payload::One(data)) => {
                let iov_start = self.iov.len();
                self.iov.push(IoSlice::new(data));
                self.entries.push(Entry {
                    kind: Kind::Train,
                    dest,
                    iov_start,
                    iov_end: iov_start + 1,
                    control_at: at,
                    control_len,
                    len,
                    segment,
                    datagrams: len.div_ceil(segment),
                    data,
                    fds,
                });
                self.queued += len.div_ceil(segment);
            }
            (_, Payload::Many(v)) => {
                let iov_start = self.iov.len();
                self.iov.extend_from_slice(v);
                self.queue_single(dest, iov_start, at, control_len, len, fds);
            }
        }
        Ok(())
    }

    /// Runs `control` on an encoder over the free arena from `at`, growing the arena (and
    /// running it again) while it is too small; returns the bytes written and the fds.
    fn encode_control<F>(&mut self, at: usize, mut control: F) -> Result<(usize, usize)>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let max_room = self.limits.optmem_max.min(MAX_CONTROL_ROOM);
        let mut room = self.control_room;
        loop {
            self.control.reserve(room);
            let mut enc = Encoder::new(&mut self.control.bytes_mut()[at..at + room]);
            match control(&mut enc) {
                Ok(()) => {
                    self.control_room = room;
                    return Ok((enc.len(), enc.fd_count()));
                }
                Err(Error::Capacity { needed, .. }) if needed > room && room < max_room => {
                    room = needed.max(room.saturating_mul(2)).min(max_room);
                }
                Err(Error::Capacity { needed, .. })
                    if needed > OPTMEM_EXEMPT && needed >= self.limits.optmem_max =>
                {
                    return Err(limit(Limit::ControlBuffer, needed, self.limits.optmem_max));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Copies entry `i`'s control data into the GSO control of the plan, followed by
    /// `UDP_SEGMENT` with this size (0: no segmentation); returns where it lies there and its
    /// length.
    fn gso_control(&mut self, i: usize, size: usize) -> (usize, usize) {
        let e = &self.entries[i];
        let own = &self.control.bytes()[e.control_at..e.control_at + e.control_len];
        let at = self.gso_control.used();
        let len = own.len() + SEGMENT_SPACE;
        self.gso_control.reserve(len);
        let dst = &mut self.gso_control.bytes_mut()[at..at + len];
        dst[..own.len()].copy_from_slice(own);
        let size = u16::try_from(size).expect("segment sizes are checked to fit a u16");
        let written = Encoder::new(&mut dst[own.len()..])
            .push_udp_segment(size)
            .is_ok();
        debug_assert!(written, "room for exactly UDP_SEGMENT was reserved");
        self.gso_control.commit(len);
        (at, len)
    }

    /// `sendmmsg(2)`: sends every queued datagram on `socket`, in order, in calls of at most
    /// 1024 messages; returns how many datagrams were sent (all that were queued, each
    /// datagram of a [`push_segments`](Self::push_segments) payload counted) and empties the
    /// batch, keeping its storage.
    ///
    /// When the kernel takes fewer messages than offered, the next call starts from the first
    /// one it did not take: no datagram is sent twice or skipped. The kernel drops the error
    /// that stopped it, so that call carries that message alone: the datagram's own error
    /// (or `EAGAIN`) comes back and is reported; if it goes, the socket's pending error
    /// (`SO_ERROR`) is asked for and reported when there is one (see below).
    ///
    /// The first send to a socket asks the kernel for its type and its `UDP_SEGMENT` option
    /// (`getsockopt`); the batch remembers the answers for that descriptor, so later sends to
    /// it make one `sendmmsg` per 1024 messages and nothing else. Call
    /// [`set_gso`](Self::set_gso) to make it ask again (after changing the socket's options, or
    /// when a descriptor number was closed and reused for another socket).
    ///
    /// # Errors
    /// A [`BatchError`] with the datagrams sent before the failure
    /// ([`BatchError::sent`]) and the error; the unsent datagrams stay queued, and the next
    /// `send` starts from the first of them. With a non-blocking socket that is how `EAGAIN`
    /// arrives. A GSO message that the kernel refuses (`EIO`, `EINVAL`, `EMSGSIZE`) is not an
    /// error when its datagrams go one by one; when the first of them fails alone, its error
    /// is reported at that datagram and GSO stays on for the socket.
    ///
    /// **A peer that is gone**: on a connected UDP socket whose peer has no listener, the
    /// ICMP error of a datagram fails a later one with `ECONNREFUSED` (see the
    /// [module docs](self)). The send fails with an
    /// [asynchronous](BatchError::is_asynchronous) [`BatchError`]: the datagrams counted in
    /// [`sent`](BatchError::sent) went, the rest stay queued, none was refused. On loopback a
    /// batch of any size to a dead peer fails so after at most two `sendmmsg` calls, having sent
    /// at most two datagrams (two messages with GSO); a send of what remains ends the same way.
    ///
    /// [`Error::NotDatagramSocket`], with nothing sent, for a stream (`SOCK_STREAM`) socket;
    /// [`Error::PartialDatagram`] if the kernel took only part of a message anyway (a
    /// descriptor reused for a stream socket since the batch checked it): that message is
    /// counted as sent.
    #[doc(alias = "sendmmsg")]
    pub fn send<Fd: AsFd>(&mut self, socket: Fd) -> std::result::Result<usize, BatchError> {
        let fd = socket.as_fd();
        let start = self.queued;
        if self.next == self.entries.len() {
            self.clear();
            return Ok(0);
        }
        let info = self
            .socket_info(fd)
            .map_err(|error| self.failure(start, error))?;
        let mut gso = self.gso && info.gso && !info.gso_refused && self.may_segment();
        let max_segments = if gso { self.segment_cap() } else { 1 };
        // A UDP_SEGMENT size set on the socket would cut single datagrams too.
        let unsegment = info.segment_option != 0;
        // After a short count: the next call carries only the message the kernel stopped at.
        let mut alone = false;
        // After a GSO message was refused: the next call carries its datagrams one by one, to
        // tell a refusal of GSO (the first goes) from a refusal of the datagram (it fails).
        let mut gso_probe = false;
        while self.next < self.entries.len() {
            self.plan(gso, max_segments, unsegment);
            if alone {
                self.plan.truncate(1);
            }
            let offered = self.plan.len();
            let result = self.send_planned(fd);
            self.stats.calls += 1;
            match result {
                Ok((0, _)) => {
                    // sendmmsg with messages never returns 0; do not spin if it does.
                    return Err(self.failure(start, Error::os("sendmmsg", libc::EIO)));
                }
                Ok((k, last_len)) => {
                    let planned = self.plan[k - 1].bytes;
                    self.advance(k);
                    if last_len != planned {
                        // Only a stream writes part of a message; never resume on it.
                        self.socket = None;
                        let error = Error::PartialDatagram {
                            written: last_len,
                            len: planned,
                        };
                        return Err(self.failure(start, error));
                    }
                    if std::mem::take(&mut gso_probe) {
                        // The refused message's first datagram went alone: the kernel refused
                        // GSO, not the datagram. The rest go one by one, in this call and the
                        // next ones on this socket (until `set_gso`).
                        if let Some(s) = &mut self.socket {
                            s.gso_refused = true;
                        }
                        self.stats.fallbacks += 1;
                    }
                    if alone {
                        // The message that stopped the last call went: what stopped it did not
                        // come back. The kernel drops an error it meets after the first message
                        // of a sendmmsg, and an asynchronous one (an ICMP error of an earlier
                        // datagram, cleared by that failure) does not come back; the message
                        // just sent may have raised it again: ask.
                        alone = false;
                        if let Ok(errno @ 1..) = sys::take_socket_error(fd) {
                            return Err(self.asynchronous(start, errno));
                        }
                    } else if k < offered {
                        // The kernel stopped at message k + 1 and dropped its error.
                        alone = true;
                    }
                }
                Err(libc::EIO | libc::EINVAL | libc::EMSGSIZE) if gso && self.plan[0].segmented => {
                    // Nothing of the refused message went; send its datagrams one by one. If
                    // the first fails too, its error is reported and GSO stays on.
                    gso = false;
                    gso_probe = true;
                    alone = false;
                }
                Err(errno) if self.is_asynchronous(errno) => {
                    return Err(self.asynchronous(start, errno));
                }
                Err(errno) => return Err(self.failure(start, self.kernel_error(errno))),
            }
        }
        let sent = start - self.queued;
        self.clear();
        Ok(sent)
    }

    /// Whether `errno`, met by the first message of a call, can only be a pending asynchronous
    /// error of the socket: on an IP socket the kernel answers a datagram with these only from
    /// an ICMP error of an earlier one (`ECONNREFUSED`: port unreachable).
    fn is_asynchronous(&self, errno: i32) -> bool {
        self.socket.is_some_and(|s| s.inet)
            && matches!(
                errno,
                libc::ECONNREFUSED
                    | libc::EHOSTDOWN
                    | libc::ENONET
                    | libc::EPROTO
                    | libc::ENOPROTOOPT
            )
    }

    /// The error of a send that began with `start` datagrams queued, for an asynchronous error:
    /// no datagram of the batch was refused.
    #[cold]
    fn asynchronous(&self, start: usize, errno: i32) -> BatchError {
        BatchError {
            asynchronous: true,
            ..self.failure(start, Error::os("sendmmsg", errno))
        }
    }

    /// The error of a send that began with `start` datagrams queued.
    #[cold]
    fn failure(&self, start: usize, error: Error) -> BatchError {
        BatchError {
            sent: start - self.queued,
            failed: self.first_unsent_push(),
            error,
            asynchronous: false,
        }
    }

    /// The index, in push order since the batch was last empty, of the push that holds the
    /// first datagram not yet sent.
    fn first_unsent_push(&self) -> usize {
        let pushes = |e: &Entry<'_>| if e.kind == Kind::Run { e.datagrams } else { 1 };
        let before: usize = self.entries[..self.next].iter().map(pushes).sum();
        match self.entries.get(self.next) {
            Some(e) if e.kind == Kind::Run => before + self.partial,
            _ => before,
        }
    }

    /// Drops the first datagram not yet sent, or what is left of a
    /// [`push_segments`](Self::push_segments) payload: the push a failed [`send`](Self::send)
    /// stopped at ([`BatchError::failed`]). Returns how many datagrams were dropped (0 when
    /// nothing is queued).
    ///
    /// A datagram the kernel always refuses (`EACCES` to a broadcast address without
    /// `SO_BROADCAST`, `EADDRNOTAVAIL` for a source address the host does not have, ...)
    /// would otherwise stop every later send at the same place; drop it and send the rest.
    /// After an [asynchronous](BatchError::is_asynchronous) error nothing was refused: do not
    /// skip, send again.
    ///
    /// ```
    /// # use std::net::UdpSocket;
    /// # use ancillary::batch::Batch;
    /// let rx = UdpSocket::bind("127.0.0.1:0")?;
    /// let tx = UdpSocket::bind("0.0.0.0:0")?;
    /// let mut batch = Batch::new();
    /// batch.push(rx.local_addr()?, b"one")?;
    /// batch.push("255.255.255.255:9".parse()?, b"refused: no SO_BROADCAST")?;
    /// batch.push(rx.local_addr()?, b"two")?;
    /// let mut sent = 0;
    /// while !batch.is_empty() {
    ///     match batch.send(&tx) {
    ///         Ok(n) => sent += n,
    ///         Err(e) if e.is_would_block() => { /* wait until writable */ }
    ///         Err(e) if e.is_asynchronous() => sent += e.sent(), // an earlier datagram's
    ///         Err(e) => {
    ///             sent += e.sent();
    ///             eprintln!("push {} dropped: {}", e.failed(), e.error);
    ///             batch.skip_failed();
    ///         }
    ///     }
    /// }
    /// assert_eq!(sent, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn skip_failed(&mut self) -> usize {
        let Some(e) = self.entries.get(self.next) else {
            return 0;
        };
        let n = match e.kind {
            Kind::Run => 1,
            _ => e.datagrams - self.partial,
        };
        self.partial += n;
        self.queued -= n;
        if self.partial == e.datagrams {
            self.next += 1;
            self.partial = 0;
        }
        n
    }

    /// What the batch knows of `fd`: asked of the kernel (`SO_TYPE`, `UDP_SEGMENT`) on the first
    /// send to it, remembered until another socket is used or [`set_gso`](Self::set_gso).
    ///
    /// # Errors
    /// [`Error::NotDatagramSocket`] for a stream socket; [`Error::Os`] if it is not a socket.
    fn socket_info(&mut self, fd: BorrowedFd<'_>) -> Result<SocketInfo> {
        let raw = fd.as_raw_fd();
        match self.socket {
            Some(info) if info.fd == raw => Ok(info),
            _ => self.probe_socket(fd),
        }
    }

    #[cold]
    fn probe_socket(&mut self, fd: BorrowedFd<'_>) -> Result<SocketInfo> {
        self.socket = None;
        match sys::socket_type(fd) {
            Ok(libc::SOCK_STREAM) => return Err(Error::NotDatagramSocket),
            Ok(_) => {}
            Err(errno) => return Err(Error::os("getsockopt", errno)),
        }
        let option = sys::udp_segment_option(fd);
        let info = SocketInfo {
            fd: fd.as_raw_fd(),
            gso: option.is_ok(),
            segment_option: option.unwrap_or(0),
            gso_refused: false,
            inet: matches!(sys::socket_domain(fd), Ok(libc::AF_INET | libc::AF_INET6)),
        };
        self.socket = Some(info);
        Ok(info)
    }

    /// Whether any message of the next send could carry `UDP_SEGMENT`.
    fn may_segment(&self) -> bool {
        self.entries[self.next..]
            .iter()
            .any(|e| e.kind != Kind::Single)
    }

    fn send_planned(&mut self, fd: BorrowedFd<'_>) -> std::result::Result<(usize, usize), i32> {
        let (iov, pieces) = (&self.iov, &self.pieces);
        let (control, gso_control) = (self.control.bytes(), self.gso_control.bytes());
        let msgs = self.plan.iter().map(|p| OutMsg {
            name: p.name.name(),
            iov: if p.pieces {
                &pieces[p.iov_start..p.iov_end]
            } else {
                &iov[p.iov_start..p.iov_end]
            },
            control: if !p.own_control {
                &gso_control[p.control_at..p.control_at + p.control_len]
            } else {
                &control[p.control_at..p.control_at + p.control_len]
            },
        });
        sys::sendmmsg(fd, &mut self.headers, msgs, self.flags.bits())
    }

    /// Marks the first `k` planned messages as sent.
    fn advance(&mut self, k: usize) {
        for p in &self.plan[..k] {
            let e = &self.entries[self.next];
            debug_assert_eq!(p.entry, self.next, "messages go in order");
            self.partial += p.datagrams;
            self.queued -= p.datagrams;
            if self.partial == e.datagrams {
                self.next += 1;
                self.partial = 0;
            }
            self.stats.messages += 1;
            self.stats.segmented += u64::from(p.segmented);
        }
    }

    /// Whether the datagrams of `e` may go in GSO messages.
    fn can_segment(&self, e: &Entry<'_>) -> bool {
        e.kind != Kind::Single
            && e.fds == 0
            && (1..=usize::from(u16::MAX)).contains(&e.segment)
            && self
                .limits
                .check(
                    0,
                    limits::kernel_control_len(
                        &self.control.bytes()[e.control_at..e.control_at + e.control_len],
                    ) + kernel_segment_space(SEGMENT_SPACE),
                    0,
                )
                .is_ok()
    }

    /// Plans the next `sendmmsg`: at most 1024 messages from the first unsent datagram. With
    /// `gso`, a run or a pushed GSO payload goes in messages of as many datagrams as the
    /// segment cap, the payload cap and the iovec limit allow; without, one datagram each.
    /// With `unsegment`, a message of one datagram carries `UDP_SEGMENT` 0, which overrides
    /// the socket's own `UDP_SEGMENT` size.
    fn plan(&mut self, gso: bool, max_segments: usize, unsegment: bool) {
        self.plan.clear();
        self.gso_control.clear();
        self.pieces.clear();
        let mut i = self.next;
        let mut done = self.partial;
        while i < self.entries.len() && self.plan.len() < MAX_MMSG {
            let e = self.entries[i];
            let name = Dest::new(e.dest);
            let segmentable = gso && self.can_segment(&e);
            let cap = payload_cap(e.dest).unwrap_or(UDP_MAX_PAYLOAD_V4);
            while done < e.datagrams && self.plan.len() < MAX_MMSG {
                let left = e.datagrams - done;
                let n = if segmentable && left > 1 {
                    let by_bytes = if e.len - done * e.segment <= cap {
                        left
                    } else {
                        cap / e.segment
                    };
                    let by_iovecs = match e.kind {
                        Kind::Run => self.limits.max_iovecs,
                        _ => usize::MAX,
                    };
                    left.min(max_segments).min(by_bytes).min(by_iovecs).max(1)
                } else {
                    1
                };
                let (iov_start, iov_end, pieces) = match e.kind {
                    Kind::Single => (e.iov_start, e.iov_end, false),
                    Kind::Run => (e.iov_start + done, e.iov_start + done + n, false),
                    Kind::Train => {
                        let a = done * e.segment;
                        let b = ((done + n) * e.segment).min(e.len);
                        self.pieces.push(IoSlice::new(&e.data[a..b]));
                        (self.pieces.len() - 1, self.pieces.len(), true)
                    }
                };
                let own_control = n == 1 && !unsegment;
                let (control_at, control_len) = if n > 1 {
                    self.gso_control(i, e.segment)
                } else if unsegment {
                    self.gso_control(i, 0)
                } else {
                    (e.control_at, e.control_len)
                };
                let bytes = ((done + n) * e.segment).min(e.len) - done * e.segment;
                self.plan.push(Planned {
                    entry: i,
                    name,
                    datagrams: n,
                    iov_start,
                    iov_end,
                    pieces,
                    control_at,
                    control_len,
                    own_control,
                    segmented: n > 1,
                    bytes,
                });
                done += n;
            }
            if done < e.datagrams {
                break;
            }
            i += 1;
            done = 0;
        }
    }

    /// Maps a kernel error for the first planned message to [`Error::Limit`] when it means a
    /// limit that was not checked (looser [`Limits`]), else to [`Error::Os`].
    fn kernel_error(&self, errno: i32) -> Error {
        let Some(p) = self.plan.first() else {
            return Error::os("sendmmsg", errno);
        };
        let e = &self.entries[p.entry];
        let kernel = |limit, needed, max| Error::Limit {
            limit,
            needed,
            max,
            kernel: Some(errno),
        };
        let iovecs = p.iov_end - p.iov_start;
        let control = if p.own_control {
            self.control.bytes()
        } else {
            self.gso_control.bytes()
        };
        let control = &control[p.control_at..p.control_at + p.control_len];
        let kernel_len = limits::kernel_control_len(control);
        match errno {
            libc::EINVAL if e.fds > limits::MAX_FDS => kernel(Limit::Fds, e.fds, limits::MAX_FDS),
            // ENOBUFS (ENOMEM where the kernel widens the messages) also means a full queue or
            // option memory used by something else: a limit only when the buffer really
            // reaches optmem_max (looser Limits).
            _ if limits::is_control_refusal(errno, kernel_len) => {
                kernel(Limit::ControlBuffer, kernel_len, limits::optmem_max())
            }
            libc::EMSGSIZE if iovecs > limits::MAX_IOVECS => {
                kernel(Limit::Iovecs, iovecs, limits::MAX_IOVECS)
            }
            _ => {
                let carried = Carried::message(control, p.name.name().is_some());
                Error::os_carrying("sendmmsg", errno, carried)
            }
        }
    }
}

/// What a push carries.
#[derive(Clone, Copy)]
enum Payload<'s, 'a> {
    One(&'a [u8]),
    Many(&'s [IoSlice<'a>]),
}

/// What `space` bytes of `UDP_SEGMENT` (0 or [`SEGMENT_SPACE`]) count for in the kernel's
/// `optmem_max` check: more where the kernel widens control messages.
fn kernel_segment_space(space: usize) -> usize {
    if space == 0 || !limits::kernel_widens_control() {
        space
    } else {
        crate::cmsg::Layout::LINUX_64.space(std::mem::size_of::<u16>())
    }
}

fn limit(limit: Limit, needed: usize, max: usize) -> Error {
    Error::Limit {
        limit,
        needed,
        max,
        kernel: None,
    }
}

/// A [`Batch::send`] that failed after sending [`sent`](Self::sent) datagrams: the rest stay
/// queued in the batch, from the push [`failed`](Self::failed) on.
///
/// Send again to resume (after `EAGAIN`, once the socket is writable); if that datagram will
/// always be refused, drop it with [`Batch::skip_failed`] first.
///
/// An [asynchronous](Self::is_asynchronous) error (`ECONNREFUSED` from a connected UDP socket
/// whose peer has no listener: the ICMP error of a datagram sent earlier) refused no datagram
/// of the batch: nothing is at fault at [`failed`](Self::failed), which only says where the
/// next send resumes. The kernel clears the error by reporting it once; send again to resume,
/// or stop sending to that peer. Do not [`skip_failed`](Batch::skip_failed): it would drop a
/// datagram that nobody refused.
///
/// Converts into the crate's [`Error`] (and [`io::Error`]) with `?`, dropping the counts.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Datagrams of the batch sent before the failure (by this call); every datagram of a
    /// [`push_segments`](Batch::push_segments) payload counts.
    pub sent: usize,
    /// The push the first unsent datagram belongs to: its index among the pushes made since
    /// the batch was last empty, from 0. For an error that is not
    /// [asynchronous](Self::asynchronous), the kernel refused that datagram.
    pub failed: usize,
    /// Why the next one was not.
    pub error: Error,
    /// Whether the error is the socket's pending asynchronous error (`SO_ERROR`: an ICMP
    /// error of a datagram sent earlier, by this call or an earlier one) rather than a refusal
    /// of the datagram at [`failed`](Self::failed).
    pub asynchronous: bool,
}

impl BatchError {
    /// Datagrams sent before the failure.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// The index of the push that holds the first unsent datagram (see
    /// [`failed`](Self::failed)): the datagram the kernel refused, unless the error is
    /// [asynchronous](Self::is_asynchronous). Drop it with [`Batch::skip_failed`].
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Whether the error belongs to a datagram sent earlier, not to the one at
    /// [`failed`](Self::failed) (see [`asynchronous`](Self::asynchronous)): the kernel
    /// reported an ICMP error (`ECONNREFUSED`, `EHOSTUNREACH`, ...) that arrived for the socket.
    /// Send again to resume; nothing needs skipping.
    ///
    /// It is `true` when the batch knows: the error came from `SO_ERROR`, or it is one that
    /// an IP socket only reports for an earlier datagram (`ECONNREFUSED`, `EHOSTDOWN`,
    /// `ENONET`, `EPROTO`, `ENOPROTOOPT`). `EHOSTUNREACH`, `ENETUNREACH`, `EMSGSIZE` and
    /// `EACCES` may also be a refusal of the datagram itself (its route, its size, a
    /// broadcast); the kernel does not say which, so they are reported as that datagram's.
    #[doc(alias = "SO_ERROR")]
    pub fn is_asynchronous(&self) -> bool {
        self.asynchronous
    }

    /// Whether the socket would have blocked (`EAGAIN`): wait until it is writable and send
    /// again.
    pub fn is_would_block(&self) -> bool {
        self.error.is_would_block()
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.asynchronous {
            return write!(
                f,
                "{} (reported for a datagram sent earlier, after {} datagrams of the batch were \
                 sent; no datagram was refused: the rest stay queued from push {}, call send \
                 again to resume)",
                self.error, self.sent, self.failed
            );
        }
        write!(
            f,
            "{} (at push {}, after {} datagrams of the batch were sent; the rest stay queued: \
             call send again to resume, or skip_failed to drop that push first)",
            self.error, self.failed, self.sent
        )
    }
}

impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Error {
        e.error
    }
}

impl From<BatchError> for io::Error {
    fn from(e: BatchError) -> io::Error {
        io::Error::new(e.error.kind(), e)
    }
}
