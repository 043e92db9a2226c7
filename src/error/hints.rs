//! What a failed call carried, and the advice chosen from the call, the errno and that.
//!
//! The kernel answers with a bare errno, and the same errno has different causes depending on
//! what the message carried: `EPERM` for a message with descriptors is the receiver refusing
//! them (`SO_PASSRIGHTS` off, or a security module), for a message with credentials it is the
//! kernel refusing the claim. [`hint`] picks the advice from all three. Everything here is
//! pure and allocation-free: the texts are `&'static str`, and a [`Carried`] is built only on
//! the error path.
//!
//! On Windows only [`Carried`] is built from here; the advice for a Windows Sockets code comes
//! from the table in `crate::windows`.

use std::fmt;

use crate::cmsg::RawIter;

/// What a failed call carried, as far as the advice for its error depends on it: descriptors,
/// credentials, a destination, a source address, GSO, other IP options, and the size of its
/// control data.
///
/// [`Error::Os`](crate::Error::Os) keeps it so that its message can say which of the causes
/// of an errno applies: `EPERM` for a message with file descriptors (the receiver turned
/// `SO_PASSRIGHTS` off, or a security module refused them) is not `EPERM` for a message with
/// credentials (the kernel refused the pid, uid or gid claimed). Calls that carry none of
/// these (receives, `sendfile`) give [`Carried::NOTHING`].
///
/// ```
/// # use std::io::IoSlice;
/// # use std::os::fd::AsFd;
/// # use std::os::unix::net::UnixDatagram;
/// use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, Error, SendMsg};
///
/// let (a, b) = UnixDatagram::pair()?;
/// drop(b);
/// let file = std::fs::File::open("/dev/null")?;
/// let mut storage = CmsgBuffer::<{ space_for_fds(1) }>::new();
/// let mut control = storage.encoder();
/// control.push_rights(&[file.as_fd()])?;
/// let err = SendMsg::new(&[IoSlice::new(b"x")]).control(&control).send(&a).unwrap_err();
/// match err {
///     Error::Os { call: "sendmsg", carried, .. } => {
///         assert_eq!(carried.fds(), 1);
///         assert!(!carried.credentials() && !carried.destination());
///     }
///     other => panic!("{other}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Carried {
    bits: u8,
    /// Descriptors over all `SCM_RIGHTS` messages, saturated at `u16::MAX`.
    fds: u16,
    /// `msg_controllen`, saturated at `u32::MAX`.
    control_len: u32,
}

const CREDENTIALS: u8 = 1;
const DESTINATION: u8 = 1 << 1;
const SOURCE: u8 = 1 << 2;
const GSO: u8 = 1 << 3;
const IP_OPTIONS: u8 = 1 << 4;

impl Carried {
    /// A call that carried nothing the advice depends on.
    pub const NOTHING: Carried = Carried {
        bits: 0,
        fds: 0,
        control_len: 0,
    };

    /// Describes a message from its control data and whether it named a destination.
    ///
    /// Walks the control data (no allocation, no syscall): meant for the error path only.
    #[cold]
    pub(crate) fn message(control: &[u8], destination: bool) -> Carried {
        let mut c = Carried {
            bits: if destination { DESTINATION } else { 0 },
            fds: 0,
            control_len: u32::try_from(control.len()).unwrap_or(u32::MAX),
        };
        let mut fds = 0usize;
        for m in RawIter::new(control) {
            let (bits, n) = what_it_is(m.level, m.ty, m.data);
            c.bits |= bits;
            fds += n;
        }
        c.fds = u16::try_from(fds).unwrap_or(u16::MAX);
        c
    }

    /// File descriptors the message carried in `SCM_RIGHTS` (saturated at 65535).
    #[doc(alias = "SCM_RIGHTS")]
    pub const fn fds(&self) -> usize {
        self.fds as usize
    }

    /// Whether the message carried `SCM_CREDENTIALS`.
    #[doc(alias = "SCM_CREDENTIALS")]
    pub const fn credentials(&self) -> bool {
        self.bits & CREDENTIALS != 0
    }

    /// Whether the message named a destination (`msg_name`).
    #[doc(alias = "msg_name")]
    pub const fn destination(&self) -> bool {
        self.bits & DESTINATION != 0
    }

    /// Whether the message chose its source address or interface (`IP_PKTINFO`,
    /// `IPV6_PKTINFO`).
    #[doc(alias = "IP_PKTINFO")]
    #[doc(alias = "IPV6_PKTINFO")]
    pub const fn source_address(&self) -> bool {
        self.bits & SOURCE != 0
    }

    /// Whether the message was a GSO send (`UDP_SEGMENT` with a non-zero size; on Windows
    /// `UDP_SEND_MSG_SIZE`, USO).
    #[doc(alias = "UDP_SEGMENT")]
    #[doc(alias = "UDP_SEND_MSG_SIZE")]
    pub const fn gso(&self) -> bool {
        self.bits & GSO != 0
    }

    /// Whether the message carried other IP or IPv6 control messages (`IP_TOS`, `IP_TTL`,
    /// `IPV6_TCLASS`, ...).
    pub const fn ip_options(&self) -> bool {
        self.bits & IP_OPTIONS != 0
    }

    /// Bytes of control data (`msg_controllen`, saturated at `u32::MAX`).
    #[doc(alias = "msg_controllen")]
    pub const fn control_len(&self) -> usize {
        self.control_len as usize
    }

    /// Whether the call carried nothing of the above.
    pub const fn is_empty(&self) -> bool {
        self.bits == 0 && self.fds == 0 && self.control_len == 0
    }

    #[cfg(all(test, unix))]
    const fn with(mut self, bits: u8, fds: u16, control_len: u32) -> Self {
        self.bits |= bits;
        self.fds = fds;
        self.control_len = control_len;
        self
    }
}

/// What one control message tells about its call: the bits above, and the descriptors in it.
#[cfg(unix)]
fn what_it_is(level: libc::c_int, ty: libc::c_int, data: &[u8]) -> (u8, usize) {
    match (level, ty) {
        (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
            (0, data.len() / std::mem::size_of::<libc::c_int>())
        }
        #[cfg(has_ucred)]
        (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => (CREDENTIALS, 0),
        #[cfg(any(has_ip_pktinfo, has_ip_pktinfo8))]
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => (SOURCE, 0),
        #[cfg(has_ip_recvdstaddr)]
        (libc::IPPROTO_IP, libc::IP_SENDSRCADDR) => (SOURCE, 0),
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => (SOURCE, 0),
        // UDP_SEGMENT 0 (sent to override a socket-wide size) cuts nothing.
        #[cfg(has_gso)]
        (libc::SOL_UDP, libc::UDP_SEGMENT) if data.iter().any(|&b| b != 0) => (GSO, 0),
        (libc::IPPROTO_IP | libc::IPPROTO_IPV6, _) => (IP_OPTIONS, 0),
        _ => (0, 0),
    }
}

/// What one control message tells about its call (Windows: no descriptors, no credentials;
/// `UDP_SEND_MSG_SIZE` is the offload counted as GSO).
#[cfg(windows)]
fn what_it_is(level: i32, ty: i32, data: &[u8]) -> (u8, usize) {
    use crate::windows::cmsg::{
        IPPROTO_IP, IPPROTO_IPV6, IPPROTO_UDP, IPV6_PKTINFO, IP_PKTINFO, UDP_SEND_MSG_SIZE,
    };
    match (level, ty) {
        (IPPROTO_IP, IP_PKTINFO) | (IPPROTO_IPV6, IPV6_PKTINFO) => (SOURCE, 0),
        (IPPROTO_UDP, UDP_SEND_MSG_SIZE) if data.iter().any(|&b| b != 0) => (GSO, 0),
        (IPPROTO_IP | IPPROTO_IPV6, _) => (IP_OPTIONS, 0),
        _ => (0, 0),
    }
}

impl fmt::Display for Carried {
    /// A short list: "2 fds, credentials, a destination, 48 bytes of control data".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut item = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            let r = write!(f, "{sep}{args}");
            sep = ", ";
            r
        };
        match self.fds {
            0 => {}
            1 => item(f, format_args!("1 fd"))?,
            n => item(f, format_args!("{n} fds"))?,
        }
        if self.credentials() {
            item(f, format_args!("credentials"))?;
        }
        if self.source_address() {
            item(f, format_args!("a source address (PKTINFO)"))?;
        }
        if self.gso() {
            let name = if cfg!(windows) {
                "UDP_SEND_MSG_SIZE"
            } else {
                "UDP_SEGMENT"
            };
            item(f, format_args!("{name}"))?;
        }
        if self.ip_options() {
            item(f, format_args!("IP options"))?;
        }
        if self.destination() {
            item(f, format_args!("a destination"))?;
        }
        if self.control_len > 0 {
            item(
                f,
                format_args!("{} bytes of control data", self.control_len),
            )?;
        }
        if sep.is_empty() {
            f.write_str("nothing")?;
        }
        Ok(())
    }
}

#[cfg(unix)]
/// The symbolic name of an errno that the calls of this crate can meet.
pub(crate) fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EACCES => "EACCES",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EAGAIN => "EAGAIN",
        e if e == libc::EWOULDBLOCK => "EWOULDBLOCK",
        libc::EALREADY => "EALREADY",
        libc::EBADF => "EBADF",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ECONNRESET => "ECONNRESET",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::EFAULT => "EFAULT",
        libc::EHOSTDOWN => "EHOSTDOWN",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EINTR => "EINTR",
        libc::EINVAL => "EINVAL",
        libc::EIO => "EIO",
        libc::EISCONN => "EISCONN",
        libc::EMFILE => "EMFILE",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENOBUFS => "ENOBUFS",
        #[cfg(linux_like)]
        libc::ENODATA => "ENODATA",
        libc::ENODEV => "ENODEV",
        libc::ENOENT => "ENOENT",
        libc::ENOMEM => "ENOMEM",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::ENOTCONN => "ENOTCONN",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EPERM => "EPERM",
        libc::EPIPE => "EPIPE",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ESPIPE => "ESPIPE",
        libc::ESRCH => "ESRCH",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ETOOMANYREFS => "ETOOMANYREFS",
        _ => "errno",
    }
}

#[cfg(unix)]
/// Which kind of call failed: the same errno means different things to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Send,
    Recv,
    SendFile,
    /// `setsockopt` / `getsockopt`.
    SockOpt,
    Other,
}

#[cfg(unix)]
impl Call {
    fn of(call: &str) -> Call {
        match call {
            "sendmsg" | "sendmmsg" | "sendto" | "send" => Call::Send,
            "recvmsg" | "recvmmsg" | "recvfrom" | "recv" => Call::Recv,
            "sendfile" => Call::SendFile,
            "setsockopt" | "getsockopt" => Call::SockOpt,
            _ => Call::Other,
        }
    }
}

/// What the kernel makes of control data above the size it takes on its stack; ENOMEM has a
/// cause here only in a 32-bit process on a 64-bit kernel. (musl's `sendmsg` wrapper, which
/// refuses more than 1056 bytes of control data with ENOMEM, is not called: the crate makes
/// the system call itself.)
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    /// A 32-bit process on a 64-bit kernel: every control message is widened before the
    /// `optmem_max` check, which then answers `ENOMEM`.
    Compat32,
    Native,
}

#[cfg(unix)]
impl Platform {
    fn this() -> Platform {
        if crate::limits::kernel_widens_control() {
            Platform::Compat32
        } else {
            Platform::Native
        }
    }
}

#[cfg(unix)]
/// The advice for `errno` from `call`, given what the call carried.
pub(crate) fn hint(call: &str, errno: i32, carried: Carried) -> &'static str {
    hint_on(Platform::this(), Call::of(call), errno, carried)
}

#[cfg(unix)]
fn hint_on(platform: Platform, call: Call, errno: i32, c: Carried) -> &'static str {
    use Call::*;
    let fds = c.fds > 0;
    let creds = c.credentials();
    let dest = c.destination();
    let control = c.control_len > 0;
    match errno {
        libc::EACCES => match call {
            Send if dest => {
                "the destination refused this sender: for a Unix socket path, give the sender \
                 write permission on the socket file (and search permission on its \
                 directories); for a broadcast address, set SO_BROADCAST on the socket; or a \
                 security module or firewall rule forbids it"
            }
            Send => {
                "permission denied: a security module (SELinux, AppArmor) or a firewall rule \
                 refused the send, or the connected peer is a broadcast address and \
                 SO_BROADCAST is off; check the policy for this socket"
            }
            _ => {
                "permission denied: a security module (SELinux, AppArmor) refused the call on \
                 this socket or file; check the policy"
            }
        },
        e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => match call {
            Recv => {
                "no message is waiting and the socket is non-blocking (O_NONBLOCK or \
                 MSG_DONTWAIT) or its SO_RCVTIMEO elapsed; wait until it is ready to read \
                 (poll for POLLIN) and call again"
            }
            Send | SendFile => {
                "the socket is non-blocking (O_NONBLOCK or MSG_DONTWAIT) and its send buffer \
                 (for a Unix datagram socket: the receiver's queue) is full, or its \
                 SO_SNDTIMEO elapsed; wait until it is ready (poll for POLLOUT) and call again"
            }
            _ => "the call would block; wait until the descriptor is ready and call again",
        },
        libc::EALREADY => {
            "a TCP Fast Open connection (MSG_FASTOPEN) is already being made on this socket; \
             wait until it is connected (poll for POLLOUT) and send again"
        }
        libc::EBADF => match call {
            Send if fds => {
                "a descriptor is not open: the socket, or one of the fds passed in SCM_RIGHTS \
                 (closed before the call?); keep every descriptor open until the call returns"
            }
            SendFile => {
                "the file is not open for reading (opened O_WRONLY or O_PATH) or the socket is \
                 not open for writing; open the file for reading and keep both open until the \
                 call returns"
            }
            _ => {
                "the socket descriptor is not open (or was opened with O_PATH, which allows no \
                 I/O); keep every descriptor open, and opened for I/O, until the call returns"
            }
        },
        libc::ECONNREFUSED => match call {
            Send if dest => {
                "nothing is bound at the destination: the Unix socket file exists but no \
                 socket is bound to it (a stale file left by a process that exited), or the \
                 port has no listener; start the receiver, or remove the stale file and let it \
                 bind again"
            }
            Send => {
                "the connected peer refused: nothing listens at its address (for UDP the \
                 ICMP port-unreachable of an earlier datagram is reported here, and this one \
                 was not sent; for a Unix socket the peer has closed); start the receiver, or \
                 connect elsewhere, and send again"
            }
            Recv => {
                "an earlier datagram to the connected peer met a port where nothing listens \
                 (ICMP port unreachable), reported on this receive; start the peer, then \
                 receive again"
            }
            _ => "the peer refused the connection: nothing listens at its address",
        },
        libc::ECONNRESET => match call {
            Recv => {
                "the peer reset the connection (it closed with data unread, or with \
                 SO_LINGER 0); what it sent may be lost; close this socket and reconnect"
            }
            _ => {
                "the peer reset the connection (it closed with data unread, or with \
                 SO_LINGER 0) and data in flight is lost; close this socket and reconnect"
            }
        },
        libc::ECONNABORTED => "the connection was aborted locally; close this socket and reconnect",
        libc::EDESTADDRREQ => {
            "the socket is not connected and has no peer address; name a destination \
             (SendMsg::to, SendMsg::to_addr) or connect the socket first"
        }
        libc::EFAULT => {
            "a buffer address is invalid; every buffer must stay valid for the whole call (look \
             for unsafe code that built one)"
        }
        libc::EHOSTUNREACH | libc::EHOSTDOWN => match call {
            Send if dest => {
                "no route to the destination host, or an ICMP host-unreachable came back for \
                 an earlier datagram, or a firewall rule rejected it; check the address and \
                 the routing table (ip route get)"
            }
            Recv => {
                "an earlier datagram met an ICMP host-unreachable, reported on this receive; \
                 check that the peer's host is up and routable"
            }
            _ => {
                "the peer's host is unreachable (no route, or an ICMP host-unreachable for an \
                 earlier datagram, or a firewall rule); check the routing table (ip route get)"
            }
        },
        libc::ENETUNREACH => match call {
            Send if c.source_address() => {
                "the source address in IP_PKTINFO is not assigned to this host (or no route \
                 leads from it to the destination); use an address of this host, or 0.0.0.0 \
                 to let the kernel choose"
            }
            Send if dest => {
                "no route to the destination network (no default route?), or an IPv4 \
                 destination on an IPV6_V6ONLY socket; check the routing table (ip route \
                 get), or send IPv4 from an IPv4 socket"
            }
            Recv => {
                "an earlier datagram met an ICMP network-unreachable, reported on this \
                 receive; check the routes to the peer"
            }
            _ => "no route to the peer's network; check the routing table (ip route get)",
        },
        libc::ENETDOWN => {
            "the network interface the route uses is down; bring it up (ip link set ... up) \
             or route another way"
        }
        libc::EINTR => match call {
            Recv => "interrupted by a signal before any data arrived; call again",
            _ => "interrupted by a signal before any data was sent; call again",
        },
        libc::EINVAL => match call {
            Send if c.fds() > crate::limits::MAX_FDS => {
                "more than 253 file descriptors (SCM_MAX_FD) over the SCM_RIGHTS messages of \
                 one message; send them in several messages"
            }
            Send if creds => {
                "the credentials name a uid or gid with no mapping in the sender's user \
                 namespace, or a control message is malformed; send Credentials::current()"
            }
            Send if c.gso() => {
                "the kernel refused the UDP_SEGMENT (GSO) message: more segments than \
                 UDP_MAX_SEGMENTS, SO_NO_CHECK on the socket, a segment size it cannot send, \
                 or another control message in it is invalid; send the datagrams singly to \
                 tell which"
            }
            Send if c.source_address() => {
                "the kernel refused the source address in IP_PKTINFO/IPV6_PKTINFO (multicast, \
                 broadcast or 0.0.0.0/8, loopback towards another interface, or an IPv6 \
                 address this host does not have) or another IP control message; give an \
                 address of this host that can reach the destination"
            }
            Send if c.ip_options() => {
                "the kernel refused a value in an IP control message (IP_TTL or IPV6_HOPLIMIT \
                 of 0 or above 255, an IP_TOS or IPV6_TCLASS out of range, ...); check what the \
                 message carries"
            }
            Send if dest && !control => {
                "the destination is invalid for this socket: port 0, an address of the wrong \
                 length, a family the socket does not take (a Unix socket takes only a Unix \
                 address), or a source the route refuses (a socket bound to 127.0.0.1 sending \
                 elsewhere); check the destination"
            }
            Send if control => {
                "the kernel refused an argument: a malformed control message or one this \
                 socket does not take (an unknown type at SOL_SOCKET), invalid flags, or an \
                 invalid destination; check what the message carries"
            }
            Send => {
                "the kernel refused an argument: flags this socket does not take, an invalid \
                 length, or the socket is listening; check the flags and the socket"
            }
            Recv => {
                "the kernel refused an argument: MSG_OOB with no urgent data waiting (or with \
                 SO_OOBINLINE on), MSG_ERRQUEUE or another flag this socket does not take, a \
                 listening socket, or (recvmmsg) an invalid timeout; check the flags"
            }
            SendFile => {
                "sendfile cannot read from this input: an input it cannot read pages from (a \
                 directory or a socket rather than a regular file or memfd), a socket opened \
                 with O_APPEND, or an invalid count; send from a regular file"
            }
            SockOpt => {
                "the kernel refused the option's value or length, or this socket does not take \
                 the option; check the option against the socket's type"
            }
            Other => "the kernel refused an argument of the call; check its arguments",
        },
        libc::EIO => match call {
            Send if c.gso() => {
                "the device cannot segment this UDP_SEGMENT (GSO) message (no checksum \
                 offload, UDP-Lite, or a path without GSO); send the datagrams singly"
            }
            SendFile => {
                "reading the file failed (a disk or filesystem error); check the file and its \
                 device"
            }
            _ => {
                "an I/O error in the network stack or device, or a call that made no progress; \
                 check the interface (dmesg) and retry"
            }
        },
        libc::EISCONN => match call {
            Send if dest => {
                "the socket is connected and a destination was given; send without a \
                 destination"
            }
            _ => {
                "the socket is already connected (MSG_FASTOPEN on a connected socket?); send \
                 without MSG_FASTOPEN"
            }
        },
        libc::EMSGSIZE => match call {
            Send if c.gso() => {
                "a UDP_SEGMENT (GSO) segment plus its headers exceeds the path MTU, or the \
                 segments together exceed the largest UDP payload (65507 bytes over IPv4, \
                 65527 over IPv6); choose a smaller segment size or fewer segments"
            }
            Send | Other => {
                "the message is too long to pass atomically on this socket (datagram size or \
                 buffer; a UDP datagram carries at most 65507 bytes over IPv4, 65527 over \
                 IPv6, a Unix datagram at most its SO_SNDBUF); send less per message"
            }
            Recv => {
                "the kernel refused the receive's size: more than 1024 iovecs (UIO_MAXIOV); \
                 give fewer buffers"
            }
            SendFile => "the socket refused the size of the write; send a smaller range",
            SockOpt => "the option's value has a length the kernel does not take",
        },
        libc::ENOBUFS => match call {
            Send if control => {
                "the kernel had no buffer space: the socket's option memory (bounded by \
                 net.core.optmem_max, shared with the socket's other options such as filters) \
                 or the device's output queue is full; send smaller control data or retry \
                 later"
            }
            _ => {
                "the kernel had no buffer space: the device's output queue or the socket's \
                 memory is full; retry later (poll does not tell when)"
            }
        },
        libc::ENODEV => {
            "the interface index in IP_PKTINFO/IPV6_PKTINFO (or the one the socket is bound \
             to) does not exist; use the index of an existing interface, or 0"
        }
        libc::ENOENT => match call {
            Send => {
                "no socket file exists at the destination path; check the path, and that the \
                 receiver has bound its socket there"
            }
            _ => "a file the call names does not exist",
        },
        libc::ENOMEM => match call {
            Send if c.control_len() > crate::limits::OPTMEM_EXEMPT => enomem_for_control(platform),
            SendFile => "the kernel had not enough memory to read from the file; retry later",
            _ => "the kernel is out of memory; retry later",
        },
        libc::ENOTCONN => match call {
            Send if dest => {
                "the socket is not connected: a stream socket must be connected (a destination \
                 does not connect it); connect it first"
            }
            Send => {
                "the socket is not connected and no destination was given; connect it or name \
                 a destination"
            }
            Recv => {
                "the socket is not connected: connect it (or accept a connection) before \
                 receiving on a stream socket"
            }
            _ => "the socket is not connected; connect it first",
        },
        libc::ENOTSOCK => {
            "the descriptor is not a socket; pass a socket (a pipe or file takes write(2) and \
             read(2))"
        }
        libc::ENOPROTOOPT => match call {
            SockOpt => {
                "this kernel does not have this option, or not at this level (SO_PASSPIDFD and \
                 SO_PEERPIDFD need Linux 6.5, UDP_GRO Linux 5.0); upgrade the kernel, or do \
                 without the option"
            }
            _ => {
                "an earlier datagram met an ICMP protocol-unreachable (the peer host does not \
                 speak this protocol), reported on this call; check the peer"
            }
        },
        // SO_PEERPIDFD's answer for a socket without a peer process (FreeBSD has no ENODATA).
        #[cfg(linux_like)]
        libc::ENODATA => match call {
            SockOpt => {
                "the socket has no peer process to ask about: it was never connected, or it is \
                 not a Unix socket; ask on a connected Unix socket"
            }
            _ => "no data is available",
        },
        libc::EMFILE => {
            "this process has no descriptor number left (RLIMIT_NOFILE); close descriptors it \
             no longer needs, or raise the limit"
        }
        libc::EOPNOTSUPP => match call {
            Send if dest => {
                "this socket takes no destination (an unconnected Unix stream or seqpacket \
                 socket: connect it first), or a flag does not fit its type; connect, or drop \
                 the flag"
            }
            Send => {
                "a flag does not fit this socket type (for example MSG_OOB on a UDP, Unix \
                 datagram or seqpacket socket); drop the flag"
            }
            Recv => {
                "a flag does not fit this socket type (MSG_OOB where the socket has no \
                 out-of-band data); drop the flag"
            }
            SockOpt => {
                "this socket's family or type does not take the option (the IP options need an \
                 IPv4 or IPv6 socket, UDP_GRO a UDP socket, SO_PASSCRED and the pidfd options a \
                 Unix socket); set it on a socket of the right kind"
            }
            _ => "the operation is not supported on this socket or file",
        },
        libc::EOVERFLOW => {
            "the file offset or count does not fit the kernel's off_t; send a smaller range"
        }
        libc::EPERM => match call {
            Send if fds && creds => {
                "either the receiver refused the file descriptors (it turned SO_PASSRIGHTS \
                 off, Linux 6.16+, or a security module refused one) or the kernel refused \
                 the credentials (a process may claim only its own pid and one of its real, \
                 effective or saved uids and gids); send them in separate messages to tell \
                 which"
            }
            Send if fds => {
                "the receiver refused the file descriptors: it turned SO_PASSRIGHTS off \
                 (Linux 6.16+), or a security module (SELinux, AppArmor) refused to pass one \
                 of them; have the receiver accept descriptors, or send without them"
            }
            Send if creds => {
                "the kernel refused the credentials: a process may only claim its own pid \
                 (unless CAP_SYS_ADMIN) and one of its real, effective or saved uids and gids \
                 (unless CAP_SETUID, CAP_SETGID); send Credentials::current() or no \
                 credentials"
            }
            Send => {
                "the send was not permitted: a firewall rule (netfilter) dropped the datagram, \
                 or a security module or seccomp refused the call; check the rules for this \
                 destination"
            }
            _ => {
                "the call was not permitted: a security module or seccomp refused it; check \
                 the policy for this process"
            }
        },
        libc::EPIPE => match call {
            SendFile => {
                "the connection is shut down or the peer closed it; stop sending on it, close \
                 it and reconnect"
            }
            _ => {
                "the connection is shut down or the peer closed it (Linux also says so for a \
                 TCP socket that was never connected); stop sending on it, close it and \
                 reconnect"
            }
        },
        libc::EPROTOTYPE => {
            "the destination socket is of another type (a datagram sent to a stream socket's \
             path, or the reverse); send with a socket of the receiver's type"
        }
        libc::ESPIPE => match call {
            SendFile => {
                "the file has no offsets (a pipe); sendfile needs a regular file or a memfd"
            }
            _ => "the descriptor has no offsets (a pipe or socket)",
        },
        libc::ESRCH => match call {
            Send if creds => {
                "the credentials name a pid that does not exist (a process that has exited, or \
                 one outside the sender's pid namespace); claim a live pid, or send \
                 Credentials::current()"
            }
            _ => "no such process",
        },
        libc::ETIMEDOUT => {
            "the connection timed out: the peer stopped answering (retransmissions or \
             keepalives went unanswered); close this socket and reconnect"
        }
        libc::ETOOMANYREFS => {
            "too many file descriptors are in flight for this user (limit RLIMIT_NOFILE), or a \
             Unix socket passed carries sockets nested too deep; let the receiver read them \
             first or raise the limit"
        }
        libc::EAFNOSUPPORT => match call {
            Send if dest => {
                "the destination's address family differs from the socket's (an IPv6 address \
                 on an IPv4 socket); send from a socket of the destination's family (an IPv6 \
                 socket reaches IPv4 as ::ffff:a.b.c.d unless IPV6_V6ONLY is on)"
            }
            _ => "the socket does not support this address family",
        },
        libc::EADDRNOTAVAIL => match call {
            Send if c.source_address() => {
                "the source address in IP_PKTINFO/IPV6_PKTINFO is not available on this host \
                 or that interface; use a local address, or 0.0.0.0 / :: to let the kernel \
                 choose"
            }
            _ => {
                "the local address is not available: the address the socket is bound to has \
                 been removed, or no local port was free; bind to an address this host has"
            }
        },
        _ => "see the manual page of the call",
    }
}

/// ENOMEM for a message whose control data went through the kernel's heap.
#[cfg(unix)]
fn enomem_for_control(platform: Platform) -> &'static str {
    match platform {
        Platform::Compat32 => {
            "a 32-bit process: a 64-bit kernel widens every control message (12-byte headers \
             become 16, 4-byte alignment 8) and refuses it with ENOMEM once the widened size \
             reaches net.core.optmem_max, below the size the process sees; send less control \
             data per call, or raise net.core.optmem_max (or the kernel is out of memory)"
        }
        Platform::Native => {
            "the kernel could not allocate the message's control data (the socket's option \
             memory, bounded by net.core.optmem_max, or memory itself); send less control \
             data per call, or retry later"
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const ALL: &[i32] = &[
        libc::EACCES,
        libc::EADDRNOTAVAIL,
        libc::EAFNOSUPPORT,
        libc::EAGAIN,
        libc::EWOULDBLOCK,
        libc::EALREADY,
        libc::EBADF,
        libc::ECONNABORTED,
        libc::ECONNREFUSED,
        libc::ECONNRESET,
        libc::EDESTADDRREQ,
        libc::EFAULT,
        libc::EHOSTDOWN,
        libc::EHOSTUNREACH,
        libc::EINTR,
        libc::EINVAL,
        libc::EIO,
        libc::EISCONN,
        libc::EMFILE,
        libc::EMSGSIZE,
        libc::ENETDOWN,
        libc::ENETUNREACH,
        libc::ENOBUFS,
        #[cfg(linux_like)]
        libc::ENODATA,
        libc::ENODEV,
        libc::ENOENT,
        libc::ENOMEM,
        libc::ENOPROTOOPT,
        libc::ENOTCONN,
        libc::ENOTSOCK,
        libc::EOPNOTSUPP,
        libc::EOVERFLOW,
        libc::EPERM,
        libc::EPIPE,
        libc::EPROTOTYPE,
        libc::ESPIPE,
        libc::ESRCH,
        libc::ETIMEDOUT,
        libc::ETOOMANYREFS,
    ];

    const CALLS: &[&str] = &[
        "sendmsg",
        "sendmmsg",
        "recvmsg",
        "recvmmsg",
        "sendfile",
        "poll",
        "setsockopt",
        "getsockopt",
    ];

    fn fds(n: u16) -> Carried {
        Carried::NOTHING.with(0, n, 24)
    }
    fn creds() -> Carried {
        Carried::NOTHING.with(CREDENTIALS, 0, 32)
    }
    fn dest() -> Carried {
        Carried::NOTHING.with(DESTINATION, 0, 0)
    }
    fn with(bits: u8) -> Carried {
        Carried::NOTHING.with(bits, 0, 32)
    }

    #[test]
    fn every_errno_has_a_name_and_advice_for_every_call_and_shape() {
        let shapes = [
            Carried::NOTHING,
            fds(1),
            fds(300),
            creds(),
            dest(),
            with(SOURCE | DESTINATION),
            with(GSO),
            with(IP_OPTIONS),
            Carried::NOTHING.with(CREDENTIALS | DESTINATION, 2, 200_000),
        ];
        for &errno in ALL {
            assert_ne!(errno_name(errno), "errno", "{errno}");
            for call in CALLS {
                for c in shapes {
                    let h = hint(call, errno, c);
                    assert!(
                        !h.is_empty() && h != hint("sendmsg", 0, c),
                        "{call} {errno}"
                    );
                    assert!(!h.ends_with('.') && !h.starts_with(' '), "{h}");
                }
            }
        }
        assert_eq!(errno_name(0), "errno");
        assert_eq!(
            hint("sendmsg", 0, Carried::NOTHING),
            "see the manual page of the call"
        );
    }

    #[test]
    fn eperm_tells_descriptors_from_credentials() {
        let h = hint("sendmsg", libc::EPERM, fds(1));
        assert!(
            h.contains("SO_PASSRIGHTS") && h.contains("security module"),
            "{h}"
        );
        assert!(!h.contains("own pid") && !h.contains("Credentials"), "{h}");
        let h = hint("sendmsg", libc::EPERM, creds());
        assert!(
            h.contains("own pid") && h.contains("Credentials::current()"),
            "{h}"
        );
        assert!(!h.contains("SO_PASSRIGHTS"), "{h}");
        let both = Carried::NOTHING.with(CREDENTIALS, 3, 64);
        let h = hint("sendmmsg", libc::EPERM, both);
        assert!(h.contains("SO_PASSRIGHTS") && h.contains("own pid"), "{h}");
        let h = hint("sendmsg", libc::EPERM, dest());
        assert!(
            h.contains("firewall") && !h.contains("SO_PASSRIGHTS"),
            "{h}"
        );
        assert!(!h.contains("pid"), "{h}");
        let h = hint("recvmsg", libc::EPERM, Carried::NOTHING);
        assert!(h.contains("security module") && !h.contains("pid"), "{h}");
    }

    #[test]
    fn esrch_names_the_pid_only_with_credentials() {
        let h = hint("sendmsg", libc::ESRCH, creds());
        assert!(h.contains("pid that does not exist"), "{h}");
        assert_eq!(hint("sendmsg", libc::ESRCH, fds(1)), "no such process");
    }

    #[test]
    fn einval_by_what_was_carried() {
        let h = hint("sendmsg", libc::EINVAL, fds(300));
        assert!(h.contains("SCM_MAX_FD"), "{h}");
        let h = hint("sendmsg", libc::EINVAL, fds(2));
        assert!(
            h.contains("malformed control message") && !h.contains("253"),
            "{h}"
        );
        let h = hint("sendmsg", libc::EINVAL, creds());
        assert!(h.contains("user namespace"), "{h}");
        let h = hint("sendmmsg", libc::EINVAL, with(GSO));
        assert!(
            h.contains("UDP_MAX_SEGMENTS") && h.contains("SO_NO_CHECK"),
            "{h}"
        );
        let h = hint("sendmsg", libc::EINVAL, with(SOURCE));
        assert!(h.contains("IP_PKTINFO"), "{h}");
        let h = hint("sendmsg", libc::EINVAL, with(IP_OPTIONS));
        assert!(h.contains("IP_TTL") && !h.contains("PKTINFO"), "{h}");
        let h = hint("sendmsg", libc::EINVAL, dest());
        assert!(h.contains("port 0") && !h.contains("control"), "{h}");
        let h = hint("sendmsg", libc::EINVAL, Carried::NOTHING);
        assert!(h.contains("flags") && !h.contains("control"), "{h}");
        let h = hint("recvmsg", libc::EINVAL, Carried::NOTHING);
        assert!(h.contains("MSG_OOB"), "{h}");
        let h = hint("sendfile", libc::EINVAL, Carried::NOTHING);
        assert!(h.contains("regular file"), "{h}");
    }

    #[test]
    fn enomem_names_the_compat_path() {
        let h = enomem_for_control(Platform::Compat32);
        assert!(h.contains("32-bit") && h.contains("widens"), "{h}");
        let h = enomem_for_control(Platform::Native);
        assert!(!h.contains("musl") && !h.contains("32-bit"), "{h}");
        assert!(h.contains("optmem_max"), "{h}");
        // Small control data and no control data: memory itself.
        let h = hint("sendmsg", libc::ENOMEM, fds(1));
        assert_eq!(h, "the kernel is out of memory; retry later");
        let big = Carried::NOTHING.with(0, 253, 1064);
        let h = hint_on(Platform::Compat32, Call::Send, libc::ENOMEM, big);
        assert!(h.contains("32-bit"), "{h}");
        let h = hint_on(Platform::Compat32, Call::Recv, libc::ENOMEM, big);
        assert!(!h.contains("32-bit"), "{h}");
    }

    #[test]
    fn destination_errors_speak_of_the_destination() {
        let h = hint("sendmsg", libc::EAFNOSUPPORT, dest());
        assert!(h.contains("address family") && h.contains("IPv6"), "{h}");
        let h = hint("sendmsg", libc::ENETUNREACH, dest());
        assert!(h.contains("IPV6_V6ONLY") && !h.contains("PKTINFO"), "{h}");
        let h = hint("sendmsg", libc::ENETUNREACH, with(SOURCE | DESTINATION));
        assert!(h.contains("IP_PKTINFO") && h.contains("source"), "{h}");
        let h = hint("sendmsg", libc::EADDRNOTAVAIL, with(SOURCE));
        assert!(h.contains("PKTINFO"), "{h}");
        let h = hint("sendmsg", libc::EADDRNOTAVAIL, Carried::NOTHING);
        assert!(h.contains("bound") && !h.contains("PKTINFO"), "{h}");
        let h = hint("sendmsg", libc::ECONNREFUSED, dest());
        assert!(h.contains("stale"), "{h}");
        let h = hint("sendmsg", libc::ECONNREFUSED, Carried::NOTHING);
        assert!(
            h.contains("nothing listens") && h.contains("earlier datagram"),
            "{h}"
        );
        let h = hint("sendmsg", libc::EOPNOTSUPP, dest());
        assert!(h.contains("connect it first"), "{h}");
        let h = hint("sendmsg", libc::EOPNOTSUPP, Carried::NOTHING);
        assert!(h.contains("drop the flag") && !h.contains("connect"), "{h}");
        let h = hint("sendmsg", libc::EISCONN, dest());
        assert!(h.contains("send without a destination"), "{h}");
        let h = hint("sendmsg", libc::EACCES, dest());
        assert!(
            h.contains("SO_BROADCAST") && h.contains("socket file"),
            "{h}"
        );
        let h = hint("sendmsg", libc::ENOENT, dest());
        assert!(h.contains("no socket file"), "{h}");
        let h = hint("sendmsg", libc::EPROTOTYPE, dest());
        assert!(h.contains("another type"), "{h}");
        let h = hint("sendmsg", libc::ENODEV, with(SOURCE));
        assert!(h.contains("interface index"), "{h}");
    }

    #[test]
    fn gso_errors_speak_of_gso_only_for_gso() {
        for errno in [libc::EIO, libc::EINVAL, libc::EMSGSIZE] {
            let h = hint("sendmmsg", errno, with(GSO));
            assert!(h.contains("UDP_SEGMENT"), "{errno}: {h}");
            let h = hint("sendmmsg", errno, Carried::NOTHING);
            assert!(!h.contains("UDP_SEGMENT"), "{errno}: {h}");
        }
    }

    #[test]
    fn receives_and_sendfile_get_their_own_words() {
        let h = hint("recvmmsg", libc::EAGAIN, Carried::NOTHING);
        assert!(h.contains("POLLIN") && !h.contains("send buffer"), "{h}");
        let h = hint("sendmsg", libc::EAGAIN, Carried::NOTHING);
        assert!(
            h.contains("POLLOUT") && h.contains("wait until it is ready"),
            "{h}"
        );
        let h = hint("sendfile", libc::EBADF, Carried::NOTHING);
        assert!(h.contains("open the file for reading"), "{h}");
        let h = hint("sendmsg", libc::EBADF, fds(1));
        assert!(
            h.contains("SCM_RIGHTS") && h.contains("keep every descriptor open"),
            "{h}"
        );
        let h = hint("sendfile", libc::ESPIPE, Carried::NOTHING);
        assert!(h.contains("sendfile needs a regular file"), "{h}");
        let h = hint("sendfile", libc::EIO, Carried::NOTHING);
        assert!(h.contains("reading the file"), "{h}");
        let h = hint("recvmsg", libc::ENOTCONN, Carried::NOTHING);
        assert!(h.contains("before receiving"), "{h}");
        let h = hint("recvmsg", libc::ECONNREFUSED, Carried::NOTHING);
        assert!(h.contains("earlier datagram"), "{h}");
    }

    #[test]
    fn socket_option_errors_speak_of_options() {
        let h = hint("setsockopt", libc::ENOPROTOOPT, Carried::NOTHING);
        assert!(h.contains("SO_PASSPIDFD") && h.contains("Linux 6.5"), "{h}");
        #[cfg(linux_like)]
        {
            let h = hint("getsockopt", libc::ENODATA, Carried::NOTHING);
            assert!(h.contains("no peer process"), "{h}");
        }
        let h = hint("setsockopt", libc::EOPNOTSUPP, Carried::NOTHING);
        assert!(
            h.contains("IPv4 or IPv6 socket") && !h.contains("flag"),
            "{h}"
        );
        // On a send, ENOPROTOOPT is an ICMP error of an earlier datagram, not an option.
        let h = hint("sendmmsg", libc::ENOPROTOOPT, Carried::NOTHING);
        assert!(
            h.contains("protocol-unreachable") && !h.contains("option"),
            "{h}"
        );
        let h = hint("getsockopt", libc::EMFILE, Carried::NOTHING);
        assert!(h.contains("RLIMIT_NOFILE"), "{h}");
    }

    #[test]
    #[cfg(all(has_ucred, has_gso))]
    fn message_walk_finds_what_was_carried() {
        use crate::cmsg::{CmsgBuffer, Credentials};
        use std::os::fd::AsFd;
        let file = std::fs::File::open("/dev/null").unwrap();
        let mut st = CmsgBuffer::<256>::new();
        let mut enc = st.encoder();
        enc.push_rights(&[file.as_fd(), file.as_fd()]).unwrap();
        enc.push_credentials(Credentials::current()).unwrap();
        enc.push_raw(libc::IPPROTO_IP, libc::IP_TOS, &[0; 4])
            .unwrap();
        let c = Carried::message(enc.as_bytes(), true);
        assert_eq!(c.fds(), 2);
        assert!(c.credentials() && c.destination() && c.ip_options());
        assert!(!c.gso() && !c.source_address());
        assert_eq!(c.control_len(), enc.as_bytes().len());
        let s = c.to_string();
        assert!(
            s.starts_with("2 fds, credentials, IP options, a destination"),
            "{s}"
        );
        assert!(
            s.ends_with(&format!("{} bytes of control data", c.control_len())),
            "{s}"
        );

        let mut st = CmsgBuffer::<64>::new();
        let mut enc = st.encoder();
        enc.push_udp_segment(1200).unwrap();
        enc.push_raw(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &[0; 20])
            .unwrap();
        let c = Carried::message(enc.as_bytes(), false);
        assert!(c.gso() && c.source_address() && !c.ip_options() && c.fds() == 0);
        let mut st = CmsgBuffer::<64>::new();
        let mut enc = st.encoder();
        enc.push_udp_segment(0).unwrap();
        assert!(!Carried::message(enc.as_bytes(), false).gso());
        assert!(Carried::message(&[], false).is_empty());
        assert_eq!(Carried::NOTHING.to_string(), "nothing");
        assert_eq!(Carried::default(), Carried::NOTHING);
    }
}
