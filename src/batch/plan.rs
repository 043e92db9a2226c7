//! Planning the next `sendmmsg`: which datagrams go in which message. Pure: it reads the queue
//! and the rules it is given and writes a plain description of each message, which the send
//! loop turns into message headers.
//!
//! The rules, in the order they apply:
//! - messages go in queue order from the first unsent datagram, at most
//!   [`Rules::max_messages`] of them (1024: one `sendmmsg`);
//! - a message carries datagrams of one entry only: an entry holds one destination and one
//!   control buffer, and the queue starts a new entry when either changes, when a datagram is
//!   longer than the run's segment or follows a shorter one, or when it carries fds;
//! - without GSO, or for an entry that cannot be segmented (a single datagram, fds, a segment
//!   size that does not fit `UDP_SEGMENT`'s 16 bits, control data that with `UDP_SEGMENT`
//!   would reach `optmem_max`), every message carries one datagram;
//! - otherwise a message carries as many datagrams as the segment cap, the payload cap of the
//!   destination's family (65507 bytes over IPv4 and IPv4-mapped IPv6, 65527 over IPv6, 65507
//!   for the connected peer) and, for a run, the iovec limit allow: all datagrams but the last
//!   are one segment long, the last may be shorter;
//! - a message of more than one datagram carries `UDP_SEGMENT` with the segment size; one of
//!   a single datagram carries `UDP_SEGMENT` 0 when told to unsegment (the socket has a
//!   `UDP_SEGMENT` size of its own), else the entry's control data alone.

use super::queue::{payload_cap, Entry, Kind};
#[cfg(has_gso)]
use crate::cmsg::UDP_SEGMENT_SPACE;
use crate::limits::{Limits, MAX_MMSG, UDP_MAX_PAYLOAD_V4};

/// The space `UDP_SEGMENT` adds to a GSO message's control data.
#[cfg(has_gso)]
pub(super) const SEGMENT_SPACE: usize = UDP_SEGMENT_SPACE;
/// No system without GSO plans a `UDP_SEGMENT` message.
#[cfg(not(has_gso))]
pub(super) const SEGMENT_SPACE: usize = 0;

/// What the planner is told besides the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rules {
    /// Whether a message may carry more than one datagram (GSO).
    pub(super) gso: bool,
    /// The most datagrams in one GSO message.
    pub(super) max_segments: usize,
    /// Whether a message of one datagram carries `UDP_SEGMENT` 0, which overrides a
    /// `UDP_SEGMENT` size set on the socket.
    pub(super) unsegment: bool,
    /// The most messages to plan: 1024 for a whole call, 1 for a message sent alone.
    pub(super) max_messages: usize,
    /// The limits pushes were checked against: the iovecs of one message, and the control
    /// room that `UDP_SEGMENT` must still fit in.
    pub(super) limits: Limits,
    /// What `UDP_SEGMENT` counts for in the kernel's control check ([`SEGMENT_SPACE`], or
    /// more where the kernel widens the messages).
    pub(super) segment_space: usize,
}

impl Rules {
    /// Rules for a whole call.
    pub(super) fn new(gso: bool, max_segments: usize, unsegment: bool, limits: Limits) -> Self {
        Rules {
            gso,
            max_segments,
            unsegment,
            max_messages: MAX_MMSG,
            limits,
            segment_space: SEGMENT_SPACE,
        }
    }
}

/// One message of the next `sendmmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Planned {
    /// The entry whose destination and control data the message carries.
    pub(super) entry: usize,
    /// The first of the entry's datagrams it carries, counted from the entry's first.
    pub(super) first: usize,
    /// How many of the entry's datagrams it carries.
    pub(super) datagrams: usize,
    /// Payload bytes it carries.
    pub(super) bytes: usize,
    /// The `UDP_SEGMENT` it carries after the entry's control data: `Some(size)` for a GSO
    /// message, `Some(0)` for one datagram that the socket must not cut, `None` for none.
    pub(super) udp_segment: Option<u16>,
}

impl Planned {
    /// Whether it is a GSO message (more than one datagram).
    #[inline]
    pub(super) fn segmented(&self) -> bool {
        self.datagrams > 1
    }

    /// The bytes it carries, as a range of the entry's payload.
    #[inline]
    pub(super) fn byte_range(&self, e: &Entry<'_>) -> std::ops::Range<usize> {
        let start = self.first * e.segment;
        start..start + self.bytes
    }
}

/// Whether any of `entries` could go in a GSO message.
pub(super) fn may_segment(entries: &[Entry<'_>]) -> bool {
    entries.iter().any(|e| e.kind != Kind::Single)
}

/// Whether the datagrams of `e` may go in GSO messages under `rules`: its control data with
/// `UDP_SEGMENT` must pass the limits as the kernel counts them.
fn can_segment(e: &Entry<'_>, rules: &Rules) -> bool {
    e.kind != Kind::Single
        && e.fds == 0
        && (1..=usize::from(u16::MAX)).contains(&e.segment)
        && rules
            .limits
            .check(0, e.kernel_control_len + rules.segment_space, 0)
            .is_ok()
}

/// Plans the next `sendmmsg` into `out` (cleared first): the messages that carry the queued
/// datagrams from datagram `partial` of `entries[next]` on, by the rules in the
/// [module docs](self). Plans nothing when `next` is past the end.
pub(super) fn plan(
    entries: &[Entry<'_>],
    next: usize,
    partial: usize,
    rules: &Rules,
    out: &mut Vec<Planned>,
) {
    out.clear();
    let mut done = partial;
    for (e, i) in entries.get(next..).unwrap_or_default().iter().zip(next..) {
        if out.len() >= rules.max_messages {
            break;
        }
        // Per entry, once: the most datagrams one of its messages carries by the segment cap
        // and the iovec limit, the most whole segments within the payload cap, and the
        // UDP_SEGMENT of a message of more than one datagram. 0 datagrams: one a message.
        let (most, cap, whole, size) = if rules.gso && can_segment(e, rules) {
            let by_iovecs = match e.kind {
                Kind::Run => rules.limits.max_iovecs,
                _ => usize::MAX,
            };
            let cap = payload_cap(e.dest).unwrap_or(UDP_MAX_PAYLOAD_V4);
            let size = u16::try_from(e.segment).expect("segmentable: the size fits a u16");
            (
                rules.max_segments.min(by_iovecs),
                cap,
                cap / e.segment,
                size,
            )
        } else {
            (0, 0, 0, 0)
        };
        let single = if rules.unsegment { Some(0) } else { None };
        while done < e.datagrams && out.len() < rules.max_messages {
            let left = e.datagrams - done;
            let n = if most != 0 && left > 1 {
                // All that is left when its bytes fit the payload cap, else whole segments.
                let by_bytes = if e.len - done * e.segment <= cap {
                    left
                } else {
                    whole
                };
                left.min(most).min(by_bytes).max(1)
            } else {
                1
            };
            let udp_segment = if n > 1 { Some(size) } else { single };
            let bytes = ((done + n) * e.segment).min(e.len) - done * e.segment;
            out.push(Planned {
                entry: i,
                first: done,
                datagrams: n,
                bytes,
                udp_segment,
            });
            done += n;
        }
        if done < e.datagrams {
            break;
        }
        done = 0;
    }
}

#[cfg(test)]
mod tests;
