//! Build script: tells the tests what they can check on this machine, so that a check that
//! cannot run shows as ignored (with the reason) instead of passing without running.
//! - `akapit_cpu_avx512bf16`, `akapit_cpu_avx2` (with FMA), `akapit_cpu_avx512vnni` (with
//!   AVX-512F and BW), `akapit_cpu_avxvnni` (with AVX2 and FMA): the CPU lists these flags
//!   in `/proc/cpuinfo`. Read here, not with the detection akapit's kernels use, so the
//!   tests do not trust the code they test.
//! - `akapit_skip_gemma`: `AKAPIT_TEST_GEMMA=0`, which skips the tests that need
//!   EmbeddingGemma's 1.15 GB of weights.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(akapit_cpu_avx512bf16)");
    println!("cargo::rustc-check-cfg=cfg(akapit_cpu_avx2)");
    println!("cargo::rustc-check-cfg=cfg(akapit_cpu_avx512vnni)");
    println!("cargo::rustc-check-cfg=cfg(akapit_cpu_avxvnni)");
    println!("cargo::rustc-check-cfg=cfg(akapit_skip_gemma)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=AKAPIT_TEST_GEMMA");

    // Only a build for the machine it runs on can say anything about that machine's CPU.
    let native = env::var("HOST").ok() == env::var("TARGET").ok();
    let flags = if native { cpu_flags() } else { Vec::new() };
    let has = |name: &str| flags.iter().any(|flag| flag == name);
    if has("avx512_bf16") {
        println!("cargo::rustc-cfg=akapit_cpu_avx512bf16");
    }
    if has("avx2") && has("fma") {
        println!("cargo::rustc-cfg=akapit_cpu_avx2");
    }
    if has("avx512f") && has("avx512bw") && has("avx512_vnni") {
        println!("cargo::rustc-cfg=akapit_cpu_avx512vnni");
    }
    if has("avx2") && has("fma") && has("avx_vnni") {
        println!("cargo::rustc-cfg=akapit_cpu_avxvnni");
    }
    if env::var("AKAPIT_TEST_GEMMA").is_ok_and(|v| v == "0") {
        println!("cargo::rustc-cfg=akapit_skip_gemma");
    }
}

/// The flags of the first processor in `/proc/cpuinfo` (none where there is no such file).
fn cpu_flags() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .find(|line| line.starts_with("flags"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, flags)| flags.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}
