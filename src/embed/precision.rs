//! Precision: the user's choice of arithmetic (`--precision`), turned into the products a
//! model's layers run in on this CPU. Which products are allowed for a model is a fact of
//! its registry row (those checked against its golden file); which ones this CPU runs is
//! a fact of `ops`.

use super::ops::bf16;
use crate::models::{ModelSpec, Products};

/// How an encoder multiplies its activations by its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// The fastest products this CPU runs among those the model's registry row lists as
    /// checked (bf16 inputs with f32 sums for EmbeddingGemma on AVX512-BF16: cosine >=
    /// 0.99998 to its float64 reference); f32 otherwise.
    #[default]
    Auto,
    /// f32 throughout.
    F32,
}

impl Precision {
    /// The arithmetic `spec`'s layers use with this setting on this CPU.
    pub fn products(self, spec: &ModelSpec) -> Products {
        let bf16_allowed = spec.products.contains(&Products::Bf16);
        match self {
            Precision::Auto if bf16_allowed && bf16::supported() => Products::Bf16,
            _ => Products::F32,
        }
    }

    /// The spelling `--precision` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F32 => "f32",
        }
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
    }
}
