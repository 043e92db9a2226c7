//! `sendmsg(2)` and `recvmsg(2)` with the control messages they carry, correct to the byte, with
//! no descriptor leaked and no heap allocation on the send or receive path.
//!
//! - **fd passing**: `SCM_RIGHTS` out of [`BorrowedFd`](std::os::fd::BorrowedFd)s, back in as
//!   [`OwnedFd`](std::os::fd::OwnedFd)s that close themselves unless taken, close-on-exec by
//!   default, even when the kernel truncates (`MSG_CTRUNC`).
//! - **credentials**: `SCM_CREDENTIALS` (`cmsg::Credentials`, Linux), `SCM_CREDS` (FreeBSD,
//!   NetBSD).
//! - **batched datagrams**: [`Batch`] sends many datagrams, each with its own destination and
//!   control messages (`IP_PKTINFO`, `IP_TOS`, ...), with `sendmmsg` and UDP GSO
//!   (`UDP_SEGMENT`); [`RecvBatch`] receives with `recvmmsg` and splits GRO trains
//!   ([`batch`]).
//! - **limits checked first**: more than 253 fds, a control buffer at `net.core.optmem_max`,
//!   more than 1024 iovecs or control data without payload on a stream socket fail with an
//!   [`Error::Limit`] (or [`Error::ControlWithoutData`]) that names the limit, before the
//!   syscall.
//! - **stream sockets**: [`SendAll`] writes every byte, resuming after partial writes, with the
//!   control data on the first byte written and never again; `SendFile` sends a header and
//!   then a file range with `sendfile(2)`.
//!
//! The pure layers, [`cmsg`] (encoding, decoding, `CMSG_*` arithmetic) and [`IoVecs`], make no
//! system call; [`SendMsg`], [`RecvMsg`], [`Batch`] and [`RecvBatch`] do.
//!
//! ```
//! use std::io::{IoSlice, IoSliceMut, Read, Seek, Write};
//! use std::os::fd::AsFd;
//! use std::os::unix::net::UnixStream;
//! use ancillary::{cmsg::{space_for_fds, CmsgBuffer}, RecvMsg, SendMsg};
//!
//! let (a, b) = UnixStream::pair()?;
//! // An unnamed file: created, then its name removed.
//! let path = std::env::temp_dir().join(format!("ancillary-demo-{}", std::process::id()));
//! let mut file = std::fs::File::options().read(true).write(true).create_new(true).open(&path)?;
//! std::fs::remove_file(&path)?;
//! file.write_all(b"through the socket")?;
//!
//! let mut space = CmsgBuffer::<{ space_for_fds(1) }>::new();
//! let mut control = space.encoder();
//! control.push_rights(&[file.as_fd()])?;
//! SendMsg::new(&[IoSlice::new(b"!")]).control(&control).send(&a)?;
//!
//! let (mut byte, mut room) = ([0u8; 1], CmsgBuffer::<{ space_for_fds(1) }>::new());
//! let mut iov = [IoSliceMut::new(&mut byte)];
//! let mut recv = RecvMsg::new(&mut iov).control(&mut room);
//! let mut msg = recv.recv(&b)?;
//! msg.check()?;
//! let mut got = std::fs::File::from(msg.fds().next().expect("one fd"));
//! let mut text = String::new();
//! got.rewind()?;
//! got.read_to_string(&mut text)?;
//! assert_eq!(text, "through the socket");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Linux is the reference platform.

#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate documentation above names the Unix API, which other systems do not have (yet).
#![cfg_attr(not(unix), allow(rustdoc::broken_intra_doc_links))]

#[cfg(unix)]
mod addr;
#[cfg(unix)]
pub mod batch;
#[cfg(any(unix, windows))]
pub mod cmsg;
#[cfg(any(unix, windows))]
mod error;
#[cfg(unix)]
mod fds;
#[cfg(unix)]
mod flags;
#[cfg(unix)]
pub mod iovec;
#[cfg(unix)]
pub mod limits;
#[cfg(unix)]
mod probe;
#[cfg(has_recv_pktinfo)]
mod received_info;
#[cfg(any(unix, windows))]
mod recv;
#[cfg(any(unix, windows))]
mod send;
#[cfg(unix)]
pub mod sockopt;
#[cfg(unix)]
mod stream;
#[cfg(any(unix, windows))]
mod sys;
#[cfg(unix)]
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(any(windows, test))]
#[cfg_attr(not(windows), allow(dead_code))]
pub mod windows;

#[cfg(unix)]
pub use addr::Destination;
#[cfg(unix)]
pub use batch::{Batch, BatchError, RecvBatch};
#[cfg(any(unix, windows))]
pub use error::{Carried, Error, Limit, Result};
#[cfg(unix)]
pub use fds::{RecvWithFd, SendWithFd};
#[cfg(unix)]
pub use flags::{RecvFlags, SendFlags};
#[cfg(unix)]
pub use iovec::{IoVecs, IoVecsMut};
#[cfg(unix)]
pub use limits::Limits;
#[cfg(has_recv_pktinfo)]
pub use received_info::PacketInfo;
#[cfg(unix)]
pub use recv::Fds;
#[cfg(any(unix, windows))]
pub use recv::{Received, RecvMsg};
#[cfg(any(unix, windows))]
pub use send::SendMsg;
#[cfg(has_sendfile)]
pub use stream::SendFile;
#[cfg(unix)]
pub use stream::{wait_readable, wait_writable, Progress, RecvExact, SendAll};
/// On Windows the crate's batches are the Windows ones: a loop of `WSASendMsg` with UDP send
/// offload (USO), and a loop of `WSARecvMsg` splitting receive offload (URO); their docs say
/// what differs from the Unix `Batch` and `RecvBatch`.
#[cfg(windows)]
pub use windows::{Batch, BatchError, RecvBatch};

#[cfg(all(doctest, unix))]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

#[cfg(all(test, unix))]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<crate::Error>();
        send_sync::<crate::SendMsg<'_>>();
        send_sync::<crate::RecvMsg<'_, '_>>();
        send_sync::<crate::Received<'_>>();
        send_sync::<crate::Fds<'_>>();
        send_sync::<crate::cmsg::Encoder<'_, '_>>();
        send_sync::<crate::cmsg::ControlMessages<'_>>();
        send_sync::<crate::cmsg::Rights<'_>>();
        send_sync::<crate::cmsg::CmsgBuffer<64>>();
        send_sync::<crate::IoVecs<'_>>();
        send_sync::<crate::IoVecsMut<'_>>();
        send_sync::<crate::SendAll<'_, '_>>();
        send_sync::<crate::RecvExact<'_>>();
        #[cfg(has_sendfile)]
        send_sync::<crate::SendFile<'_, '_>>();
        send_sync::<crate::Batch<'_>>();
        send_sync::<crate::BatchError>();
        send_sync::<crate::RecvBatch>();
        send_sync::<crate::batch::RecvDatagram<'_>>();
        send_sync::<crate::batch::RecvIter<'_>>();
    }
}
