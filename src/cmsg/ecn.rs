//! The ECN field of the IP header (RFC 3168): the low two bits of the IPv4 type-of-service
//! byte and of the IPv6 traffic class. Pure.

/// An ECN codepoint (RFC 3168, section 5): the low two bits of an `IP_TOS` or `IPV6_TCLASS`
/// byte; the six bits above them are the DSCP.
///
/// Receive it with `Received::ecn` (with `sockopt::set_recv_tos` on; Linux); send it in the TOS or traffic
/// class byte of a datagram, which carries the ECN bits as they are:
/// [`Encoder::push_ip_tos`](crate::cmsg::Encoder::push_ip_tos) for IPv4,
/// [`Encoder::push_ipv6_tclass`](crate::cmsg::Encoder::push_ipv6_tclass) for IPv6 (no
/// separate message exists for ECN).
///
/// ```
/// use ancillary::cmsg::{CmsgBuffer, Ecn, INT_SPACE};
///
/// let tos = Ecn::Ect0.to_tos(46); // DSCP EF (46) with ECT(0)
/// assert_eq!(tos, 0xba);
/// assert_eq!(Ecn::from_tos(tos), Ecn::Ect0);
/// assert_eq!(Ecn::Ce.with_tos(0xb8), 0xbb); // mark CE, keep the DSCP
///
/// let mut room = CmsgBuffer::<INT_SPACE>::new();
/// let mut control = room.encoder();
/// control.push_ip_tos(Ecn::Ect1.into())?; // IPv4; push_ipv6_tclass for IPv6
/// # Ok::<(), ancillary::Error>(())
/// ```
#[doc(alias = "ECN")]
#[doc(alias = "ECT")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Ecn {
    /// `00`: the sender does not do ECN (Not-ECT).
    NotEct = 0b00,
    /// `01`: ECN-capable transport, ECT(1) (L4S uses it).
    Ect1 = 0b01,
    /// `10`: ECN-capable transport, ECT(0).
    Ect0 = 0b10,
    /// `11`: congestion experienced (CE), set by a router instead of dropping.
    Ce = 0b11,
}

impl Ecn {
    /// The ECN codepoint of a TOS or traffic class byte: its low two bits.
    #[inline]
    pub const fn from_tos(tos: u8) -> Ecn {
        match tos & 0b11 {
            0b00 => Ecn::NotEct,
            0b01 => Ecn::Ect1,
            0b10 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }

    /// The two ECN bits, `0..=3`.
    #[inline]
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// A TOS or traffic class byte of this codepoint and the DSCP `dscp` (its low six bits:
    /// `0..=63`; higher bits are dropped).
    #[inline]
    pub const fn to_tos(self, dscp: u8) -> u8 {
        (dscp << 2) | self.bits()
    }

    /// `tos` with its ECN bits replaced by this codepoint (its DSCP kept).
    #[inline]
    pub const fn with_tos(self, tos: u8) -> u8 {
        (tos & !0b11) | self.bits()
    }

    /// Whether the codepoint says the transport does ECN: ECT(0), ECT(1) or CE.
    #[inline]
    pub const fn is_ecn_capable(self) -> bool {
        !matches!(self, Ecn::NotEct)
    }
}

impl From<Ecn> for u8 {
    /// The TOS byte with this codepoint and DSCP 0.
    #[inline]
    fn from(e: Ecn) -> u8 {
        e.bits()
    }
}

#[cfg(test)]
mod tests {
    use super::Ecn;

    #[test]
    fn every_byte_round_trips() {
        for tos in 0..=u8::MAX {
            let e = Ecn::from_tos(tos);
            assert_eq!(e.bits(), tos & 3);
            assert_eq!(e.with_tos(tos), tos);
            assert_eq!(e.to_tos(tos >> 2), tos);
            assert_eq!(Ecn::from_tos(e.into()), e);
        }
        assert!(!Ecn::NotEct.is_ecn_capable() && Ecn::Ce.is_ecn_capable());
    }
}
