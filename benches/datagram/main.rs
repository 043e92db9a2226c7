//! The `datagram` benchmark: see `../datagram.rs`. It measures Linux calls against other crates.
#[cfg(linux_like)]
#[path = "../datagram.rs"]
mod linux;

fn main() {
    #[cfg(linux_like)]
    linux::main();
    #[cfg(not(linux_like))]
    eprintln!("datagram: this benchmark measures Linux calls; nothing to measure on this system");
}
