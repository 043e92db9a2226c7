//! The examples in the crate's docs and README are for users to copy: they may use the crate's
//! own dependencies and std, never a dev-dependency (which a user's build does not have).
#![cfg(unix)]

use std::path::Path;

/// Crates this package lists under a `[dev-dependencies]` table but not under
/// `[dependencies]`, as they are written in code (`-` becomes `_`).
fn dev_only_crates() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let (mut normal, mut dev) = (Vec::new(), Vec::new());
    let mut section = String::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim().replace('-', "_");
        if section.ends_with("dev-dependencies]") {
            dev.push(name);
        } else if section.ends_with("dependencies]") {
            normal.push(name);
        }
    }
    dev.retain(|d| !normal.contains(d));
    assert!(
        dev.iter().any(|d| d == "rustix"),
        "the manifest was read: {dev:?}"
    );
    dev
}

/// The code of the doc comments (`///`, `//!`) of every source file under `dir`.
fn doc_code(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            doc_code(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                let t = line.trim_start();
                if let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) {
                    out.push((format!("{}:{}", path.display(), i + 1), doc.to_string()));
                }
            }
        }
    }
}

#[test]
fn doc_and_readme_examples_use_no_dev_dependency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = Vec::new();
    doc_code(&root.join("src"), &mut lines);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut in_rust = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            in_rust = line.trim() == "```rust";
            continue;
        }
        if in_rust {
            lines.push((format!("README.md:{}", i + 1), line.to_string()));
        }
    }
    assert!(lines.len() > 100, "the docs were read");
    let dev = dev_only_crates();
    let bad: Vec<_> = lines
        .iter()
        .filter(|(_, l)| dev.iter().any(|d| l.contains(&format!("{d}::"))))
        .collect();
    assert!(bad.is_empty(), "examples using a dev-dependency: {bad:#?}");
}

/// Man-page names a user searches the docs for: each is a `#[doc(alias)]` on the item that
/// implements it.
#[test]
fn man_page_names_are_doc_aliases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                lines.extend(
                    std::fs::read_to_string(&path)
                        .unwrap()
                        .lines()
                        .map(String::from),
                );
            }
        }
    }
    let aliases: Vec<_> = lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("#[doc(alias = \""))
        .filter_map(|l| l.split('"').next())
        .collect();
    for name in [
        "CMSG_FIRSTHDR",
        "CMSG_NXTHDR",
        "CMSG_SPACE",
        "CMSG_LEN",
        "CMSG_ALIGN",
        "cmsghdr",
        "msghdr",
        "msg_control",
        "SCM_RIGHTS",
        "SCM_CREDENTIALS",
        "SCM_PIDFD",
        "SO_PASSCRED",
        "SO_PASSPIDFD",
        "IP_RECVPKTINFO",
        "MSG_CMSG_CLOEXEC",
        "MSG_NOSIGNAL",
        "MSG_CTRUNC",
        "SIGPIPE",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
    ] {
        assert!(aliases.contains(&name), "no #[doc(alias = \"{name}\")]");
    }
}
