//! How a packed matrix product is shared among the cores: by blocks of rows when there are
//! many rows, by panels of output columns when there are few (a single question), and not
//! at all when the product is too small to pay for a thread; and how it runs as a candle op.

use std::ops::Range;

use candle_core::{bail, CpuStorage, Layout, Result, Shape};

/// A packed product's `cpu_fwd`: the contiguous `[rows, inputs]` input checked against the
/// weights' `inputs`, and `matmul` into a new `[rows, outputs]` output.
pub(crate) fn run_packed(
    name: &str,
    inputs: usize,
    outputs: usize,
    storage: &CpuStorage,
    layout: &Layout,
    matmul: impl FnOnce(&[f32], &mut [f32]),
) -> Result<(CpuStorage, Shape)> {
    let a = super::kernels::contiguous_f32(storage, layout, name)?;
    let (rows, found) = layout.shape().dims2()?;
    if found != inputs {
        bail!("{name}: {found} inputs, the weights take {inputs}");
    }
    let mut out = vec![0f32; rows * outputs];
    matmul(a, &mut out);
    Ok((CpuStorage::F32(out), Shape::from((rows, outputs))))
}

/// The output buffer, shared by threads that write disjoint blocks of it.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub(crate) *mut f32);
// SAFETY: `split` hands each thread a distinct block of rows or of panels, so the blocks
// written through the pointer never overlap.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

/// Runs `run(rows, panels)` over `rows` × `panels`, on as many cores as `work` (multiply-
/// adds) justifies: about 4 M per thread. Row blocks are multiples of `row_step` and split
/// only when each thread gets at least `min_rows`.
pub(crate) fn split(
    rows: usize,
    panels: usize,
    work: usize,
    row_step: usize,
    min_rows: usize,
    run: impl Fn(Range<usize>, Range<usize>) + Sync,
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.min(work / (1 << 22)).max(1);
    if threads == 1 {
        run(0..rows, 0..panels);
        return;
    }
    std::thread::scope(|scope| {
        let run = &run;
        if rows >= threads * min_rows {
            let per = rows.div_ceil(threads).next_multiple_of(row_step);
            for start in (0..rows).step_by(per) {
                let end = (start + per).min(rows);
                scope.spawn(move || run(start..end, 0..panels));
            }
        } else {
            let per = panels.div_ceil(threads);
            for start in (0..panels).step_by(per) {
                let end = (start + per).min(panels);
                scope.spawn(move || run(0..rows, start..end));
            }
        }
    });
}
