//! The `fd_round` benchmark: see `../fd_round.rs`. It measures Linux calls against other crates.
#[cfg(linux_like)]
#[path = "../fd_round.rs"]
mod linux;

fn main() {
    #[cfg(linux_like)]
    linux::main();
    #[cfg(not(linux_like))]
    eprintln!("fd_round: this benchmark measures Linux calls; nothing to measure on this system");
}
