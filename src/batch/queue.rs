//! The queue: entries of one datagram, a run of datagrams formed as they are pushed, or a
//! pushed GSO payload; their destinations; and the pushes that fill it.

use std::io::IoSlice;
use std::net::{SocketAddr, SocketAddrV6};

use nix::sys::socket::{SockaddrIn, SockaddrIn6};

use super::error::limit;
use super::plan::SEGMENT_SPACE;
use super::Batch;
use crate::cmsg::Encoder;
use crate::error::{Error, Limit, Result};
use crate::limits::{self, OPTMEM_EXEMPT, UDP_MAX_PAYLOAD_V4, UDP_MAX_PAYLOAD_V6};
use crate::sys::Name;

/// The most control room a push may grow to when no limit is checked.
pub(super) const MAX_CONTROL_ROOM: usize = 1 << 20;

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dest {
    /// No `msg_name`: the socket's peer.
    Connected,
    V4(SockaddrIn),
    V6(SockaddrIn6),
}

impl Dest {
    pub(super) fn new(addr: Option<SocketAddr>) -> Self {
        match addr {
            None => Dest::Connected,
            Some(SocketAddr::V4(a)) => Dest::V4(a.into()),
            Some(SocketAddr::V6(a)) => Dest::V6(a.into()),
        }
    }

    #[inline]
    pub(super) fn name(&self) -> Option<Name<'_>> {
        match self {
            Dest::Connected => None,
            Dest::V4(a) => Some(Name::new(a)),
            Dest::V6(a) => Some(Name::new(a)),
        }
    }
}

/// The key of an IPv6 destination: compared whole, not by key.
const V6_KEY: u64 = u64::MAX;

/// A key no destination has: the run of the last entry is closed to [`Batch::push`].
const CLOSED: u64 = u64::MAX - 1;

/// What [`Batch::push`] compares to add a datagram to the run of the last entry without
/// looking at the entries (but for an IPv6 destination, compared whole with the entry's): that
/// run's destination key when it is open to a datagram of one iovec without control data (see
/// [`Entry::open`]), and its segment size (at most `u16::MAX`: the segment size of an open
/// run fits `UDP_SEGMENT`). The datagrams it adds are counted and written into the entry by
/// [`Batch::seal`], from the iovecs past the entry's end.
///
/// Open only while the limits allow a datagram of one iovec: it opens after a push that
/// passed them, and [`Batch::set_limits`] closes it.
///
/// The segment size is kept beside it in the batch (`tail_segment`), outside the boxed state:
/// a push that continues a run to the connected peer or an IPv4 address follows no pointer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tail {
    /// The last entry's [`dest_key`] when open, else [`CLOSED`].
    plain_key: u64,
}

impl Tail {
    pub(super) const CLOSED: Tail = Tail { plain_key: CLOSED };
}

/// The key of the connected peer: above every IPv4 key (which fits 48 bits).
const CONNECTED_KEY: u64 = 1 << 48;

/// A destination as one number, equal for equal destinations: for the connected peer and an
/// IPv4 address (port and address bits, below 2^48) it decides equality alone; every IPv6
/// address gets [`V6_KEY`] and is compared whole. What a push compares to join a run.
#[inline(always)]
fn dest_key(dest: Option<SocketAddr>) -> u64 {
    match dest {
        None => CONNECTED_KEY,
        // The address bytes as they lie in memory: no byte swap, the same equality.
        Some(SocketAddr::V4(a)) => {
            u64::from(a.port()) << 32 | u64::from(u32::from_ne_bytes(a.ip().octets()))
        }
        Some(SocketAddr::V6(_)) => V6_KEY,
    }
}

/// The largest UDP payload towards `addr`, if its family is known.
#[inline]
pub(super) fn payload_cap(addr: Option<SocketAddr>) -> Option<usize> {
    match addr {
        None => None,
        Some(SocketAddr::V4(_)) => Some(UDP_MAX_PAYLOAD_V4),
        Some(SocketAddr::V6(a)) => Some(payload_cap_v6(&a)),
    }
}

/// [`payload_cap`] of an IPv6 address: out of line, so that an IPv4 destination does not
/// pay for the IPv4-mapped test.
#[inline(never)]
fn payload_cap_v6(a: &SocketAddrV6) -> usize {
    if a.ip().to_ipv4_mapped().is_some() {
        UDP_MAX_PAYLOAD_V4
    } else {
        UDP_MAX_PAYLOAD_V6
    }
}

/// What an entry of the batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) struct Entry<'a> {
    pub(super) kind: Kind,
    /// `None`: the connected peer.
    pub(super) dest: Option<SocketAddr>,
    /// The same, as `msg_name` wants it.
    pub(super) name: Dest,
    /// The same, as [`dest_key`] gives it.
    pub(super) key: u64,
    /// Its iovecs in `Batch::iov`.
    pub(super) iov_start: usize,
    pub(super) iov_end: usize,
    /// Its control data (every datagram's) in the arena.
    pub(super) control_at: usize,
    pub(super) control_len: usize,
    /// What the kernel counts its control data as against `optmem_max`: `control_len`, or
    /// more where the kernel widens the messages (a 32-bit process on a 64-bit kernel).
    pub(super) kernel_control_len: usize,
    /// Payload bytes over all its datagrams.
    pub(super) len: usize,
    /// The size of each datagram but the last (of a single datagram: its size).
    pub(super) segment: usize,
    /// Datagrams in it.
    pub(super) datagrams: usize,
    /// The payload of a `Train`, to cut at any datagram.
    pub(super) data: &'a [u8],
    pub(super) fds: usize,
    /// Whether a datagram of one iovec, without fds, may still join it as a run: not a
    /// `Train`, no fds, one iovec per datagram, a segment size that fits `UDP_SEGMENT`, and
    /// its last datagram a whole segment. Decided when the entry is made or grows, so that a
    /// push only compares destination, size and control data.
    pub(super) open: bool,
}

impl Entry<'_> {
    /// The size of its last datagram.
    fn last_len(&self) -> usize {
        self.len - (self.datagrams - 1) * self.segment
    }
}

/// The control data of a push, in the arena: where, how long, what the kernel counts it as
/// against `optmem_max` ([`limits::kernel_control_len`]), and the fds in it.
#[derive(Clone, Copy)]
struct Own {
    at: usize,
    len: usize,
    kernel_len: usize,
    fds: usize,
}

impl Own {
    /// No control data, at `at`.
    fn none(at: usize) -> Self {
        Own {
            at,
            len: 0,
            kernel_len: 0,
            fds: 0,
        }
    }
}

/// What a push carries.
#[derive(Clone, Copy)]
enum Payload<'s, 'a> {
    One(&'a [u8]),
    Many(&'s [IoSlice<'a>]),
}

impl<'a> Batch<'a> {
    /// Queues one datagram of `data` to `dest`: a [`SocketAddr`], or `None` /
    /// [`Destination::Connected`](super::Destination::Connected) for the connected peer (every
    /// push takes the same forms: see [`Destination`](super::Destination)).
    ///
    /// # Errors
    /// [`Error::Limit`] ([`Limit::Payload`]) if `data` is larger than a UDP datagram to that
    /// address family can be; the batch is unchanged.
    #[inline]
    pub fn push(&mut self, dest: impl Into<super::Destination>, data: &'a [u8]) -> Result<()> {
        let dest = dest.into();
        // A datagram that continues the open run of the last entry (same destination, no
        // control data, exactly its segment size): one iovec, counted when the run is sealed.
        // Such a datagram is as long as the run's first, which passed the payload cap of the
        // same destination: it passes it too; and the tail is open only while the limits
        // allow a datagram of one iovec (see Tail), which is all it has. A shorter datagram,
        // which ends the run, takes the longer way.
        let key = dest_key(dest.socket_addr());
        // Both compared at once: one branch.
        if (key ^ self.tail.plain_key) | (data.len() as u64 ^ u64::from(self.tail_segment)) == 0 {
            // An open tail has a last entry: the run it describes.
            if key != V6_KEY || self.continues_v6(dest) {
                debug_assert!(self.state.limits.check(0, 0, 1).is_ok());
                self.iov.push(IoSlice::new(data));
                return Ok(());
            }
        }
        self.push_plain(dest.socket_addr(), data)
    }

    /// Whether the last entry goes to `dest`, an IPv6 address.
    #[inline(never)]
    fn continues_v6(&self, dest: super::Destination) -> bool {
        self.state.entries.last().and_then(|e| e.dest) == dest.socket_addr()
    }

    /// [`push`](Self::push) of a datagram that does not continue the open run: one that starts
    /// a run, or ends one.
    #[cold]
    fn push_plain(&mut self, dest: Option<SocketAddr>, data: &'a [u8]) -> Result<()> {
        // What push_entry checks of one slice without control data.
        self.state.limits.check(0, 0, 1)?;
        self.seal();
        let slice = IoSlice::new(data);
        if !self.join(dest.as_ref(), slice, 0, 0) {
            if let Some(cap) = payload_cap(dest) {
                if data.len() > cap {
                    return Err(limit(Limit::Payload, data.len(), cap));
                }
            }
            self.push_single(dest, slice, Own::none(self.state.control.used()));
        }
        self.open_tail();
        Ok(())
    }

    /// Brings the last entry, and the count of queued datagrams, up to date with the
    /// datagrams [`push`](Self::push) added to its run since it was last sealed: every iovec
    /// past its end is one of them, each `segment` bytes long (a shorter datagram, which ends
    /// the run, goes through [`join`](Self::join), which seals first). Called before anything
    /// reads the entries or the count, or adds iovecs for another entry.
    #[inline]
    pub(super) fn seal(&mut self) {
        if self.unsealed() != 0 {
            self.seal_run();
        }
    }

    /// [`seal`](Self::seal) of a last entry with datagrams past its end: each a whole segment,
    /// so the run stays open.
    fn seal_run(&mut self) {
        let Some(e) = self.state.entries.last_mut() else {
            return;
        };
        let added = self.iov.len() - e.iov_end;
        debug_assert!(e.open && self.iov[e.iov_end..].iter().all(|s| s.len() == e.segment));
        e.kind = Kind::Run;
        e.iov_end = self.iov.len();
        e.datagrams += added;
        e.len += added * e.segment;
        self.state.queued += added;
    }

    /// Datagrams [`push`](Self::push) added to the run of the last entry since it was last
    /// sealed (see [`seal`](Self::seal)).
    #[inline]
    pub(super) fn unsealed(&self) -> usize {
        self.state
            .entries
            .last()
            .map_or(0, |e| self.iov.len() - e.iov_end)
    }

    /// Opens the run of the last entry to [`push`](Self::push) if it may grow by datagrams
    /// of one iovec without control data, else closes it.
    fn open_tail(&mut self) {
        self.tail = match self.state.entries.last() {
            Some(e)
                if e.open && e.control_len == 0 && self.state.entries.len() > self.state.next =>
            {
                // An open entry's segment size is at most u16::MAX.
                self.tail_segment = e.segment as u16;
                Tail { plain_key: e.key }
            }
            _ => Tail::CLOSED,
        };
    }

    /// Adds a datagram (one iovec, control data already in the arena at `control_at` but not
    /// committed) to the last entry if it continues that entry's run; `false` if it does not.
    #[inline]
    fn join(
        &mut self,
        dest: Option<&SocketAddr>,
        slice: IoSlice<'a>,
        control_at: usize,
        control_len: usize,
    ) -> bool {
        let iov = &mut self.iov;
        let super::State {
            entries,
            control,
            next,
            queued,
            ..
        } = &mut *self.state;
        // Past the first unsent entry, so there is a last one, not yet wholly sent.
        if entries.len() <= *next {
            return false;
        }
        let Some(last) = entries.last_mut() else {
            return false;
        };
        let len = slice.len();
        let key = dest_key(dest.copied());
        debug_assert_eq!(
            last.open,
            last.kind != Kind::Train
                && last.fds == 0
                && last.iov_end - last.iov_start == last.datagrams
                && (1..=usize::from(u16::MAX)).contains(&last.segment)
                && last.last_len() == last.segment
        );
        let joins = last.open
            && len.wrapping_sub(1) < last.segment // 1..=segment bytes
            && last.control_len == control_len
            && last.key == key
            && (key != V6_KEY || last.dest.as_ref() == dest)
            && (control_len == 0
                || control.bytes()[last.control_at..last.control_at + control_len]
                    == control.bytes()[control_at..control_at + control_len]);
        if !joins {
            return false;
        }
        iov.push(slice);
        last.kind = Kind::Run;
        last.iov_end += 1;
        last.datagrams += 1;
        last.len += len;
        // A shorter datagram ends the run.
        last.open = len == last.segment;
        *queued += 1;
        true
    }

    /// Queues a new entry of one datagram of one iovec (control data committed already).
    fn push_single(&mut self, dest: Option<SocketAddr>, slice: IoSlice<'a>, own: Own) {
        let iov_start = self.iov.len();
        let len = slice.len();
        self.iov.push(slice);
        self.queue_single(dest, iov_start, own, len);
    }

    /// Queues a new entry of one datagram whose iovecs are `iov[iov_start..]`, just pushed.
    fn queue_single(&mut self, dest: Option<SocketAddr>, iov_start: usize, own: Own, len: usize) {
        let open = own.fds == 0
            && self.iov.len() - iov_start == 1
            && (1..=usize::from(u16::MAX)).contains(&len);
        self.state.entries.push(Entry {
            open,
            kind: Kind::Single,
            dest,
            name: Dest::new(dest),
            key: dest_key(dest),
            iov_start,
            iov_end: self.iov.len(),
            control_at: own.at,
            control_len: own.len,
            kernel_control_len: own.kernel_len,
            len,
            segment: len,
            datagrams: 1,
            data: &[],
            fds: own.fds,
        });
        self.state.queued += 1;
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
    pub fn push_with<F>(
        &mut self,
        dest: impl Into<super::Destination>,
        data: &'a [u8],
        control: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let dest = dest.into().socket_addr();
        self.push_entry(dest, payload_cap(dest), Payload::One(data), 0, control)
    }

    /// Queues one datagram gathered from `iov`, to `dest` (`None` or
    /// [`Destination::Connected`](super::Destination::Connected): the connected peer), with
    /// control messages written by `control` (see [`push_with`](Self::push_with)).
    ///
    /// # Errors
    /// [`Error::Limit`] for more than 1024 iovecs or a payload, control buffer or fd count over
    /// its limit; any error `control` returns. The batch is unchanged.
    pub fn push_vectored<F>(
        &mut self,
        dest: impl Into<super::Destination>,
        iov: &[IoSlice<'a>],
        control: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let dest = dest.into().socket_addr();
        self.push_entry(dest, payload_cap(dest), Payload::Many(iov), 0, control)
    }

    /// Queues a GSO payload to `dest` (any form [`Destination`](super::Destination) takes):
    /// `data` goes out as datagrams of `segment_size` bytes (the last
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
        dest: impl Into<super::Destination>,
        data: &'a [u8],
        segment_size: usize,
        control: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let dest = dest.into().socket_addr();
        let cap = payload_cap(dest);
        let max_size = cap.unwrap_or(UDP_MAX_PAYLOAD_V6).min(usize::from(u16::MAX));
        if segment_size == 0 || segment_size > max_size {
            return Err(limit(Limit::SegmentSize, segment_size, max_size));
        }
        let segment = if data.len() > segment_size {
            segment_size
        } else {
            0
        };
        self.push_entry(dest, cap, Payload::One(data), segment, control)
    }

    /// Queues a push to `dest` (whose payload cap is `cap`, from [`payload_cap`]): one
    /// datagram of `payload`, or with a `segment` size the GSO payload cut at it (`segment` is
    /// then less than its length). Every limit is checked before anything is queued.
    fn push_entry<F>(
        &mut self,
        dest: Option<SocketAddr>,
        cap: Option<usize>,
        payload: Payload<'_, 'a>,
        segment: usize,
        control: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        self.seal();
        let (iovecs, len) = match payload {
            Payload::One(d) => (1, d.len()),
            // Saturating: slices may alias, so their lengths may add up past `usize::MAX`.
            Payload::Many(v) => (
                v.len(),
                v.iter().fold(0usize, |n, s| n.saturating_add(s.len())),
            ),
        };
        if iovecs > self.state.limits.max_iovecs {
            return Err(limit(Limit::Iovecs, iovecs, self.state.limits.max_iovecs));
        }
        if let Some(cap) = cap {
            if len > cap {
                return Err(limit(Limit::Payload, len, cap));
            }
        }
        // The datagrams of a GSO payload (more than one: it is longer than a segment).
        let datagrams = if segment != 0 {
            let n = len.div_ceil(segment);
            let segment_cap = self.segment_cap();
            if n > segment_cap {
                return Err(limit(Limit::Segments, n, segment_cap));
            }
            n
        } else {
            1
        };

        // Control data, written in place at the end of the arena.
        let at = self.state.control.used();
        let (control_len, fds) = self.encode_control(at, control)?;
        let own = if control_len == 0 {
            // Nothing to count or to look into: the checks below see no control data.
            Own {
                fds,
                ..Own::none(at)
            }
        } else {
            Own {
                at,
                len: control_len,
                kernel_len: limits::kernel_control_len(
                    &self.state.control.bytes()[at..at + control_len],
                ),
                fds,
            }
        };
        // A GSO payload always goes with UDP_SEGMENT; the kernel counts both as it sees them.
        let with_segment = if segment != 0 { SEGMENT_SPACE } else { 0 };
        self.state.limits.check(
            own.fds,
            own.kernel_len + kernel_segment_space(with_segment),
            iovecs,
        )?;
        if control_len != 0 {
            limits::check_rights_messages(
                &self.state.limits,
                &self.state.control.bytes()[at..at + control_len],
            )?;
        }

        let one = match payload {
            Payload::One(d) => Some(IoSlice::new(d)),
            Payload::Many([s]) => Some(*s),
            Payload::Many(_) => None,
        };
        if segment == 0 && own.fds == 0 {
            if let Some(slice) = one {
                if self.join(dest.as_ref(), slice, at, control_len) {
                    self.open_tail();
                    return Ok(()); // the run's control data serves; this copy is dropped
                }
            }
        }
        self.state.control.commit(control_len);
        match (one, payload) {
            (Some(slice), _) if segment == 0 => {
                self.push_single(dest, slice, own);
            }
            (_, Payload::One(data)) => {
                let iov_start = self.iov.len();
                self.iov.push(IoSlice::new(data));
                self.state.entries.push(Entry {
                    open: false,
                    kind: Kind::Train,
                    dest,
                    name: Dest::new(dest),
                    key: dest_key(dest),
                    iov_start,
                    iov_end: iov_start + 1,
                    control_at: at,
                    control_len,
                    kernel_control_len: own.kernel_len,
                    len,
                    segment,
                    datagrams,
                    data,
                    fds: own.fds,
                });
                self.state.queued += datagrams;
                // A pushed GSO payload is never open to more (Entry::open).
                self.tail = Tail::CLOSED;
                return Ok(());
            }
            (_, Payload::Many(v)) => {
                let iov_start = self.iov.len();
                self.iov.extend_from_slice(v);
                self.queue_single(dest, iov_start, own, len);
            }
        }
        self.open_tail();
        Ok(())
    }

    /// Runs `control` on an encoder over the free arena from `at`, growing the arena (and
    /// running it again) while it is too small; returns the bytes written and the fds.
    fn encode_control<F>(&mut self, at: usize, mut control: F) -> Result<(usize, usize)>
    where
        F: FnMut(&mut Encoder<'_, 'a>) -> Result<()>,
    {
        let max_room = self.state.limits.optmem_max.min(MAX_CONTROL_ROOM);
        let mut room = self.state.control_room as usize;
        loop {
            self.state.control.reserve(room);
            let mut enc = Encoder::new(&mut self.state.control.bytes_mut()[at..at + room]);
            match control(&mut enc) {
                Ok(()) => {
                    // At most MAX_CONTROL_ROOM, a u32.
                    self.state.control_room = u32::try_from(room).unwrap_or(u32::MAX);
                    return Ok((enc.len(), enc.fd_count()));
                }
                Err(Error::Capacity { needed, .. }) if needed > room && room < max_room => {
                    room = needed.max(room.saturating_mul(2)).min(max_room);
                }
                Err(Error::Capacity { needed, .. })
                    if needed > OPTMEM_EXEMPT && needed >= self.state.limits.optmem_max =>
                {
                    return Err(limit(
                        Limit::ControlBuffer,
                        needed,
                        self.state.limits.optmem_max,
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The index, in push order since the batch was last empty, of the push that holds the
    /// first datagram not yet sent.
    pub(super) fn first_unsent_push(&self) -> usize {
        let pushes = |e: &Entry<'_>| if e.kind == Kind::Run { e.datagrams } else { 1 };
        let before: usize = self.state.entries[..self.state.next]
            .iter()
            .map(pushes)
            .sum();
        match self.state.entries.get(self.state.next) {
            Some(e) if e.kind == Kind::Run => before + self.state.partial,
            _ => before,
        }
    }

    /// Drops the first datagram not yet sent, or what is left of a
    /// [`push_segments`](Self::push_segments) payload: the push a failed [`send`](Self::send)
    /// stopped at ([`BatchError::failed`](super::BatchError::failed)). Returns how many datagrams were dropped (0 when
    /// nothing is queued).
    ///
    /// A datagram the kernel always refuses (`EACCES` to a broadcast address without
    /// `SO_BROADCAST`, `EADDRNOTAVAIL` for a source address the host does not have, ...)
    /// would otherwise stop every later send at the same place; drop it and send the rest.
    /// After an [asynchronous](super::BatchError::is_asynchronous) error nothing was refused: do not
    /// skip, send again.
    ///
    /// ```
    /// # use std::net::UdpSocket;
    /// # use ancillary::batch::Batch;
    /// let rx = UdpSocket::bind("127.0.0.1:0")?;
    /// let tx = UdpSocket::bind("0.0.0.0:0")?;
    /// let mut batch = Batch::new();
    /// batch.push(rx.local_addr()?, b"one")?;
    /// let broadcast: std::net::SocketAddr = "255.255.255.255:9".parse()?;
    /// batch.push(broadcast, b"refused: no SO_BROADCAST")?;
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
        self.seal();
        self.tail = Tail::CLOSED;
        let Some(e) = self.state.entries.get(self.state.next) else {
            return 0;
        };
        let n = match e.kind {
            Kind::Run => 1,
            _ => e.datagrams - self.state.partial,
        };
        self.state.partial += n;
        self.state.queued -= n;
        if self.state.partial == e.datagrams {
            self.state.next += 1;
            self.state.partial = 0;
        }
        n
    }
}

/// What `space` bytes of `UDP_SEGMENT` (0 or [`SEGMENT_SPACE`]) count for in the kernel's
/// `optmem_max` check: more where the kernel widens control messages.
pub(super) fn kernel_segment_space(space: usize) -> usize {
    if space == 0 || !limits::kernel_widens_control() {
        space
    } else {
        crate::cmsg::Layout::LINUX_64.space(std::mem::size_of::<u16>())
    }
}
