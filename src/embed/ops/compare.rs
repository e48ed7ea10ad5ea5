//! The products one layer can run on, timed side by side on the same matrices, for
//! `akapit bench --products`: akapit's f32 (candle's gemm on `Wᵀ`, as [`Linear`] runs it),
//! akapit's int8 and bf16 where this CPU runs them, and candle's own 8-bit product (q8_0
//! `QMatMul`: weights and activations by blocks of 32, as llama.cpp's Q8_0) as the
//! reference the issue asked for. Each product's worst row cosine to the f32 one says what
//! its speed costs in accuracy.

use std::time::{Duration, Instant};

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Result, Tensor};

use super::linear::Linear;
use crate::models::Products;

/// One product on one shape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProductRun {
    /// What it is, e.g. `int8 (avx2)` or `candle q8_0`.
    pub product: String,
    pub rows: usize,
    pub inputs: usize,
    pub outputs: usize,
    /// The median of several timed stretches, per call.
    pub us_per_call: f64,
    /// Multiply-adds per second, in billions.
    pub gmac_per_s: f64,
    /// The lowest cosine between one of its output rows and the f32 product's.
    pub worst_cosine_to_f32: f64,
}

/// Times every product this CPU runs on `x · Wᵀ` for `rows × inputs × outputs`, with
/// deterministic values shaped like a layer's (activations with a few large dimensions);
/// about `budget` per product. `label(products)` names akapit's products.
pub fn compare(
    (rows, inputs, outputs): (usize, usize, usize),
    budget: Duration,
    label: impl Fn(Products) -> String,
) -> Result<Vec<ProductRun>> {
    let device = Device::Cpu;
    let w = values(outputs * inputs, 2, 0.05);
    let x = Tensor::from_vec(values(rows * inputs, 1, 1.0), (rows, inputs), &device)?;
    let reference = Linear::from_rows(&w, inputs, outputs, Products::F32)?.forward(&x)?;
    let mut runs = Vec::new();
    let mut time = |product: String, run: &dyn Fn() -> Result<Tensor>| -> Result<()> {
        let worst = worst_cosine(&reference, &run()?)?;
        let seconds = timed(budget, run)?;
        runs.push(ProductRun {
            product,
            rows,
            inputs,
            outputs,
            us_per_call: seconds * 1e6,
            gmac_per_s: (rows * inputs * outputs) as f64 / seconds / 1e9,
            worst_cosine_to_f32: worst,
        });
        Ok(())
    };
    for products in [Products::F32, Products::Int8, Products::Bf16] {
        let linear = Linear::from_rows(&w, inputs, outputs, products)?;
        // A CPU without the products' instructions gets f32 again: timed once is enough.
        if products == Products::F32 || linear.products() == products {
            time(label(products), &|| linear.forward(&x))?;
        }
    }
    let weight = Tensor::from_vec(w, (outputs, inputs), &device)?;
    let q8 = QMatMul::from_qtensor(QTensor::quantize(&weight, GgmlDType::Q8_0)?)?;
    time("candle q8_0 QMatMul".into(), &|| q8.forward(&x))?;
    Ok(runs)
}

/// Seconds per call of `run`: the median over seven stretches of about `budget / 7`, after
/// three calls to warm the caches and the thread pool.
fn timed(budget: Duration, run: &dyn Fn() -> Result<Tensor>) -> Result<f64> {
    for _ in 0..3 {
        run()?;
    }
    let stretch = budget / 7;
    let mut per_call = Vec::with_capacity(7);
    for _ in 0..7 {
        let (started, mut calls) = (Instant::now(), 0u32);
        while calls == 0 || started.elapsed() < stretch {
            run()?;
            calls += 1;
        }
        per_call.push(started.elapsed().as_secs_f64() / f64::from(calls));
    }
    per_call.sort_by(f64::total_cmp);
    Ok(per_call[per_call.len() / 2])
}

/// The lowest cosine between a row of `a` and the same row of `b`, both `[rows, n]`.
fn worst_cosine(a: &Tensor, b: &Tensor) -> Result<f64> {
    let (a, b) = (a.to_vec2::<f32>()?, b.to_vec2::<f32>()?);
    let cosine = |x: &[f32], y: &[f32]| {
        let dot: f64 = x
            .iter()
            .zip(y)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum();
        let norm = |v: &[f32]| v.iter().map(|p| f64::from(*p).powi(2)).sum::<f64>().sqrt();
        dot / (norm(x) * norm(y)).max(f64::MIN_POSITIVE)
    };
    Ok(a.iter()
        .zip(&b)
        .map(|(x, y)| cosine(x, y))
        .fold(1.0, f64::min))
}

/// `n` deterministic values in `[-scale, scale)`; every 97th eight times larger, as the
/// few large dimensions of a layer norm's output are. (The int8 product's tests use them
/// too.)
pub(crate) fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale;
            if i % 97 == 0 {
                x * 8.0
            } else {
                x
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_product_is_timed_and_close_to_f32() {
        let runs = compare((5, 64, 40), Duration::from_millis(7), |p| p.to_string()).unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.product.as_str()).collect();
        assert_eq!(names.first(), Some(&"f32"));
        assert_eq!(names.last(), Some(&"candle q8_0 QMatMul"));
        for run in &runs {
            assert!(run.us_per_call > 0.0 && run.gmac_per_s > 0.0, "{run:?}");
            assert_eq!((run.rows, run.inputs, run.outputs), (5, 64, 40));
            assert!(run.worst_cosine_to_f32 > 0.99, "{run:?}");
        }
        assert!((runs[0].worst_cosine_to_f32 - 1.0).abs() < 1e-9);
        // This CPU's int8 product, where it has one (build.rs read /proc/cpuinfo).
        assert_eq!(names.contains(&"int8"), cfg!(akapit_cpu_avx2));
    }
}
