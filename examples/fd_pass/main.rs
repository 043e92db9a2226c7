//! The `fd_pass` example: see `../fd_pass.rs`. It passes a file with `SCM_RIGHTS` and credentials, which this crate has on Linux only.
#[cfg(linux_like)]
#[path = "../fd_pass.rs"]
mod linux;

#[cfg(linux_like)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    linux::main()
}

#[cfg(not(linux_like))]
fn main() {
    eprintln!("fd_pass: SCM_RIGHTS and SCM_CREDENTIALS exist here on Linux only; nothing to show on this system");
}
