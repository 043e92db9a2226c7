//! Where a datagram goes: [`Destination`].

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

/// Where a datagram of a [`Batch`](crate::Batch) goes: an IP socket address, or the
/// socket's connected peer (no `msg_name`).
///
/// Every push of a batch takes `impl Into<Destination>`, so each takes the same forms: a
/// [`SocketAddr`] (or [`SocketAddrV4`], [`SocketAddrV6`]), `Some(addr)`, `None` or
/// [`Destination::Connected`] for the connected peer.
///
/// ```
/// use std::net::{SocketAddr, UdpSocket};
/// use ancillary::{batch::Batch, Destination};
///
/// let rx = UdpSocket::bind("127.0.0.1:0")?;
/// let tx = UdpSocket::bind("127.0.0.1:0")?;
/// tx.connect(rx.local_addr()?)?;
/// let mut batch = Batch::new();
/// batch.push(rx.local_addr()?, b"to an address")?;
/// batch.push(Destination::Connected, b"to the connected peer")?;
/// batch.push(None, b"the same")?;
/// let to: SocketAddr = "127.0.0.1:9".parse()?; // a parsed address needs its type named
/// batch.push_segments(Some(to), &[0u8; 100], 50, |_| Ok(()))?;
/// # batch.clear();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "msg_name")]
pub enum Destination {
    /// The socket's connected peer: no `msg_name`. An unconnected socket fails with
    /// `EDESTADDRREQ`.
    Connected,
    /// An IP socket address.
    Ip(SocketAddr),
}

impl Destination {
    /// The IP address, or `None` for the connected peer.
    #[inline]
    pub const fn socket_addr(self) -> Option<SocketAddr> {
        match self {
            Destination::Connected => None,
            Destination::Ip(a) => Some(a),
        }
    }
}

impl From<SocketAddr> for Destination {
    #[inline]
    fn from(a: SocketAddr) -> Self {
        Destination::Ip(a)
    }
}

impl From<SocketAddrV4> for Destination {
    #[inline]
    fn from(a: SocketAddrV4) -> Self {
        Destination::Ip(a.into())
    }
}

impl From<SocketAddrV6> for Destination {
    #[inline]
    fn from(a: SocketAddrV6) -> Self {
        Destination::Ip(a.into())
    }
}

impl From<Option<SocketAddr>> for Destination {
    /// `None` is the connected peer.
    #[inline]
    fn from(a: Option<SocketAddr>) -> Self {
        a.map_or(Destination::Connected, Destination::Ip)
    }
}
