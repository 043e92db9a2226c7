//! The `datagram_blast` example: see `../datagram_blast.rs`. It compares `sendto`, `sendmmsg` and UDP GSO, which this crate offers on Unix.
#[cfg(unix)]
#[path = "../datagram_blast.rs"]
mod unix;

#[cfg(unix)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!(
        "datagram_blast: sendmmsg and UDP GSO are Unix calls; nothing to compare on this system"
    );
}
