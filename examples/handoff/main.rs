//! The `handoff` example: see `../handoff.rs`. It hands a listening socket over with `SCM_RIGHTS`, which only Unix has.
#[cfg(unix)]
#[path = "../handoff.rs"]
mod unix;

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("handoff: this example hands the socket over with SCM_RIGHTS, which only Unix has");
}
