//! Matrix products with bfloat16 inputs and f32 sums, for CPUs with AVX512-BF16.
//!
//! `vdpbf16ps` does 32 multiply-adds per instruction, twice what an f32 FMA does, and the
//! products of two bf16 values are exact in f32: the only loss is rounding each input to
//! 8 significant bits. Weights are rounded and packed once at load ([`PackedBf16::pack`]),
//! activations at every call. On EmbeddingGemma the final embeddings keep a cosine of
//! at least 0.99998 to the float64 reference (`tests/golden_gemma.rs`).
//!
//! Layout: the output columns are cut into panels of [`NR`]; a panel stores, for each pair
//! of input rows `(2p, 2p+1)`, one `u32` per column holding both bf16 values (the even
//! row in the low half), which is the pair `vdpbf16ps` multiplies lane by lane. The
//! microkernel keeps [`MR`] × [`NR`] sums in sixteen registers.

use std::mem::MaybeUninit;

use super::split::{checked_rows, split, OutPtr, Packed};

/// Output columns per panel: two registers of 16 f32.
const NR: usize = 32;
/// Rows per microkernel call.
const MR: usize = 8;
/// Rows converted to bf16 and reused across every panel before moving on (fits in L2).
const MC: usize = 128;

/// Whether this CPU runs [`PackedBf16`].
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// f32 to bf16 bits, rounded to nearest even (as `vcvtne2ps2bf16` does).
fn bf16_bits(x: f32) -> u32 {
    half::bf16::from_f32(x).to_bits() as u32
}

/// The right-hand matrix `W` `[inputs, outputs]` of `a · W`, rounded to bf16 and packed
/// for the kernel.
pub struct PackedBf16 {
    inputs: usize,
    outputs: usize,
    /// Input rows taken two at a time (the last pair is padded with a zero row).
    pairs: usize,
    data: Vec<u32>,
}

impl PackedBf16 {
    /// Packs `weight`, row-major `[outputs, inputs]` as checkpoints store it (so the two
    /// inputs of a pair are neighbours); `None` when the CPU lacks AVX512-BF16. The panels
    /// are packed on all cores: on one, packing took a quarter of a cold Gemma `ask`.
    pub fn pack(weight: &[f32], inputs: usize, outputs: usize) -> Option<Self> {
        if !supported() || weight.len() != inputs * outputs {
            return None;
        }
        let pairs = inputs.div_ceil(2);
        let panels = outputs.div_ceil(NR);
        let mut data = vec![0u32; panels * pairs * NR];
        let pack_panel = |panel: usize, slots: &mut [u32]| {
            for (lane, col) in (panel * NR..outputs.min((panel + 1) * NR)).enumerate() {
                let row = &weight[col * inputs..(col + 1) * inputs];
                for (pair, two) in row.chunks(2).enumerate() {
                    let high = two.get(1).map_or(0, |&x| bf16_bits(x));
                    slots[pair * NR + lane] = bf16_bits(two[0]) | high << 16;
                }
            }
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = panels.div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for (i, part) in data.chunks_mut(per * pairs * NR).enumerate() {
                let pack_panel = &pack_panel;
                scope.spawn(move || {
                    for (j, slots) in part.chunks_mut(pairs * NR).enumerate() {
                        pack_panel(i * per + j, slots);
                    }
                });
            }
        });
        Some(PackedBf16 {
            inputs,
            outputs,
            pairs,
            data,
        })
    }

    /// `out = a · W`, plus `bias` on every row, `a` row-major `[rows, inputs]`, `out`
    /// `[rows, outputs]`, which may start uninitialised: every value is written. The work
    /// is split across the cores by rows, or by panels when there are few rows.
    ///
    /// # Panics
    /// As `split::checked_rows`.
    pub fn matmul_biased(&self, a: &[f32], bias: Option<&[f32]>, out: &mut [MaybeUninit<f32>]) {
        self.run(a, bias, out.len(), OutPtr(out.as_mut_ptr().cast()));
    }

    /// `matmul_biased` without a bias, into initialised values (for the tests).
    #[cfg(test)]
    pub fn matmul(&self, a: &[f32], out: &mut [f32]) {
        self.run(a, None, out.len(), OutPtr(out.as_mut_ptr()));
    }

    /// The product into the `len` values at `out`.
    fn run(&self, a: &[f32], bias: Option<&[f32]>, len: usize, out: OutPtr) {
        let rows = checked_rows(Self::NAME, (self.inputs, self.outputs), a, len, bias);
        let panels = self.outputs.div_ceil(NR);
        let work = rows * self.inputs * self.outputs;
        split(rows, panels, work, MR, MC / 2, |rows, panels| {
            // SAFETY: `PackedBf16` exists only where `supported()` held (so on x86-64,
            // where this writes every value); `out` holds `rows × outputs` values, and
            // `split` gives every call a distinct block of them (disjoint rows or panels).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                x86::product(self, a, rows, panels, out)
            }
        });
        if let Some(bias) = bias {
            // SAFETY: the kernel wrote all `len` values above, and the threads are done.
            let out = unsafe { std::slice::from_raw_parts_mut(out.0, len) };
            for row in out.chunks_exact_mut(self.outputs) {
                for (o, b) in row.iter_mut().zip(bias) {
                    *o += b;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{OutPtr, PackedBf16, MC, MR, NR};
    use std::arch::x86_64::*;
    use std::ops::Range;

    /// Rows `rows` × panels `panels` of the product into `out`.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX512-BF16; `a` holds at least `rows.end` rows of
    /// `w.inputs` values; `out` points at `rows.end × w.outputs` writable values, and no
    /// other thread writes the block `rows` × `panels` of it while this runs.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn product(
        w: &PackedBf16,
        a: &[f32],
        rows: Range<usize>,
        panels: Range<usize>,
        out: OutPtr,
    ) {
        let pairs = w.pairs;
        let mut block = vec![0u32; MC * pairs];
        let mut start = rows.start;
        while start < rows.end {
            let count = MC.min(rows.end - start);
            for r in 0..count {
                let row = &a[(start + r) * w.inputs..(start + r + 1) * w.inputs];
                convert_row(row, &mut block[r * pairs..(r + 1) * pairs]);
            }
            for panel in panels.clone() {
                let b = &w.data[panel * pairs * NR..(panel + 1) * pairs * NR];
                let cols = NR.min(w.outputs - panel * NR);
                let mut r = 0;
                while r < count {
                    let a = &block[r * pairs..count * pairs];
                    let c = Tile {
                        // SAFETY: row `start + r` is below `rows.end` and column
                        // `panel · NR` below `w.outputs`, so the offset lies inside `out`.
                        ptr: unsafe { out.0.add((start + r) * w.outputs + panel * NR) },
                        stride: w.outputs,
                        cols,
                    };
                    // SAFETY: the CPU features are this function's own; `a` holds
                    // `count - r` rows (at least the kernel's `ROWS`) of `pairs` values and
                    // `b` one whole panel; `c` starts at row `start + r` of this block,
                    // which has `count - r` rows left and is written by this call only.
                    unsafe {
                        match count - r {
                            n if n >= MR => kernel::<MR>(a, pairs, b, c),
                            7 => kernel::<7>(a, pairs, b, c),
                            6 => kernel::<6>(a, pairs, b, c),
                            5 => kernel::<5>(a, pairs, b, c),
                            4 => kernel::<4>(a, pairs, b, c),
                            3 => kernel::<3>(a, pairs, b, c),
                            2 => kernel::<2>(a, pairs, b, c),
                            _ => kernel::<1>(a, pairs, b, c),
                        }
                    }
                    r += MR;
                }
            }
            start += count;
        }
    }

    /// Where a kernel writes its rows: `cols` (≤ `NR`) columns from `ptr`, rows `stride`
    /// apart.
    #[derive(Clone, Copy)]
    struct Tile {
        ptr: *mut f32,
        stride: usize,
        cols: usize,
    }

    /// One row of f32 into bf16 pairs (a zero pads an odd length); `pairs` holds
    /// `row.len().div_ceil(2)` slots.
    #[target_feature(enable = "avx512f,avx512bf16")]
    fn convert_row(row: &[f32], pairs: &mut [u32]) {
        let chunks = (row.len() / 32).min(pairs.len() / 16);
        for i in 0..chunks {
            // SAFETY: `i < chunks` keeps the 32 floats read inside `row` and the 16 words
            // written inside `pairs`; unaligned loads and stores are allowed. The transmute
            // reinterprets one 512-bit vector as another.
            unsafe {
                let lo = _mm512_loadu_ps(row.as_ptr().add(32 * i));
                let hi = _mm512_loadu_ps(row.as_ptr().add(32 * i + 16));
                let packed: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                _mm512_storeu_si512(pairs.as_mut_ptr().add(16 * i).cast(), packed);
            }
        }
        for (p, slot) in pairs.iter_mut().enumerate().skip(16 * chunks) {
            let lo = row.get(2 * p).map_or(0, |&x| super::bf16_bits(x));
            let hi = row.get(2 * p + 1).map_or(0, |&x| super::bf16_bits(x));
            *slot = lo | hi << 16;
        }
    }

    /// `ROWS` rows of bf16 pairs (`pairs` apart, from the start of `a`) times one packed
    /// panel `b`, written to `c`.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX512-BF16; `a` holds at least `ROWS × pairs` values and
    /// `b` exactly `pairs × NR`; `c` has room for `ROWS` rows of `c.cols` values,
    /// `c.stride` apart, that no other thread writes while this runs.
    #[target_feature(enable = "avx512f,avx512bf16")]
    #[inline]
    unsafe fn kernel<const ROWS: usize>(a: &[u32], pairs: usize, b: &[u32], c: Tile) {
        debug_assert!(a.len() >= ROWS * pairs && b.len() == pairs * NR);
        let (a, b) = (a.as_ptr(), b.as_ptr());
        let mut sums = [[_mm512_setzero_ps(); 2]; ROWS];
        for p in 0..pairs {
            // SAFETY: `p < pairs` keeps the two 16-word loads inside the panel and the word
            // read from `a` inside its `ROWS × pairs` values (caller's promise); the
            // transmutes reinterpret 512-bit vectors.
            unsafe {
                let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(p * NR).cast()));
                let b1: __m512bh =
                    std::mem::transmute(_mm512_loadu_si512(b.add(p * NR + 16).cast()));
                for (r, sum) in sums.iter_mut().enumerate() {
                    let x: __m512bh =
                        std::mem::transmute(_mm512_set1_epi32(*a.add(r * pairs + p) as i32));
                    sum[0] = _mm512_dpbf16_ps(sum[0], x, b0);
                    sum[1] = _mm512_dpbf16_ps(sum[1], x, b1);
                }
            }
        }
        let (m0, m1) = if c.cols >= NR {
            (u16::MAX, u16::MAX)
        } else {
            let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
            (mask(c.cols), mask(c.cols.saturating_sub(16)))
        };
        for (r, sum) in sums.iter().enumerate() {
            // SAFETY: row `r < ROWS` of the tile is the caller's to write; the masks keep
            // the stores to its first `c.cols` columns.
            unsafe {
                let row = c.ptr.add(r * c.stride);
                _mm512_mask_storeu_ps(row, m0, sum[0]);
                _mm512_mask_storeu_ps(row.add(16), m1, sum[1]);
            }
        }
    }
}

// SAFETY: `matmul_biased` writes every value of `out`: its kernels store every row and
// column of the blocks `split` hands them, which cover the whole output.
unsafe impl Packed for PackedBf16 {
    const NAME: &'static str = "akapit-bf16-matmul";

    fn inputs(&self) -> usize {
        self.inputs
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    fn matmul(&self, a: &[f32], bias: Option<&[f32]>, out: &mut [MaybeUninit<f32>]) {
        PackedBf16::matmul_biased(self, a, bias, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(x: f32) -> f32 {
        half::bf16::from_f32(x).to_f32()
    }

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// The product of the bf16-rounded inputs in f64; `w` is `[outputs, inputs]`.
    fn reference(a: &[f32], w: &[f32], rows: usize, inputs: usize, outputs: usize) -> Vec<f32> {
        let mut out = vec![0f32; rows * outputs];
        for r in 0..rows {
            for c in 0..outputs {
                let sum: f64 = (0..inputs)
                    .map(|k| round(a[r * inputs + k]) as f64 * round(w[c * inputs + k]) as f64)
                    .sum();
                out[r * outputs + c] = sum as f32;
            }
        }
        out
    }

    /// `build.rs` reads the CPU's flags from `/proc/cpuinfo`, independently of `supported()`.
    const REBUILD: &str = "the CPU differs from the one akapit's tests were built on \
        (build.rs read /proc/cpuinfo); rebuild them here with `cargo clean -p akapit`";

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avx512bf16),
        ignore = "this CPU has no AVX512-BF16 (build.rs read /proc/cpuinfo)"
    )]
    fn products_match_the_rounded_inputs_for_every_shape_edge() {
        assert!(supported(), "{REBUILD}");
        // Odd inputs, partial panels, row tails of every length, more rows than a block,
        // and enough work to use both the row and the panel split across threads.
        for (rows, inputs, outputs) in [
            (1, 1, 1),
            (3, 7, 5),
            (9, 33, 40),
            (17, 64, 96),
            (130, 70, 33),
            (7, 768, 1280),
            (300, 96, 64),
            (1000, 64, 100),
        ] {
            let a = values(rows * inputs, 1);
            let w = values(outputs * inputs, 2);
            let packed = PackedBf16::pack(&w, inputs, outputs).expect("supported");
            let mut out = vec![f32::NAN; rows * outputs];
            packed.matmul(&a, &mut out);
            let want = reference(&a, &w, rows, inputs, outputs);
            for (i, (got, want)) in out.iter().zip(&want).enumerate() {
                // Exact products, f32 sums in another order.
                let tolerance = 1e-5 * (inputs as f32).sqrt().max(1.0);
                assert!(
                    (got - want).abs() <= tolerance,
                    "{rows}x{inputs}x{outputs} at {i}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avx512bf16),
        ignore = "this CPU has no AVX512-BF16 (build.rs read /proc/cpuinfo)"
    )]
    fn the_bias_lands_on_every_value_of_an_output_that_was_not_zeroed() {
        assert!(supported(), "{REBUILD}");
        for (rows, inputs, outputs) in [(1, 1, 1), (9, 33, 40), (130, 70, 33), (1000, 64, 100)] {
            let w = values(outputs * inputs, 4);
            let packed = PackedBf16::pack(&w, inputs, outputs).expect("supported");
            let (a, bias) = (values(rows * inputs, 3), values(outputs, 5));
            crate::embed::ops::split::assert_bias_lands_on_every_value(&packed, &a, &bias);
        }
    }

    #[test]
    #[cfg_attr(
        akapit_cpu_avx512bf16,
        ignore = "this CPU has AVX512-BF16 (build.rs read /proc/cpuinfo)"
    )]
    fn without_avx512_bf16_nothing_is_packed() {
        assert!(!supported(), "{REBUILD}");
        assert!(PackedBf16::pack(&values(12, 1), 3, 4).is_none());
    }
}
