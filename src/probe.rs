//! What must be asked of the running system, once per process: `net.core.optmem_max`, the
//! kernel's UDP GSO segment cap, the calling process's ids. Cached and overridable; the only
//! place with runtime discovery.

use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(has_ucred)]
use crate::cmsg::Credentials;
#[cfg(has_gso)]
use crate::cmsg::{CmsgBuffer, UDP_SEGMENT_SPACE};
use crate::limits::{OPTMEM_MAX_FALLBACK, UDP_MAX_SEGMENTS_FALLBACK};
#[cfg(any(has_ucred, has_gso))]
use crate::sys;

/// 0 means "not read yet".
static OPTMEM_MAX: AtomicUsize = AtomicUsize::new(0);

/// 0 means "not probed yet".
static UDP_MAX_SEGMENTS: AtomicUsize = AtomicUsize::new(0);

/// Whether the running kernel widens this process's control messages: a 32-bit build running on
/// a 64-bit Linux kernel, whose compat layer (`cmsghdr_from_user_compat_to_kern`) rewrites
/// every message in the 64-bit layout (a 12-byte header and 4-byte alignment become 16 and 8)
/// before checking the result against `net.core.optmem_max`, and answers `ENOMEM`, not
/// `ENOBUFS`, when it does not fit.
///
/// Always `false` in a 64-bit build. In a 32-bit Linux build, found once per process from the
/// machine `uname(2)` reports (`x86_64`, `aarch64`, ... or `armv8l`: a 64-bit kernel).
#[doc(alias = "compat")]
#[inline]
pub fn kernel_widens_control() -> bool {
    #[cfg(all(linux_like, target_pointer_width = "32"))]
    {
        match KERNEL_WIDENS.load(Ordering::Relaxed) {
            0 => init_kernel_widens(),
            v => v == 2,
        }
    }
    #[cfg(not(all(linux_like, target_pointer_width = "32")))]
    {
        false
    }
}

/// 0 means "not asked yet", 1 no, 2 yes.
#[cfg(all(linux_like, target_pointer_width = "32"))]
static KERNEL_WIDENS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

#[cfg(all(linux_like, target_pointer_width = "32"))]
#[cold]
fn init_kernel_widens() -> bool {
    let wide = sys::machine(is_64_bit_machine).unwrap_or(false);
    KERNEL_WIDENS.store(if wide { 2 } else { 1 }, Ordering::Relaxed);
    wide
}

/// Whether `uname -m` names a 64-bit Linux kernel, one that runs 32-bit processes through its
/// compat layer. `armv8l` is what arm64 reports to a process in the 32-bit personality.
#[cfg_attr(not(all(linux_like, target_pointer_width = "32")), allow(dead_code))]
fn is_64_bit_machine(machine: &[u8]) -> bool {
    matches!(
        machine,
        b"x86_64"
            | b"aarch64"
            | b"aarch64_be"
            | b"armv8l"
            | b"armv8b"
            | b"ppc64"
            | b"ppc64le"
            | b"s390x"
            | b"mips64"
            | b"sparc64"
    )
}

/// `UDP_MAX_SEGMENTS`: the most segments one `UDP_SEGMENT` (GSO) send may carry, 64 or 128
/// depending on the kernel.
///
/// The kernel does not publish it, so it is probed on first use, once per process: a private
/// socket on 127.0.0.1 sends 128 one-byte segments to itself (64 when the kernel answers
/// `EINVAL`) and is closed, with whatever it received. No socket of the caller is touched and
/// no socket option is set. [`UDP_MAX_SEGMENTS_FALLBACK`] if the probe cannot run (no
/// loopback, no GSO). [`set_udp_max_segments`] overrides it.
#[doc(alias = "UDP_MAX_SEGMENTS")]
#[inline]
pub fn udp_max_segments() -> usize {
    cached(&UDP_MAX_SEGMENTS, || {
        probe_udp_max_segments().unwrap_or(UDP_MAX_SEGMENTS_FALLBACK)
    })
}

/// The value in `cell`, or (when it holds 0: not known yet) what `find` finds, stored there.
#[inline]
fn cached(cell: &AtomicUsize, find: impl FnOnce() -> usize) -> usize {
    match cell.load(Ordering::Relaxed) {
        0 => store_found(cell, find()),
        v => v,
    }
}

/// Stores `v` in `cell` unless an override raced with us; returns what the cell keeps.
#[cold]
fn store_found(cell: &AtomicUsize, v: usize) -> usize {
    match cell.compare_exchange(0, v, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => v,
        Err(other) => other,
    }
}

/// Overrides the segment cap that GSO sends are planned and checked against, for the whole
/// process. A value of 0 makes the next use probe again.
pub fn set_udp_max_segments(value: usize) {
    UDP_MAX_SEGMENTS.store(value, Ordering::Relaxed);
}

/// `net.core.optmem_max`: the control buffer of a `sendmsg` must stay below it.
///
/// Read from `/proc/sys/net/core/optmem_max` on first use, once per process;
/// [`OPTMEM_MAX_FALLBACK`] if that cannot be read. [`set_optmem_max`] overrides it (the sysctl
/// is per network namespace, and a process may know better).
#[doc(alias = "net.core.optmem_max")]
#[inline]
pub fn optmem_max() -> usize {
    cached(&OPTMEM_MAX, || {
        read_optmem_max().unwrap_or(OPTMEM_MAX_FALLBACK)
    })
}

/// Overrides the `net.core.optmem_max` value that sends are checked against, for the whole
/// process. A value of 0 makes the next check read the sysctl again.
pub fn set_optmem_max(value: usize) {
    OPTMEM_MAX.store(value, Ordering::Relaxed);
}

/// The sysctl, on Linux only (other systems cap control data at a fixed size: see the
/// crate's limits table).
#[cfg(not(linux_like))]
fn read_optmem_max() -> Option<usize> {
    None
}

#[cfg(linux_like)]
fn read_optmem_max() -> Option<usize> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    let mut f = std::fs::File::open("/proc/sys/net/core/optmem_max").ok()?;
    let n = f.read(&mut buf).ok()?;
    let s = std::str::from_utf8(&buf[..n]).ok()?;
    s.trim().parse().ok().filter(|&v| v > 0)
}

/// No `UDP_MAX_SEGMENTS` on a system without GSO.
#[cfg(not(has_gso))]
pub(crate) fn probe_udp_max_segments() -> Option<usize> {
    None
}

/// The kernel's `UDP_MAX_SEGMENTS`, found by sending on a private socket on 127.0.0.1 to
/// itself: 128 one-byte segments, then 64 if the kernel refused with `EINVAL`. The socket is
/// closed with whatever it received; no option is set on it. `None` if neither went.
#[cfg(has_gso)]
pub(crate) fn probe_udp_max_segments() -> Option<usize> {
    use std::io::IoSlice;
    use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
    use std::os::fd::AsFd;
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    let to: nix::sys::socket::SockaddrIn = match sock.local_addr().ok()? {
        SocketAddr::V4(a) => a.into(),
        SocketAddr::V6(_) => return None,
    };
    let mut storage = CmsgBuffer::<{ UDP_SEGMENT_SPACE }>::new();
    let mut control = storage.encoder();
    control.push_udp_segment(1).ok()?;
    let payload = [0u8; 128];
    for n in [128, 64] {
        let iov = [IoSlice::new(&payload[..n])];
        match sys::sendmsg(
            sock.as_fd(),
            Some(sys::Name::new(&to)),
            &iov,
            control.as_bytes(),
            libc::MSG_DONTWAIT | sys::MSG_NOSIGNAL,
        ) {
            Ok(_) => return Some(n),
            Err(libc::EINVAL) => continue,
            Err(_) => return None,
        }
    }
    None
}

#[cfg(has_ucred)]
impl Credentials {
    /// The calling process's pid, effective uid and effective gid: what the kernel accepts
    /// from any process.
    pub fn current() -> Self {
        let (pid, uid, gid) = sys::current_ids();
        Credentials { pid, uid, gid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_the_segment_cap() {
        let v = udp_max_segments();
        assert!(v == 64 || v == 128, "{v}");
        assert_eq!(probe_udp_max_segments(), Some(v));
    }

    #[test]
    fn knows_which_kernels_widen() {
        assert!(is_64_bit_machine(b"x86_64"));
        assert!(is_64_bit_machine(b"aarch64"));
        assert!(!is_64_bit_machine(b"i686"));
        assert!(!is_64_bit_machine(b"armv7l"));
        assert!(!is_64_bit_machine(b""));
        // The answer is the same every time, and never true in a 64-bit build.
        let first = kernel_widens_control();
        assert_eq!(kernel_widens_control(), first);
        if cfg!(target_pointer_width = "64") {
            assert!(!first);
        }
    }

    #[test]
    fn reads_sysctl() {
        let v = read_optmem_max().expect("this machine has the sysctl");
        assert!(v >= 10240, "{v}");
    }
}
