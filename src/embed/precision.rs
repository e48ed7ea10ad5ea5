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
    /// checked against its golden file and its evaluations: int8 for multilingual-e5-small
    /// where the CPU has AVX2 (cosine >= 0.9996 to f32; nDCG@10 within 0.0034 of f32 on
    /// every eval set); bf16 inputs with f32 sums for EmbeddingGemma on AVX512-BF16
    /// (cosine >= 0.99998 to its float64 reference); f32 otherwise. Gemma's row does not
    /// list int8: its golden cosine is 0.9982, under the 0.999 bar.
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

/// Why `precision` gives `spec` the products it does on this CPU, as `akapit models` says.
pub fn reason(precision: Precision, spec: &ModelSpec) -> String {
    let chosen = precision.products(spec);
    match precision {
        Precision::Auto if chosen != Products::F32 => format!(
            "--precision auto: the fastest this CPU runs of those checked for this model ({})",
            names(spec.products.iter())
        ),
        Precision::Auto => {
            let missing = names(spec.products.iter().filter(|p| !runs_here(**p)));
            if missing.is_empty() {
                "--precision auto: f32 is the only arithmetic checked for this model".to_string()
            } else {
                format!("--precision auto: this CPU runs none of {missing}, checked for this model")
            }
        }
        _ if chosen.to_string() == precision.as_str() => {
            format!("--precision {}", precision.as_str())
        }
        _ => format!(
            "--precision {} asked for, which this CPU cannot run",
            precision.as_str()
        ),
    }
}

/// The products' names, joined by commas.
fn names<'a>(products: impl Iterator<Item = &'a Products>) -> String {
    products
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
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
    fn auto_uses_only_products_the_row_lists_and_the_cpu_runs() {
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
        assert_eq!(Precision::F32.products(e5), Products::F32);
        // Asked for, a product runs where the CPU has it, and is f32 elsewhere.
        assert_eq!(Precision::Bf16.products(e5), gemma_auto);
        let int8 = if cfg!(akapit_cpu_avx2) {
            Products::Int8
        } else {
            Products::F32
        };
        // e5's row lists int8; Gemma's does not (its retrieval eval has not been run).
        assert_eq!(Precision::Auto.products(e5), int8);
        assert_ne!(Precision::Auto.products(gemma), Products::Int8);
        assert_eq!(Precision::Int8.products(e5), int8);
        assert_eq!(Precision::Int8.products(gemma), int8);
    }

    #[test]
    fn the_reason_names_the_setting_and_what_the_cpu_lacks() {
        let gemma = registry::get("embeddinggemma-300m").unwrap();
        assert_eq!(reason(Precision::F32, gemma), "--precision f32");
        let (auto, bf16) = (
            reason(Precision::Auto, gemma),
            reason(Precision::Bf16, gemma),
        );
        if cfg!(akapit_cpu_avx512bf16) {
            assert!(auto.contains("the fastest this CPU runs"), "{auto}");
            assert_eq!(bf16, "--precision bf16");
        } else {
            assert!(auto.contains("this CPU runs none of bf16"), "{auto}");
            assert!(bf16.contains("which this CPU cannot run"), "{bf16}");
        }
    }
}
