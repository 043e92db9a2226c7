//! The `handoff` example: see `../handoff.rs` (Unix: the listening socket goes over with
//! `SCM_RIGHTS`) and `windows.rs` (Windows: `WSADuplicateSocketW` and the child's standard input).
#[cfg(any(unix, windows))]
mod common;
#[cfg(unix)]
#[path = "../handoff.rs"]
mod unix;

#[cfg(windows)]
mod windows;

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    unix::main()
}

#[cfg(windows)]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    windows::main()
}

#[cfg(not(any(unix, windows)))]
fn main() {
    eprintln!("handoff: this example hands the socket over with SCM_RIGHTS or WSADuplicateSocketW");
}
