//! The accessors of [`Received`] that exist on some systems only: the pidfd and the
//! credentials messages, whose types differ from system to system.

#[cfg(has_pidfd)]
use std::os::fd::OwnedFd;

#[cfg(has_scm_creds)]
use crate::cmsg;
#[cfg(has_pidfd)]
use crate::cmsg::ControlMessage;
#[cfg(has_ucred)]
use crate::cmsg::Credentials;

use super::Received;

impl Received<'_> {
    /// Takes the pidfd (`SCM_PIDFD`, Linux 6.5+, with `SO_PASSPIDFD` on the receiving socket);
    /// `None` if none arrived or it was taken already. Takes nothing else: `SCM_RIGHTS`
    /// descriptors stay for [`fds`](Self::fds).
    ///
    /// It is the pidfd of the process whose pid the credentials carry, which a privileged
    /// sender may choose: see [`Pidfd`](crate::cmsg::Pidfd) for what it proves and how to
    /// check a peer with `SO_PEERCRED`/`SO_PEERPIDFD` instead.
    #[doc(alias = "SCM_PIDFD")]
    #[doc(alias = "SO_PASSPIDFD")]
    #[cfg(has_pidfd)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn pidfd(&mut self) -> Option<OwnedFd> {
        self.messages().find_map(|m| match m {
            ControlMessage::Pidfd(mut p) => p.take(),
            _ => None,
        })
    }

    /// The sender's credentials (`SCM_CREDENTIALS`, with `SO_PASSCRED` on the receiving socket):
    /// those the sender claimed, which the kernel checked (a process may claim only its own
    /// ids and pid unless privileged), or the kernel's own when it claimed none. Takes no
    /// descriptor.
    #[doc(alias = "SCM_CREDENTIALS")]
    #[doc(alias = "SO_PASSCRED")]
    #[cfg(has_ucred)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    pub fn credentials(&self) -> Option<Credentials> {
        self.raw_messages()
            .filter(|m| m.level == libc::SOL_SOCKET && m.ty == libc::SCM_CREDENTIALS)
            .find_map(|m| Credentials::from_bytes(m.data))
    }

    /// FreeBSD's `SCM_CREDS`: the sender's credentials as the kernel wrote them, a `struct
    /// cmsgcred` if the sender attached the message
    /// ([`Encoder::push_creds`](crate::cmsg::Encoder::push_creds)) or a `struct sockcred` if
    /// this socket has [`LOCAL_CREDS`](crate::sockopt::set_local_creds) on: the caller, which
    /// knows which, reads it with [`ScmCreds::cmsgcred`](crate::cmsg::ScmCreds::cmsgcred) or
    /// [`ScmCreds::sockcred`](crate::cmsg::ScmCreds::sockcred). Takes no descriptor.
    #[doc(alias = "SCM_CREDS")]
    #[cfg(freebsd)]
    #[cfg_attr(docsrs, doc(cfg(target_os = "freebsd")))]
    pub fn scm_creds(&self) -> Option<cmsg::ScmCreds<'_>> {
        self.raw_messages()
            .filter_map(|m| cmsg::decode_creds(m.level, m.ty, m.data))
            .find_map(|m| match m {
                cmsg::ControlMessage::ScmCreds(c) => Some(c),
                _ => None,
            })
    }

    /// The sender's credentials as the kernel wrote them, unambiguously typed: FreeBSD's
    /// `SCM_CREDS2` (`struct sockcred2`, with
    /// `sockopt::set_local_creds_persistent` on
    /// this socket: on every message) and NetBSD's `SCM_CREDS` (`struct sockcred`, with
    /// [`sockopt::set_local_creds`](crate::sockopt::set_local_creds)). Takes no descriptor.
    #[doc(alias = "SCM_CREDS2")]
    #[doc(alias = "SCM_CREDS")]
    #[doc(alias = "sockcred")]
    #[cfg(has_scm_creds)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "freebsd", target_os = "netbsd"))))]
    pub fn sender_credentials(&self) -> Option<cmsg::SenderCredentials<'_>> {
        self.raw_messages()
            .filter_map(|m| cmsg::decode_creds(m.level, m.ty, m.data))
            .find_map(|m| match m {
                cmsg::ControlMessage::SenderCredentials(c) => Some(c),
                _ => None,
            })
    }
}
