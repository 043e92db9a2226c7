//! Windows Sockets: `WSASendMsg` and `WSARecvMsg` with their control messages, UDP send and
//! receive offload (USO, URO), and handing a socket to another process.
//!
//! - [`send_msg`] and [`recv_msg`] are thin forms of `WSASendMsg` and `WSARecvMsg` over
//!   borrowed buffers; their control data is built and walked by the crate's
//!   [`cmsg`](crate::cmsg) module, which on Windows works on the `WSACMSGHDR` layout, and
//!   typed by [`cmsg`] here (`IP_PKTINFO`, `IP_ECN`, `UDP_SEND_MSG_SIZE`,
//!   `UDP_COALESCED_INFO`, ...).
//! - The crate's own builders, [`SendMsg`](crate::SendMsg) and [`RecvMsg`](crate::RecvMsg),
//!   work on Windows too over the same calls, taking any `AsSocket`, their control data from
//!   the crate's [`Encoder`](crate::cmsg::Encoder), their flags [`SendFlags`] and
//!   [`RecvFlags`].
//! - [`Batch`] sends queued datagrams as a loop of `WSASendMsg`, runs of equal-size datagrams
//!   to one destination joined with UDP send offload (USO) where the socket takes it;
//!   [`RecvBatch`] receives with a loop of `WSARecvMsg` and splits what receive offload (URO)
//!   joined.
//! - [`duplicate_socket`] and [`ProtocolInfo::into_socket`] are the Windows counterpart of
//!   passing a socket with `SCM_RIGHTS`: `WSADuplicateSocketW` makes a `WSAPROTOCOL_INFOW`
//!   for the target process, whose bytes travel over any channel (a pipe, standard input, a
//!   socket), and `WSASocketW(FROM_PROTOCOL_INFO)` turns them into the same socket there.
//!
//! Windows has no descriptor passing: there is no `SCM_RIGHTS`, no credentials and no pidfd
//! message here, and naming them does not compile. `WSASendMsg` and `WSARecvMsg` take datagram
//! and raw sockets.
//!
//! # References
//! [`WSASendMsg`](https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasendmsg),
//! [`WSARecvMsg`](https://learn.microsoft.com/en-us/windows/win32/api/mswsock/nc-mswsock-lpfn_wsarecvmsg),
//! [`WSADuplicateSocketW`](https://learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsaduplicatesocketw),
//! [UDP offload options](https://learn.microsoft.com/en-us/windows/win32/winsock/ipproto-udp-socket-options).

mod batch;
pub mod cmsg;
pub(crate) mod error;
#[cfg(windows)]
mod handover;
#[cfg(windows)]
mod msg;

/// The crate's [`Error`] and [`Result`], which the Windows calls
/// return: [`Error::Os`] carries the Windows Sockets code and what to do
/// about it.
#[doc(no_inline)]
pub use crate::{Error, Result};
pub use batch::{
    split_coalesced, Batch, BatchError, BatchStats, Limits, RecvBatch, RecvDatagram,
    RECV_CONTROL_SPACE,
};
#[cfg(windows)]
pub use handover::{duplicate_socket, ProtocolInfo};
#[cfg(windows)]
pub(crate) use msg::check_counts;
#[cfg(windows)]
pub use msg::{
    recv_msg, send_msg, set_recv_coalescing, set_recv_option, supports_send_offload, Received,
    RecvFlags, RecvOption, SendFlags,
};
