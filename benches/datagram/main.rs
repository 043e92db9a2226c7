//! The `datagram` benchmark: see `../datagram.rs`. It measures Unix calls against other Unix crates.
#[cfg(unix)]
#[path = "../datagram.rs"]
mod unix;

fn main() {
    #[cfg(unix)]
    unix::main();
    #[cfg(not(unix))]
    eprintln!("datagram: this benchmark measures Unix calls; nothing to measure on this system");
}
