//! The `fd_round` benchmark: see `../fd_round.rs`. It measures Unix calls against other Unix crates.
#[cfg(unix)]
#[path = "../fd_round.rs"]
mod unix;

fn main() {
    #[cfg(unix)]
    unix::main();
    #[cfg(not(unix))]
    eprintln!("fd_round: this benchmark measures Unix calls; nothing to measure on this system");
}
