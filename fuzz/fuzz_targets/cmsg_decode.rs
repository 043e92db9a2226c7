//! `cmsg_decode`: any bytes as received control data: RawIter stays in the buffer and ends.
//! The check is in tests/fuzz_checks/mod.rs, shared with the stable corpus replay.
#![no_main]

// Each target calls one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::cmsg_decode(data));
