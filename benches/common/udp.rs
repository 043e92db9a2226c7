//! Sending many 1200-byte UDP datagrams over loopback, the same work done by raw libc, this
//! crate, nix and quinn-udp: shared by the timed benchmark (`datagram`) and the instruction
//! counts (`instructions`). Each function sends `n` datagrams of the ring, `chunk` per call where
//! it batches.

use std::io::IoSlice;
use std::mem::size_of;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use ancillary::batch::Batch;
use ancillary::cmsg::{CmsgBuffer, UDP_SEGMENT_SPACE};

pub(crate) const SIZE: usize = 1200;
/// Segments per GSO send: as many 1200-byte datagrams as fit in 65507 bytes.
pub(crate) const SEGS: usize = 54;
/// Distinct datagrams, reused in turn: a whole number of GSO buffers.
pub(crate) const RING: usize = SEGS * 76;

pub(crate) struct Setup {
    pub(crate) tx: UdpSocket,
    pub(crate) to: SocketAddr,
    pub(crate) ring: Vec<u8>,
    /// Kept open so that datagrams have a socket to reach (and be dropped at).
    pub(crate) _rx: UdpSocket,
}

/// The most datagrams one call takes from the ring.
pub(crate) const MAX_CHUNK: usize = 1024;
/// Bytes of the ring: its `RING` distinct datagrams, then room for `MAX_CHUNK` more, so that
/// the datagrams a call takes from any position are one slice.
pub(crate) const RING_BYTES: usize = (RING + MAX_CHUNK) * SIZE;

/// Datagram `i` of the ring.
pub(crate) fn datagram(ring: &[u8], i: usize) -> &[u8] {
    let k = i % RING;
    &ring[k * SIZE..(k + 1) * SIZE]
}

/// Datagrams `i .. i + k` of the ring (`k` at most `MAX_CHUNK`): what every implementation
/// that takes datagrams one by one walks, so the walk costs all of them the same.
pub(crate) fn datagrams(ring: &[u8], i: usize, k: usize) -> std::slice::ChunksExact<'_, u8> {
    let start = (i % RING) * SIZE;
    ring[start..start + k * SIZE].chunks_exact(SIZE)
}

/// The ring: datagram `i` is filled with its number modulo `RING`.
pub(crate) fn ring() -> Vec<u8> {
    let mut ring = vec![0u8; RING_BYTES];
    for (i, d) in ring.chunks_mut(SIZE).enumerate() {
        let n = i % RING;
        d.fill(n as u8);
        d[..4].copy_from_slice(&(n as u32).to_le_bytes());
    }
    ring
}

pub(crate) fn sockaddr(to: SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(a) = to else {
        unreachable!("IPv4 only")
    };
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.ip().octets()),
        },
        sin_zero: [0; 8],
    }
}

pub(crate) fn check(r: isize, what: &str) -> usize {
    assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
    r as usize
}

pub(crate) fn libc_sendto(s: &Setup, n: usize) {
    let addr = sockaddr(s.to);
    for i in 0..n {
        let d = datagram(&s.ring, i);
        // SAFETY: d and addr are live for the call, with their lengths.
        let r = unsafe {
            libc::sendto(
                s.tx.as_raw_fd(),
                d.as_ptr().cast(),
                d.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        check(r, "sendto");
    }
}

pub(crate) fn libc_sendmmsg(
    s: &Setup,
    n: usize,
    chunk: usize,
    iovs: &mut Vec<libc::iovec>,
    hdrs: &mut Vec<libc::mmsghdr>,
) {
    let mut addr = sockaddr(s.to);
    let mut i = 0;
    while i < n {
        let k = (n - i).min(chunk);
        iovs.clear();
        hdrs.clear();
        for d in datagrams(&s.ring, i, k) {
            iovs.push(libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            });
        }
        for iov in iovs.iter_mut() {
            // SAFETY: mmsghdr is plain data; zero is valid.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            hdrs.push(h);
        }
        let mut done = 0;
        while done < k {
            // SAFETY: the headers point at addr, iovs and the ring, all live for the call.
            let r = unsafe {
                libc::sendmmsg(
                    s.tx.as_raw_fd(),
                    hdrs[done..].as_mut_ptr(),
                    (k - done) as libc::c_uint,
                    0,
                )
            };
            done += check(r as isize, "sendmmsg");
        }
        i += k;
    }
}

pub(crate) fn libc_gso(s: &Setup, n: usize) {
    let mut addr = sockaddr(s.to);
    let mut control = CmsgBuffer::<UDP_SEGMENT_SPACE>::new();
    control
        .encoder()
        .push_udp_segment(SIZE as u16)
        .expect("room for UDP_SEGMENT");
    let mut i = 0;
    while i < n {
        let k = (n - i).min(SEGS - (i % RING) % SEGS);
        let start = (i % RING) * SIZE;
        let mut iov = libc::iovec {
            iov_base: s.ring[start..].as_ptr() as *mut libc::c_void,
            iov_len: k * SIZE,
        };
        // SAFETY: msghdr is plain data; zero is valid.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
        m.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        m.msg_iov = &mut iov;
        m.msg_iovlen = 1;
        if k > 1 {
            m.msg_control = control.as_mut_ptr().cast();
            m.msg_controllen = control.len() as _; // size_t on glibc, socklen_t on musl
        }
        // SAFETY: the header points at addr, iov, control and the ring, all live for the call.
        let r = unsafe { libc::sendmsg(s.tx.as_raw_fd(), &m, 0) };
        check(r, "sendmsg UDP_SEGMENT");
        i += k;
    }
}

pub(crate) fn libc_gso_iovecs(s: &Setup, n: usize, iovs: &mut Vec<libc::iovec>) {
    let mut addr = sockaddr(s.to);
    let mut control = CmsgBuffer::<UDP_SEGMENT_SPACE>::new();
    control
        .encoder()
        .push_udp_segment(SIZE as u16)
        .expect("room for UDP_SEGMENT");
    let mut i = 0;
    while i < n {
        let k = (n - i).min(SEGS);
        iovs.clear();
        for d in datagrams(&s.ring, i, k) {
            iovs.push(libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            });
        }
        // SAFETY: msghdr is plain data; zero is valid.
        let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
        m.msg_name = (&mut addr as *mut libc::sockaddr_in).cast();
        m.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        m.msg_iov = iovs.as_mut_ptr();
        m.msg_iovlen = k as _; // size_t on glibc, int on musl
        if k > 1 {
            m.msg_control = control.as_mut_ptr().cast();
            m.msg_controllen = control.len() as _; // size_t on glibc, socklen_t on musl
        }
        // SAFETY: the header points at addr, iovs, control and the ring, all live for the call.
        let r = unsafe { libc::sendmsg(s.tx.as_raw_fd(), &m, 0) };
        check(r, "sendmsg UDP_SEGMENT");
        i += k;
    }
}

pub(crate) fn nix_sendmmsg(
    s: &Setup,
    n: usize,
    chunk: usize,
    headers: &mut nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrIn>,
) {
    use nix::sys::socket::{sendmmsg, MsgFlags, SockaddrIn};
    let SocketAddr::V4(to) = s.to else {
        unreachable!()
    };
    let addrs = vec![Some(SockaddrIn::from(to)); chunk];
    let mut slices: Vec<[IoSlice<'_>; 1]> = Vec::with_capacity(chunk);
    let mut i = 0;
    while i < n {
        let k = (n - i).min(chunk);
        slices.clear();
        slices.extend(datagrams(&s.ring, i, k).map(|d| [IoSlice::new(d)]));
        let mut done = 0;
        while done < k {
            let sent = sendmmsg(
                s.tx.as_raw_fd(),
                headers,
                &slices[done..],
                &addrs[..k - done],
                [],
                MsgFlags::empty(),
            )
            .expect("nix sendmmsg")
            .count();
            done += sent;
        }
        i += k;
    }
}

pub(crate) fn batch(
    s: &Setup,
    n: usize,
    chunk: usize,
    spare: &mut Option<Batch<'static>>,
    gso: bool,
) {
    let mut b = spare.take().unwrap_or_default().recycle();
    // Set once, as a sender does: `set_gso` also makes the next send ask the socket again.
    if b.gso() != gso {
        b.set_gso(gso);
    }
    let mut i = 0;
    while i < n {
        let k = (n - i).min(chunk);
        for d in datagrams(&s.ring, i, k) {
            b.push(s.to, d).expect("push");
        }
        assert_eq!(b.send(&s.tx).expect("Batch::send"), k);
        i += k;
    }
    *spare = Some(b.recycle());
}

pub(crate) fn batch_segments(
    s: &Setup,
    n: usize,
    chunk: usize,
    spare: &mut Option<Batch<'static>>,
) {
    let mut b = spare.take().unwrap_or_default().recycle();
    if !b.gso() {
        b.set_gso(true);
    }
    let mut i = 0;
    while i < n {
        let mut queued = 0;
        while queued < chunk && i < n {
            let k = (n - i).min(SEGS - (i % RING) % SEGS);
            let start = (i % RING) * SIZE;
            b.push_segments(Some(s.to), &s.ring[start..start + k * SIZE], SIZE, |_| {
                Ok(())
            })
            .expect("push_segments");
            i += k;
            queued += k;
        }
        b.send(&s.tx).expect("Batch::send");
    }
    *spare = Some(b.recycle());
}

pub(crate) fn quinn(s: &Setup, n: usize, state: &quinn_udp::UdpSocketState) {
    let mut i = 0;
    while i < n {
        let k = (n - i)
            .min(SEGS - (i % RING) % SEGS)
            .min(state.max_gso_segments());
        let start = (i % RING) * SIZE;
        let t = quinn_udp::Transmit {
            destination: s.to,
            ecn: None,
            contents: &s.ring[start..start + k * SIZE],
            segment_size: (k > 1).then_some(SIZE),
            src_ip: None,
        };
        loop {
            match state.try_send((&s.tx).into(), &t) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("quinn-udp: {e}"),
            }
        }
        i += k;
    }
}
