//! `cmsg_ip`: the UDP and IP messages, typed pushes encoded and decoded, and any bytes through
//! the owning decoder compared with RawIter and a model.
//! The check is in tests/fuzz_checks/ip.rs, shared with the stable corpus replay.
#![no_main]

// Each target calls one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::cmsg_ip(data));
