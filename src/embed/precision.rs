//! Precision: the user's choice of arithmetic (`--precision`), turned into the products a
//! model's layers run in on this CPU. Which products are allowed for a model is a fact of
//! its registry row (those checked against its golden file); which ones this CPU runs is
//! a fact of `ops`.

use super::ops::{bf16, int8};
use crate::models::{ModelSpec, Products};

/// How an encoder multiplies its activations by its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// The fastest products this CPU runs among those the model's registry row lists as
    /// checked against its golden file and its evaluations (bf16 inputs with f32 sums for
    /// EmbeddingGemma on AVX512-BF16: cosine >= 0.99998 to its float64 reference); f32
    /// otherwise.
    #[default]
    Auto,
    /// f32 throughout.
    F32,
    /// bf16 inputs, f32 sums, where the CPU has AVX512-BF16 (f32 elsewhere).
    Bf16,
    /// 8-bit activations, 8-bit weights (7-bit on AVX2 without VNNI), exact integer sums,
    /// where the CPU has AVX2 (f32 elsewhere).
    Int8,
}

impl Precision {
    /// The arithmetic `spec`'s layers use with this setting on this CPU: an explicit choice
    /// the CPU cannot run is f32.
    pub fn products(self, spec: &ModelSpec) -> Products {
        let chosen = match self {
            Precision::Auto => [Products::Int8, Products::Bf16]
                .into_iter()
                .find(|p| spec.products.contains(p) && runs_here(*p))
                .unwrap_or(Products::F32),
            Precision::F32 => Products::F32,
            Precision::Bf16 => Products::Bf16,
            Precision::Int8 => Products::Int8,
        };
        match runs_here(chosen) {
            true => chosen,
            false => Products::F32,
        }
    }

    /// The spelling `--precision` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }
}

/// `products` as `akapit models` names them: int8 with the kernel this CPU runs it on.
pub fn label(products: Products) -> String {
    match (products, int8::Kernel::detect()) {
        (Products::Int8, Some(kernel)) => format!("int8 ({})", kernel.name()),
        (products, _) => products.to_string(),
    }
}

/// Whether this CPU runs `products`.
pub fn runs_here(products: Products) -> bool {
    match products {
        Products::F32 => true,
        Products::Bf16 => bf16::supported(),
        Products::Int8 => int8::Kernel::detect().is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::registry;

    #[test]
    fn auto_uses_bf16_only_for_rows_that_list_it_on_cpus_that_run_it() {
        let gemma = registry::get("embeddinggemma-300m").unwrap();
        let e5 = registry::default_model();
        // build.rs read the CPU's flags from /proc/cpuinfo, not with `bf16::supported`.
        let cpu_runs_bf16 = cfg!(akapit_cpu_avx512bf16);
        let gemma_auto = if cpu_runs_bf16 {
            Products::Bf16
        } else {
            Products::F32
        };
        assert_eq!(Precision::Auto.products(gemma), gemma_auto);
        assert_eq!(Precision::F32.products(gemma), Products::F32);
        for precision in [Precision::Auto, Precision::F32] {
            assert_eq!(precision.products(e5), Products::F32);
        }
        // Asked for, a product runs where the CPU has it, and is f32 elsewhere.
        assert_eq!(Precision::Bf16.products(e5), gemma_auto);
        let int8 = if cfg!(akapit_cpu_avx2) {
            Products::Int8
        } else {
            Products::F32
        };
        assert_eq!(Precision::Int8.products(e5), int8);
        assert_eq!(Precision::Int8.products(gemma), int8);
    }
}
