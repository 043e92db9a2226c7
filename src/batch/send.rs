//! The send loop: `sendmmsg` calls over the plan, resuming where the kernel stopped.

use std::os::fd::{AsFd, BorrowedFd};

use super::{Batch, BatchError};
use crate::error::Error;
use crate::sys::{self, OutMsg};

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
    /// arrives. A GSO message that the kernel refuses (`EIO`, `EINVAL`, `EMSGSIZE`) is not an
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
}
