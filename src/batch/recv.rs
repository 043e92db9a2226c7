//! `recvmmsg(2)` into reusable buffers, and splitting of GRO-coalesced datagrams.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::os::fd::AsFd;

use super::arena::{try_zeroed, ControlArena};
use crate::cmsg;
#[cfg(has_gso)]
use crate::cmsg::RawIter;
use crate::error::{Error, Limit, Result};
use crate::flags::RecvFlags;
use crate::limits::{MAX_IOVECS, MAX_MMSG};
use crate::recv::Received;
use crate::sys::{self, InSlots, MmsgScratch, RecvOut};

/// Storage for up to 1024 datagrams received by one `recvmmsg(2)`: for each, a data buffer (or
/// several, one iovec each: [`with_buffers`](Self::with_buffers)), a control buffer and a
/// source address, allocated once and reused by every call.
///
/// Every call offers every slot whole: the headers are kept between calls, and the lengths and
/// flags the kernel writes back into them (`msg_controllen`, `msg_namelen`, `msg_flags`) are
/// reset before the next call, so nothing carries over from an earlier one (a batch reused in
/// a loop keeps receiving all its control data: nix#2813). Descriptors received in control data
/// (`SCM_RIGHTS` on a Unix socket) are owned: those the caller does not take are closed by the
/// next [`recv`](Self::recv) or when the batch drops.
///
/// By default a call passes `MSG_CMSG_CLOEXEC` and `MSG_WAITFORONE`: received descriptors are
/// close-on-exec, and a call blocks (on a blocking socket) until one datagram arrives, then
/// takes whatever else is queued without waiting. Flags given to
/// [`set_flags`](Self::set_flags) are added to these; only [`inherit_fds`](Self::inherit_fds)
/// and [`wait_for_all`](Self::wait_for_all) remove one.
///
/// ```
/// use std::net::UdpSocket;
/// use ancillary::batch::RecvBatch;
///
/// let rx = UdpSocket::bind("127.0.0.1:0")?;
/// let tx = UdpSocket::bind("127.0.0.1:0")?;
/// for i in 0..3u8 {
///     tx.send_to(&[i; 10], rx.local_addr()?)?;
/// }
/// let mut batch = RecvBatch::new(8, 1500, 0)?;
/// let mut seen = Vec::new();
/// while seen.len() < 3 {
///     batch.recv(&rx)?;
///     for d in batch.iter_mut() {
///         assert_eq!(d.socket_addr(), Some(tx.local_addr()?));
///         seen.push(d.data()[0]);
///     }
/// }
/// assert_eq!(seen, [0, 1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # References
/// [recvmmsg(2)](https://man7.org/linux/man-pages/man2/recvmmsg.2.html)
#[doc(alias = "recvmmsg")]
pub struct RecvBatch {
    data: Vec<u8>,
    /// The size of a slot's data: its buffers together.
    buf_size: usize,
    /// The size of each buffer of a slot, in order (one entry for [`RecvBatch::new`]).
    split: Box<[usize]>,
    control: ControlArena,
    control_size: usize,
    names: Vec<libc::sockaddr_storage>,
    out: Vec<RecvOut>,
    scratch: MmsgScratch,
    filled: usize,
    /// The flags every call passes: those given, and the defaults not opted out of.
    flags: RecvFlags,
    /// The defaults not opted out of (`MSG_CMSG_CLOEXEC | MSG_WAITFORONE`).
    default_flags: RecvFlags,
}

/// What a call passes unless told otherwise: received fds close-on-exec; block for the first
/// datagram only.
const DEFAULT_FLAGS: RecvFlags = RecvFlags::CMSG_CLOEXEC.union(RecvFlags::WAITFORONE);

impl RecvBatch {
    /// Room for `messages` datagrams of up to `buf_size` bytes each, with `control_size`
    /// bytes of control data each (rounded up to the `cmsghdr` alignment; size it with
    /// [`cmsg::space`]).
    ///
    /// To receive GRO-coalesced datagrams (`UDP_GRO` on the socket), make `buf_size` 65535
    /// and leave room for [`cmsg::INT_SPACE`] of control data: a buffer shorter than the
    /// coalesced datagram truncates it (`MSG_TRUNC`).
    ///
    /// # Errors
    /// [`Error::Limit`] ([`Limit::Messages`]) for more than 1024 messages, which one
    /// `recvmmsg` cannot fill; [`Error::SizeOverflow`] when the buffers together would be
    /// larger than memory can address, or than the allocator gives.
    pub fn new(messages: usize, buf_size: usize, control_size: usize) -> Result<Self> {
        Self::with_buffers(messages, &[buf_size], control_size)
    }

    /// Room for `messages` datagrams, each received into one buffer per entry of
    /// `buf_sizes` (one iovec each, in order), with `control_size` bytes of control data
    /// each (as in [`new`](Self::new)). A datagram fills the first buffer, then the next:
    /// a fixed-size protocol header can land in one buffer and the payload in another.
    /// `with_buffers(n, &[size], c)` is [`new(n, size, c)`](Self::new); an empty
    /// `buf_sizes` is one buffer of 0 bytes.
    ///
    /// [`RecvDatagram::buffer`] and [`RecvDatagram::buffers`] give the bytes that landed in
    /// each buffer; [`RecvDatagram::data`] stays the first buffer's bytes. The buffers of a
    /// slot lie next to each other, so [`Received::data`] (through the dereference) gives the
    /// bytes of all of them in one slice.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use ancillary::RecvBatch;
    ///
    /// let rx = UdpSocket::bind("127.0.0.1:0")?;
    /// let tx = UdpSocket::bind("127.0.0.1:0")?;
    /// tx.send_to(b"HDR:payload", rx.local_addr()?)?;
    /// // A 4-byte header, then up to 1500 bytes of payload.
    /// let mut batch = RecvBatch::with_buffers(8, &[4, 1500], 0)?;
    /// batch.recv(&rx)?;
    /// let d = batch.iter_mut().next().unwrap();
    /// assert_eq!(d.buffer(0), b"HDR:");
    /// assert_eq!(d.buffer(1), b"payload");
    /// assert_eq!(d.data(), b"HDR:"); // the first buffer
    /// let parts: Vec<&[u8]> = d.buffers().collect();
    /// assert_eq!(parts, [&b"HDR:"[..], b"payload"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Limit`] ([`Limit::Messages`]) for more than 1024 messages, ([`Limit::Iovecs`])
    /// for more than [`MAX_IOVECS`] buffers per message; [`Error::SizeOverflow`] when the
    /// buffers of a slot together, or all the buffers, would be larger than memory can
    /// address, or than the allocator gives.
    #[doc(alias = "iovec")]
    #[doc(alias = "readv")]
    pub fn with_buffers(messages: usize, buf_sizes: &[usize], control_size: usize) -> Result<Self> {
        if buf_sizes.len() > MAX_IOVECS {
            return Err(Error::Limit {
                limit: Limit::Iovecs,
                needed: buf_sizes.len(),
                max: MAX_IOVECS,
                kernel: None,
            });
        }
        if messages > MAX_MMSG {
            return Err(Error::Limit {
                limit: Limit::Messages,
                needed: messages,
                max: MAX_MMSG,
                kernel: None,
            });
        }
        let overflow = |what| Error::SizeOverflow { what };
        let control_size = cmsg::Layout::NATIVE
            .checked_align(control_size)
            .ok_or(overflow("the control size"))?;
        let fits = |n: Option<usize>, what| match n {
            Some(n) if n <= isize::MAX as usize => Ok(n),
            _ => Err(overflow(what)),
        };
        let split: Box<[usize]> = if buf_sizes.is_empty() {
            Box::new([0])
        } else {
            buf_sizes.into()
        };
        let buf_size = fits(
            split.iter().try_fold(0usize, |a, &b| a.checked_add(b)),
            "the buffers of a message",
        )?;
        let data_len = fits(buf_size.checked_mul(messages), "messages × buffer size")?;
        let control_len = fits(
            control_size.checked_mul(messages),
            "messages × control size",
        )?;
        // Fallible allocation: a size the allocator refuses is an error, never an abort.
        let data = try_zeroed(data_len).map_err(|_| overflow("messages × buffer size"))?;
        let mut control = ControlArena::default();
        control
            .try_reserve(control_len)
            .map_err(|_| overflow("messages × control size"))?;
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let zero: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        Ok(RecvBatch {
            data,
            buf_size,
            split,
            control,
            control_size,
            names: vec![zero; messages],
            out: vec![RecvOut::default(); messages],
            scratch: MmsgScratch::default(),
            filled: 0,
            flags: DEFAULT_FLAGS,
            default_flags: DEFAULT_FLAGS,
        })
    }

    /// Adds these flags (`MSG_*`) to every call, beside the defaults `MSG_CMSG_CLOEXEC` and
    /// `MSG_WAITFORONE`, which only [`inherit_fds`](Self::inherit_fds) and
    /// [`wait_for_all`](Self::wait_for_all) remove. Add `MSG_DONTWAIT` to never block.
    ///
    /// Each call replaces the flags an earlier `set_flags` gave; the defaults stay:
    /// `set_flags(RecvFlags::empty())` goes back to the defaults alone.
    ///
    /// ```
    /// use ancillary::{batch::RecvBatch, RecvFlags};
    ///
    /// let mut batch = RecvBatch::new(4, 1500, 0)?;
    /// batch.set_flags(RecvFlags::DONTWAIT);
    /// let defaults = RecvFlags::CMSG_CLOEXEC | RecvFlags::WAITFORONE;
    /// assert_eq!(batch.flags(), defaults | RecvFlags::DONTWAIT);
    /// batch.set_flags(RecvFlags::PEEK);
    /// assert_eq!(batch.flags(), defaults | RecvFlags::PEEK);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "MSG_DONTWAIT")]
    pub fn set_flags(&mut self, flags: RecvFlags) -> &mut Self {
        self.flags = flags | self.default_flags;
        self
    }

    /// Leaves out `MSG_CMSG_CLOEXEC`: received descriptors are inherited by `exec`ed
    /// programs. A `MSG_CMSG_CLOEXEC` given to a later [`set_flags`](Self::set_flags) is
    /// passed all the same.
    #[doc(alias = "MSG_CMSG_CLOEXEC")]
    #[doc(alias = "FD_CLOEXEC")]
    pub fn inherit_fds(&mut self) -> &mut Self {
        self.default_flags = self.default_flags - RecvFlags::CMSG_CLOEXEC;
        self.flags = self.flags - RecvFlags::CMSG_CLOEXEC;
        self
    }

    /// Leaves out `MSG_WAITFORONE`: on a blocking socket a call waits until every slot is
    /// filled (or the socket's receive timeout passes with at least one). A
    /// `MSG_WAITFORONE` given to a later [`set_flags`](Self::set_flags) is passed all the
    /// same.
    #[doc(alias = "MSG_WAITFORONE")]
    pub fn wait_for_all(&mut self) -> &mut Self {
        self.default_flags = self.default_flags - RecvFlags::WAITFORONE;
        self.flags = self.flags - RecvFlags::WAITFORONE;
        self
    }

    /// The flags every call passes: those given to [`set_flags`](Self::set_flags) and the
    /// defaults not opted out of.
    pub fn flags(&self) -> RecvFlags {
        self.flags
    }

    /// Datagrams the batch holds room for.
    pub fn capacity(&self) -> usize {
        self.names.len()
    }

    /// Datagrams the last [`recv`](Self::recv) received.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether the last call received nothing (or none was made).
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// `recvmmsg(2)`: receives up to [`capacity`](Self::capacity) datagrams on `socket`;
    /// returns how many arrived. What the previous call received is dropped first (closing any
    /// descriptors not taken).
    ///
    /// # Errors
    /// [`Error::Os`] when the call fails: `EAGAIN` on a non-blocking socket (or with
    /// `MSG_DONTWAIT`, or after `SO_RCVTIMEO`) with nothing queued, ... Truncation is not an
    /// error here: see [`Received::check`] on each datagram.
    #[doc(alias = "recvmmsg")]
    pub fn recv<Fd: AsFd>(&mut self, socket: Fd) -> Result<usize> {
        self.release();
        let n = self.capacity();
        let slots = InSlots {
            names: &mut self.names,
            data: &mut self.data,
            buf_size: self.buf_size,
            split: &self.split,
            control: self.control.bytes_mut(),
            control_size: self.control_size,
        };
        let got = sys::recvmmsg(
            socket.as_fd(),
            &mut self.scratch,
            slots,
            &mut self.out[..n],
            self.flags.bits(),
        )
        .map_err(|e| Error::os("recvmmsg", e))?;
        self.filled = got;
        Ok(got)
    }

    /// [`recv`](Self::recv) that waits at most `timeout` for the first datagram: `Ok(0)` when
    /// none arrived in time (what the previous call received is dropped either way).
    ///
    /// It waits in `poll(2)` for `POLLIN` and then calls `recvmmsg` with `MSG_DONTWAIT`, so
    /// it never blocks beyond `timeout`, on a blocking socket too. It does not use the
    /// `timeout` argument of `recvmmsg`, which its manual page lists under BUGS: it is only
    /// checked after each datagram, so a call may block forever when no datagram comes. Nor
    /// does it touch `SO_RCVTIMEO`: the socket's options stay as they are. Another thread
    /// taking the datagram between the two calls also gives `Ok(0)`. With `MSG_WAITFORONE`
    /// (the default) it returns what is queued once the first datagram is there.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use ancillary::RecvBatch;
    ///
    /// let rx = UdpSocket::bind("127.0.0.1:0")?;
    /// let mut batch = RecvBatch::new(8, 1500, 0)?;
    /// assert_eq!(batch.recv_timeout(&rx, Duration::from_millis(10))?, 0); // nothing came
    /// UdpSocket::bind("127.0.0.1:0")?.send_to(b"ping", rx.local_addr()?)?;
    /// assert_eq!(batch.recv_timeout(&rx, Duration::from_secs(5))?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Os`] with `call: "poll"` if the wait fails, else as [`recv`](Self::recv)
    /// (a pending socket error, such as `ECONNREFUSED`, ends the wait and is reported).
    #[doc(alias = "recvmmsg")]
    #[doc(alias = "SO_RCVTIMEO")]
    pub fn recv_timeout<Fd: AsFd>(
        &mut self,
        socket: Fd,
        timeout: std::time::Duration,
    ) -> Result<usize> {
        let fd = socket.as_fd();
        let ready =
            sys::poll_one(fd, libc::POLLIN, Some(timeout)).map_err(|e| Error::os("poll", e))?;
        if !ready {
            self.release();
            return Ok(0);
        }
        let flags = self.flags;
        self.flags = flags | RecvFlags::DONTWAIT;
        let got = self.recv(fd);
        self.flags = flags;
        match got {
            Err(e) if e.is_would_block() => Ok(0),
            other => other,
        }
    }

    /// The datagrams of the last call, in order. Each owns the descriptors in its control
    /// data while it lives (see [`Received::messages`]).
    #[inline]
    pub fn iter_mut(&mut self) -> RecvIter<'_> {
        let n = self.filled;
        let out = &mut self.out[..n];
        // Every slot is whole: the checks that make the walk's pointer steps stay in bounds,
        // once per call rather than once per datagram.
        let names = &self.names[..n];
        let data = &self.data[..self.buf_size * n];
        let control = &mut self.control.bytes_mut()[..self.control_size * n];
        RecvIter {
            out: out.iter_mut(),
            name: names.as_ptr(),
            data: data.as_ptr(),
            control: control.as_mut_ptr(),
            buf_size: self.buf_size,
            split: &self.split,
            control_size: self.control_size,
            _slots: PhantomData,
        }
    }

    /// Closes the descriptors the last call received that nobody took.
    fn release(&mut self) {
        let size = self.control_size;
        let n = std::mem::take(&mut self.filled);
        if size == 0 {
            return; // no room for control data: no descriptor can have arrived
        }
        let control = self.control.bytes_mut();
        for (i, out) in self.out[..n].iter_mut().enumerate() {
            // `controllen` is at most `size` (clamped by the call): slot i holds it. A slot
            // whose datagram dropped was closed then: nothing is left in it.
            let released = std::mem::take(&mut out.released);
            if out.controllen != 0 && !released {
                let slot = &mut control[i * size..][..out.controllen];
                // SAFETY: these bytes were written by recvmmsg and only walked by owning
                // walks, which mark every descriptor they hand out or close; what is left is
                // owned by nobody else.
                unsafe { cmsg::close_untaken(slot) };
            }
        }
    }
}

impl Drop for RecvBatch {
    fn drop(&mut self) {
        self.release();
    }
}

impl fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBatch")
            .field("capacity", &self.capacity())
            .field("buf_size", &self.buf_size)
            .field("buffers", &self.split)
            .field("control_size", &self.control_size)
            .field("filled", &self.filled)
            .field("flags", &self.flags)
            .finish()
    }
}

/// The datagrams of one [`RecvBatch::recv`], in order.
pub struct RecvIter<'b> {
    out: std::slice::IterMut<'b, RecvOut>,
    /// The name, data and control slots of the next datagram; past them lie the slots of
    /// every datagram `out` has left, in storage borrowed for `'b` (shared for the names and
    /// the data, exclusively for the control data).
    name: *const libc::sockaddr_storage,
    data: *const u8,
    control: *mut u8,
    buf_size: usize,
    split: &'b [usize],
    control_size: usize,
    _slots: PhantomData<(&'b [libc::sockaddr_storage], &'b [u8], &'b mut [u8])>,
}

// SAFETY: the pointers stand for the borrows in `_slots` (shared slices of plain data and an
// exclusive byte slice), which are Send and Sync: the iterator hands out what those borrows
// would, each slot once.
unsafe impl Send for RecvIter<'_> {}
// SAFETY: as for Send; through a shared reference nothing is reachable but `size_hint`.
unsafe impl Sync for RecvIter<'_> {}

impl<'b> Iterator for RecvIter<'b> {
    type Item = RecvDatagram<'b>;

    #[inline]
    fn next(&mut self) -> Option<RecvDatagram<'b>> {
        let out = self.out.next()?;
        // `controllen` never exceeds the slot (the call clamps it; kept in bounds here all
        // the same), `bytes` may exceed the buffer (MSG_TRUNC).
        let controllen = out.controllen.min(self.control_size);
        // SAFETY: `out` was the next of the datagrams left, and the pointers are at their
        // slots (made so by iter_mut, which sliced `names`, `data` and `control` to hold a
        // slot for every datagram, and kept so by the steps below, one slot per datagram):
        // the name, the `buf_size` bytes of data and the `control_size` bytes of control data
        // lie within the borrowed storage, live for 'b. The control slot is handed out once,
        // so the exclusive borrow is never shared; the steps stay within (or one past) the
        // slices.
        let (name, buf, control) = unsafe {
            let name = &*self.name;
            let buf = std::slice::from_raw_parts(self.data, self.buf_size);
            let control = std::slice::from_raw_parts_mut(self.control, controllen);
            self.name = self.name.add(1);
            self.data = self.data.add(self.buf_size);
            self.control = self.control.add(self.control_size);
            (name, buf, control)
        };
        let slot = control.as_ptr() as usize;
        let received = Received::from_parts(*out, name, buf, self.control_size, control);
        Some(RecvDatagram {
            all: &buf[..out.bytes.min(buf.len())],
            split: self.split,
            received,
            released: &mut out.released,
            slot,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.out.len(), Some(self.out.len()))
    }
}

impl ExactSizeIterator for RecvIter<'_> {}

impl fmt::Debug for RecvIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvIter")
            .field("remaining", &self.out.len())
            .finish()
    }
}

/// One datagram of a [`RecvBatch`]: its data, and everything [`Received`] tells (length,
/// flags, source address, control messages), which it dereferences to.
pub struct RecvDatagram<'b> {
    /// The bytes received, over all the slot's buffers (which lie in order, in one slice).
    all: &'b [u8],
    /// The sizes of the slot's buffers, which lie in order from its start.
    split: &'b [usize],
    received: Received<'b>,
    /// The slot's mark that nothing is left to close (see [`Drop`]).
    released: &'b mut bool,
    /// Where the slot's control data starts: the mark is set only while `received` still
    /// holds that slot's control data (a caller may swap another `Received` in).
    slot: usize,
}

impl Drop for RecvDatagram<'_> {
    /// Closes the descriptors not taken, as the [`Received`] would, and marks the slot so that
    /// the batch's next call does not walk its control data a second time. A datagram that
    /// is never dropped (forgotten) leaves the mark unset: the batch closes what it left. So
    /// does one whose [`Received`] was swapped for another (through the dereference): its
    /// slot's control data went with the one swapped out.
    #[inline]
    fn drop(&mut self) {
        let control = self.received.control_bytes();
        // Empty control data holds nothing, and the batch does not walk it either.
        if !control.is_empty() {
            let own = control.as_ptr() as usize == self.slot;
            self.received.close_untaken();
            if own {
                *self.released = true;
            }
        }
    }
}

impl<'b> RecvDatagram<'b> {
    /// The data received into the first buffer (at most its size; see
    /// [`Received::is_data_truncated`]): with one buffer per slot ([`RecvBatch::new`]), all
    /// the data, the same bytes as [`Received::data`] gives through the dereference (always
    /// `Some` for a datagram of a batch). With several ([`RecvBatch::with_buffers`]), only
    /// the first buffer's: [`buffers`](Self::buffers) gives each, and [`Received::data`] all
    /// of them in one slice.
    #[inline]
    pub fn data(&self) -> &'b [u8] {
        let first = self.split.first().copied().unwrap_or(0);
        &self.all[..self.all.len().min(first)]
    }

    /// The bytes received into each buffer of the slot, in order (one per entry of the
    /// sizes given to [`RecvBatch::with_buffers`], one for [`RecvBatch::new`]): a buffer is
    /// full when data went on into the next, the one where the data ended holds its rest,
    /// and those after it are empty.
    pub fn buffers(&self) -> impl ExactSizeIterator<Item = &'b [u8]> + 'b {
        let all = self.all;
        let mut at = 0usize;
        self.split.iter().map(move |&size| {
            let start = at.min(all.len());
            at = at.saturating_add(size);
            &all[start..at.min(all.len())]
        })
    }

    /// The bytes received into buffer `i` of the slot (empty when the data ended before
    /// it); see [`buffers`](Self::buffers).
    ///
    /// # Panics
    /// If `i` is not less than the number of buffers per slot.
    pub fn buffer(&self, i: usize) -> &'b [u8] {
        assert!(
            i < self.split.len(),
            "buffer {i} of a slot of {} buffers",
            self.split.len()
        );
        let start: usize = self.split[..i].iter().sum();
        let all = self.all;
        let start = start.min(all.len());
        &all[start..(start + self.split[i]).min(all.len())]
    }

    /// The `UDP_GRO` segment size, if the kernel coalesced several datagrams into this one.
    /// Linux and Android only (UDP GRO).
    #[doc(alias = "UDP_GRO")]
    #[cfg(has_gso)]
    #[inline]
    pub fn gro_segment_size(&self) -> Option<usize> {
        if self.received.control_bytes().is_empty() {
            return None;
        }
        RawIter::new(self.received.control_bytes())
            .filter(|m| m.level == libc::SOL_UDP && m.ty == libc::UDP_GRO)
            .find_map(|m| {
                let w: [u8; 4] = m.data.get(..4)?.try_into().ok()?;
                usize::try_from(libc::c_int::from_ne_bytes(w))
                    .ok()
                    .filter(|&s| s > 0)
            })
    }

    /// The datagrams as they were sent: the data split at the `UDP_GRO` segment size, or the
    /// data alone when it was not coalesced. With several buffers per slot
    /// ([`RecvBatch::with_buffers`]), the data of all of them together.
    #[inline]
    pub fn segments(&self) -> std::slice::Chunks<'b, u8> {
        #[cfg(has_gso)]
        let size = self.gro_segment_size().unwrap_or(0);
        // No GRO here: a datagram is never coalesced.
        #[cfg(not(has_gso))]
        let size = 0;
        split_gro(self.all, size)
    }

    /// How many datagrams [`segments`](Self::segments) gives, without cutting them: 1 for a
    /// datagram that was not coalesced (0 for an empty one), else the data length over the
    /// `UDP_GRO` segment size, rounded up.
    #[doc(alias = "UDP_GRO")]
    #[inline]
    pub fn segment_count(&self) -> usize {
        #[cfg(has_gso)]
        if let Some(size) = self.gro_segment_size() {
            return self.all.len().div_ceil(size);
        }
        usize::from(!self.all.is_empty())
    }
}

impl<'b> Deref for RecvDatagram<'b> {
    type Target = Received<'b>;
    fn deref(&self) -> &Received<'b> {
        &self.received
    }
}

impl DerefMut for RecvDatagram<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.received
    }
}

impl fmt::Debug for RecvDatagram<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvDatagram")
            .field("data_len", &self.all.len())
            .field("buffers", &self.split.len())
            .field("received", &self.received)
            .finish()
    }
}

/// Splits a GRO-coalesced datagram into the datagrams that were coalesced: pieces of
/// `segment_size` bytes (the `UDP_GRO` value), the last possibly shorter. A `segment_size`
/// of 0 gives the whole buffer as one piece.
///
/// ```
/// let coalesced = [1u8, 1, 1, 2, 2, 2, 3];
/// let parts: Vec<&[u8]> = ancillary::batch::split_gro(&coalesced, 3).collect();
/// assert_eq!(parts, [&[1u8, 1, 1][..], &[2, 2, 2], &[3]]);
/// ```
#[doc(alias = "UDP_GRO")]
#[inline]
pub fn split_gro(data: &[u8], segment_size: usize) -> std::slice::Chunks<'_, u8> {
    let size = if segment_size == 0 {
        data.len().max(1)
    } else {
        segment_size
    };
    data.chunks(size)
}
