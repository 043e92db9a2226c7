//! Helpers shared by the integration tests: real sockets, real files.
#![allow(dead_code)]

use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use ancillary::cmsg::{space_for_fds, CmsgBuffer};
use ancillary::{RecvMsg, SendMsg};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// A connected Unix socket pair of the given type, close-on-exec.
pub(crate) fn pair(ty: SockType) -> (OwnedFd, OwnedFd) {
    #[cfg(not(apple))]
    let flags = SockFlag::SOCK_CLOEXEC;
    // No SOCK_CLOEXEC on macOS: set FD_CLOEXEC after.
    #[cfg(apple)]
    let flags = SockFlag::empty();
    let (a, b) = socketpair(AddressFamily::Unix, ty, None, flags).expect("socketpair");
    #[cfg(apple)]
    for fd in [&a, &b] {
        // SAFETY: fd is open (owned above); F_SETFD touches no memory.
        unsafe { libc::fcntl(raw(fd), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    (a, b)
}

/// An anonymous file holding `text`, positioned at its start.
pub(crate) fn file_with(text: &str) -> File {
    #[cfg(linux_like)]
    let mut f = File::from(
        rustix::fs::memfd_create("ancillary-test", rustix::fs::MemfdFlags::CLOEXEC)
            .expect("memfd_create"),
    );
    // Elsewhere: a temporary file, its name removed at once.
    #[cfg(not(linux_like))]
    let mut f = {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ancillary-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let f = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("temporary file");
        std::fs::remove_file(&path).expect("unlink");
        f
    };
    f.write_all(text.as_bytes()).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// Reads the whole file behind `fd` from its start.
pub(crate) fn read_all(fd: OwnedFd) -> String {
    let mut f = File::from(fd);
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// Open descriptors of this process.
pub(crate) fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// `n` descriptors for /dev/null.
pub(crate) fn dev_nulls(n: usize) -> Vec<File> {
    (0..n).map(|_| File::open("/dev/null").unwrap()).collect()
}

/// Sends `data` with these fds in one SCM_RIGHTS message.
pub(crate) fn send_fds(
    sock: BorrowedFd<'_>,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
) -> ancillary::Result<usize> {
    let mut storage = CmsgBuffer::<{ space_for_fds(300) }>::new();
    let mut control = storage.encoder();
    if !fds.is_empty() {
        control.push_rights(fds)?;
    }
    SendMsg::new(&[IoSlice::new(data)])
        .control(&control)
        .send(sock)
}

/// Receives one message with room for `room` fds; returns data and the fds taken.
pub(crate) fn recv_fds(sock: BorrowedFd<'_>, room: usize) -> (Vec<u8>, Vec<OwnedFd>, bool) {
    let mut data = [0u8; 256];
    let mut storage = vec![0u8; space_for_fds(room) + 8];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut recv = RecvMsg::new(&mut iov).control(&mut storage);
    let mut msg = recv.recv(sock).expect("recvmsg");
    let n = msg.len();
    let truncated = msg.is_control_truncated();
    let fds: Vec<OwnedFd> = msg.fds().collect();
    drop(msg);
    (data[..n].to_vec(), fds, truncated)
}

/// Whether `fd` has FD_CLOEXEC.
pub(crate) fn is_cloexec(fd: &impl AsFd) -> bool {
    let flags = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
    flags & libc::FD_CLOEXEC != 0
}

/// The raw number, for messages.
pub(crate) fn raw(fd: &impl AsFd) -> i32 {
    fd.as_fd().as_raw_fd()
}

/// `len` bytes of a fixed pseudo-random pattern, so that a byte out of place shows.
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Cuts `data` into `IoSlice`s of irregular lengths from 0 to `max` bytes (empty ones
/// included), in order.
pub(crate) fn irregular_slices(data: &[u8], max: usize) -> Vec<IoSlice<'_>> {
    let mut out = Vec::new();
    let (mut at, mut x) = (0usize, 12345usize);
    while at < data.len() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345) % (1 << 31);
        let len = if out.len() % 97 == 3 {
            0
        } else {
            x % (max + 1)
        };
        let end = (at + len).min(data.len());
        out.push(IoSlice::new(&data[at..end]));
        at = end;
    }
    out
}

/// A connected TCP pair on 127.0.0.1: (client, accepted server side).
pub(crate) fn tcp_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    // No test can hang on a blocking call.
    for s in [&client, &server] {
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        s.set_write_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
    }
    (client, server)
}

/// What [`read_slowly`] got: every byte, every fd, and how many reads carried fds.
pub(crate) struct Slow {
    pub(crate) bytes: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
    pub(crate) reads_with_fds: usize,
}

/// Reads `sock` until end of stream in small pieces (1 to 4096 bytes), pausing now and then,
/// with room for 8 fds in every read. Bounded: fails after 30 s or 20 million reads.
pub(crate) fn read_slowly(sock: impl AsFd) -> Slow {
    let mut out = Slow {
        bytes: Vec::new(),
        fds: Vec::new(),
        reads_with_fds: 0,
    };
    let mut buf = [0u8; 4096];
    let mut room = CmsgBuffer::<{ space_for_fds(8) }>::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for i in 0..20_000_000usize {
        assert!(std::time::Instant::now() < deadline, "reader timed out");
        let piece = 1 + (i * 7919) % buf.len();
        let mut iov = [IoSliceMut::new(&mut buf[..piece])];
        let mut recv = RecvMsg::new(&mut iov).control(&mut room);
        let mut msg = recv.recv(sock.as_fd()).expect("recvmsg");
        msg.check().expect("nothing truncated");
        let n = msg.len();
        let before = out.fds.len();
        out.fds.extend(msg.fds());
        if out.fds.len() > before {
            out.reads_with_fds += 1;
        }
        drop(msg);
        if n == 0 {
            return out;
        }
        out.bytes.extend_from_slice(&buf[..n]);
        if i % 128 == 0 {
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
    }
    panic!("reader did not reach the end of the stream");
}

/// Runs the ignored test `name` of this test binary in a child process with `env` set to "1",
/// as nobody (uid and gid 65534) when this process is root, and asserts that it succeeded and
/// printed `marker` (so that a child which skipped its work cannot pass).
pub(crate) fn run_unprivileged(name: &str, env: &str, marker: &str) {
    if skip_under_qemu(&format!(
        "{name} in a child process: qemu-user cannot re-execute the test binary without \
         binfmt_misc"
    )) {
        return;
    }
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(env, "1");
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        // Root bypasses the checks under test: drop to nobody (std also drops supplementary
        // groups).
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("spawn the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(marker),
        "child {name} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In an ignored child test: whether this process is the child [`run_unprivileged`] started
/// with `env` (else the test returns at once); asserts that the child is not root.
pub(crate) fn is_unprivileged_child(env: &str) -> bool {
    if std::env::var_os(env).is_none() {
        return false;
    }
    // SAFETY: geteuid cannot fail.
    assert_ne!(unsafe { libc::geteuid() }, 0, "the child must not be root");
    true
}

/// Sets O_NONBLOCK on any descriptor.
pub(crate) fn set_nonblocking(fd: &impl AsFd) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_retain(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap());
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
}

/// `setsockopt` of an `int` option; panics on failure.
pub(crate) fn set_int_opt(fd: &impl AsFd, level: i32, name: i32, value: i32) {
    try_set_int_opt(fd, level, name, value).unwrap_or_else(|e| {
        panic!("setsockopt({level}, {name}, {value}): {e}");
    })
}

/// `setsockopt` of an `int` option.
pub(crate) fn try_set_int_opt(
    fd: &impl AsFd,
    level: i32,
    name: i32,
    value: i32,
) -> std::io::Result<()> {
    // SAFETY: value is a live int and its size is given.
    let r = unsafe {
        libc::setsockopt(
            raw(fd),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `getsockopt` of an `int` option; panics on failure.
pub(crate) fn get_int_opt(fd: &impl AsFd, level: i32, name: i32) -> i32 {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for writes of the sizes given.
    let r =
        unsafe { libc::getsockopt(raw(fd), level, name, (&mut v as *mut i32).cast(), &mut len) };
    assert_eq!(
        r,
        0,
        "getsockopt({level}, {name}): {}",
        std::io::Error::last_os_error()
    );
    v
}

/// A UDP socket bound to `addr` with a receive buffer of about `bytes` (`SO_RCVBUFFORCE` as
/// root, else as much as `SO_RCVBUF` allows) and a receive timeout, so no test can hang.
pub(crate) fn udp_receiver(addr: &str, bytes: i32) -> std::net::UdpSocket {
    let s = std::net::UdpSocket::bind(addr).expect("bind receiver");
    #[cfg(linux_like)]
    let forced = try_set_int_opt(&s, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_ok();
    #[cfg(not(linux_like))]
    let forced = false;
    if !forced {
        set_int_opt(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes);
    }
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    s
}

/// Whether nothing is queued on `sock` (a non-blocking peek finds nothing).
pub(crate) fn nothing_queued_udp(sock: &std::net::UdpSocket) -> bool {
    sock.set_nonblocking(true).unwrap();
    let r = sock.peek(&mut [0u8; 1]);
    sock.set_nonblocking(false).unwrap();
    matches!(r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// The errno with which the kernel refuses control data for `net.core.optmem_max`: `ENOBUFS`,
/// or `ENOMEM` in a 32-bit process on a 64-bit kernel (whose compat layer widens the messages
/// first and fails the allocation of the widened copy).
pub(crate) fn control_refusal_errno() -> i32 {
    if ancillary::limits::kernel_widens_control() {
        libc::ENOMEM
    } else {
        libc::ENOBUFS
    }
}

/// The size the kernel checks against `net.core.optmem_max` for the control data `build`
/// writes (built here into storage of its own).
pub(crate) fn kernel_len_of(
    build: impl FnOnce(&mut ancillary::cmsg::Encoder<'_, '_>) -> ancillary::Result<()>,
) -> usize {
    let mut storage = vec![0u8; 1 << 20];
    let mut enc = ancillary::cmsg::Encoder::new(&mut storage);
    build(&mut enc).expect("the control data fits");
    ancillary::limits::kernel_control_len(enc.as_bytes())
}

/// Attaches a classic BPF filter of `instructions` instructions (that accepts everything) to
/// `fd`: it charges the socket's option memory, which control data shares.
#[cfg(linux_like)]
pub(crate) fn attach_filter(fd: &impl AsFd, instructions: usize) {
    let load = libc::sock_filter {
        code: (libc::BPF_LD | libc::BPF_W | libc::BPF_IMM) as u16,
        jt: 0,
        jf: 0,
        k: 0,
    };
    let mut prog = vec![load; instructions - 1];
    prog.push(libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0xffff,
    });
    let fprog = libc::sock_fprog {
        len: u16::try_from(prog.len()).expect("at most 4096 instructions"),
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: fprog points to `prog`, alive for the call; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
}

/// Whether the tests run under qemu-user: the aarch64 step of `.ci/run` sets
/// `ANCILLARY_QEMU=1`.
pub(crate) fn under_qemu() -> bool {
    std::env::var_os("ANCILLARY_QEMU").is_some_and(|v| v == "1")
}

/// The one place a test (or part of one) is left out under qemu-user, for something qemu
/// itself cannot do (`PLATFORMS.md`): prints `skipped under qemu-user: <what>` and returns
/// true there; returns false everywhere else.
pub(crate) fn skip_under_qemu(what: &str) -> bool {
    if under_qemu() {
        println!("skipped under qemu-user: {what}");
        true
    } else {
        false
    }
}
