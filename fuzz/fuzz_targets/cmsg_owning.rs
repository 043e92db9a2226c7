//! `cmsg_owning`: the owning accessors (`fds`, `pidfd`, `credentials`, `messages`) in any order
//! over control data the kernel produced, any control room: no descriptor leaked, closed behind
//! the caller's back or handed out twice. The check is in tests/fuzz_checks/owning.rs, shared
//! with the stable corpus replay (tests/fuzz_owning.rs).
#![no_main]

// Each target calls one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::owning::cmsg_owning(data));
