//! The example programs, run as a user runs them: each must exit successfully and say what it
//! proved. `cargo test` builds the examples next to the test binaries (`target/<profile>/examples`).
#![cfg(unix)]

use std::path::PathBuf;
use std::process::Command;

/// The built example `name`, beside this test binary's directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("this test's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        // `cargo test` builds the examples, `cargo test --test examples` does not.
        let release = profile_dir.file_name().is_some_and(|p| p == "release");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            build.arg("--release");
        }
        if cfg!(feature = "tokio") {
            build.args(["--features", "tokio"]);
        }
        let status = build.status().expect("run cargo build --example");
        assert!(status.success(), "cargo build --example {name}: {status}");
    }
    path
}

/// Whether the tests run under qemu-user (`ANCILLARY_QEMU=1`), which cannot start the examples:
/// they are binaries of the emulated architecture, and nothing here registers qemu to run them
/// (binfmt_misc). Prints the skip as the other tests' `skip_under_qemu` does.
fn skip_under_qemu(name: &str) -> bool {
    let qemu = std::env::var_os("ANCILLARY_QEMU").is_some_and(|v| v == "1");
    if qemu {
        println!("skipped under qemu-user: the {name} example (a binary qemu-user cannot start without binfmt_misc)");
    }
    qemu
}

/// Runs an example with `args`; returns its standard output, failing with everything it printed.
fn run(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn fd_pass_hands_a_file_and_credentials_to_a_child() {
    if skip_under_qemu("fd_pass") {
        return;
    }
    let out = run("fd_pass", &[]);
    assert!(out.contains("child answered: ok"), "{out}");
}

#[test]
fn handoff_restarts_a_tcp_server_without_refusing_a_connection() {
    if skip_under_qemu("handoff") {
        return;
    }
    let out = run("handoff", &["300"]);
    assert!(
        out.contains("handoff: 300 connections, none refused"),
        "{out}"
    );
}

#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
fn udp_responder_answers_from_the_address_asked_with_ecn_echoed() {
    if skip_under_qemu("udp_responder") {
        return;
    }
    let out = run("udp_responder", &["5000"]);
    assert!(
        out.contains("udp_responder: 5000 answers checked (source address, ECN, payload)"),
        "{out}"
    );
}

#[test]
#[cfg(all(feature = "tokio", any(target_os = "linux", target_os = "android")))]
fn fd_broker_serves_concurrent_clients_and_refuses_a_stranger() {
    if skip_under_qemu("fd_broker") {
        return;
    }
    let out = run("fd_broker", &["32"]);
    assert!(
        out.contains(
            "fd_broker: 32 clients served, 32 descriptors passed, every peer checked, 1 stranger refused"
        ),
        "{out}"
    );
    assert!(out.contains("refused pid"), "{out}");
}
