//! The `cmsg_owning` fuzz target on stable: its corpus replayed, then pseudo-random inputs.
//! One test in its own binary: the check counts this process's open descriptors, which no other
//! thread may change meanwhile.
//!
//! `ANCILLARY_WRITE_CORPUS=1 cargo test --test fuzz_owning` writes the seeds into
//! `fuzz/corpus/cmsg_owning/`.
#![cfg(unix)]

#[allow(dead_code)]
mod fuzz_checks;

use std::path::Path;

use fuzz_checks::owning::cmsg_owning;

/// A small deterministic generator (xorshift64*), so the inputs are the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn owning_accessors_over_kernel_control_data() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/cmsg_owning");
    let mut rng = Rng(0x0005_eed0_fa11_ca75);
    let seeds: Vec<Vec<u8>> = [vec![0u8; 64], vec![0xff; 64], vec![]]
        .into_iter()
        .chain((0..29).map(|i| {
            let n = 8 + i * 3;
            rng.bytes(n)
        }))
        .collect();
    if std::env::var_os("ANCILLARY_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:02}")), s).unwrap();
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} ({e})", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus of cmsg_owning is too small");
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| cmsg_owning(&data)).is_err() {
            panic!("cmsg_owning failed on {}", file.display());
        }
    }
    // Beyond the corpus: inputs of every length up to 96 bytes, bounded.
    for _ in 0..3000 {
        let n = (rng.next() % 96) as usize;
        let data = rng.bytes(n);
        if std::panic::catch_unwind(|| cmsg_owning(&data)).is_err() {
            panic!("cmsg_owning failed on {data:?}");
        }
    }
}
