//! How a packed matrix product is shared among the cores: by blocks of rows when there are
//! many rows, by panels of output columns when there are few (a single question), and not
//! at all when the product is too small to pay for a thread; and how it runs, with its bias,
//! as a candle op.
//! The parts run on rayon's global pool, where candle runs its own ops: its workers are
//! already awake between the ops of a layer, while a thread started per product cost a
//! question more than its arithmetic (and competed with those workers for the cores).

use std::mem::MaybeUninit;
use std::ops::Range;

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape};
use rayon::prelude::*;

/// A product whose weights were packed once at load (`super::int8`, `super::bf16`).
///
/// # Safety
/// `matmul` must write every value of `out` (or panic): `Product` hands it uninitialised
/// memory and then takes all of it as the output.
pub(crate) unsafe trait Packed: Sync {
    const NAME: &'static str;
    fn inputs(&self) -> usize;
    fn outputs(&self) -> usize;
    /// `out = a · W`, plus `bias` on every row, `a` `[rows, inputs]`, `out`
    /// `[rows, outputs]`. Writes every value of `out`, which may start uninitialised.
    fn matmul(&self, a: &[f32], bias: Option<&[f32]>, out: &mut [MaybeUninit<f32>]);
}

/// A packed product and its bias as one candle op: the kernels add the bias to each block
/// of the output as they finish it, into a buffer that is not zeroed first (zeroing it and
/// adding the bias in a pass of its own were 4% and 2.5% of e5's time on passages).
pub(crate) struct Product<'a, P> {
    pub(crate) packed: &'a P,
    pub(crate) bias: Option<&'a [f32]>,
}

impl<P: Packed> CustomOp1 for Product<'_, P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (inputs, outputs) = (self.packed.inputs(), self.packed.outputs());
        let a = super::kernels::contiguous_f32(storage, layout, P::NAME)?;
        let (rows, found) = layout.shape().dims2()?;
        if found != inputs {
            bail!("{}: {found} inputs, the weights take {inputs}", P::NAME);
        }
        if let Some(bias) = self.bias {
            if bias.len() != outputs {
                bail!(
                    "{}: a bias of {} for {outputs} outputs",
                    P::NAME,
                    bias.len()
                );
            }
        }
        let len = rows * outputs;
        let mut out = Vec::with_capacity(len);
        self.packed
            .matmul(a, self.bias, &mut out.spare_capacity_mut()[..len]);
        // SAFETY: `Packed::matmul` writes every value of the slice it is given (the trait's
        // contract; the products' tests start from an output of NaN and check every value).
        unsafe { out.set_len(len) };
        Ok((CpuStorage::F32(out), Shape::from((rows, outputs))))
    }
}

/// The rows of `a` for the product `name` of `inputs` into `outputs`, written to `len`
/// values, plus `bias`.
///
/// # Panics
/// When `a` is not whole rows, `len` is not their size or `bias` is not one value per
/// output: the kernels write through raw pointers, so the sizes are checked in release
/// builds too.
pub(crate) fn checked_rows(
    name: &str,
    (inputs, outputs): (usize, usize),
    a: &[f32],
    len: usize,
    bias: Option<&[f32]>,
) -> usize {
    let rows = a.len() / inputs.max(1);
    assert!(
        a.len() == rows * inputs && len == rows * outputs,
        "{name}: {} inputs and {len} outputs for {rows} rows of {inputs}",
        a.len()
    );
    assert!(
        bias.is_none_or(|b| b.len() == outputs),
        "{name}: a bias of the wrong size for {outputs} outputs"
    );
    rows
}

/// The output buffer, shared by threads that write disjoint blocks of it.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub(crate) *mut f32);
// SAFETY: `split` hands each thread a distinct block of rows or of panels, so the blocks
// written through the pointer never overlap.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// Runs `run(rows, panels)` over `rows` × `panels`, on as many of the pool's threads as
/// `work` (multiply-adds) justifies: about 1 M per thread, some 20 µs of arithmetic
/// against a few µs to hand a part to a waiting worker. Row blocks are multiples of
/// `row_step` and split only when each thread gets at least `min_rows`.
pub(crate) fn split(
    rows: usize,
    panels: usize,
    work: usize,
    row_step: usize,
    min_rows: usize,
    run: impl Fn(Range<usize>, Range<usize>) + Sync,
) {
    let threads = rayon::current_num_threads().min(work / (1 << 20)).max(1);
    if threads == 1 {
        run(0..rows, 0..panels);
        return;
    }
    let parts: Vec<(Range<usize>, Range<usize>)> = if rows >= threads * min_rows {
        let per = rows.div_ceil(threads).next_multiple_of(row_step);
        (0..rows)
            .step_by(per)
            .map(|start| (start..(start + per).min(rows), 0..panels))
            .collect()
    } else {
        let per = panels.div_ceil(threads);
        (0..panels)
            .step_by(per)
            .map(|start| (0..rows, start..(start + per).min(panels)))
            .collect()
    };
    parts
        .into_par_iter()
        .for_each(|(rows, panels)| run(rows, panels));
}

/// Checks that `packed` writes every value of an output that starts as NaN, and that
/// with `bias` each value is the product's without it plus the bias, to the bit.
#[cfg(test)]
pub(crate) fn assert_bias_lands_on_every_value<P: Packed>(packed: &P, a: &[f32], bias: &[f32]) {
    let outputs = packed.outputs();
    let run = |bias| {
        let mut out = vec![MaybeUninit::new(f32::NAN); a.len() / packed.inputs() * outputs];
        packed.matmul(a, bias, &mut out);
        // SAFETY: every value was initialised (to NaN) above.
        out.into_iter()
            .map(|x| unsafe { x.assume_init() })
            .collect::<Vec<f32>>()
    };
    let (plain, biased) = (run(None), run(Some(bias)));
    for (i, (p, b)) in plain.iter().zip(&biased).enumerate() {
        assert!(!p.is_nan(), "{}: value {i} was not written", P::NAME);
        let want = p + bias[i % outputs];
        assert_eq!(
            b.to_bits(),
            want.to_bits(),
            "{} at {i}: {b} vs {want}",
            P::NAME
        );
    }
}
