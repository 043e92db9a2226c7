//! Handing a socket to another process.

use std::fmt;
use std::os::windows::io::{AsSocket, OwnedSocket};

use super::{Error, Result};
use crate::sys;

/// A socket duplicated for another process: the bytes of the `WSAPROTOCOL_INFOW` that
/// `WSADuplicateSocketW` filled, which that process turns into the socket with
/// [`into_socket`](Self::into_socket).
///
/// The bytes mean something only to the process they were made for, and only once: send them
/// over any channel ([`as_bytes`](Self::as_bytes), [`from_bytes`](Self::from_bytes)).
#[doc(alias = "WSAPROTOCOL_INFOW")]
#[derive(Clone)]
pub struct ProtocolInfo {
    bytes: [u8; sys::PROTOCOL_INFO_LEN],
}

impl fmt::Debug for ProtocolInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolInfo")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl ProtocolInfo {
    /// `sizeof(WSAPROTOCOL_INFOW)`: the length of [`as_bytes`](Self::as_bytes).
    pub const LEN: usize = sys::PROTOCOL_INFO_LEN;

    /// The `WSAPROTOCOL_INFOW` as bytes, to send to the target process.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `WSAPROTOCOL_INFOW` from the bytes another process sent.
    ///
    /// # Errors
    /// [`Error::ProtocolInfoLength`] unless `bytes` has exactly [`ProtocolInfo::LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes = bytes.try_into().map_err(|_| Error::ProtocolInfoLength {
            len: bytes.len(),
            expected: Self::LEN,
        })?;
        Ok(ProtocolInfo { bytes })
    }

    /// `WSASocketW(FROM_PROTOCOL_INFO, ...)`: opens the duplicated socket in this process (the
    /// one it was made for). The socket is not inherited by child processes.
    ///
    /// # Errors
    /// [`Error::Os`] with the code of `WSASocketW`: `WSAEINVAL` when the bytes were made for
    /// another process or were used already.
    #[doc(alias = "WSASocketW")]
    #[doc(alias = "FROM_PROTOCOL_INFO")]
    pub fn into_socket(self) -> Result<OwnedSocket> {
        sys::socket_from_protocol_info(&self.bytes).map_err(|e| Error::os("WSASocketW", e))
    }
}

/// `WSADuplicateSocketW`: makes `socket` available to the process `target_pid`, which opens it
/// with [`ProtocolInfo::into_socket`]. The socket here stays open; both then refer to the same
/// socket (close this one once the other process has taken over).
///
/// # Errors
/// [`Error::Os`] with the code of `WSADuplicateSocketW`: `WSAEINVAL` when no process has that
/// id, `WSAENOTSOCK` when `socket` is not a socket.
///
/// # Examples
/// ```no_run
/// use std::io::Write;
/// use std::net::TcpListener;
/// use std::process::{Command, Stdio};
/// use ancillary::windows::duplicate_socket;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut child = Command::new("new-version.exe").stdin(Stdio::piped()).spawn()?;
/// let info = duplicate_socket(&listener, child.id())?;
/// child.stdin.take().expect("piped").write_all(info.as_bytes())?;
/// // The child: ProtocolInfo::from_bytes(&read_stdin)?.into_socket()? -> TcpListener::from(..)
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "WSADuplicateSocketW")]
#[doc(alias = "WSADuplicateSocket")]
pub fn duplicate_socket(socket: impl AsSocket, target_pid: u32) -> Result<ProtocolInfo> {
    sys::duplicate_socket(socket.as_socket(), target_pid)
        .map(|bytes| ProtocolInfo { bytes })
        .map_err(|e| Error::os("WSADuplicateSocketW", e))
}
