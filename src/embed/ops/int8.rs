//! Matrix products in 8-bit integers. Weights are quantised once at load, per output column
//! and group of [`GROUP`] inputs; activations at every call, per row and group (one scale
//! per row let the few large dimensions of a layer norm's output make all the others
//! coarse: e5's queries kept a cosine of only 0.9983 to f32, against 0.9997 with groups of
//! 64; groups of 32 also keep e5's retrieval within 0.0034 nDCG@10 of f32 on every eval
//! set, where 64 lost 0.0082 on one). Products are summed exactly in i32 within a group,
//! then scaled into f32 sums.
//! Activations round to ±127 and are stored offset by 128 (`q ^ 0x80`), as both kernels
//! multiply an unsigned byte by a signed one; 128 times each group's weight sum, kept per
//! column, is subtracted from its sums again.
//!
//! Kernels, chosen at run time ([`Kernel::detect`]):
//! - **AVX512-VNNI** (`vpdpbusd` on 512 bits: 64 multiply-adds into i32 per instruction),
//!   with weights rounded to ±127.
//! - **AVX-VNNI** (the same instruction on 256 bits, VEX-encoded: Intel's laptop and
//!   desktop CPUs since Alder Lake, AMD's since Zen 5), with weights rounded to ±127: the
//!   AVX2 kernel with one instruction in place of its three.
//! - **AVX2** (`vpmaddubsw`, then `vpmaddwd` by ones into i32, as ONNX Runtime's AVX2
//!   kernels do): two products go into one 16-bit sum first, so weights round to ±63, where
//!   two products of at most 255 · 63 cannot saturate it. Three instructions per 32
//!   multiply-adds, two of them multiplications, against one FMA per 8 in f32. The
//!   coarser weights cost little because their scales are per group (e5's golden texts:
//!   worst cosine to f32 0.99974 with groups of 32; 0.99963 with 64, as with ±127 per
//!   whole column).
//!
//! The kernels differ only in the weights' rounding (the two VNNI ones not even in that):
//! each sums its integers exactly, so a kernel gives the same numbers whatever the thread
//! split or the row tiling.
//!
//! Layout: the output columns are cut into panels of [`NR`]; for each group of four
//! inputs (a quad) a panel stores four weights per column side by side, which is what
//! both instructions multiply lane by lane.

use std::mem::MaybeUninit;

use super::split::{checked_rows, split, OutPtr, Packed};

/// Output columns per panel: two 512-bit registers of 16 i32 sums.
const NR: usize = 32;
/// Bytes of one quad of a panel: four weights for each of its columns.
const QUAD: usize = NR * 4;
/// Rows quantised together and reused across every panel before moving on.
const MC: usize = 128;
/// Inputs that share one activation scale; a multiple of 8 (`quantise_group` rounds
/// eight at a time).
pub const GROUP: usize = 32;
/// Quads per group.
const GROUP_QUADS: usize = GROUP / 4;
/// The largest activation magnitude after rounding (stored offset by 128 in a byte).
const ACTIVATION_LEVELS: f32 = 127.0;
/// Rows per call of the AVX512-VNNI kernel (12 integer and 12 float accumulators) and of
/// the 256-bit ones (8 and 8, over half a panel).
const MR_VNNI: usize = 6;
const MR_AVX2: usize = 4;
/// How many quads ahead the AVX2 kernel asks for a panel's weights (both cache lines of a
/// quad, so the second half's pass finds them too). A question has few rows, so each panel
/// comes from memory once per product and the kernel waited on its first load: a quarter of
/// the product's samples. 8 quads (1 KiB) ahead cut 400 questions' time by 15% on Zen 3;
/// 16 was no better.
const PREFETCH: usize = 8;

/// Which integer dot products a product runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Avx512Vnni,
    AvxVnni,
    Avx2,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512Vnni => "avx512-vnni",
            Kernel::AvxVnni => "avx-vnni",
            Kernel::Avx2 => "avx2",
        }
    }

    /// Every kernel, fastest first.
    pub const ALL: [Kernel; 3] = [Kernel::Avx512Vnni, Kernel::AvxVnni, Kernel::Avx2];

    /// The fastest kernel this CPU runs, if any. `AKAPIT_INT8_KERNEL=avx2` (or another
    /// kernel's name) picks a slower kernel on a CPU that has more, to measure what a laptop
    /// with less gets; a name this CPU cannot run is ignored.
    pub fn detect() -> Option<Kernel> {
        let forced = std::env::var("AKAPIT_INT8_KERNEL").ok();
        let chosen = Kernel::ALL
            .into_iter()
            .find(|k| k.runs_here() && forced.as_deref() == Some(k.name()));
        chosen.or_else(|| Kernel::ALL.into_iter().find(|k| k.runs_here()))
    }

    /// The largest weight magnitude after rounding. `vpmaddubsw` adds two products of an
    /// unsigned activation (up to 255) and a signed weight into 16 bits, which 7-bit
    /// weights (±63) cannot overflow; `vpdpbusd` sums into 32 bits and takes 8-bit ones.
    fn weight_levels(self) -> f32 {
        match self {
            Kernel::Avx512Vnni | Kernel::AvxVnni => 127.0,
            Kernel::Avx2 => 63.0,
        }
    }

    /// Whether this CPU runs `self`.
    fn runs_here(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            avx2 && match self {
                Kernel::Avx2 => true,
                Kernel::AvxVnni => is_x86_feature_detected!("avxvnni"),
                Kernel::Avx512Vnni => {
                    is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vnni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }
}

/// Rounds `x · inverse` to the nearest integer (ties to even) within ±127.
#[inline(always)]
fn quantise(x: f32, inverse: f32) -> i8 {
    // Adding and removing 1.5 · 2^23 rounds to nearest (`round` is a libm call here).
    const ROUND: f32 = 12_582_912.0;
    let v = ((x * inverse).clamp(-ACTIVATION_LEVELS, ACTIVATION_LEVELS) + ROUND) - ROUND;
    v as i32 as i8
}

/// The scale of a group whose largest magnitude is `max`, and its inverse: 0 for an all-zero
/// group, or one so small (below 1e-30) that the inverse would overflow, or one holding an
/// infinity; such a group then adds nothing.
fn scale_of(max: f32, levels: f32) -> (f32, f32) {
    if max >= 1e-30 && max.is_finite() {
        (max / levels, levels / max)
    } else {
        (0.0, 0.0)
    }
}

/// The right-hand matrix `W` `[inputs, outputs]` of `a · W`, quantised and packed.
pub struct PackedI8 {
    inputs: usize,
    outputs: usize,
    /// Inputs taken four at a time (the last quad padded with zero weights).
    quads: usize,
    /// panels × quads × `QUAD` bytes.
    data: Vec<i8>,
    /// Per panel, group and column: the weight scale of the column's inputs in that group.
    scales: Vec<f32>,
    /// Groups of inputs, each with its own activation scale.
    groups: usize,
    /// Per panel, group and column: 128 × the sum of the group's quantised weights, which
    /// the kernels' offset activations add to the group's sums.
    offsets: Vec<i32>,
    kernel: Kernel,
}

impl PackedI8 {
    /// Quantises and packs `weight`, row-major `[outputs, inputs]` as checkpoints store it,
    /// for the fastest kernel this CPU runs; `None` when it runs none.
    pub fn pack(weight: &[f32], inputs: usize, outputs: usize) -> Option<Self> {
        Self::pack_for(Kernel::detect()?, weight, inputs, outputs)
    }

    /// `pack` for a given kernel; `None` when this CPU cannot run it or the sizes are wrong.
    pub fn pack_for(kernel: Kernel, weight: &[f32], inputs: usize, outputs: usize) -> Option<Self> {
        if !kernel.runs_here() || weight.len() != inputs * outputs || inputs == 0 {
            return None;
        }
        let quads = inputs.div_ceil(4);
        let groups = inputs.div_ceil(GROUP);
        let panels = outputs.div_ceil(NR);
        let mut data = vec![0i8; panels * quads * QUAD];
        let mut scales = vec![0f32; panels * groups * NR];
        let mut offsets = vec![0i32; panels * groups * NR];
        let pack_panel =
            |panel: usize, slots: &mut [i8], scales: &mut [f32], offsets: &mut [i32]| {
                for (lane, col) in (panel * NR..outputs.min((panel + 1) * NR)).enumerate() {
                    let row = &weight[col * inputs..(col + 1) * inputs];
                    for (g, part) in row.chunks(GROUP).enumerate() {
                        let max = part.iter().fold(0f32, |m, x| m.max(x.abs()));
                        let (scale, inverse) = scale_of(max, kernel.weight_levels());
                        scales[g * NR + lane] = scale;
                        for (i, &x) in part.iter().enumerate() {
                            let (k, q) = (g * GROUP + i, quantise(x, inverse));
                            offsets[g * NR + lane] += 128 * i32::from(q);
                            slots[(k / 4) * QUAD + lane * 4 + k % 4] = q;
                        }
                    }
                }
            };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = panels.div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let parts = data
                .chunks_mut(per * quads * QUAD)
                .zip(scales.chunks_mut(per * groups * NR))
                .zip(offsets.chunks_mut(per * groups * NR));
            for (i, ((part, scales), offsets)) in parts.enumerate() {
                let pack_panel = &pack_panel;
                scope.spawn(move || {
                    let panels = part
                        .chunks_mut(quads * QUAD)
                        .zip(scales.chunks_mut(groups * NR))
                        .zip(offsets.chunks_mut(groups * NR));
                    for (j, ((slots, scales), offsets)) in panels.enumerate() {
                        pack_panel(i * per + j, slots, scales, offsets);
                    }
                });
            }
        });
        Some(PackedI8 {
            inputs,
            outputs,
            quads,
            data,
            scales,
            groups,
            offsets,
            kernel,
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
        split(rows, panels, work, MR_VNNI, MC / 2, |rows, panels| {
            // SAFETY: `PackedI8` exists only where its kernel's CPU features were found
            // (so on x86-64, where this writes every value); `out` holds `rows × outputs`
            // values, and `split` gives every call a distinct block of them.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                x86::product(self, a, bias, rows, panels, out)
            }
        });
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{
        quantise, scale_of, Kernel, OutPtr, PackedI8, ACTIVATION_LEVELS, GROUP, GROUP_QUADS, MC,
        MR_AVX2, MR_VNNI, NR, PREFETCH, QUAD,
    };
    use std::arch::x86_64::*;
    use std::ops::Range;

    /// Rows `rows` × panels `panels` of the product, plus `bias` (one value per output),
    /// into `out`: every value of the block is written.
    ///
    /// # Safety
    /// The CPU runs `w.kernel`; `a` holds at least `rows.end` rows of `w.inputs` values;
    /// `out` points at `rows.end × w.outputs` writable values, and no other thread reads
    /// or writes the block `rows` × `panels` of it while this runs.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product(
        w: &PackedI8,
        a: &[f32],
        bias: Option<&[f32]>,
        rows: Range<usize>,
        panels: Range<usize>,
        out: OutPtr,
    ) {
        let stride = w.quads * 4;
        // Only as many rows as this call has (a question has a few): the buffer is zeroed.
        let held = MC.min(rows.len());
        let mut block = vec![0i8; held * stride];
        let mut row_scales = vec![0f32; held * w.groups];
        let mut start = rows.start;
        while start < rows.end {
            let count = MC.min(rows.end - start);
            for r in 0..count {
                quantise_row(
                    &a[(start + r) * w.inputs..(start + r + 1) * w.inputs],
                    &mut block[r * stride..(r + 1) * stride],
                    &mut row_scales[r * w.groups..(r + 1) * w.groups],
                );
            }
            for panel in panels.clone() {
                let b = &w.data[panel * w.quads * QUAD..(panel + 1) * w.quads * QUAD];
                let groups = w.groups;
                let columns = Columns {
                    scales: &w.scales[panel * groups * NR..(panel + 1) * groups * NR],
                    offsets: &w.offsets[panel * groups * NR..(panel + 1) * groups * NR],
                    count: NR.min(w.outputs - panel * NR),
                };
                let step = match w.kernel {
                    Kernel::Avx512Vnni => MR_VNNI,
                    Kernel::AvxVnni | Kernel::Avx2 => MR_AVX2,
                };
                let mut r = 0;
                while r < count {
                    let rows = Rows {
                        q: &block[r * stride..count * stride],
                        stride,
                        scales: &row_scales[r * groups..count * groups],
                        groups,
                    };
                    let tile = Tile {
                        // SAFETY: row `start + r` is below `rows.end` and column
                        // `panel · NR` below `w.outputs`, so the offset lies inside `out`.
                        ptr: unsafe { out.0.add((start + r) * w.outputs + panel * NR) },
                        stride: w.outputs,
                    };
                    // SAFETY: the kernel's CPU features are the caller's promise; `rows`
                    // holds `count - r` rows (at least the kernel's `ROWS`), `b` one whole
                    // panel; the tile starts at row `start + r`, which has `count - r` rows
                    // left and is written by this call only.
                    unsafe {
                        match w.kernel {
                            Kernel::Avx512Vnni => vnni_rows(&rows, b, &columns, &tile, count - r),
                            Kernel::AvxVnni => avx_vnni_rows(&rows, b, &columns, &tile, count - r),
                            Kernel::Avx2 => avx2_rows(&rows, b, &columns, &tile, count - r),
                        }
                    }
                    r += step;
                }
                if let Some(bias) = bias {
                    // While the block is in the cache.
                    let bias = &bias[panel * NR..][..columns.count];
                    for r in 0..count {
                        // SAFETY: the kernels above wrote these `columns.count` values of
                        // row `start + r`, which lie in this call's block.
                        let row = unsafe {
                            let first = out.0.add((start + r) * w.outputs + panel * NR);
                            std::slice::from_raw_parts_mut(first, bias.len())
                        };
                        for (o, b) in row.iter_mut().zip(bias) {
                            *o += b;
                        }
                    }
                }
            }
            start += count;
        }
    }

    /// Quantised activations: rows of `stride` bytes, and `groups` scales per row.
    struct Rows<'a> {
        q: &'a [i8],
        stride: usize,
        scales: &'a [f32],
        groups: usize,
    }

    /// One panel's columns: weight scales and offsets per group, and how many are real.
    struct Columns<'a> {
        scales: &'a [f32],
        offsets: &'a [i32],
        count: usize,
    }

    /// Where a kernel writes its rows: from `ptr`, `stride` apart.
    struct Tile {
        ptr: *mut f32,
        stride: usize,
    }

    /// One row quantised into `q` (zero-padded to whole quads), each group of `GROUP`
    /// inputs by its own largest magnitude, whose scales go to `scales`; each byte is
    /// stored offset by 128 for the kernels' unsigned operand.
    #[target_feature(enable = "avx2,fma")]
    fn quantise_row(row: &[f32], q: &mut [i8], scales: &mut [f32]) {
        let offset = 0x80u8 as i8;
        for ((group, q), scale) in row.chunks(GROUP).zip(q.chunks_mut(GROUP)).zip(scales) {
            if let (Some(group), Some(q)) = (group.first_chunk(), q.first_chunk_mut()) {
                *scale = quantise_group(group, q);
                continue;
            }
            let max = group.iter().fold(0f32, |m, x| m.max(x.abs()));
            let inverse;
            (*scale, inverse) = scale_of(max, ACTIVATION_LEVELS);
            for (slot, &x) in q.iter_mut().zip(group) {
                *slot = quantise(x, inverse) ^ offset;
            }
        }
        for slot in q.iter_mut().skip(row.len()) {
            *slot = offset;
        }
    }

    /// A whole group quantised as `quantise_row` does, eight values at a time; its scale.
    #[target_feature(enable = "avx2,fma")]
    fn quantise_group(x: &[f32; GROUP], q: &mut [i8; GROUP]) -> f32 {
        let magnitude = _mm256_set1_ps(f32::from_bits(0x7fff_ffff));
        let mut v = [_mm256_setzero_ps(); GROUP / 8];
        let mut max = _mm256_setzero_ps();
        for (i, v) in v.iter_mut().enumerate() {
            // SAFETY: the eight values from `8 · i` lie inside the group.
            *v = unsafe { _mm256_loadu_ps(x.as_ptr().add(8 * i)) };
            // `max_ps` returns its second operand where the first is NaN, as `f32::max`
            // ignores NaN.
            max = _mm256_max_ps(_mm256_and_ps(*v, magnitude), max);
        }
        let half = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
        let half = _mm_max_ps(half, _mm_movehl_ps(half, half));
        let max = _mm_cvtss_f32(_mm_max_ss(half, _mm_shuffle_ps(half, half, 1)));
        let (scale, inverse) = scale_of(max, ACTIVATION_LEVELS);
        let inverse = _mm256_set1_ps(inverse);
        let levels = ACTIVATION_LEVELS;
        let (low, high) = (_mm256_set1_ps(-levels), _mm256_set1_ps(levels));
        // `cvtps_epi32` rounds to nearest, ties to even, as `quantise` does.
        let round = |v| _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, low), high));
        // The two packs interleave the 4-value halves of the four vectors; this puts them
        // back in order.
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let flip = _mm256_set1_epi8(0x80u8 as i8);
        for (j, v) in v.chunks_exact(4).enumerate() {
            let r: [__m256i; 4] = std::array::from_fn(|k| round(_mm256_mul_ps(v[k], inverse)));
            let words = [
                _mm256_packs_epi32(r[0], r[1]),
                _mm256_packs_epi32(r[2], r[3]),
            ];
            let bytes = _mm256_packs_epi16(words[0], words[1]);
            let bytes = _mm256_xor_si256(_mm256_permutevar8x32_epi32(bytes, order), flip);
            // SAFETY: the 32 bytes from `32 · j` lie inside the group.
            unsafe { _mm256_storeu_si256(q.as_mut_ptr().add(32 * j).cast(), bytes) };
        }
        scale
    }

    /// The VNNI kernel over up to `MR_VNNI` rows.
    ///
    /// # Safety
    /// As `vnni`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni_rows(a: &Rows, b: &[i8], c: &Columns, t: &Tile, rows: usize) {
        // SAFETY: passed on from the caller, with `ROWS <= rows`.
        unsafe {
            match rows {
                n if n >= MR_VNNI => vnni::<MR_VNNI>(a, b, c, t),
                5 => vnni::<5>(a, b, c, t),
                4 => vnni::<4>(a, b, c, t),
                3 => vnni::<3>(a, b, c, t),
                2 => vnni::<2>(a, b, c, t),
                _ => vnni::<1>(a, b, c, t),
            }
        }
    }

    /// `ROWS` rows of offset activations times one panel `b`, scaled and written to the
    /// tile.
    ///
    /// # Safety
    /// The CPU has AVX-512F, AVX-512BW and AVX512-VNNI; `a` holds at least `ROWS` rows and
    /// their scales, `b` exactly `a.stride / 4 × QUAD` bytes, `c.offsets` and `c.scales`
    /// `a.groups × NR` values each; the tile has room for `ROWS` rows of `c.count` values
    /// that no other thread writes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn vnni<const ROWS: usize>(a: &Rows, b: &[i8], c: &Columns, t: &Tile) {
        let quads = a.stride / 4;
        debug_assert!(a.q.len() >= ROWS * a.stride && b.len() == quads * QUAD);
        debug_assert!(a.scales.len() >= ROWS * a.groups && c.offsets.len() == a.groups * NR);
        debug_assert!(c.scales.len() == a.groups * NR);
        let (ap, bp) = (a.q.as_ptr(), b.as_ptr());
        let mut totals = [[_mm512_setzero_ps(); 2]; ROWS];
        for group in 0..a.groups {
            let mut sums = [[_mm512_setzero_si512(); 2]; ROWS];
            for quad in group * GROUP_QUADS..quads.min((group + 1) * GROUP_QUADS) {
                // SAFETY: `quad < quads` keeps both 64-byte loads inside the panel and
                // each 4-byte read inside its row (caller's promise); unaligned access is
                // allowed.
                unsafe {
                    let b0 = _mm512_loadu_si512(bp.add(quad * QUAD).cast());
                    let b1 = _mm512_loadu_si512(bp.add(quad * QUAD + 64).cast());
                    for (r, sum) in sums.iter_mut().enumerate() {
                        let x = std::ptr::read_unaligned(ap.add(r * a.stride + quad * 4).cast());
                        let x = _mm512_set1_epi32(x);
                        sum[0] = _mm512_dpbusd_epi32(sum[0], x, b0);
                        sum[1] = _mm512_dpbusd_epi32(sum[1], x, b1);
                    }
                }
            }
            // SAFETY: the group's 32 offsets lie inside `c.offsets` (caller's promise).
            let offsets = unsafe {
                let at = c.offsets.as_ptr().add(group * NR);
                [
                    _mm512_loadu_si512(at.cast()),
                    _mm512_loadu_si512(at.add(16).cast()),
                ]
            };
            // SAFETY: the group's 32 scales lie inside `c.scales` (caller's promise).
            let weights = unsafe {
                let at = c.scales.as_ptr().add(group * NR);
                [_mm512_loadu_ps(at), _mm512_loadu_ps(at.add(16))]
            };
            for r in 0..ROWS {
                let scale = _mm512_set1_ps(a.scales[r * a.groups + group]);
                for half in 0..2 {
                    let exact = _mm512_sub_epi32(sums[r][half], offsets[half]);
                    let scale = _mm512_mul_ps(scale, weights[half]);
                    totals[r][half] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scale, totals[r][half]);
                }
            }
        }
        let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
        let masks = [mask(c.count), mask(c.count.saturating_sub(16))];
        for (r, total) in totals.iter().enumerate() {
            for half in 0..2 {
                // SAFETY: row `r < ROWS` of the tile is the caller's to write, and the mask
                // keeps the store to its first `c.count` columns.
                unsafe {
                    let row = t.ptr.add(r * t.stride + 16 * half);
                    _mm512_mask_storeu_ps(row, masks[half], total[half]);
                }
            }
        }
    }

    /// `sum += x · w` by groups of four bytes, `x` unsigned and `w` signed, into i32 lanes:
    /// AVX-VNNI's `vpdpbusd`. Written in assembly because the intrinsic needs its caller
    /// compiled for AVX-VNNI, and a kernel so compiled may use the instruction where its
    /// AVX2 variant has `vpmaddwd` and `vpaddd`, on CPUs that lack it. `{vex}` asks for
    /// the VEX encoding: the EVEX one needs AVX512-VNNI and AVX512-VL.
    ///
    /// # Safety
    /// The CPU has AVX-VNNI.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn vpdpbusd(sum: &mut __m256i, x: __m256i, w: __m256i) {
        // SAFETY: the instruction exists on this CPU (caller's promise) and touches only
        // these three registers.
        unsafe {
            std::arch::asm!(
                "{{vex}} vpdpbusd {sum}, {x}, {w}",
                sum = inout(ymm_reg) *sum,
                x = in(ymm_reg) x,
                w = in(ymm_reg) w,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
    }

    /// The AVX2 kernel over up to `MR_AVX2` rows, one half panel (16 columns) at a time.
    ///
    /// # Safety
    /// As `avx2`, for both halves, with `VNNI` false.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2_rows(a: &Rows, b: &[i8], c: &Columns, t: &Tile, rows: usize) {
        // SAFETY: passed on from the caller.
        unsafe { half_panels::<false>(a, b, c, t, rows) }
    }

    /// The AVX-VNNI kernel: `avx2_rows` with `vpdpbusd`.
    ///
    /// # Safety
    /// As `avx2`, for both halves, with `VNNI` true.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx_vnni_rows(a: &Rows, b: &[i8], c: &Columns, t: &Tile, rows: usize) {
        // SAFETY: passed on from the caller.
        unsafe { half_panels::<true>(a, b, c, t, rows) }
    }

    /// `avx2::<_, VNNI>` over up to `MR_AVX2` rows, one half panel at a time.
    ///
    /// # Safety
    /// As `avx2`, for both halves.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn half_panels<const VNNI: bool>(
        a: &Rows,
        b: &[i8],
        c: &Columns,
        t: &Tile,
        rows: usize,
    ) {
        for half in 0..2 {
            if 16 * half >= c.count {
                break;
            }
            // SAFETY: passed on from the caller, with `ROWS <= rows`.
            unsafe {
                match rows {
                    n if n >= MR_AVX2 => avx2::<MR_AVX2, VNNI>(a, b, half, c, t),
                    3 => avx2::<3, VNNI>(a, b, half, c, t),
                    2 => avx2::<2, VNNI>(a, b, half, c, t),
                    _ => avx2::<1, VNNI>(a, b, half, c, t),
                }
            }
        }
    }

    /// `ROWS` rows of offset activations times the columns `16 · half ..` of panel `b`,
    /// scaled and written to the tile; with `vpdpbusd` where `VNNI`.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA, and AVX-VNNI if `VNNI`; otherwise as `vnni`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn avx2<const ROWS: usize, const VNNI: bool>(
        a: &Rows,
        b: &[i8],
        half: usize,
        c: &Columns,
        t: &Tile,
    ) {
        let quads = a.stride / 4;
        debug_assert!(a.q.len() >= ROWS * a.stride && b.len() == quads * QUAD);
        debug_assert!(a.scales.len() >= ROWS * a.groups && c.offsets.len() == a.groups * NR);
        debug_assert!(c.scales.len() == a.groups * NR);
        let (ap, bp) = (a.q.as_ptr(), b.as_ptr());
        let ones = _mm256_set1_epi16(1);
        let first = 16 * half;
        let mut totals = [[_mm256_setzero_ps(); 2]; ROWS];
        for group in 0..a.groups {
            let mut sums = [[_mm256_setzero_si256(); 2]; ROWS];
            for quad in group * GROUP_QUADS..quads.min((group + 1) * GROUP_QUADS) {
                // SAFETY: as in `vnni`: both 32-byte loads lie inside the panel's quad,
                // and each 4-byte read inside its row; `vpdpbusd` runs only where `VNNI`,
                // on a CPU with AVX-VNNI (caller's promise).
                unsafe {
                    let panel = bp.add(quad * QUAD + 4 * first);
                    // Past the panel's end this asks for bytes it never reads: a prefetch
                    // does not fault.
                    let ahead = bp.wrapping_add((quad + PREFETCH) * QUAD);
                    _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
                    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64).cast());
                    let b0 = _mm256_loadu_si256(panel.cast());
                    let b1 = _mm256_loadu_si256(panel.add(32).cast());
                    for (r, sum) in sums.iter_mut().enumerate() {
                        let x = std::ptr::read_unaligned(ap.add(r * a.stride + quad * 4).cast());
                        let x = _mm256_set1_epi32(x);
                        if VNNI {
                            // The CPU has AVX-VNNI (caller's promise).
                            vpdpbusd(&mut sum[0], x, b0);
                            vpdpbusd(&mut sum[1], x, b1);
                            continue;
                        }
                        // Two products of at most 255 · 63 per 16-bit lane: no saturation.
                        let p0 = _mm256_maddubs_epi16(x, b0);
                        let p1 = _mm256_maddubs_epi16(x, b1);
                        sum[0] = _mm256_add_epi32(sum[0], _mm256_madd_epi16(p0, ones));
                        sum[1] = _mm256_add_epi32(sum[1], _mm256_madd_epi16(p1, ones));
                    }
                }
            }
            // SAFETY: the group's 16 offsets of this half lie inside `c.offsets` (caller's
            // promise).
            let offsets = unsafe {
                let at = c.offsets.as_ptr().add(group * NR + first);
                [
                    _mm256_loadu_si256(at.cast()),
                    _mm256_loadu_si256(at.add(8).cast()),
                ]
            };
            // SAFETY: as the offsets.
            let weights = unsafe {
                let at = c.scales.as_ptr().add(group * NR + first);
                [_mm256_loadu_ps(at), _mm256_loadu_ps(at.add(8))]
            };
            for r in 0..ROWS {
                let scale = _mm256_set1_ps(a.scales[r * a.groups + group]);
                for eighth in 0..2 {
                    let exact = _mm256_sub_epi32(sums[r][eighth], offsets[eighth]);
                    let scale = _mm256_mul_ps(scale, weights[eighth]);
                    let sum = _mm256_cvtepi32_ps(exact);
                    totals[r][eighth] = _mm256_fmadd_ps(sum, scale, totals[r][eighth]);
                }
            }
        }
        let count = c.count.saturating_sub(first).min(16);
        for (r, total) in totals.iter().enumerate() {
            let mut row = [0f32; 16];
            for (eighth, total) in total.iter().enumerate() {
                // SAFETY: the store goes to a local array of 16.
                unsafe { _mm256_storeu_ps(row.as_mut_ptr().add(8 * eighth), *total) };
            }
            // SAFETY: row `r < ROWS` of the tile is the caller's to write; `count` keeps
            // the copy within the panel's real columns.
            unsafe {
                let target = t.ptr.add(r * t.stride + first);
                std::ptr::copy_nonoverlapping(row.as_ptr(), target, count);
            }
        }
    }
}

// SAFETY: `matmul_biased` writes every value of `out`: its kernels store every row and
// column of the blocks `split` hands them, which cover the whole output.
unsafe impl Packed for PackedI8 {
    const NAME: &'static str = "akapit-int8-matmul";

    fn inputs(&self) -> usize {
        self.inputs
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    fn matmul(&self, a: &[f32], bias: Option<&[f32]>, out: &mut [MaybeUninit<f32>]) {
        PackedI8::matmul_biased(self, a, bias, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1), with some scaled up (outliers, as in real
    /// activations).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        crate::embed::ops::compare::values(n, seed, 1.0)
    }

    /// Symmetric rounding to ±127 by its largest magnitude, written independently of the
    /// kernels (but, as they do, multiplying by the inverse scale in f32, so that values
    /// halfway between two integers round alike): the integers and the scale.
    fn rounded(v: &[f32], levels: f32) -> (Vec<i64>, f64) {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        if max == 0.0 {
            return (vec![0; v.len()], 0.0);
        }
        let inverse = levels / max;
        let q = v
            .iter()
            .map(|&x| (x * inverse).round_ties_even().clamp(-levels, levels) as i64)
            .collect();
        (q, f64::from(max / levels))
    }

    /// The product of the rounded inputs (activations by groups of `GROUP` to ±127, the
    /// weights by columns to ±`levels`), summed exactly; `w` is `[outputs, inputs]`.
    /// With each value, the sum of its groups' magnitudes, which bounds the rounding of
    /// their f32 sum.
    fn reference(
        a: &[f32],
        w: &[f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
        levels: f32,
    ) -> Vec<(f64, f64)> {
        let columns: Vec<Vec<_>> = (0..outputs)
            .map(|c| {
                w[c * inputs..(c + 1) * inputs]
                    .chunks(GROUP)
                    .map(|g| rounded(g, levels))
                    .collect()
            })
            .collect();
        let mut out = vec![(0f64, 0f64); rows * outputs];
        for r in 0..rows {
            let row = &a[r * inputs..(r + 1) * inputs];
            let groups: Vec<_> = row.chunks(GROUP).map(|g| rounded(g, 127.0)).collect();
            for (c, column) in columns.iter().enumerate() {
                let (mut total, mut magnitude) = (0f64, 0f64);
                for ((qa, sa), (qw, sw)) in groups.iter().zip(column) {
                    let sum: i64 = qa.iter().zip(qw).map(|(x, y)| x * y).sum();
                    total += sum as f64 * sa * sw;
                    magnitude += (sum as f64 * sa * sw).abs();
                }
                out[r * outputs + c] = (total, magnitude);
            }
        }
        out
    }

    const SHAPES: [(usize, usize, usize); 9] = [
        (1, 1, 1),
        (3, 7, 5),
        (9, 33, 40),
        (17, 64, 96),
        (130, 70, 33),
        (7, 384, 1152),
        (300, 96, 64),
        (1000, 64, 100),
        (2, 1536, 384),
    ];

    /// `build.rs` reads the CPU's flags from `/proc/cpuinfo`, independently of `detect()`.
    const REBUILD: &str = "the CPU differs from the one akapit's tests were built on \
        (build.rs read /proc/cpuinfo); rebuild them here with `cargo clean -p akapit`";

    fn check(kernel: Kernel) {
        assert!(kernel.runs_here(), "{REBUILD}");
        // Odd inputs, partial panels and quads, row tails of every length, more rows than
        // a block, and enough work to split by rows and by panels.
        for (rows, inputs, outputs) in SHAPES {
            let mut a = values(rows * inputs, 1);
            a[..inputs.min(5)].fill(0.0);
            if rows > 1 {
                // An all-zero row.
                a[inputs..2 * inputs].fill(0.0);
            }
            let w = values(outputs * inputs, 2);
            let packed = PackedI8::pack_for(kernel, &w, inputs, outputs).expect("runs here");
            let mut out = vec![f32::NAN; rows * outputs];
            packed.matmul(&a, &mut out);
            let want = reference(&a, &w, rows, inputs, outputs, kernel.weight_levels());
            for (i, (&got, &(want, magnitude))) in out.iter().zip(&want).enumerate() {
                // Exact integer sums; only the scalings and the sum of the groups round.
                let tolerance = 1e-6 * magnitude + 1e-12;
                assert!(
                    (f64::from(got) - want).abs() <= tolerance,
                    "{kernel:?} {rows}x{inputs}x{outputs} at {i}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avx2),
        ignore = "this CPU has no AVX2 (build.rs read /proc/cpuinfo)"
    )]
    fn the_avx2_kernel_sums_the_rounded_inputs_exactly() {
        check(Kernel::Avx2);
    }

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avx512vnni),
        ignore = "this CPU has no AVX512-VNNI (build.rs read /proc/cpuinfo)"
    )]
    fn the_vnni_kernel_sums_the_rounded_inputs_exactly() {
        check(Kernel::Avx512Vnni);
    }

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avxvnni),
        ignore = "this CPU has no AVX-VNNI (build.rs read /proc/cpuinfo)"
    )]
    fn the_avx_vnni_kernel_sums_the_rounded_inputs_exactly() {
        check(Kernel::AvxVnni);
    }

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avx2),
        ignore = "this CPU has no AVX2 (build.rs read /proc/cpuinfo)"
    )]
    fn the_bias_lands_on_every_value_of_an_output_that_was_not_zeroed() {
        assert!(Kernel::detect().is_some(), "{REBUILD}");
        for kernel in Kernel::ALL {
            if !kernel.runs_here() {
                continue;
            }
            for (rows, inputs, outputs) in SHAPES {
                let w = values(outputs * inputs, 4);
                let packed = PackedI8::pack_for(kernel, &w, inputs, outputs).unwrap();
                let (a, bias) = (values(rows * inputs, 3), values(outputs, 5));
                crate::embed::ops::split::assert_bias_lands_on_every_value(&packed, &a, &bias);
            }
        }
    }

    #[test]
    #[cfg_attr(
        not(akapit_cpu_avx2),
        ignore = "this CPU has no AVX2 (build.rs read /proc/cpuinfo)"
    )]
    fn the_product_is_close_to_the_f32_one() {
        assert!(Kernel::detect().is_some(), "{REBUILD}");
        for kernel in Kernel::ALL {
            if kernel.runs_here() {
                close_to_f32(kernel);
            }
        }
    }

    fn close_to_f32(kernel: Kernel) {
        let (rows, inputs, outputs) = (16, 384, 384);
        let a = values(rows * inputs, 5);
        let w = values(outputs * inputs, 6);
        let packed = PackedI8::pack_for(kernel, &w, inputs, outputs).unwrap();
        let mut out = vec![0f32; rows * outputs];
        packed.matmul(&a, &mut out);
        for r in 0..rows {
            let exact: Vec<f32> = (0..outputs)
                .map(|c| {
                    (0..inputs)
                        .map(|k| a[r * inputs + k] * w[c * inputs + k])
                        .sum()
                })
                .collect();
            let got = &out[r * outputs..(r + 1) * outputs];
            let dot: f32 = exact.iter().zip(got).map(|(x, y)| x * y).sum();
            let norms = exact.iter().map(|x| x * x).sum::<f32>().sqrt()
                * got.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(dot / norms > 0.999, "row {r}: cosine {}", dot / norms);
        }
    }
}
