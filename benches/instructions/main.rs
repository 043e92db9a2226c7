//! The `instructions` benchmark: see `../instructions.rs`. It measures Linux calls against other crates.
#[cfg(linux_like)]
#[path = "../instructions.rs"]
mod linux;

fn main() {
    #[cfg(linux_like)]
    linux::main();
    #[cfg(not(linux_like))]
    eprintln!(
        "instructions: this benchmark measures Linux calls; nothing to measure on this system"
    );
}
