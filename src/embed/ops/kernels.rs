//! Fused CPU kernels for the encoders, where candle's generic element-wise ops spend
//! a fifth of the time in scalar `erff`/`expf` (measured with `perf` on the e5 encoder):
//! - `gelu_erf`: GELU with a branch-free rational erf that the compiler vectorises;
//! - `masked_softmax`: scale, padding mask (and an optional sliding window) and softmax
//!   over attention scores in one pass;
//! - `gelu_tanh_gated`: Gemma's MLP activation `gelu_tanh(gate) · up` in one pass;
//! - `attention`: e5's whole self-attention (QKᵀ, scale, softmax, ·V) per sequence and
//!   head, over the sequence's own length, reading Q, K and V straight from the stacked
//!   product and writing the heads side by side, with no padded score matrix in between;
//! - `mean_pool`: the mean of each sequence's real rows;
//! - `add_layer_norm`: a residual sum and the LayerNorm after it (BERT's post-norm) in one
//!   pass, without the sum's own buffer.
//!
//! `attention` and `mean_pool` never touch padding, and sum in an order fixed by the
//! sequence alone: a text's vector does not depend on the batch it was embedded in.
//!
//! All work on contiguous f32 and split rows across the cores for large tensors. Plain
//! `a * b + c` is used rather than `mul_add`: without a target FMA feature, `mul_add` is a
//! call to libm's `fmaf`, which is slow and stops the loops from vectorising. Only the
//! attention's two products, compiled apart for FMA CPUs, fuse them (`multiply_add`).

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// erf(x) as a ratio of odd/even polynomials on [-4, 4] (outside, erf is ±1 in f32).
/// Max absolute error against f64 erf is below 1e-6 (tested).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p - 2.101_024e-6;
    p = x2 * p - 5.692_506_4e-5;
    p = x2 * p - 7.349_906e-4;
    p = x2 * p - 2.954_600_1e-3;
    p = x2 * p - 1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
    q = x2 * q - 1.682_827e-3;
    q = x2 * q - 7.373_329e-3;
    q = x2 * q - 1.426_473_9e-2;
    p / q
}

/// e^x for x <= 0 (softmax inputs after subtracting the row maximum): range reduction to
/// 2^n · e^r with |r| <= ln2/2 and a degree-6 polynomial; relative error below 2e-7.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    // A comparison, not `f32::max`, whose NaN rule keeps the loop from vectorising (a NaN
    // still comes out as e^−87).
    let x = if x > -87.0 { x } else { -87.0 };
    // Round to nearest by adding and removing 1.5·2^23 (`round` is a libm call here); the
    // sum's low mantissa bits are then n itself.
    const ROUND: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 split in two so that r keeps its low bits.
    let r = n * -0.693_145_75 + x;
    let r = n * -1.428_606_8e-6 + r;
    let mut p = r * (1.0 / 720.0) + 1.0 / 120.0;
    p = r * p + 1.0 / 24.0;
    p = r * p + 1.0 / 6.0;
    p = r * p + 0.5;
    p = r * p + 1.0;
    p = r * p + 1.0;
    // 2^n from n's bits: `shifted` is 1.5·2^23 + n, so its bits are those of 1.5·2^23 plus
    // n (an integer subtraction, where `n as i32` would be a saturating conversion).
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    let scale = f32::from_bits(biased << 23);
    p * scale
}

/// The loops below are written once and compiled twice: for any x86-64, and with AVX2 and
/// FMA for the CPUs that have them (chosen at run time), where they run 8 lanes wide.
macro_rules! with_avx2 {
    ($name:ident, $generic:ident, ($($arg:ident: $ty:ty),*)) => {
        with_avx2!($name, $generic, $generic, ($($arg: $ty),*));
    };
    // A loop that takes another form where it runs wide (e.g. with fused multiply-adds).
    ($name:ident, $wide:expr, $plain:expr, ($($arg:ident: $ty:ty),*)) => {
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                /// The generic loop compiled for AVX2 and FMA.
                ///
                /// # Safety
                /// The CPU must have AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) {
                    $wide($($arg),*)
                }
                // SAFETY: the CPU features were detected just above.
                return unsafe { wide($($arg),*) };
            }
            $plain($($arg),*)
        }
    };
}

/// tanh(x) through e^(−2|x|), so it shares the vectorised exponential; absolute error
/// below 1e-6 (tested).
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let e = exp_nonpositive(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

/// One row of `[gate | up]` into `gelu_tanh(gate) · up`.
#[inline(always)]
fn gelu_tanh_gated_generic(src: &[f32], dst: &mut [f32]) {
    let (gate, up) = src.split_at(dst.len());
    for ((o, &g), &u) in dst.iter_mut().zip(gate).zip(up) {
        // √(2/π) · (g + 0.044715 g³)
        let inner = 0.797_884_6 * (g + 0.044_715 * g * g * g);
        *o = 0.5 * g * (1.0 + tanh(inner)) * u;
    }
}

#[inline(always)]
fn gelu_generic(src: &[f32], dst: &mut [f32]) {
    for (o, &x) in dst.iter_mut().zip(src) {
        *o = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Reduces `values` with `op` over 8 independent lanes, which the compiler can keep in
/// one vector register (a plain fold must respect the order of operations and cannot).
#[inline(always)]
fn lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = op(*a, v);
        }
    }
    let partial = rest.iter().fold(init, |a, &v| op(a, v));
    acc.iter().fold(partial, |a, &v| op(a, v))
}

/// Σ v² over 8 independent lanes, as `lanes` sums.
#[inline(always)]
fn sum_of_squares(values: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(0.0, |a, &v| a + v * v);
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += v * v;
        }
    }
    acc.iter().fold(rest, |a, &v| a + v)
}

/// Softmax of `src · scale` into `dst` (same length).
#[inline(always)]
fn softmax_generic(src: &[f32], dst: &mut [f32], scale: f32) {
    // `if`, not `f32::max`, so that the comparison vectorises.
    let max = lanes(src, f32::NEG_INFINITY, |a, b| if b > a { b } else { a }) * scale;
    for (o, &s) in dst.iter_mut().zip(src) {
        *o = exp_nonpositive(s * scale - max);
    }
    let inv = 1.0 / lanes(dst, 0.0, |a, b| a + b);
    dst.iter_mut().for_each(|o| *o *= inv);
}

/// Queries, keys and value columns per tile of the attention kernel: one 8-lane vector.
/// A product's 8 × 8 sums stay in registers while it walks the head dimension or the keys.
const TILE: usize = 8;

/// One head of one sequence of `n` real rows, in tiles. Every operand is laid out so that
/// a product walks it straight through, and the scores come out with the queries across
/// the lanes, so the softmax over keys is lane by lane and its output is already what the
/// second product broadcasts:
/// - `q` `[queries / TILE][d]`: per tile of queries and dimension, the tile's values side
///   by side (already scaled);
/// - `k` `[keys / TILE][d]`: the same for the keys (zero past the `n` real ones);
/// - `v` `[wide / TILE][n]`: per tile of `wide` ≥ d value columns and key, the tile's
///   values (zero past the head's `d` columns);
/// - `out` `[queries][wide]`; `scores` (a row per key, to whole tiles) is scratch.
#[inline(always)]
fn attend_generic<const FMA: bool>(
    q: &[[f32; TILE]],
    k: &[[f32; TILE]],
    v: &[[f32; TILE]],
    n: usize,
    scores: &mut [[f32; TILE]],
    out: &mut [f32],
) {
    let d = k.len() / (scores.len() / TILE);
    let wide = v.len() / n * TILE;
    for (queries, rows) in q.chunks_exact(d).zip(out.chunks_exact_mut(TILE * wide)) {
        // scores[j][r]: key j against query r of the tile.
        for (keys, scores) in k.chunks_exact(d).zip(scores.as_chunks_mut::<TILE>().0) {
            *scores = outer_sums::<FMA>(keys, queries);
        }
        let probs = &mut scores[..n];
        let mut max = [f32::NEG_INFINITY; TILE];
        for s in probs.iter() {
            for (m, &x) in max.iter_mut().zip(s) {
                // `if`, not `f32::max`, so that the comparison vectorises.
                *m = if x > *m { x } else { *m };
            }
        }
        // Four partial sums per lane, so that the additions do not wait on each other.
        let mut partial = [[0f32; TILE]; 4];
        for part in probs.chunks_mut(4) {
            for (s, total) in part.iter_mut().zip(&mut partial) {
                for ((x, &m), total) in s.iter_mut().zip(&max).zip(total) {
                    *x = exp_nonpositive(*x - m);
                    *total += *x;
                }
            }
        }
        let inverse: [f32; TILE] = std::array::from_fn(|r| {
            1.0 / ((partial[0][r] + partial[1][r]) + (partial[2][r] + partial[3][r]))
        });
        // rows[r][c] = Σ_j e^…[j][r] · v[j][c] / Σ_j e^…[j][r], a tile of value columns at
        // a time.
        for (t, values) in v.chunks_exact(n).enumerate() {
            let sums = outer_sums::<FMA>(probs, values);
            for ((r, sum), &inverse) in sums.iter().enumerate().zip(&inverse) {
                for (o, &x) in rows[r * wide + t * TILE..][..TILE].iter_mut().zip(sum) {
                    *o = x * inverse;
                }
            }
        }
    }
}

/// One tile of a matrix product: `sums[i][j]`, the sum over the steps of `a[i] · b[j]`,
/// the outer products of a column of the left operand and a row of the right one, kept
/// in registers.
#[inline(always)]
fn outer_sums<const FMA: bool>(a: &[[f32; TILE]], b: &[[f32; TILE]]) -> [[f32; TILE]; TILE] {
    let mut sums = [[0f32; TILE]; TILE];
    for (a, b) in a.iter().zip(b) {
        for (sum, &a) in sums.iter_mut().zip(a) {
            for (s, &b) in sum.iter_mut().zip(b) {
                *s = multiply_add::<FMA>(a, b, *s);
            }
        }
    }
    sums
}

/// `a · b + c`, fused into one instruction where the caller is compiled with FMA (where
/// it is not, `mul_add` would be a slow libm call).
#[inline(always)]
fn multiply_add<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

// `attend_generic` with fused multiply-adds on CPUs with AVX2 and FMA.
with_avx2!(
    attend,
    attend_generic::<true>,
    attend_generic::<false>,
    (
        q: &[[f32; TILE]],
        k: &[[f32; TILE]],
        v: &[[f32; TILE]],
        n: usize,
        scores: &mut [[f32; TILE]],
        out: &mut [f32]
    )
);
with_avx2!(gelu_slice, gelu_generic, (src: &[f32], dst: &mut [f32]));
with_avx2!(softmax_row, softmax_generic, (src: &[f32], dst: &mut [f32], scale: f32));
with_avx2!(gelu_tanh_gated_row, gelu_tanh_gated_generic, (src: &[f32], dst: &mut [f32]));

/// Splits `out` into row-aligned parts and runs `work(first_row, rows)` on each in parallel.
fn par_rows(out: &mut [f32], row_len: usize, work: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = out.len() / row_len.max(1);
    let threads = rayon::current_num_threads();
    // Small tensors are not worth a thread.
    if threads == 1 || out.len() < 1 << 15 {
        work(0, out);
        return;
    }
    let per = rows.div_ceil(threads);
    // On rayon's pool, as `split` runs the packed products.
    out.par_chunks_mut(per * row_len)
        .enumerate()
        .for_each(|(i, part)| work(i * per, part));
}

pub(crate) fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> Result<&'a [f32]> {
    let data = match storage {
        CpuStorage::F32(data) => data.as_slice(),
        _ => bail!("{op}: only f32 is supported"),
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("{op}: the input must be contiguous"),
    }
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "akapit-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let input = contiguous_f32(storage, layout, self.name())?;
        let mut out = vec![0f32; input.len()];
        let row = *layout.dims().last().unwrap_or(&1);
        par_rows(&mut out, row, |first, part| {
            gelu_slice(&input[first * row..first * row + part.len()], part)
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// GELU, erf form: `x · (1 + erf(x/√2)) / 2`.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&GeluErf)
}

struct GeluTanhGated;

impl CustomOp1 for GeluTanhGated {
    fn name(&self) -> &'static str {
        "akapit-gelu-tanh-gated"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let input = contiguous_f32(storage, layout, self.name())?;
        let (rows, both) = layout.shape().dims2()?;
        if both % 2 != 0 {
            bail!("{}: odd row width {both}", self.name());
        }
        let width = both / 2;
        let mut out = vec![0f32; rows * width];
        par_rows(&mut out, width, |first, part| {
            for (i, row) in part.chunks_mut(width).enumerate() {
                let r = first + i;
                gelu_tanh_gated_row(&input[r * both..(r + 1) * both], row);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((rows, width))))
    }
}

/// `gelu_tanh(gate) · up` for `x = [gate | up]` of shape `[rows, 2·width]` → `[rows, width]`.
pub fn gelu_tanh_gated(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&GeluTanhGated)
}

struct MaskedSoftmax<'a> {
    scale: f32,
    /// Real length of each sequence; keys at or past it are padding.
    lengths: &'a [usize],
    heads: usize,
    /// Query `i` sees key `j` only when `|i − j| < window`.
    window: Option<usize>,
}

impl CustomOp1 for MaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "akapit-masked-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let input = contiguous_f32(storage, layout, self.name())?;
        let (batch, heads, queries, keys) = layout.shape().dims4()?;
        if self.window == Some(0) {
            bail!("{}: an attention window of 0 sees nothing", self.name());
        }
        if batch != self.lengths.len() || heads != self.heads {
            bail!(
                "{}: shape {:?} does not match the batch",
                self.name(),
                layout.dims()
            );
        }
        let mut out = vec![0f32; input.len()];
        let rows_per_sequence = heads * queries;
        par_rows(&mut out, keys, |first, part| {
            for (i, row) in part.chunks_mut(keys).enumerate() {
                let r = first + i;
                let valid = self.lengths[r / rows_per_sequence].clamp(1, keys);
                let (lo, hi) = match self.window {
                    Some(window) => {
                        let query = r % queries;
                        let lo = (query + 1).saturating_sub(window);
                        (lo.min(valid - 1), (query + window).min(valid))
                    }
                    None => (0, valid),
                };
                let src = &input[r * keys + lo..r * keys + hi];
                softmax_row(src, &mut row[lo..hi], self.scale);
                // Padding keys and keys outside the window keep their zero.
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// `softmax(scores · scale)` over the last axis of `[batch, heads, queries, keys]`, with
/// keys past each sequence's length, or (with a `window`) at distance `window` or more
/// from the query, given zero weight.
pub fn masked_softmax(
    scores: &Tensor,
    scale: f32,
    lengths: &[usize],
    heads: usize,
    window: Option<usize>,
) -> Result<Tensor> {
    scores.contiguous()?.apply_op1_no_bwd(&MaskedSoftmax {
        scale,
        lengths,
        heads,
        window,
    })
}

struct Attention<'a> {
    /// Real length of each sequence; rows at or past it are padding.
    lengths: &'a [usize],
    heads: usize,
}

/// A thread's buffers for `Attention::head`, reused from head to head.
#[derive(Default)]
struct Scratch {
    q: Vec<[f32; TILE]>,
    k: Vec<[f32; TILE]>,
    v: Vec<[f32; TILE]>,
    scores: Vec<[f32; TILE]>,
    out: Vec<f32>,
}

/// `buffer` as `len` zeros, keeping its allocation.
fn zeroed<T: Copy + Default>(buffer: &mut Vec<T>, len: usize) -> &mut [T] {
    buffer.clear();
    buffer.resize(len, T::default());
    buffer
}

impl Attention<'_> {
    /// Head `head` of sequence `b` (`n` real rows of the `len` in `qkv`), `[n, d]`. The
    /// operands are copied into `s` in `attend`'s tiles, zero-padded to whole tiles.
    #[allow(clippy::too_many_arguments)]
    fn head(
        &self,
        qkv: &[f32],
        len: usize,
        d: usize,
        b: usize,
        head: usize,
        n: usize,
        s: &mut Scratch,
    ) -> Vec<f32> {
        let hidden = self.heads * d;
        let width = 3 * hidden;
        let scale = 1.0 / (d as f32).sqrt();
        let tiles = n.div_ceil(TILE);
        let wide = d.next_multiple_of(TILE);
        let q = zeroed(&mut s.q, tiles * d);
        let k = zeroed(&mut s.k, tiles * d);
        let v = zeroed(&mut s.v, wide / TILE * n);
        let rows = &qkv[b * len * width..(b * len + n) * width];
        let at = head * d;
        for (t, row) in rows.chunks_exact(width).enumerate() {
            let (tile, lane) = (t / TILE * d, t % TILE);
            let q = q[tile..tile + d].iter_mut().zip(&row[at..at + d]);
            let k = k[tile..tile + d].iter_mut().zip(&row[hidden + at..][..d]);
            for ((q, &x), (k, &y)) in q.zip(k) {
                q[lane] = x * scale;
                k[lane] = y;
            }
            // Whole tiles as array moves (a `copy_from_slice` of 8 values was a `memcpy` call).
            let (whole, rest) = row[2 * hidden + at..][..d].as_chunks::<TILE>();
            for (c, &part) in whole.iter().enumerate() {
                v[c * n + t] = part;
            }
            if !rest.is_empty() {
                v[whole.len() * n + t][..rest.len()].copy_from_slice(rest);
            }
        }
        let out = zeroed(&mut s.out, tiles * TILE * wide);
        let scores = zeroed(&mut s.scores, tiles * TILE);
        attend(q, k, v, n, scores, out);
        let mut values = Vec::with_capacity(n * d);
        for row in out.chunks_exact(wide).take(n) {
            values.extend_from_slice(&row[..d]);
        }
        values
    }
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "akapit-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = contiguous_f32(storage, layout, self.name())?;
        let (rows, width) = layout.shape().dims2()?;
        let batch = self.lengths.len();
        if batch == 0 || rows % batch != 0 || self.heads == 0 || width % (3 * self.heads) != 0 {
            bail!(
                "{}: shape {:?} does not fit {batch} sequences of {} heads",
                self.name(),
                layout.dims(),
                self.heads
            );
        }
        let (len, d) = (rows / batch, width / (3 * self.heads));
        let hidden = self.heads * d;
        let lengths: Vec<usize> = self.lengths.iter().map(|&n| n.clamp(1, len)).collect();
        let tasks: Vec<(usize, usize)> = (0..batch)
            .flat_map(|b| (0..self.heads).map(move |head| (b, head)))
            .collect();
        let run = |s: &mut Scratch, &(b, head): &(usize, usize)| {
            self.head(qkv, len, d, b, head, lengths[b], s)
        };
        // Multiply-adds of both products; small ones (a question) are not worth a thread.
        let work: usize = lengths.iter().map(|&n| 2 * n * n * hidden).sum();
        let parts: Vec<Vec<f32>> = if work < 1 << 20 {
            let mut scratch = Scratch::default();
            tasks.iter().map(|task| run(&mut scratch, task)).collect()
        } else {
            tasks.par_iter().map_init(Scratch::default, run).collect()
        };
        // Padding rows stay zero: nothing reads them but later padding rows.
        let mut out = vec![0f32; rows * hidden];
        for (&(b, head), part) in tasks.iter().zip(&parts) {
            for (t, values) in part.chunks_exact(d).enumerate() {
                let at = (b * len + t) * hidden + head * d;
                out[at..at + d].copy_from_slice(values);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows, hidden))))
    }
}

/// Multi-head self-attention from the stacked product `qkv` `[batch·len, 3·hidden]` (Q,
/// K, V side by side, heads in order within each) of right-padded sequences, into
/// `[batch·len, hidden]`: `softmax(q·kᵀ / √d) · v` per head over each sequence's own
/// `lengths[b]` rows. Padding rows come out zero.
pub fn attention(qkv: &Tensor, lengths: &[usize], heads: usize) -> Result<Tensor> {
    qkv.contiguous()?
        .apply_op1_no_bwd(&Attention { lengths, heads })
}

struct MeanPool<'a> {
    lengths: &'a [usize],
}

impl CustomOp1 for MeanPool<'_> {
    fn name(&self) -> &'static str {
        "akapit-mean-pool"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let hidden = contiguous_f32(storage, layout, self.name())?;
        let (batch, len, width) = layout.shape().dims3()?;
        if batch != self.lengths.len() {
            bail!(
                "{}: {batch} sequences, {} lengths",
                self.name(),
                self.lengths.len()
            );
        }
        let mut out = vec![0f32; batch * width];
        for ((b, &n), mean) in self
            .lengths
            .iter()
            .enumerate()
            .zip(out.chunks_exact_mut(width))
        {
            let n = n.min(len);
            for row in hidden[b * len * width..(b * len + n) * width].chunks_exact(width) {
                for (m, &x) in mean.iter_mut().zip(row) {
                    *m += x;
                }
            }
            let inv = 1.0 / n.max(1) as f32;
            mean.iter_mut().for_each(|m| *m *= inv);
        }
        Ok((CpuStorage::F32(out), Shape::from((batch, width))))
    }
}

/// The mean over each sequence's first `lengths[b]` rows of `hidden` `[batch, len, width]`,
/// `[batch, width]` (zero for an empty sequence).
pub fn mean_pool(hidden: &Tensor, lengths: &[usize]) -> Result<Tensor> {
    hidden.contiguous()?.apply_op1_no_bwd(&MeanPool { lengths })
}

/// LayerNorm of one row `y + x` into `out`: `(v − mean) / √(var + eps) · weight + bias`.
#[inline(always)]
fn add_layer_norm_generic(
    y: &[f32],
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    eps: f32,
    out: &mut [f32],
) {
    for ((o, &a), &b) in out.iter_mut().zip(y).zip(x) {
        *o = a + b;
    }
    let width = out.len().max(1) as f32;
    let mean = lanes(out, 0.0, |a, b| a + b) / width;
    out.iter_mut().for_each(|o| *o -= mean);
    let variance = sum_of_squares(out) / width;
    let inverse = 1.0 / (variance + eps).sqrt();
    for ((o, &w), &c) in out.iter_mut().zip(weight).zip(bias) {
        *o = *o * inverse * w + c;
    }
}

with_avx2!(add_layer_norm_row, add_layer_norm_generic, (y: &[f32], x: &[f32], weight: &[f32], bias: &[f32], eps: f32, out: &mut [f32]));

struct AddLayerNorm<'a> {
    weight: &'a [f32],
    bias: &'a [f32],
    eps: f32,
}

impl CustomOp2 for AddLayerNorm<'_> {
    fn name(&self) -> &'static str {
        "akapit-add-layer-norm"
    }

    fn cpu_fwd(
        &self,
        y_storage: &CpuStorage,
        y_layout: &Layout,
        x_storage: &CpuStorage,
        x_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = contiguous_f32(y_storage, y_layout, self.name())?;
        let x = contiguous_f32(x_storage, x_layout, self.name())?;
        let width = self.weight.len();
        if y_layout.shape() != x_layout.shape()
            || y_layout.dims().last() != Some(&width)
            || self.bias.len() != width
        {
            bail!(
                "{}: shapes {:?} and {:?} with {width} weights",
                self.name(),
                y_layout.dims(),
                x_layout.dims()
            );
        }
        let mut out = vec![0f32; y.len()];
        par_rows(&mut out, width, |first, part| {
            for (i, row) in part.chunks_mut(width).enumerate() {
                let at = (first + i) * width;
                let (y, x) = (&y[at..at + width], &x[at..at + width]);
                add_layer_norm_row(y, x, self.weight, self.bias, self.eps, row);
            }
        });
        Ok((CpuStorage::F32(out), y_layout.shape().clone()))
    }
}

/// `LayerNorm(y + x)` over the last axis, with `weight` and `bias` as long as it.
pub fn add_layer_norm(
    y: &Tensor,
    x: &Tensor,
    weight: &[f32],
    bias: &[f32],
    eps: f32,
) -> Result<Tensor> {
    y.contiguous()?
        .apply_op2_no_bwd(&x.contiguous()?, &AddLayerNorm { weight, bias, eps })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// erf to double precision (Abramowitz & Stegun 7.1.28 is not enough; use the series and
    /// continued fraction through libm's f64 erf via the complementary identity).
    fn erf_f64(x: f64) -> f64 {
        // Maclaurin series converges well for |x| <= 4 with enough terms in f64.
        let mut sum = 0.0;
        let mut term = x;
        let mut n = 0.0;
        while n < 200.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    }

    #[test]
    fn erf_is_accurate_on_the_range_that_matters() {
        let mut worst = 0f64;
        for i in -5000..=5000 {
            let x = i as f64 / 1000.0;
            let err = (erf(x as f32) as f64 - erf_f64(x.clamp(-4.0, 4.0))).abs();
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "max error {worst}");
    }

    #[test]
    fn exp_is_accurate_for_softmax_inputs() {
        let mut worst = 0f64;
        for i in 0..=80_000 {
            let x = -(i as f32) / 1000.0;
            let exact = (x as f64).exp();
            let rel = ((exp_nonpositive(x) as f64 - exact) / exact).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "max relative error {worst}");
        assert_eq!(exp_nonpositive(-1000.0), exp_nonpositive(-87.0));
    }

    #[test]
    fn gelu_matches_candle_on_a_large_tensor() {
        let values: Vec<f32> = (0..100_000)
            .map(|i| (i as f32 - 50_000.0) / 7000.0)
            .collect();
        let x = Tensor::from_vec(values, (100, 1000), &Device::Cpu).unwrap();
        let ours = gelu_erf(&x).unwrap();
        let theirs = x.gelu_erf().unwrap();
        let diff = (ours - theirs)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 2e-6, "{diff}");
    }

    #[test]
    fn masked_softmax_matches_candle_and_zeroes_padding() {
        let (batch, heads, len) = (2, 3, 5);
        let values: Vec<f32> = (0..batch * heads * len * len)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 3.0)
            .collect();
        let scores = Tensor::from_vec(values, (batch, heads, len, len), &Device::Cpu).unwrap();
        let lengths = [5, 3];
        let ours = masked_softmax(&scores, 0.5, &lengths, heads, None).unwrap();
        let mask: Vec<f32> = lengths
            .iter()
            .flat_map(|&n| (0..len).map(move |t| if t < n { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (batch, 1, 1, len), &Device::Cpu).unwrap();
        let theirs = candle_nn::ops::softmax_last_dim(
            &(scores * 0.5).unwrap().broadcast_add(&mask).unwrap(),
        )
        .unwrap();
        let diff = (&ours - theirs)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-6, "{diff}");
        let padded: Vec<f32> = ours
            .get(1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (i, v) in padded.iter().enumerate() {
            if i % len >= 3 {
                assert_eq!(*v, 0.0);
            }
        }
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// `softmax(q·kᵀ/√d + mask)·v` per head with candle's own ops, as the encoder ran it
    /// before `attention`.
    fn attention_reference(qkv: &Tensor, lengths: &[usize], heads: usize) -> Tensor {
        let (rows, width) = qkv.dims2().unwrap();
        let (batch, d) = (lengths.len(), width / 3 / heads);
        let len = rows / batch;
        let qkv = qkv
            .reshape((batch, len, 3, heads, d))
            .unwrap()
            .permute((2, 0, 3, 1, 4))
            .unwrap()
            .contiguous()
            .unwrap();
        let (q, k, v) = (
            qkv.get(0).unwrap(),
            qkv.get(1).unwrap(),
            qkv.get(2).unwrap(),
        );
        let scores = q.matmul(&k.t().unwrap()).unwrap();
        let probs = masked_softmax(&scores, 1.0 / (d as f32).sqrt(), lengths, heads, None).unwrap();
        probs
            .matmul(&v)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .reshape((rows, heads * d))
            .unwrap()
    }

    fn qkv_values(rows: usize, width: usize, seed: usize) -> Vec<f32> {
        (0..rows * width)
            .map(|i| (((i + seed) * 7919 % 10_007) as f32 - 5003.0) / 2500.0)
            .collect()
    }

    #[test]
    fn attention_matches_candle_on_real_rows_and_zeroes_padding() {
        // Head sizes on and off the kernel's tiles, lengths on and off them, and 1.
        for (heads, d, lengths) in [
            (12, 32, vec![37, 16, 1]),
            (2, 20, vec![5, 21, 3]),
            (3, 16, vec![4, 4]),
        ] {
            let len = *lengths.iter().max().unwrap();
            let width = 3 * heads * d;
            let values = qkv_values(lengths.len() * len, width, d);
            let qkv = Tensor::from_vec(values, (lengths.len() * len, width), &Device::Cpu).unwrap();
            let ours = attention(&qkv, &lengths, heads).unwrap();
            let theirs = attention_reference(&qkv, &lengths, heads);
            assert_eq!(ours.dims(), theirs.dims());
            for (b, &n) in lengths.iter().enumerate() {
                let real = |t: &Tensor| t.narrow(0, b * len, n).unwrap();
                let diff = max_abs_diff(&real(&ours), &real(&theirs));
                assert!(diff < 2e-5, "heads {heads}, d {d}, sequence {b}: {diff}");
                let padding = ours.narrow(0, b * len + n, len - n).unwrap();
                assert!(padding
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .all(|&x| x == 0.0));
            }
        }
    }

    #[test]
    fn attention_of_a_sequence_does_not_depend_on_its_batch() {
        let (heads, d, n) = (4, 32, 13);
        let width = 3 * heads * d;
        let alone = qkv_values(n, width, 1);
        let qkv = Tensor::from_vec(alone.clone(), (n, width), &Device::Cpu).unwrap();
        let by_itself = attention(&qkv, &[n], heads).unwrap();
        // The same sequence second in a batch padded to 40 rows, beside a longer one.
        let len = 40;
        let mut batch = qkv_values(len, width, 2);
        batch.extend(&alone);
        batch.extend(qkv_values(len - n, width, 3));
        let qkv = Tensor::from_vec(batch, (2 * len, width), &Device::Cpu).unwrap();
        let in_batch = attention(&qkv, &[len, n], heads).unwrap();
        let a = by_itself.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = in_batch
            .narrow(0, len, n)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a, b, "the same bits, whatever the padding");
    }

    #[test]
    fn mean_pool_averages_real_rows_only() {
        let hidden = Tensor::from_vec(
            vec![
                1.0f32, 2.0, 3.0, 4.0, 100.0, 100.0, 5.0, 6.0, 9.0, 9.0, 9.0, 9.0,
            ],
            (2, 3, 2),
            &Device::Cpu,
        )
        .unwrap();
        let pooled = mean_pool(&hidden, &[2, 1])
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(pooled, vec![vec![2.0, 3.0], vec![5.0, 6.0]]);
        let empty = mean_pool(&hidden, &[0, 3])
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(empty[0], vec![0.0, 0.0]);
    }

    #[test]
    fn add_layer_norm_matches_candle() {
        let (rows, width) = (90, 384);
        let y = Tensor::from_vec(qkv_values(rows, width, 5), (rows, width), &Device::Cpu).unwrap();
        let x = Tensor::from_vec(qkv_values(rows, width, 9), (rows, width), &Device::Cpu).unwrap();
        let weight: Vec<f32> = (0..width).map(|i| 0.5 + (i % 7) as f32 / 10.0).collect();
        let bias: Vec<f32> = (0..width).map(|i| (i % 5) as f32 / 10.0 - 0.2).collect();
        let ours = add_layer_norm(&y, &x, &weight, &bias, 1e-12).unwrap();
        let norm = candle_nn::LayerNorm::new(
            Tensor::new(weight.as_slice(), &Device::Cpu).unwrap(),
            Tensor::new(bias.as_slice(), &Device::Cpu).unwrap(),
            1e-12,
        );
        let theirs = candle_core::Module::forward(&norm, &(&y + &x).unwrap()).unwrap();
        let diff = max_abs_diff(&ours, &theirs);
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn tanh_is_accurate() {
        let mut worst = 0f64;
        for i in -20_000..=20_000 {
            let x = i as f32 / 1000.0;
            worst = worst.max((tanh(x) as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst < 1e-6, "max error {worst}");
    }

    #[test]
    fn gelu_tanh_gated_matches_candle() {
        let (rows, width) = (70, 600);
        let values: Vec<f32> = (0..rows * 2 * width)
            .map(|i| ((i * 7919 % 10_007) as f32 - 5003.0) / 700.0)
            .collect();
        let x = Tensor::from_vec(values, (rows, 2 * width), &Device::Cpu).unwrap();
        let ours = gelu_tanh_gated(&x).unwrap();
        let gate = x.narrow(1, 0, width).unwrap();
        let up = x.narrow(1, width, width).unwrap();
        let theirs = (gate.gelu().unwrap() * up).unwrap();
        assert_eq!(ours.dims(), &[rows, width]);
        let scale = theirs
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let diff = max_abs_diff(&ours, &theirs);
        assert!(
            diff <= 2e-6 * scale.max(1.0),
            "{diff} (largest value {scale})"
        );
    }

    #[test]
    fn windowed_softmax_matches_an_explicit_mask() {
        let (batch, heads, len, window) = (2, 3, 9, 3);
        let values: Vec<f32> = (0..batch * heads * len * len)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 3.0)
            .collect();
        let scores = Tensor::from_vec(values, (batch, heads, len, len), &Device::Cpu).unwrap();
        let lengths = [9, 6];
        let ours = masked_softmax(&scores, 0.5, &lengths, heads, Some(window)).unwrap();
        let mut mask = vec![f32::NEG_INFINITY; batch * len * len];
        for (b, &n) in lengths.iter().enumerate() {
            for i in 0..len {
                for j in 0..n {
                    // Padded queries still see something (their output is never used).
                    if i.abs_diff(j) < window || (i >= n && j == n - 1) {
                        mask[(b * len + i) * len + j] = 0.0;
                    }
                }
            }
        }
        let mask = Tensor::from_vec(mask, (batch, 1, len, len), &Device::Cpu).unwrap();
        let theirs = candle_nn::ops::softmax_last_dim(
            &(scores * 0.5).unwrap().broadcast_add(&mask).unwrap(),
        )
        .unwrap();
        // Compare the rows of real queries only.
        for (b, &n) in lengths.iter().enumerate() {
            let a = ours.get(b).unwrap().narrow(1, 0, n).unwrap();
            let t = theirs.get(b).unwrap().narrow(1, 0, n).unwrap();
            assert!(max_abs_diff(&a, &t) < 1e-6);
        }
    }
}
