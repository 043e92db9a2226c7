//! The `fd_broker` example: see `../fd_broker.rs`. It checks its peers with `SO_PEERCRED` and `SCM_CREDENTIALS`, which this crate offers on Linux.
#[cfg(linux_like)]
#[path = "../fd_broker.rs"]
mod linux;

#[cfg(linux_like)]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    linux::main()
}

#[cfg(not(linux_like))]
fn main() {
    eprintln!("fd_broker: checking peers takes SO_PEERCRED and SCM_CREDENTIALS, which this crate offers on Linux");
}
