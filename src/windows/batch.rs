//! Batched datagrams on Windows: [`Batch`] sends queued datagrams as a loop of `WSASendMsg`
//! (Windows has no `sendmmsg`), joining runs of equal-size datagrams to one destination into
//! one UDP send offload (USO) message where the socket takes it; [`RecvBatch`] receives
//! datagrams with `WSARecvMsg` and splits those that receive offload (URO) joined.
//!
//! The planning (which datagrams go in which message) and the splitting are pure and tested on
//! any system; the calls are Windows only.

use std::net::SocketAddr;
use std::slice::Chunks;

use super::cmsg::{ControlMessage, Iter};
use super::Error;
use crate::cmsg::{CmsgBuffer, Encoder, INT_SPACE, IPV6_PKTINFO_SPACE};
use crate::Limit;

/// The bounds a [`Batch`] checks before any call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest datagram, and the largest segment of
    /// [`push_segments`](Batch::push_segments), in bytes.
    pub max_datagram: usize,
    /// The most datagrams joined into one USO message.
    pub max_segments: usize,
    /// The most bytes of one USO message.
    pub max_payload: usize,
}

impl Limits {
    /// The largest UDP payload over IPv4 (65 507 bytes) for one datagram and for one USO
    /// message, and 512 datagrams per USO message.
    pub const DEFAULT: Limits = Limits {
        max_datagram: 65_507,
        max_segments: 512,
        max_payload: 65_507,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One push: `len` bytes of the arena from `start`, cut into datagrams of `seg` bytes (the last
/// may be shorter); an empty push is one empty datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    dest: SocketAddr,
    start: usize,
    len: usize,
    seg: usize,
}

/// Where the next unsent datagram starts: a push and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Pos {
    item: usize,
    off: usize,
}

/// One `WSASendMsg`: `len` arena bytes from `start` to `dest`, as `datagrams` datagrams of
/// `segment` bytes (USO) or as one datagram (`segment` is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    dest: SocketAddr,
    start: usize,
    len: usize,
    segment: Option<usize>,
    datagrams: usize,
    next: Pos,
}

/// The next message from `pos`: one datagram, or with `uso` as many datagrams of the first
/// one's size to one destination as `limits` allow, a shorter one ending the run (whichever
/// pushes they come from). `None` when every
/// push was sent.
fn plan(items: &[Item], pos: Pos, uso: bool, limits: &Limits) -> Option<Message> {
    let first = items.get(pos.item)?;
    // The run's segment size: its first datagram's.
    let seg = (first.len - pos.off).min(first.seg);
    let (mut len, mut datagrams, mut at, mut short) = (0, 0, pos, false);
    while let Some(item) = items.get(at.item) {
        let d = (item.len - at.off).min(item.seg);
        if datagrams > 0
            && (!uso
                || item.dest != first.dest
                || d == 0
                || d > seg
                || short
                || datagrams >= limits.max_segments
                || len + d > limits.max_payload)
        {
            break;
        }
        len += d;
        datagrams += 1;
        short = d < seg;
        at.off += d;
        if at.off >= item.len {
            at = Pos {
                item: at.item + 1,
                off: 0,
            };
        }
    }
    Some(Message {
        dest: first.dest,
        start: first.start + pos.off,
        len,
        segment: (datagrams > 1).then_some(seg),
        datagrams,
        next: at,
    })
}

/// Counts of what a [`Batch`] has sent since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// `WSASendMsg` calls that succeeded.
    pub messages: usize,
    /// Of those, messages that carried several datagrams with `UDP_SEND_MSG_SIZE` (USO).
    pub offloaded: usize,
    /// Datagrams sent.
    pub datagrams: usize,
}

/// Datagrams queued to be sent with a loop of `WSASendMsg`, runs of equal-size datagrams to one
/// destination joined into one USO message (a `UDP_SEND_MSG_SIZE` control message) where the
/// socket takes it.
///
/// Whether a socket takes USO is asked once per socket with `getsockopt(UDP_SEND_MSG_SIZE)`,
/// which changes nothing; a USO message the socket refuses (`WSAEINVAL`, `WSAEOPNOTSUPP`,
/// `WSAENOPROTOOPT`) is sent again datagram by datagram, and when those go out, USO stays off
/// for that socket. The
/// segment size travels in each message's control data, never as a socket option, so the batch
/// leaves no state on the socket.
///
/// Sizes are checked against the [`Limits`] when pushed; a run longer than a USO message may be
/// is cut into several messages.
///
/// On Windows this is also `ancillary::Batch`. What differs from the Unix `Batch`: it copies
/// each datagram into its own buffer when pushed (the Unix one borrows it until sent, hence its
/// lifetime); destinations are IP addresses only; the calls are a loop of `WSASendMsg`, not
/// `sendmmsg`; offload is USO ([`set_offload`](Self::set_offload)) where Unix has UDP GSO
/// (`set_gso`); its limits are these [`Limits`]; no control messages per datagram and no send
/// flags. Failures are the crate's [`Error`] inside the same [`BatchError`] (`sent`, `error`).
///
/// # Examples
/// ```no_run
/// # #[cfg(windows)] {
/// use std::net::UdpSocket;
/// use ancillary::windows::Batch;
///
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// let peer = "127.0.0.1:4433".parse()?;
/// let mut batch = Batch::new();
/// for _ in 0..10 {
///     batch.push(peer, &[7u8; 1200])?; // one USO message where the socket takes it
/// }
/// assert_eq!(batch.send(&socket)?, 10);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Batch {
    data: Vec<u8>,
    items: Vec<Item>,
    pos: Pos,
    limits: Limits,
    offload: bool,
    /// The socket last probed for USO and whether it takes it.
    #[cfg_attr(not(windows), allow(dead_code))]
    probed: Option<(u64, bool)>,
    stats: BatchStats,
}

impl Batch {
    /// An empty batch with the [default limits](Limits::DEFAULT) and USO on where the socket
    /// takes it.
    pub fn new() -> Self {
        Batch {
            data: Vec::new(),
            items: Vec::new(),
            pos: Pos::default(),
            limits: Limits::DEFAULT,
            offload: true,
            probed: None,
            stats: BatchStats::default(),
        }
    }

    /// Uses `limits` for the pushes from now on.
    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether to join runs with USO where the socket takes it (on by default); off sends
    /// every datagram in a message of its own.
    pub fn set_offload(&mut self, enabled: bool) -> &mut Self {
        self.offload = enabled;
        self
    }

    /// What this batch has sent.
    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    /// Datagrams queued and not yet sent.
    pub fn len(&self) -> usize {
        self.items[self.pos.item.min(self.items.len())..]
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let left = item.len - if i == 0 { self.pos.off } else { 0 };
                if item.len == 0 {
                    1
                } else {
                    left.div_ceil(item.seg)
                }
            })
            .sum()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.pos.item >= self.items.len()
    }

    /// Drops everything queued, keeping the memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.items.clear();
        self.pos = Pos::default();
    }

    /// Queues one datagram of `data` to `dest`.
    ///
    /// # Errors
    /// [`Error::Limit`] when `data` is longer than [`Limits::max_datagram`]; nothing is queued.
    pub fn push(&mut self, dest: SocketAddr, data: &[u8]) -> Result<(), Error> {
        self.check(Limit::Payload, data.len(), 0)?;
        self.queue(dest, data, data.len());
        Ok(())
    }

    /// Queues `data` to `dest` as datagrams of `segment_size` bytes each (the last may be
    /// shorter): one USO message, or several, where the socket takes USO.
    ///
    /// # Errors
    /// [`Error::Limit`] when `segment_size` is 0 or more than [`Limits::max_datagram`];
    /// nothing is queued.
    pub fn push_segments(
        &mut self,
        dest: SocketAddr,
        data: &[u8],
        segment_size: usize,
    ) -> Result<(), Error> {
        self.check(Limit::SegmentSize, segment_size, 1)?;
        self.queue(dest, data, segment_size);
        Ok(())
    }

    fn check(&self, limit: Limit, len: usize, min: usize) -> Result<(), Error> {
        let max = self.limits.max_datagram;
        if len < min || len > max {
            return Err(Error::Limit {
                limit,
                needed: len,
                max,
                kernel: None,
            });
        }
        Ok(())
    }

    fn queue(&mut self, dest: SocketAddr, data: &[u8], seg: usize) {
        if self.is_empty() {
            self.clear();
        }
        let start = self.data.len();
        self.data.extend_from_slice(data);
        self.items.push(Item {
            dest,
            start,
            len: data.len(),
            seg,
        });
    }

    /// The next message to send, and its `UDP_SEND_MSG_SIZE` control data (empty without USO).
    fn next_message<'c>(
        &self,
        uso: bool,
        control: &'c mut CmsgBuffer<INT_SPACE>,
    ) -> Result<Option<(Message, &'c [u8])>, Error> {
        let mut limits = self.limits;
        limits.max_segments = limits.max_segments.max(1);
        let Some(m) = plan(&self.items, self.pos, uso, &limits) else {
            return Ok(None);
        };
        let mut enc = Encoder::new(&mut control[..]);
        if let Some(seg) = m.segment {
            // seg <= max_datagram, checked when pushed; a u32 on every target.
            let seg = u32::try_from(seg).map_err(|_| Error::Limit {
                limit: Limit::SegmentSize,
                needed: seg,
                max: u32::MAX as usize,
                kernel: None,
            })?;
            enc.push(&ControlMessage::SendMsgSize(seg))?;
        }
        let len = enc.len();
        Ok(Some((m, &control[..len])))
    }
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

/// A [`Batch::send`] that failed after sending [`sent`](Self::sent) datagrams; the rest stay
/// queued, and the next send resumes with the datagram that failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Datagrams sent by this call before the failure.
    pub sent: usize,
    /// Why the next one was not sent.
    pub error: Error,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "after {} datagrams: {}", self.sent, self.error)
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

impl From<BatchError> for std::io::Error {
    fn from(e: BatchError) -> std::io::Error {
        e.error.into()
    }
}

#[cfg(windows)]
impl Batch {
    /// Sends everything queued with a loop of `WSASendMsg`, blocking or not as the socket is,
    /// and empties the batch. Returns the datagrams sent.
    ///
    /// # Errors
    /// [`BatchError`] with the datagrams sent before the failure and the [`Error::Os`] of
    /// `getsockopt` or `WSASendMsg` (`WSAEWOULDBLOCK`: send again when the socket is
    /// writable; `WSAEMSGSIZE`, `WSAENOBUFS`, ...). The unsent datagrams stay queued.
    #[doc(alias = "WSASendMsg")]
    pub fn send(
        &mut self,
        socket: impl std::os::windows::io::AsSocket,
    ) -> Result<usize, BatchError> {
        use std::os::windows::io::AsRawSocket;
        let socket = socket.as_socket();
        let mut sent = 0;
        let fail = |sent, error| BatchError { sent, error };
        let (mut uso, mut refused) = (false, false);
        if self.offload && !self.is_empty() {
            let id = socket.as_raw_socket();
            uso = match self.probed {
                Some((s, yes)) if s == id => yes,
                _ => {
                    let yes = super::supports_send_offload(socket).map_err(|e| fail(sent, e))?;
                    self.probed = Some((id, yes));
                    yes
                }
            };
        }
        let mut control = CmsgBuffer::<INT_SPACE>::new();
        // Each round sends at least one datagram or fails; a refused USO message turns USO off
        // once. So the loop ends.
        while let Some((m, ctl)) = self
            .next_message(uso, &mut control)
            .map_err(|e| fail(sent, e))?
        {
            let bufs = [std::io::IoSlice::new(&self.data[m.start..m.start + m.len])];
            match super::send_msg(socket, &bufs, ctl, Some(m.dest), super::SendFlags::empty()) {
                Ok(_) => {
                    sent += m.datagrams;
                    self.pos = m.next;
                    self.stats.messages += 1;
                    self.stats.datagrams += m.datagrams;
                    self.stats.offloaded += usize::from(m.segment.is_some());
                    // The run went out without USO after a USO message was refused: the
                    // refusal was USO's, not the datagrams'; remember it for this socket.
                    if std::mem::take(&mut refused) {
                        if let Some(p) = self.probed.as_mut() {
                            p.1 = false;
                        }
                    }
                }
                Err(e) if m.segment.is_some() && refuses_offload(&e) => {
                    // Sent again datagram by datagram; if the first of them fails too, the
                    // error is that datagram's and the socket keeps USO for later sends.
                    uso = false;
                    refused = true;
                }
                Err(e) => return Err(fail(sent, e)),
            }
        }
        self.clear();
        Ok(sent)
    }
}

/// Whether a failed USO message means the socket does not take USO (a Windows without it, or
/// a socket it does not apply to): then the batch sends the run again datagram by datagram.
/// Other errors (`WSAEWOULDBLOCK`, `WSAENOBUFS`, ...) are the send's.
#[cfg_attr(not(windows), allow(dead_code))]
fn refuses_offload(e: &Error) -> bool {
    use super::error::code::{WSAEINVAL, WSAENOPROTOOPT, WSAEOPNOTSUPP};
    matches!(
        e.raw_os_error(),
        Some(WSAEINVAL | WSAEOPNOTSUPP | WSAENOPROTOOPT)
    )
}

/// Splits data that receive offload (URO) joined into its datagrams: `segment_size` bytes each
/// (the size a `UDP_COALESCED_INFO` message gave), the last perhaps shorter. A size of 0 gives
/// the data as one datagram.
#[doc(alias = "UDP_COALESCED_INFO")]
pub fn split_coalesced(data: &[u8], segment_size: usize) -> Chunks<'_, u8> {
    let size = if segment_size == 0 {
        data.len().max(1)
    } else {
        segment_size
    };
    data.chunks(size)
}

/// Control room for each datagram of a [`RecvBatch`]: `IPV6_PKTINFO` plus four integer messages
/// (`UDP_COALESCED_INFO`, ECN, TOS or traffic class, one more).
pub const RECV_CONTROL_SPACE: usize = IPV6_PKTINFO_SPACE + 4 * INT_SPACE;

/// What one receive of a [`RecvBatch`] got.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    bytes: usize,
    from: Option<SocketAddr>,
    control_len: usize,
    truncated: bool,
}

/// Datagrams received with a loop of `WSARecvMsg` into buffers kept between calls; each
/// receive that URO joined is split again with [`RecvDatagram::segments`].
///
/// Turn URO on with [`set_recv_coalescing`](super::set_recv_coalescing) (with buffers as large
/// as the size given there) and the control messages wanted with
/// [`set_recv_option`](super::set_recv_option).
///
/// On Windows this is also `ancillary::RecvBatch`. What differs from the Unix `RecvBatch`:
/// [`new`](Self::new) takes no control size (each receive has [`RECV_CONTROL_SPACE`]) and
/// panics rather than failing on impossible sizes; the calls are a loop of `WSARecvMsg`, more
/// receives made while `FIONREAD` says a datagram is queued, not `recvmmsg`; the receives are
/// read with [`iter`](Self::iter) (no descriptors to take, so no `iter_mut`), their control
/// messages typed as [`windows::cmsg::ControlMessage`](super::cmsg::ControlMessage), and
/// [`RecvDatagram::segments`] splits what URO joined where Unix splits UDP GRO.
#[derive(Debug)]
pub struct RecvBatch {
    data: Vec<u8>,
    control: Vec<CmsgBuffer<RECV_CONTROL_SPACE>>,
    slots: Vec<Slot>,
    buf_size: usize,
    len: usize,
}

impl RecvBatch {
    /// Room for `messages` receives of up to `buf_size` bytes each.
    ///
    /// # Panics
    /// If `messages` is 0 or `messages * buf_size` overflows.
    pub fn new(messages: usize, buf_size: usize) -> Self {
        assert!(messages > 0, "a RecvBatch needs room for one receive");
        let total = messages
            .checked_mul(buf_size)
            .expect("messages * buf_size overflows");
        RecvBatch {
            data: vec![0; total],
            control: vec![CmsgBuffer::new(); messages],
            slots: vec![Slot::default(); messages],
            buf_size,
            len: 0,
        }
    }

    /// How many receives one call can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Receives held from the last call.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last call received nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The receives of the last call, in order.
    pub fn iter(&self) -> impl Iterator<Item = RecvDatagram<'_>> {
        self.slots[..self.len]
            .iter()
            .enumerate()
            .map(move |(i, s)| RecvDatagram {
                data: &self.data[i * self.buf_size..i * self.buf_size + s.bytes],
                from: s.from,
                control: &self.control[i][..s.control_len],
                truncated: s.truncated,
            })
    }
}

#[cfg(windows)]
impl RecvBatch {
    /// Receives one datagram (waiting for it if the socket blocks), then more while
    /// `ioctlsocket(FIONREAD)` says one is queued, up to [`capacity`](Self::capacity).
    /// Returns how many receives it holds (a URO receive may hold several datagrams).
    ///
    /// # Errors
    /// [`Error::Os`] of the first `WSARecvMsg` (`WSAEWOULDBLOCK` on a non-blocking socket with
    /// nothing queued, `WSAECONNRESET` after an ICMP port unreachable, ...); a later receive's
    /// error ends the call with what was received so far.
    #[doc(alias = "WSARecvMsg")]
    pub fn recv(&mut self, socket: impl std::os::windows::io::AsSocket) -> Result<usize, Error> {
        let socket = socket.as_socket();
        self.len = 0;
        for i in 0..self.slots.len() {
            if i > 0 && !matches!(crate::sys::pending_bytes(socket), Ok(n) if n > 0) {
                break;
            }
            let buf = &mut self.data[i * self.buf_size..(i + 1) * self.buf_size];
            let got = super::recv_msg(
                socket,
                &mut [std::io::IoSliceMut::new(buf)],
                &mut self.control[i],
                super::RecvFlags::empty(),
            );
            match got {
                Ok(r) => {
                    self.slots[i] = Slot {
                        bytes: r.bytes(),
                        from: r.from(),
                        control_len: r.control_len(),
                        truncated: r.is_truncated(),
                    };
                    self.len += 1;
                }
                Err(e) if i == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(self.len)
    }
}

/// One receive of a [`RecvBatch`]: a datagram, or several that URO joined.
#[derive(Debug, Clone, Copy)]
pub struct RecvDatagram<'b> {
    data: &'b [u8],
    from: Option<SocketAddr>,
    control: &'b [u8],
    truncated: bool,
}

impl<'b> RecvDatagram<'b> {
    /// The bytes received (all the joined datagrams, for a URO receive).
    pub fn data(&self) -> &'b [u8] {
        self.data
    }

    /// The sender's address.
    pub fn from(&self) -> Option<SocketAddr> {
        self.from
    }

    /// Whether the datagram was larger than the buffer (the rest is lost).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The control messages received with it.
    pub fn control(&self) -> Iter<'b> {
        Iter::new(self.control)
    }

    /// The datagram size of a receive URO joined (`UDP_COALESCED_INFO`), if it was.
    #[doc(alias = "UDP_COALESCED_INFO")]
    pub fn coalesced_size(&self) -> Option<usize> {
        self.control().find_map(|m| match m {
            ControlMessage::CoalescedInfo(n) if n > 0 => usize::try_from(n).ok(),
            _ => None,
        })
    }

    /// The datagrams in this receive: one, or those URO joined.
    pub fn segments(&self) -> Chunks<'b, u8> {
        split_coalesced(self.data, self.coalesced_size().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Every message planned from the start, as (dest port, start, len, segment, datagrams).
    fn messages(b: &Batch, uso: bool) -> Vec<(u16, usize, usize, Option<usize>, usize)> {
        let mut out = Vec::new();
        let mut pos = b.pos;
        for _ in 0..1000 {
            let Some(m) = plan(&b.items, pos, uso, &b.limits) else {
                return out;
            };
            out.push((m.dest.port(), m.start, m.len, m.segment, m.datagrams));
            pos = m.next;
        }
        panic!("planning did not end");
    }

    #[test]
    fn runs_of_equal_datagrams_to_one_destination_join() {
        let mut b = Batch::new();
        for _ in 0..3 {
            b.push(addr(1), &[1; 100]).unwrap();
        }
        b.push(addr(1), &[2; 40]).unwrap(); // shorter: ends the run
        b.push(addr(1), &[3; 100]).unwrap(); // after a shorter one: a new run
        b.push(addr(2), &[4; 100]).unwrap(); // another destination
        b.push(addr(2), &[]).unwrap(); // empty: alone
        assert_eq!(b.len(), 7);
        assert_eq!(
            messages(&b, true),
            [
                (1, 0, 340, Some(100), 4),
                (1, 340, 100, None, 1),
                (2, 440, 100, None, 1),
                (2, 540, 0, None, 1),
            ]
        );
        // Without USO (refused, or off): one message per datagram, in order.
        let plain = messages(&b, false);
        assert_eq!(plain.len(), 7);
        assert!(plain.iter().all(|m| m.3.is_none() && m.4 == 1));
        let lens: Vec<_> = plain.iter().map(|m| m.2).collect();
        assert_eq!(lens, [100, 100, 100, 40, 100, 100, 0]);
    }

    #[test]
    fn segments_are_cut_by_the_limits() {
        let mut b = Batch::new();
        b.set_limits(Limits {
            max_datagram: 1000,
            max_segments: 4,
            max_payload: 2500,
        });
        // 10 segments of 500 and one of 123: 5 per 2500 bytes, but at most 4 per message.
        b.push_segments(addr(9), &vec![5; 5123], 500).unwrap();
        assert_eq!(b.len(), 11);
        assert_eq!(
            messages(&b, true),
            [
                (9, 0, 2000, Some(500), 4),
                (9, 2000, 2000, Some(500), 4),
                (9, 4000, 1123, Some(500), 3),
            ]
        );
        let plain = messages(&b, false);
        assert_eq!(plain.len(), 11);
        assert_eq!(plain[10], (9, 5000, 123, None, 1));
        // A run over the byte cap.
        b.clear();
        b.set_limits(Limits {
            max_datagram: 1000,
            max_segments: 100,
            max_payload: 2500,
        });
        for _ in 0..6 {
            b.push(addr(9), &[6; 1000]).unwrap();
        }
        let sizes: Vec<_> = messages(&b, true).iter().map(|m| (m.2, m.4)).collect();
        assert_eq!(sizes, [(2000, 2), (2000, 2), (2000, 2)]);
    }

    #[test]
    fn pushes_outside_the_limits_are_refused_before_any_call() {
        let mut b = Batch::new();
        let max = Limits::DEFAULT.max_datagram;
        assert_eq!(
            b.push(addr(1), &vec![0; max + 1]),
            Err(Error::Limit {
                limit: Limit::Payload,
                needed: max + 1,
                max,
                kernel: None
            })
        );
        assert!(matches!(
            b.push_segments(addr(1), &[0; 10], 0),
            Err(Error::Limit {
                limit: Limit::SegmentSize,
                needed: 0,
                ..
            })
        ));
        assert!(matches!(
            b.push_segments(addr(1), &[0; 10], max + 1),
            Err(Error::Limit {
                limit: Limit::SegmentSize,
                ..
            })
        ));
        assert!(b.is_empty());
        assert_eq!(b.len(), 0);
        b.push(addr(1), &vec![0; max]).unwrap();
        assert_eq!(b.len(), 1);
        let e = Error::Limit {
            limit: Limit::Payload,
            needed: 70_000,
            max,
            kernel: None,
        };
        assert!(e.to_string().contains("70000") && e.hint().is_some());
    }

    #[test]
    fn a_uso_message_carries_udp_send_msg_size() {
        let mut b = Batch::new();
        for _ in 0..3 {
            b.push(addr(1), &[1; 1200]).unwrap();
        }
        let mut control = CmsgBuffer::<INT_SPACE>::new();
        let (m, ctl) = b.next_message(true, &mut control).unwrap().unwrap();
        assert_eq!((m.len, m.segment, m.datagrams), (3600, Some(1200), 3));
        let got: Vec<_> = Iter::with_layout(ctl, crate::cmsg::Layout::NATIVE).collect();
        assert_eq!(got, [ControlMessage::SendMsgSize(1200)]);
        // The WSACMSGHDR bytes: cmsg_len, level IPPROTO_UDP (17), type UDP_SEND_MSG_SIZE (2).
        let mut want = Vec::new();
        let w = crate::cmsg::HEADER_LEN - 8;
        want.extend_from_slice(&(crate::cmsg::len(4) as u64).to_ne_bytes()[..w]);
        want.extend_from_slice(&17i32.to_ne_bytes());
        want.extend_from_slice(&2i32.to_ne_bytes());
        want.extend_from_slice(&1200u32.to_ne_bytes());
        want.resize(INT_SPACE, 0);
        assert_eq!(ctl, &want[..]);
        // Without USO: no control data at all.
        let (m, ctl) = b.next_message(false, &mut control).unwrap().unwrap();
        assert_eq!((m.len, m.segment, ctl.len()), (1200, None, 0));
    }

    #[test]
    fn only_a_refusal_of_uso_turns_it_off() {
        use crate::windows::error::code::*;
        for code in [WSAEINVAL, WSAEOPNOTSUPP, WSAENOPROTOOPT] {
            assert!(refuses_offload(&Error::os("WSASendMsg", code)));
        }
        for code in [WSAEWOULDBLOCK, WSAENOBUFS, WSAEMSGSIZE, WSAEHOSTUNREACH] {
            assert!(!refuses_offload(&Error::os("WSASendMsg", code)));
        }
        assert!(!refuses_offload(&Error::Capacity {
            needed: 1,
            available: 0
        }));
    }

    #[test]
    fn a_run_may_start_on_a_short_segment() {
        let mut b = Batch::new();
        b.set_limits(Limits {
            max_payload: 500,
            ..Limits::DEFAULT
        });
        // 250, 250 fill a message; the 100 left starts the next run.
        b.push_segments(addr(1), &[1; 600], 250).unwrap();
        b.push(addr(1), &[2; 100]).unwrap();
        b.push(addr(1), &[3; 100]).unwrap();
        b.push(addr(1), &[4; 50]).unwrap();
        b.push(addr(1), &[5; 100]).unwrap();
        assert_eq!(
            messages(&b, true),
            [
                (1, 0, 500, Some(250), 2),
                (1, 500, 350, Some(100), 4),
                (1, 850, 100, None, 1),
            ]
        );
    }

    #[test]
    fn coalesced_receives_split_into_their_datagrams() {
        let data: Vec<u8> = (0..250u8).collect();
        let parts: Vec<_> = split_coalesced(&data, 100).map(<[u8]>::len).collect();
        assert_eq!(parts, [100, 100, 50]);
        assert_eq!(split_coalesced(&data, 0).count(), 1);
        assert_eq!(split_coalesced(&data, 250).count(), 1);
        assert_eq!(split_coalesced(&[], 100).count(), 0);

        // A receive with a UDP_COALESCED_INFO message, as Windows writes it.
        let mut control = CmsgBuffer::<RECV_CONTROL_SPACE>::new();
        let mut enc = Encoder::new(&mut control[..]);
        enc.push(&ControlMessage::EcnV4(2)).unwrap();
        enc.push(&ControlMessage::CoalescedInfo(100)).unwrap();
        let n = enc.len();
        let d = RecvDatagram {
            data: &data,
            from: Some(addr(5)),
            control: &control[..n],
            truncated: false,
        };
        assert_eq!(d.coalesced_size(), Some(100));
        let segs: Vec<_> = d.segments().collect();
        assert_eq!(segs, [&data[..100], &data[100..200], &data[200..]]);
        // Without it: the receive is one datagram.
        let one = RecvDatagram { control: &[], ..d };
        assert_eq!((one.coalesced_size(), one.segments().count()), (None, 1));
    }
}
