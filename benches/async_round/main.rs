//! The `async_round` benchmark: see `../async_round.rs`. It compares the crate's tokio calls
//! with its sync calls and with tokio-seqpacket on Linux seqpacket socketpairs.
#[cfg(linux_like)]
#[path = "../async_round.rs"]
mod linux;

fn main() {
    #[cfg(linux_like)]
    linux::main();
    #[cfg(not(linux_like))]
    eprintln!(
        "async_round: this benchmark compares Linux calls; nothing to measure on this system"
    );
}
