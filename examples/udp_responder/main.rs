//! The `udp_responder` example: see `../udp_responder.rs`. It uses `recvmmsg`/`sendmmsg` and `IP_PKTINFO`, which this crate offers on Linux.
#[cfg(linux_like)]
#[path = "../udp_responder.rs"]
mod linux;

#[cfg(linux_like)]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    linux::main()
}

#[cfg(not(linux_like))]
fn main() {
    eprintln!("udp_responder: answering from the address asked takes IP_PKTINFO with recvmmsg/sendmmsg, which this crate offers on Linux");
}
