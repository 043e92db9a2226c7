//! The `fd_pass` example: see `../fd_pass.rs`. It passes a file with `SCM_RIGHTS` and credentials, which only Unix has.
#[cfg(unix)]
#[path = "../fd_pass.rs"]
mod unix;

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("fd_pass: SCM_RIGHTS and SCM_CREDENTIALS exist only on Unix; nothing to show on this system");
}
