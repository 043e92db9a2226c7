//! `cmsg_libc_diff`: RawIter against libc's CMSG_FIRSTHDR/CMSG_NXTHDR over the same bytes.
//! The check is in tests/fuzz_checks/mod.rs, shared with the stable corpus replay.
#![no_main]

// Each target calls one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::cmsg_libc_diff(data));
