//! The `instructions` benchmark: see `../instructions.rs`. It measures Unix calls against other Unix crates.
#[cfg(unix)]
#[path = "../instructions.rs"]
mod unix;

fn main() {
    #[cfg(unix)]
    unix::main();
    #[cfg(not(unix))]
    eprintln!(
        "instructions: this benchmark measures Unix calls; nothing to measure on this system"
    );
}
