//! The BSD credentials messages, which the kernel writes for the receiver: FreeBSD's
//! `SCM_CREDS` (`struct cmsgcred`, or `struct sockcred` with `LOCAL_CREDS`) and `SCM_CREDS2`
//! (`struct sockcred2`, with `LOCAL_CREDS_PERSISTENT`), NetBSD's `SCM_CREDS` (`struct sockcred`,
//! with `LOCAL_CREDS`). None of them is Linux's `SCM_CREDENTIALS` (`struct ucred`), which a
//! sender fills itself.
//!
//! Decoding is over plain bytes with the offsets of each system's headers written out (every
//! field is a 4-byte integer in native order, `cmcred_ngroups` a `short`), so that the layouts
//! of every system are tested on any machine; the offsets are checked against the `libc` crate's
//! structs at compile time on the system itself.

// Compiled elsewhere only for the tests, where nothing is exported (NetBSD exports no `ScmCreds`).
#![cfg_attr(not(freebsd), allow(unreachable_pub))]

use std::iter::FusedIterator;

/// The supplementary groups of a credentials message, read from the message's bytes as
/// `gid_t`s (no copy, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Groups<'a> {
    bytes: &'a [u8],
}

impl Groups<'_> {
    /// An empty list.
    pub const EMPTY: Groups<'static> = Groups { bytes: &[] };
}

impl Iterator for Groups<'_> {
    type Item = libc::gid_t;

    fn next(&mut self) -> Option<libc::gid_t> {
        let (w, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(libc::gid_t::from_ne_bytes(*w))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Groups<'_> {}
impl FusedIterator for Groups<'_> {}

/// The credentials of the sending process as the kernel wrote them into a message: FreeBSD's
/// `struct cmsgcred`, `struct sockcred` and `struct sockcred2`, NetBSD's `struct sockcred`.
///
/// The sender cannot forge them: on FreeBSD it attaches an `SCM_CREDS` message that the kernel
/// fills (`Encoder::push_creds`), or the receiver asks for
/// them with [`sockopt::set_local_creds`](crate::sockopt::set_local_creds).
#[doc(alias = "cmsgcred")]
#[doc(alias = "sockcred")]
#[doc(alias = "sockcred2")]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_os = "netbsd"))))]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SenderCredentials<'a> {
    /// The sender's process id; `None` in FreeBSD's `struct sockcred`, which has none.
    pub pid: Option<libc::pid_t>,
    /// Real user id.
    pub uid: libc::uid_t,
    /// Effective user id.
    pub euid: libc::uid_t,
    /// Real group id.
    pub gid: libc::gid_t,
    /// Effective group id; `None` in `struct cmsgcred`, which has none (its group list
    /// begins with the effective group id on FreeBSD before 15).
    pub egid: Option<libc::gid_t>,
    /// The supplementary groups, as many as the message holds (`struct cmsgcred`: at most
    /// `CMGROUP_MAX`, 16).
    pub groups: Groups<'a>,
}

/// Reads the native-order 4-byte integer at `off`.
fn word(d: &[u8], off: usize) -> Option<[u8; 4]> {
    d.get(off..off + 4)?.try_into().ok()
}

/// The groups of a message: `count` (negative: none) `gid_t`s from `off`, clamped to the data.
fn groups(d: &[u8], off: usize, count: i64) -> Groups<'_> {
    let rest = d.get(off..).unwrap_or(&[]);
    let n = usize::try_from(count).unwrap_or(0).min(rest.len() / 4);
    Groups {
        bytes: &rest[..n * 4],
    }
}

#[cfg(any(test, freebsd))]
/// FreeBSD `struct cmsgcred` (`sys/socket.h`): `pid_t cmcred_pid` @0, `uid_t cmcred_uid` @4,
/// `uid_t cmcred_euid` @8, `gid_t cmcred_gid` @12, `short cmcred_ngroups` @16, `gid_t
/// cmcred_groups[CMGROUP_MAX]` @20; 84 bytes.
pub(crate) mod cmsgcred {
    /// `sizeof(struct cmsgcred)`.
    pub(crate) const LEN: usize = 84;
    pub(crate) const NGROUPS: usize = 16;
    pub(crate) const PID: usize = 0;
    pub(crate) const UID: usize = 4;
    pub(crate) const EUID: usize = 8;
    pub(crate) const GID: usize = 12;
    pub(crate) const NGROUPS_AT: usize = 16;
    pub(crate) const GROUPS: usize = 20;
}

#[cfg(any(test, freebsd))]
/// FreeBSD `struct sockcred`: `sc_uid` @0, `sc_euid` @4, `sc_gid` @8, `sc_egid` @12, `int
/// sc_ngroups` @16, `sc_groups[]` @20 (`SOCKCREDSIZE(n)` = 20 + 4n bytes).
pub(crate) mod freebsd_sockcred {
    pub(crate) const UID: usize = 0;
    pub(crate) const EUID: usize = 4;
    pub(crate) const GID: usize = 8;
    pub(crate) const EGID: usize = 12;
    pub(crate) const NGROUPS: usize = 16;
    pub(crate) const GROUPS: usize = 20;
}

#[cfg(any(test, freebsd))]
/// FreeBSD `struct sockcred2`: `int sc_version` @0 (`SOCKCRED2_VERSION`, 0), `sc_pid` @4,
/// `sc_uid` @8, `sc_euid` @12, `sc_gid` @16, `sc_egid` @20, `int sc_ngroups` @24,
/// `sc_groups[]` @28.
pub(crate) mod sockcred2 {
    pub(crate) const VERSION: usize = 0;
    pub(crate) const PID: usize = 4;
    pub(crate) const UID: usize = 8;
    pub(crate) const EUID: usize = 12;
    pub(crate) const GID: usize = 16;
    pub(crate) const EGID: usize = 20;
    pub(crate) const NGROUPS: usize = 24;
    pub(crate) const GROUPS: usize = 28;
    /// `SOCKCRED2_VERSION`: the only version there is.
    pub(crate) const CURRENT: i32 = 0;
}

#[cfg(any(test, netbsd))]
/// NetBSD `struct sockcred` (`sys/socket.h`): `sc_pid` @0, `sc_uid` @4, `sc_euid` @8,
/// `sc_gid` @12, `sc_egid` @16, `int sc_ngroups` @20, `sc_groups[]` @24 (28 bytes with one
/// group).
pub(crate) mod netbsd_sockcred {
    pub(crate) const PID: usize = 0;
    pub(crate) const UID: usize = 4;
    pub(crate) const EUID: usize = 8;
    pub(crate) const GID: usize = 12;
    pub(crate) const EGID: usize = 16;
    pub(crate) const NGROUPS: usize = 20;
    pub(crate) const GROUPS: usize = 24;
}

impl<'a> SenderCredentials<'a> {
    #[cfg(any(test, freebsd))]
    /// FreeBSD `struct cmsgcred`; `None` if `d` is shorter than its fixed part.
    pub(crate) fn from_cmsgcred(d: &'a [u8]) -> Option<Self> {
        use cmsgcred as c;
        let n: [u8; 2] = d.get(c::NGROUPS_AT..c::NGROUPS_AT + 2)?.try_into().ok()?;
        let n = i64::from(i16::from_ne_bytes(n)).min(c::NGROUPS as i64);
        Some(SenderCredentials {
            pid: Some(libc::pid_t::from_ne_bytes(word(d, c::PID)?)),
            uid: libc::uid_t::from_ne_bytes(word(d, c::UID)?),
            euid: libc::uid_t::from_ne_bytes(word(d, c::EUID)?),
            gid: libc::gid_t::from_ne_bytes(word(d, c::GID)?),
            egid: None,
            groups: groups(d, c::GROUPS, n),
        })
    }

    #[cfg(any(test, freebsd))]
    /// FreeBSD `struct sockcred`; `None` if `d` is shorter than its fixed part.
    pub(crate) fn from_freebsd_sockcred(d: &'a [u8]) -> Option<Self> {
        use freebsd_sockcred as s;
        let n = i32::from_ne_bytes(word(d, s::NGROUPS)?);
        Some(SenderCredentials {
            pid: None,
            uid: libc::uid_t::from_ne_bytes(word(d, s::UID)?),
            euid: libc::uid_t::from_ne_bytes(word(d, s::EUID)?),
            gid: libc::gid_t::from_ne_bytes(word(d, s::GID)?),
            egid: Some(libc::gid_t::from_ne_bytes(word(d, s::EGID)?)),
            groups: groups(d, s::GROUPS, i64::from(n)),
        })
    }

    #[cfg(any(test, freebsd))]
    /// FreeBSD `struct sockcred2`; `None` if `d` is shorter than its fixed part or of another
    /// version.
    pub(crate) fn from_sockcred2(d: &'a [u8]) -> Option<Self> {
        use sockcred2 as s;
        if i32::from_ne_bytes(word(d, s::VERSION)?) != s::CURRENT {
            return None;
        }
        let n = i32::from_ne_bytes(word(d, s::NGROUPS)?);
        Some(SenderCredentials {
            pid: Some(libc::pid_t::from_ne_bytes(word(d, s::PID)?)),
            uid: libc::uid_t::from_ne_bytes(word(d, s::UID)?),
            euid: libc::uid_t::from_ne_bytes(word(d, s::EUID)?),
            gid: libc::gid_t::from_ne_bytes(word(d, s::GID)?),
            egid: Some(libc::gid_t::from_ne_bytes(word(d, s::EGID)?)),
            groups: groups(d, s::GROUPS, i64::from(n)),
        })
    }

    #[cfg(any(test, netbsd))]
    /// NetBSD `struct sockcred`; `None` if `d` is shorter than its fixed part.
    pub(crate) fn from_netbsd_sockcred(d: &'a [u8]) -> Option<Self> {
        use netbsd_sockcred as s;
        let n = i32::from_ne_bytes(word(d, s::NGROUPS)?);
        Some(SenderCredentials {
            pid: Some(libc::pid_t::from_ne_bytes(word(d, s::PID)?)),
            uid: libc::uid_t::from_ne_bytes(word(d, s::UID)?),
            euid: libc::uid_t::from_ne_bytes(word(d, s::EUID)?),
            gid: libc::gid_t::from_ne_bytes(word(d, s::GID)?),
            egid: Some(libc::gid_t::from_ne_bytes(word(d, s::EGID)?)),
            groups: groups(d, s::GROUPS, i64::from(n)),
        })
    }
}

#[cfg(any(test, freebsd))]
/// FreeBSD's `SCM_CREDS` as received: its bytes are a `struct cmsgcred` (the sender attached
/// the message, [`Encoder::push_creds`](crate::cmsg::Encoder::push_creds), and the kernel
/// filled it) or, when the receiving socket has
/// [`LOCAL_CREDS`](crate::sockopt::set_local_creds) on, a `struct sockcred`, which the kernel
/// attaches to the first message after the option is set. The bytes alone do not say which
/// (a `sockcred` with 16 groups is as long as a `cmsgcred`): the receiver, which knows whether
/// it set `LOCAL_CREDS`, picks with [`cmsgcred`](Self::cmsgcred) or
/// [`sockcred`](Self::sockcred). [`LOCAL_CREDS_PERSISTENT`] gives the unambiguous `SCM_CREDS2`
/// instead.
///
/// [`LOCAL_CREDS_PERSISTENT`]: crate::sockopt::set_local_creds_persistent
#[doc(alias = "SCM_CREDS")]
#[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScmCreds<'a> {
    data: &'a [u8],
}

#[cfg(any(test, freebsd))]
impl<'a> ScmCreds<'a> {
    /// The message's data bytes.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        ScmCreds { data }
    }

    /// The data as `struct cmsgcred` (the receiver did not set `LOCAL_CREDS`); `None` if the
    /// message is shorter than one.
    pub fn cmsgcred(&self) -> Option<SenderCredentials<'a>> {
        if self.data.len() < cmsgcred::LEN {
            return None;
        }
        SenderCredentials::from_cmsgcred(self.data)
    }

    /// The data as `struct sockcred` (the receiver set `LOCAL_CREDS`); `None` if the message is
    /// shorter than its fixed part.
    pub fn sockcred(&self) -> Option<SenderCredentials<'a>> {
        SenderCredentials::from_freebsd_sockcred(self.data)
    }

    /// The raw data bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

/// The typed form of a credentials message of this system (by libc's constants: `SCM_CREDS`
/// is 0x03 on FreeBSD, 0x10 on NetBSD, and 0x03 is another message elsewhere).
#[cfg(has_scm_creds)]
pub(crate) fn decode(
    level: libc::c_int,
    ty: libc::c_int,
    d: &[u8],
) -> Option<super::ControlMessage<'_>> {
    use super::ControlMessage;
    match (level, ty) {
        #[cfg(freebsd)]
        (libc::SOL_SOCKET, libc::SCM_CREDS) => Some(ControlMessage::ScmCreds(ScmCreds::new(d))),
        #[cfg(freebsd)]
        (libc::SOL_SOCKET, libc::SCM_CREDS2) => {
            SenderCredentials::from_sockcred2(d).map(ControlMessage::SenderCredentials)
        }
        #[cfg(netbsd)]
        (libc::SOL_SOCKET, libc::SCM_CREDS) => {
            SenderCredentials::from_netbsd_sockcred(d).map(ControlMessage::SenderCredentials)
        }
        _ => None,
    }
}

/// FreeBSD: the offsets above are those of the `libc` crate's structs.
#[cfg(freebsd)]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<libc::cmsgcred>() == cmsgcred::LEN);
    assert!(libc::CMGROUP_MAX == cmsgcred::NGROUPS);
    assert!(offset_of!(libc::cmsgcred, cmcred_pid) == cmsgcred::PID);
    assert!(offset_of!(libc::cmsgcred, cmcred_uid) == cmsgcred::UID);
    assert!(offset_of!(libc::cmsgcred, cmcred_euid) == cmsgcred::EUID);
    assert!(offset_of!(libc::cmsgcred, cmcred_gid) == cmsgcred::GID);
    assert!(offset_of!(libc::cmsgcred, cmcred_ngroups) == cmsgcred::NGROUPS_AT);
    assert!(offset_of!(libc::cmsgcred, cmcred_groups) == cmsgcred::GROUPS);
    assert!(size_of::<libc::sockcred>() == 24);
    assert!(offset_of!(libc::sockcred, sc_uid) == freebsd_sockcred::UID);
    assert!(offset_of!(libc::sockcred, sc_euid) == freebsd_sockcred::EUID);
    assert!(offset_of!(libc::sockcred, sc_gid) == freebsd_sockcred::GID);
    assert!(offset_of!(libc::sockcred, sc_egid) == freebsd_sockcred::EGID);
    assert!(offset_of!(libc::sockcred, sc_ngroups) == freebsd_sockcred::NGROUPS);
    assert!(offset_of!(libc::sockcred, sc_groups) == freebsd_sockcred::GROUPS);
    assert!(size_of::<libc::sockcred2>() == 32);
    assert!(offset_of!(libc::sockcred2, sc_version) == sockcred2::VERSION);
    assert!(offset_of!(libc::sockcred2, sc_pid) == sockcred2::PID);
    assert!(offset_of!(libc::sockcred2, sc_uid) == sockcred2::UID);
    assert!(offset_of!(libc::sockcred2, sc_euid) == sockcred2::EUID);
    assert!(offset_of!(libc::sockcred2, sc_gid) == sockcred2::GID);
    assert!(offset_of!(libc::sockcred2, sc_egid) == sockcred2::EGID);
    assert!(offset_of!(libc::sockcred2, sc_ngroups) == sockcred2::NGROUPS);
    assert!(offset_of!(libc::sockcred2, sc_groups) == sockcred2::GROUPS);
    assert!(libc::SCM_CREDS == 0x03 && libc::SCM_CREDS2 == 0x08);
};

/// NetBSD: the offsets above are those of the `libc` crate's struct.
#[cfg(netbsd)]
const _: () = {
    use netbsd_sockcred as s;
    use std::mem::{offset_of, size_of};
    assert!(size_of::<libc::sockcred>() == 28);
    assert!(offset_of!(libc::sockcred, sc_pid) == s::PID);
    assert!(offset_of!(libc::sockcred, sc_uid) == s::UID);
    assert!(offset_of!(libc::sockcred, sc_euid) == s::EUID);
    assert!(offset_of!(libc::sockcred, sc_gid) == s::GID);
    assert!(offset_of!(libc::sockcred, sc_egid) == s::EGID);
    assert!(offset_of!(libc::sockcred, sc_ngroups) == s::NGROUPS);
    assert!(offset_of!(libc::sockcred, sc_groups) == s::GROUPS);
    assert!(libc::SCM_CREDS == 0x10);
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Native-order bytes of 4-byte words.
    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn freebsd_cmsgcred_bytes() {
        // pid 4242, uid 1001, euid 0, gid 20, ngroups 3 (short, then 2 bytes of padding),
        // groups 20, 0, 5, then 13 unused slots: 84 bytes, as the kernel fills it.
        let mut d = words(&[4242, 1001, 0, 20]);
        d.extend_from_slice(&3i16.to_ne_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend(words(&[20, 0, 5]));
        d.resize(84, 0xee);
        let c = ScmCreds::new(&d).cmsgcred().unwrap();
        assert_eq!(
            (c.pid, c.uid, c.euid, c.gid, c.egid),
            (Some(4242), 1001, 0, 20, None)
        );
        assert_eq!(c.groups.collect::<Vec<_>>(), [20, 0, 5]);
        assert_eq!(c.groups.len(), 3);
        // A count above CMGROUP_MAX is cut to it; a negative one is none.
        d[16..18].copy_from_slice(&100i16.to_ne_bytes());
        assert_eq!(ScmCreds::new(&d).cmsgcred().unwrap().groups.len(), 16);
        d[16..18].copy_from_slice(&(-1i16).to_ne_bytes());
        assert_eq!(ScmCreds::new(&d).cmsgcred().unwrap().groups.len(), 0);
        // Shorter than a cmsgcred: not one.
        assert_eq!(ScmCreds::new(&d[..83]).cmsgcred(), None);
        assert_eq!(ScmCreds::new(&d).as_bytes().len(), 84);
        // The message a FreeBSD amd64 sender attaches: CMSG_LEN(84) = 100, CMSG_SPACE(84) = 104.
        assert_eq!(crate::cmsg::Layout::FREEBSD_64.len(cmsgcred::LEN), 100);
        assert_eq!(crate::cmsg::Layout::FREEBSD_64.space(cmsgcred::LEN), 104);
    }

    #[test]
    fn freebsd_sockcred_bytes() {
        // SOCKCREDSIZE(2) = 24 + 4 = 28: uid 1001, euid 1002, gid 20, egid 21, 2 groups.
        let d = words(&[1001, 1002, 20, 21, 2, 21, 7]);
        let c = ScmCreds::new(&d).sockcred().unwrap();
        assert_eq!(
            (c.pid, c.uid, c.euid, c.gid, c.egid),
            (None, 1001, 1002, 20, Some(21))
        );
        assert_eq!(c.groups.collect::<Vec<_>>(), [21, 7]);
        // A count beyond the data is clamped to what is there.
        let d = words(&[1, 2, 3, 4, 1000, 9]);
        assert_eq!(ScmCreds::new(&d).sockcred().unwrap().groups.len(), 1);
        assert_eq!(ScmCreds::new(&d[..19]).sockcred(), None);
    }

    #[test]
    fn freebsd_sockcred2_bytes() {
        // version 0, pid 77, uid 1001, euid 1002, gid 20, egid 21, 1 group: SOCKCRED2SIZE(1)
        // = 32.
        let d = words(&[0, 77, 1001, 1002, 20, 21, 1, 21]);
        let c = SenderCredentials::from_sockcred2(&d).unwrap();
        assert_eq!(
            (c.pid, c.uid, c.euid, c.gid, c.egid),
            (Some(77), 1001, 1002, 20, Some(21))
        );
        assert_eq!(c.groups.collect::<Vec<_>>(), [21]);
        // Another version is not decoded.
        let d = words(&[1, 77, 1001, 1002, 20, 21, 1, 21]);
        assert_eq!(SenderCredentials::from_sockcred2(&d), None);
        assert_eq!(SenderCredentials::from_sockcred2(&d[..27]), None);
    }

    #[test]
    fn netbsd_sockcred_bytes() {
        // pid 99, uid 1001, euid 1001, gid 100, egid 100, 2 groups (100, 0): 32 bytes.
        let d = words(&[99, 1001, 1001, 100, 100, 2, 100, 0]);
        let c = SenderCredentials::from_netbsd_sockcred(&d).unwrap();
        assert_eq!(
            (c.pid, c.uid, c.euid, c.gid, c.egid),
            (Some(99), 1001, 1001, 100, Some(100))
        );
        assert_eq!(c.groups.collect::<Vec<_>>(), [100, 0]);
        // No groups: the fixed part alone (24 bytes) is enough.
        let d = words(&[99, 1, 2, 3, 4, 0]);
        let c = SenderCredentials::from_netbsd_sockcred(&d).unwrap();
        assert_eq!(c.groups, Groups::EMPTY);
        assert_eq!(SenderCredentials::from_netbsd_sockcred(&d[..23]), None);
    }
}
