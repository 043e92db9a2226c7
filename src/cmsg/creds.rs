//! `SCM_CREDENTIALS`: a process's pid, uid and gid (Linux `struct ucred`).

use std::mem::size_of;

/// The credentials of `SCM_CREDENTIALS` (Linux `struct ucred`).
///
/// The receiver sees them only with the socket option `SO_PASSCRED` on; then the kernel attaches
/// the sender's credentials to every message, whether the sender sent any or not. A sender may
/// only claim its own pid and one of its real, effective or saved uids and gids (unless it has
/// `CAP_SYS_ADMIN`, `CAP_SETUID`, `CAP_SETGID`); otherwise the kernel answers `EPERM`.
#[doc(alias = "SCM_CREDENTIALS")]
#[doc(alias = "ucred")]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Process id.
    pub pid: libc::pid_t,
    /// User id.
    pub uid: libc::uid_t,
    /// Group id.
    pub gid: libc::gid_t,
}

/// Bytes of `struct ucred`.
pub(crate) const UCRED_LEN: usize = size_of::<libc::ucred>();

impl Credentials {
    /// The bytes of `struct ucred` in native order, as they travel in the message.
    pub(crate) fn to_bytes(self) -> [u8; UCRED_LEN] {
        let mut out = [0u8; UCRED_LEN];
        out[0..4].copy_from_slice(&self.pid.to_ne_bytes());
        out[4..8].copy_from_slice(&self.uid.to_ne_bytes());
        out[8..12].copy_from_slice(&self.gid.to_ne_bytes());
        out
    }

    /// Reads `struct ucred` from the first 12 bytes of `data`; `None` if there are fewer.
    pub(crate) fn from_bytes(data: &[u8]) -> Option<Self> {
        let b: &[u8; UCRED_LEN] = data.get(..UCRED_LEN)?.try_into().ok()?;
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        Some(Credentials {
            pid: libc::pid_t::from_ne_bytes(word(0)),
            uid: libc::uid_t::from_ne_bytes(word(4)),
            gid: libc::gid_t::from_ne_bytes(word(8)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn layout_matches_ucred() {
        assert_eq!(UCRED_LEN, 12);
        assert_eq!(offset_of!(libc::ucred, pid), 0);
        assert_eq!(offset_of!(libc::ucred, uid), 4);
        assert_eq!(offset_of!(libc::ucred, gid), 8);
        let c = Credentials {
            pid: 7,
            uid: 1000,
            gid: u32::MAX,
        };
        assert_eq!(Credentials::from_bytes(&c.to_bytes()), Some(c));
        assert_eq!(Credentials::from_bytes(&[0; 11]), None);
    }
}
