//! `iovec_model`: IoVecs under arbitrary sequences of operations, against a plain model.
//! The check is in tests/fuzz_checks/iovec.rs, shared with the stable corpus replay.
#![no_main]

// Each target calls one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::iovec_model(data));
