//! The `datagram_blast` example: see `../datagram_blast.rs`. It compares `sendto`, `sendmmsg` and UDP GSO, which this crate offers on Linux.
#[cfg(linux_like)]
#[path = "../datagram_blast.rs"]
mod linux;

#[cfg(linux_like)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    linux::main()
}

#[cfg(not(linux_like))]
fn main() {
    eprintln!("datagram_blast: UDP GSO is a Linux facility; nothing to compare on this system");
}
