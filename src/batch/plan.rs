//! Planning the next `sendmmsg`: which datagrams go in which message.

use std::io::IoSlice;

use super::queue::{payload_cap, Dest, Entry, Kind};
use super::Batch;
use crate::cmsg::{Encoder, UDP_SEGMENT_SPACE};
use crate::limits::{MAX_MMSG, UDP_MAX_PAYLOAD_V4};

/// The space `UDP_SEGMENT` adds to a GSO message's control data.
pub(super) const SEGMENT_SPACE: usize = UDP_SEGMENT_SPACE;

/// One message of the next `sendmmsg`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Planned {
    /// The entry whose destination and control data the message carries.
    pub(super) entry: usize,
    /// Its destination, as `msg_name` wants it.
    pub(super) name: Dest,
    /// The entry's datagrams it carries, from the first not yet sent.
    pub(super) datagrams: usize,
    /// Its iovecs, in `Batch::iov` or (for a piece of a cut payload) in `Batch::pieces`.
    pub(super) iov_start: usize,
    pub(super) iov_end: usize,
    pub(super) pieces: bool,
    /// Its control data: the entry's, in the arena; or (`own_control` false) a copy of it
    /// followed by `UDP_SEGMENT`, in `Batch::gso_control`.
    pub(super) control_at: usize,
    pub(super) control_len: usize,
    pub(super) own_control: bool,
    /// Whether it is a GSO message (more than one datagram).
    pub(super) segmented: bool,
    /// Payload bytes it carries.
    pub(super) bytes: usize,
}

impl<'a> Batch<'a> {
    /// Whether any message of the next send could carry `UDP_SEGMENT`.
    pub(super) fn may_segment(&self) -> bool {
        self.entries[self.next..]
            .iter()
            .any(|e| e.kind != Kind::Single)
    }

    /// Whether the datagrams of `e` may go in GSO messages.
    fn can_segment(&self, e: &Entry<'_>) -> bool {
        e.kind != Kind::Single
            && e.fds == 0
            && (1..=usize::from(u16::MAX)).contains(&e.segment)
            && self
                .limits
                .check(0, e.control_len + SEGMENT_SPACE, 0)
                .is_ok()
    }

    /// Plans the next `sendmmsg`: at most 1024 messages from the first unsent datagram. With
    /// `gso`, a run or a pushed GSO payload goes in messages of as many datagrams as the
    /// segment cap, the payload cap and the iovec limit allow; without, one datagram each.
    /// With `unsegment`, a message of one datagram carries `UDP_SEGMENT` 0, which overrides
    /// the socket's own `UDP_SEGMENT` size.
    pub(super) fn plan(&mut self, gso: bool, max_segments: usize, unsegment: bool) {
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
}
