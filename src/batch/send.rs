//! The send loop: `sendmmsg` calls over the plan, resuming where the kernel stopped.

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd};

use super::arena::ControlArena;
use super::gso::Fallback;
use super::plan::{may_segment, plan, Planned, Rules, SEGMENT_SPACE};
use super::queue::{kernel_segment_space, Entry, Kind, Tail};
use super::{Batch, BatchError};
use crate::error::Error;
use crate::limits::MAX_MMSG;
use crate::sys::{self, OutRun};

impl<'a> Batch<'a> {
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
    /// arrives: resuming is one call, `send` again once the socket is writable
    /// ([`wait_writable`](crate::wait_writable) or an event loop); nothing is sent twice and
    /// nothing is skipped. A GSO message that the kernel refuses (`EIO`, `EINVAL`, `EMSGSIZE`) is not an
    /// error when its datagrams go one by one; when the first of them fails alone, its error
    /// is reported at that datagram and GSO stays on for the socket.
    ///
    /// **A peer that is gone**: on a connected UDP socket whose peer has no listener, the
    /// ICMP error of a datagram fails a later one with `ECONNREFUSED` (see the
    /// [module docs](crate::batch)). The send fails with an
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
    #[inline]
    pub fn send<Fd: AsFd>(&mut self, socket: Fd) -> std::result::Result<usize, BatchError> {
        let fd = socket.as_fd();
        // The queue as pushed; what stays queued after this send is never added to.
        self.seal();
        self.tail = Tail::CLOSED;
        // What calls stage goes past the queue's iovecs and control data, and is dropped
        // when the send ends, however it ends: the queue is as it was, less what was sent.
        let base = StageBase {
            iov: self.iov.len(),
            control: self.state.control.used(),
        };
        Unstage { batch: self, base }.send_from(fd, base)
    }

    /// [`send`](Self::send) of the sealed queue, staging past `base`.
    fn send_from(
        &mut self,
        fd: BorrowedFd<'_>,
        base: StageBase,
    ) -> std::result::Result<usize, BatchError> {
        let start = self.state.queued;
        if self.state.next == self.state.entries.len() {
            self.clear();
            return Ok(0);
        }
        let info = self
            .socket_info(fd)
            .map_err(|error| self.failure(start, error))?;
        let gso = self.state.gso
            && info.gso
            && !info.gso_refused
            && may_segment(&self.state.entries[self.state.next..]);
        let mut fallback = Fallback::new(gso);
        let max_segments = if gso { self.segment_cap() } else { 1 };
        // A UDP_SEGMENT size set on the socket would cut single datagrams too.
        let unsegment = info.segment_option;
        // After a short count: the next call carries only the message the kernel stopped at.
        let mut alone = false;
        // Whether any message may need staging: a piece of a pushed GSO payload, or
        // UDP_SEGMENT (with GSO, or 0 when unsegmenting). The queue does not change in a send.
        let trains = self.state.entries[self.state.next..]
            .iter()
            .any(|e| e.kind == Kind::Train);
        while self.state.next < self.state.entries.len() {
            let rules = Rules {
                max_messages: if alone { 1 } else { MAX_MMSG },
                segment_space: kernel_segment_space(SEGMENT_SPACE),
                ..Rules::new(fallback.gso(), max_segments, unsegment, self.state.limits)
            };
            // Without GSO, pieces of pushed GSO payloads or UDP_SEGMENT, every message is one
            // queued datagram with its own control data, as the planner would plan it: the
            // messages go straight from the queue, with nothing planned or staged.
            let direct = !(trains || unsegment || fallback.gso());
            let (offered, result) = if direct {
                self.state.plan.clear();
                let runs = direct_runs(
                    &self.state.entries[self.state.next..],
                    self.state.partial,
                    &self.iov,
                    self.state.control.bytes(),
                );
                let offered = self.state.queued.min(rules.max_messages);
                let result = sys::sendmmsg(
                    fd,
                    &mut self.state.headers,
                    runs,
                    rules.max_messages,
                    self.state.flags.bits(),
                );
                if result.is_err() {
                    // What the error paths read: the first message of this call, as planned.
                    let first = Rules {
                        max_messages: 1,
                        ..rules
                    };
                    plan(
                        &self.state.entries,
                        self.state.next,
                        self.state.partial,
                        &first,
                        &mut self.state.plan,
                    );
                }
                (offered, result)
            } else {
                plan(
                    &self.state.entries,
                    self.state.next,
                    self.state.partial,
                    &rules,
                    &mut self.state.plan,
                );
                self.stage(base);
                (self.state.plan.len(), self.send_planned(fd, base))
            };
            self.state.stats.calls += 1;
            match result {
                Ok((0, _)) => {
                    // sendmmsg with messages never returns 0; do not spin if it does.
                    return Err(self.failure(start, Error::os("sendmmsg", libc::EIO)));
                }
                Ok((k, last_len)) => {
                    let planned = if direct {
                        self.advance_direct(k)
                    } else {
                        let planned = self.state.plan[k - 1].bytes;
                        self.advance(k);
                        planned
                    };
                    if last_len != planned {
                        // Only a stream writes part of a message; never resume on it.
                        self.state.socket = None;
                        let error = Error::PartialDatagram {
                            written: last_len,
                            len: planned,
                        };
                        return Err(self.failure(start, error));
                    }
                    if fallback.sent() {
                        // The refused message's first datagram went alone: the kernel refused
                        // GSO, not the datagram. The rest go one by one, in this call and the
                        // next ones on this socket (until `set_gso`).
                        if let Some(s) = &mut self.state.socket {
                            s.gso_refused = true;
                        }
                        self.state.stats.fallbacks += 1;
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
                Err(errno) if fallback.refused(errno, &self.state.plan[0]) => {
                    // Nothing of the refused message went; its datagrams go one by one. If
                    // the first fails too, its error is reported and GSO stays on.
                    alone = false;
                }
                Err(errno) if self.is_asynchronous(errno) => {
                    return Err(self.asynchronous(start, errno));
                }
                Err(errno) => return Err(self.failure(start, self.kernel_error(errno, base))),
            }
        }
        let sent = start - self.state.queued;
        self.clear();
        Ok(sent)
    }

    /// Writes what the planned messages need besides the queue: the piece of a pushed GSO
    /// payload each of its messages carries, and the control data of the messages that carry
    /// `UDP_SEGMENT` (the entry's, followed by it), in plan order: once for consecutive
    /// messages with the same control data of their entries and the same size, which share it
    /// ([`Staged`]).
    ///
    /// The pieces go into `iov` and the control data into the control arena, past `base` (the
    /// queue's own), replacing what an earlier call of the send staged there.
    fn stage(&mut self, base: StageBase) {
        self.iov.truncate(base.iov);
        self.state.control.truncate(base.control);
        let mut staged = Staged::NONE;
        let mut template = None;
        for p in &self.state.plan {
            let e = &self.state.entries[p.entry];
            if e.kind == Kind::Train {
                self.iov.push(IoSlice::new(&e.data[p.byte_range(e)]));
            }
            if let Some(size) = p.udp_segment {
                if staged.fresh(e, size) {
                    let template = template.get_or_insert_with(segment_template);
                    let own = e.control_at..e.control_at + e.control_len;
                    push_with_segment(&mut self.state.control, own, template, size);
                }
            }
        }
    }

    fn send_planned(
        &mut self,
        fd: BorrowedFd<'_>,
        base: StageBase,
    ) -> std::result::Result<(usize, usize), i32> {
        let mut buffers = Buffers::new(
            &self.state.entries,
            &self.iov,
            self.state.control.bytes(),
            base,
        );
        let msgs = self.state.plan.iter().map(|p| buffers.next(p).run());
        sys::sendmmsg(
            fd,
            &mut self.state.headers,
            msgs,
            MAX_MMSG,
            self.state.flags.bits(),
        )
    }

    /// Marks the next `k` datagrams as sent, each its own message; returns the payload bytes
    /// of the last of them.
    fn advance_direct(&mut self, k: usize) -> usize {
        self.state.queued -= k;
        self.state.stats.messages += k as u64;
        let mut left = k;
        let mut last = 0;
        while left > 0 {
            let e = &self.state.entries[self.state.next];
            let take = (e.datagrams - self.state.partial).min(left);
            left -= take;
            self.state.partial += take;
            if left == 0 {
                // The bytes of its datagram `partial - 1`, as the planner counts them.
                let i = self.state.partial - 1;
                last = ((i + 1) * e.segment).min(e.len) - i * e.segment;
            }
            if self.state.partial == e.datagrams {
                self.state.next += 1;
                self.state.partial = 0;
            }
        }
        last
    }

    /// Marks the first `k` planned messages as sent.
    fn advance(&mut self, k: usize) {
        // Counted in locals, stored once.
        let (mut next, mut partial, mut sent, mut segmented) =
            (self.state.next, self.state.partial, 0, 0);
        for p in &self.state.plan[..k] {
            debug_assert_eq!(p.entry, next, "messages go in order");
            partial += p.datagrams;
            sent += p.datagrams;
            if partial == self.state.entries[next].datagrams {
                next += 1;
                partial = 0;
            }
            segmented += u64::from(p.segmented());
        }
        self.state.next = next;
        self.state.partial = partial;
        self.state.queued -= sent;
        self.state.stats.segmented += segmented;
        self.state.stats.messages += k as u64;
    }
}

/// The staged control data that the last message with `UDP_SEGMENT` used, by the place of
/// its entry's control data in the arena and its size: [`Batch::stage`] and [`Buffers::next`]
/// walk the plan alike, and stage anew, or take the next staged control data, exactly when
/// [`fresh`](Self::fresh) says so.
#[derive(Debug, Clone, Copy)]
struct Staged {
    control_at: usize,
    control_len: usize,
    size: u16,
}

impl Staged {
    /// Nothing staged yet (no control data starts there: the arena is shorter).
    const NONE: Staged = Staged {
        control_at: usize::MAX,
        control_len: 0,
        size: 0,
    };

    /// Whether a message of `e` with `UDP_SEGMENT` of `size` needs control data of its own:
    /// unless the last message with `UDP_SEGMENT` had the same size and its entry's control
    /// data the same place (the same entry, or entries without control data pushed one after
    /// another), so that its staged bytes (that control data, then `UDP_SEGMENT` of that
    /// size) are the same.
    #[inline]
    fn fresh(&mut self, e: &Entry<'_>, size: u16) -> bool {
        let next = Staged {
            control_at: e.control_at,
            control_len: e.control_len,
            size,
        };
        let fresh = self.control_at != next.control_at
            || self.control_len != next.control_len
            || self.size != next.size;
        *self = next;
        fresh
    }
}

/// Where the size of a `UDP_SEGMENT` message starts: after its header.
#[cfg(has_gso)]
const SEGMENT_DATA_AT: usize = crate::cmsg::Layout::NATIVE.data_offset();

/// A `UDP_SEGMENT` message of size 0, as the encoder writes it: what
/// [`push_with_segment`] copies, with the size written in, instead of encoding each anew.
fn segment_template() -> [u8; SEGMENT_SPACE] {
    #[allow(unused_mut)] // written only where there is GSO
    let mut template = [0; SEGMENT_SPACE];
    // A GSO plan needs a socket that answered the UDP_SEGMENT option, which only a system with
    // GSO has (sys::HAS_GSO); without it SEGMENT_SPACE is 0 and nothing is written.
    #[cfg(has_gso)]
    {
        let mut buf = crate::cmsg::CmsgBuffer::<SEGMENT_SPACE>::new();
        let mut enc = buf.encoder();
        let written = enc.push_udp_segment(0).is_ok();
        debug_assert!(written, "room for exactly UDP_SEGMENT");
        template.copy_from_slice(enc.as_bytes());
    }
    template
}

/// Appends the bytes at `own` in `arena` (an entry's control data, in use before `own.end`)
/// followed by `UDP_SEGMENT` of `size` (0: no segmentation) to `arena`: the `template`
/// ([`segment_template`]) with `size` in it.
fn push_with_segment(
    arena: &mut ControlArena,
    own: std::ops::Range<usize>,
    template: &[u8; SEGMENT_SPACE],
    size: u16,
) {
    let at = arena.used();
    let own_len = own.len();
    let len = own_len + SEGMENT_SPACE;
    arena.reserve(len);
    let bytes = arena.bytes_mut();
    if own_len != 0 {
        bytes.copy_within(own, at);
    }
    let segment = &mut bytes[at + own_len..at + len];
    segment.copy_from_slice(template);
    #[cfg(has_gso)]
    segment[SEGMENT_DATA_AT..SEGMENT_DATA_AT + 2].copy_from_slice(&size.to_ne_bytes());
    #[cfg(not(has_gso))]
    let _ = size;
    arena.commit(len);
}

/// The batch of a send, whose staging is dropped when the send ends (on return or unwind).
struct Unstage<'b, 'a> {
    batch: &'b mut Batch<'a>,
    base: StageBase,
}

impl<'a> std::ops::Deref for Unstage<'_, 'a> {
    type Target = Batch<'a>;
    fn deref(&self) -> &Batch<'a> {
        self.batch
    }
}

impl<'a> std::ops::DerefMut for Unstage<'_, 'a> {
    fn deref_mut(&mut self) -> &mut Batch<'a> {
        self.batch
    }
}

impl Drop for Unstage<'_, '_> {
    fn drop(&mut self) {
        self.batch.iov.truncate(self.base.iov);
        self.batch.state.control.truncate(self.base.control);
    }
}

/// Where a send's staging starts: the length of the queue's iovecs and control data, past
/// which [`Batch::stage`] writes what a call needs besides the queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct StageBase {
    pub(super) iov: usize,
    pub(super) control: usize,
}

/// The buffers of the planned messages, taken message after message in plan order: the
/// queue's, and what [`Batch::stage`] wrote for the plan.
pub(super) struct Buffers<'s, 'a> {
    entries: &'s [Entry<'a>],
    iov: &'s [IoSlice<'a>],
    pieces: &'s [IoSlice<'a>],
    control: &'s [u8],
    gso_control: &'s [u8],
    /// Where the next message's piece starts.
    piece: usize,
    /// The staged control data the last message with `UDP_SEGMENT` took, and what it was for.
    gso_at: usize,
    gso_end: usize,
    staged: Staged,
}

impl<'s, 'a> Buffers<'s, 'a> {
    /// Over the queue's `entries`, `iov` and `control` and what was staged in the last two
    /// past `base`.
    pub(super) fn new(
        entries: &'s [Entry<'a>],
        iov: &'s [IoSlice<'a>],
        control: &'s [u8],
        base: StageBase,
    ) -> Self {
        Buffers {
            entries,
            iov,
            pieces: &iov[base.iov..],
            control,
            gso_control: &control[base.control..],
            piece: 0,
            gso_at: 0,
            gso_end: 0,
            staged: Staged::NONE,
        }
    }

    /// The message `p`, the next of the plan.
    #[inline]
    pub(super) fn next(&mut self, p: &Planned) -> Msg<'s> {
        let e = &self.entries[p.entry];
        let iov = match e.kind {
            Kind::Single => &self.iov[e.iov_start..e.iov_end],
            Kind::Run => {
                let start = e.iov_start + p.first;
                &self.iov[start..start + p.datagrams]
            }
            Kind::Train => {
                self.piece += 1;
                &self.pieces[self.piece - 1..self.piece]
            }
        };
        let control = match p.udp_segment {
            None => &self.control[e.control_at..e.control_at + e.control_len],
            Some(size) => {
                if self.staged.fresh(e, size) {
                    self.gso_at = self.gso_end;
                    self.gso_end += e.control_len + SEGMENT_SPACE;
                }
                &self.gso_control[self.gso_at..self.gso_end]
            }
        };
        Msg {
            name: e.name.name(),
            iov,
            control,
        }
    }
}

/// One planned message: everything borrowed for `'s`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Msg<'s> {
    pub(super) name: Option<sys::Name<'s>>,
    pub(super) iov: &'s [IoSlice<'s>],
    pub(super) control: &'s [u8],
}

impl<'s> Msg<'s> {
    /// As `sendmmsg` takes it.
    #[inline]
    fn run(self) -> OutRun<'s> {
        OutRun::one(self.name, self.iov, self.control)
    }
}

/// The messages of a send without GSO, taken straight from the queue: one per datagram, from
/// datagram `partial` of the first of `entries` on, as a run of messages per entry. Entries of
/// pushed GSO payloads are not among them (those need staging).
#[inline]
fn direct_runs<'s, 'a>(
    entries: &'s [Entry<'a>],
    partial: usize,
    iov: &'s [IoSlice<'a>],
    control: &'s [u8],
) -> impl Iterator<Item = OutRun<'s>> {
    let mut skip = partial;
    entries.iter().map(move |e| {
        debug_assert!(e.kind != Kind::Train, "a pushed GSO payload needs staging");
        let name = e.name.name();
        let own = &control[e.control_at..e.control_at + e.control_len];
        let skipped = std::mem::take(&mut skip);
        match e.kind {
            // One datagram of all its iovecs (none of it sent: a datagram goes whole).
            Kind::Single => OutRun::one(name, &iov[e.iov_start..e.iov_end], own),
            // One iovec a datagram.
            _ => OutRun::each(name, &iov[e.iov_start + skipped..e.iov_end], own),
        }
    })
}

#[cfg(all(test, has_gso))]
mod tests {
    use super::*;

    /// The template with a size written in is what the encoder writes for that size.
    #[test]
    fn staged_udp_segment_is_the_encoders() {
        let template = segment_template();
        let own = [7u8; 24];
        for size in [0u16, 1, 1200, 0x1234, u16::MAX] {
            let mut arena = ControlArena::default();
            arena.reserve(own.len());
            arena.bytes_mut()[..own.len()].copy_from_slice(&own);
            arena.commit(own.len());
            push_with_segment(&mut arena, 0..own.len(), &template, size);
            let mut want = crate::cmsg::CmsgBuffer::<SEGMENT_SPACE>::new();
            let mut enc = want.encoder();
            enc.push_udp_segment(size).expect("room for UDP_SEGMENT");
            assert_eq!(arena.used(), 2 * own.len() + SEGMENT_SPACE);
            let staged = &arena.bytes()[own.len()..arena.used()];
            assert_eq!(&staged[..own.len()], &own[..]);
            assert_eq!(&staged[own.len()..], enc.as_bytes());
        }
    }
}
