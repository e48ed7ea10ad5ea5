//! `x · Wᵀ (+ b)` over the last dimension as one 2-D matrix product, shared by the
//! encoders. The weights are read in place from the memory-mapped file and written once,
//! into their final form. In f32, `Wᵀ` is stored transposed at load: gemm packs the
//! right-hand matrix on every call, and packing a strided transposed view was a third of
//! a query's time. In bf16 ([`Products::Bf16`]) the weights are packed once for
//! `super::bf16`, in int8 ([`Products::Int8`]) quantised and packed once for
//! `super::int8`; the packed products add the bias to their own output
//! (`super::split::Product`).

use std::borrow::Cow;

use candle_core::{Device, Result, Tensor};
use candle_nn::VarBuilder;

use super::bf16::PackedBf16;
use super::int8::PackedI8;
use super::mmap_table::MappedFile;
use super::split::{Packed, Product};
use crate::models::Products;

pub struct Linear {
    weight: Weight,
    bias: Option<Bias>,
}

/// The bias as a tensor for the f32 product, and as values for the packed products,
/// which add it in place.
struct Bias {
    tensor: Tensor,
    values: Vec<f32>,
}

enum Weight {
    /// `Wᵀ`, `[inputs, outputs]`.
    F32(Tensor),
    Bf16(PackedBf16),
    Int8(PackedI8),
}

impl Linear {
    /// `weight` `[outputs, inputs]` from `file`, and `bias` `[outputs]` when `bias` is set,
    /// both under `vb`'s prefix.
    pub fn load(
        file: &MappedFile,
        vb: VarBuilder,
        inputs: usize,
        outputs: usize,
        bias: bool,
        products: Products,
    ) -> Result<Self> {
        Self::stacked(file, &[(vb, outputs)], inputs, bias, products)
    }

    /// Several layers with the same input computed as one product, outputs side by side
    /// in the order given (e.g. Q, K and V). `Products::Bf16` and `Products::Int8` fall
    /// back to f32 on a CPU without their instructions.
    pub fn stacked(
        file: &MappedFile,
        parts: &[(VarBuilder, usize)],
        inputs: usize,
        bias: bool,
        products: Products,
    ) -> Result<Self> {
        let weights = parts
            .iter()
            .map(|(vb, outputs)| {
                let name = format!("{}.weight", vb.prefix());
                file.matrix(&name, (*outputs, inputs))
                    .map_err(candle_core::Error::Msg)
            })
            .collect::<Result<Vec<_>>>()?;
        let bias = if bias {
            let biases = parts
                .iter()
                .map(|(vb, outputs)| vb.get(*outputs, "bias"))
                .collect::<Result<Vec<_>>>()?;
            let tensor = Tensor::cat(&biases, 0)?;
            let values = tensor.to_vec1()?;
            Some(Bias { tensor, values })
        } else {
            None
        };
        let outputs = parts.iter().map(|(_, outputs)| outputs).sum();
        let weight = Weight::new(&weights, inputs, outputs, products)?;
        Ok(Linear { weight, bias })
    }

    /// From `weight` `[outputs, inputs]` in memory, without a bias.
    pub fn from_rows(
        weight: &[f32],
        inputs: usize,
        outputs: usize,
        products: Products,
    ) -> Result<Self> {
        let weight = Weight::new(&[Cow::Borrowed(weight)], inputs, outputs, products)?;
        Ok(Linear { weight, bias: None })
    }

    /// From a ready `Wᵀ` `[inputs, outputs]`.
    pub fn from_transposed(weight_t: Tensor) -> Result<Self> {
        Ok(Linear {
            weight: Weight::F32(weight_t.contiguous()?),
            bias: None,
        })
    }

    /// The arithmetic this layer runs in (f32 where the CPU lacks what was asked).
    pub fn products(&self) -> Products {
        match &self.weight {
            Weight::F32(_) => Products::F32,
            Weight::Bf16(_) => Products::Bf16,
            Weight::Int8(_) => Products::Int8,
        }
    }

    pub fn outputs(&self) -> usize {
        match &self.weight {
            Weight::F32(weight_t) => weight_t.dims()[1],
            Weight::Bf16(packed) => packed.outputs(),
            Weight::Int8(packed) => packed.outputs(),
        }
    }

    /// `x` is `[rows, inputs]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let bias = self.bias.as_ref().map(|b| b.values.as_slice());
        match &self.weight {
            Weight::F32(weight_t) => {
                let y = x.matmul(weight_t)?;
                match &self.bias {
                    Some(bias) => y.broadcast_add(&bias.tensor),
                    None => Ok(y),
                }
            }
            Weight::Bf16(packed) => x.contiguous()?.apply_op1_no_bwd(&Product { packed, bias }),
            Weight::Int8(packed) => x.contiguous()?.apply_op1_no_bwd(&Product { packed, bias }),
        }
    }
}

impl Weight {
    /// The parts' rows `[outputs, inputs]`, one part after the other, packed for
    /// `products`, or transposed for f32 where this CPU does not run them.
    fn new(
        parts: &[Cow<[f32]>],
        inputs: usize,
        outputs: usize,
        products: Products,
    ) -> Result<Self> {
        // The packed products read `[outputs, inputs]` in one piece.
        let whole = || -> Cow<[f32]> {
            match parts {
                [one] => Cow::Borrowed(one),
                _ => Cow::Owned(parts.concat()),
            }
        };
        let packed = match products {
            Products::Bf16 => PackedBf16::pack(&whole(), inputs, outputs).map(Weight::Bf16),
            Products::Int8 => PackedI8::pack(&whole(), inputs, outputs).map(Weight::Int8),
            Products::F32 => None,
        };
        match packed {
            Some(packed) => Ok(packed),
            None => Ok(Weight::F32(Tensor::from_vec(
                transposed(parts, inputs, outputs),
                (inputs, outputs),
                &Device::Cpu,
            )?)),
        }
    }
}

/// `Wᵀ` `[inputs, outputs]` of the parts' rows `[outputs, inputs]` one after the other, in
/// tiles that keep both the rows read and the rows written in the cache.
fn transposed(parts: &[Cow<[f32]>], inputs: usize, outputs: usize) -> Vec<f32> {
    const TILE: usize = 16;
    let mut out = vec![0f32; inputs * outputs];
    let mut first = 0;
    for part in parts {
        let rows = part.len() / inputs;
        for o0 in (0..rows).step_by(TILE) {
            for i0 in (0..inputs).step_by(TILE) {
                for o in o0..(o0 + TILE).min(rows) {
                    let row = &part[o * inputs..(o + 1) * inputs];
                    for i in i0..(i0 + TILE).min(inputs) {
                        out[i * outputs + first + o] = row[i];
                    }
                }
            }
        }
        first += rows;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_stacked_parts_side_by_side() {
        // Two parts of 3 and 17 rows (not whole tiles) of 19 inputs.
        let (inputs, sizes) = (19, [3usize, 17]);
        let parts: Vec<Cow<[f32]>> = sizes
            .iter()
            .enumerate()
            .map(|(p, &rows)| {
                Cow::Owned((0..rows * inputs).map(|k| (p * 1000 + k) as f32).collect())
            })
            .collect();
        let out = transposed(&parts, inputs, 20);
        for i in 0..inputs {
            for o in 0..20 {
                let (p, row) = if o < 3 { (0, o) } else { (1, o - 3) };
                assert_eq!(out[i * 20 + o], parts[p][row * inputs + i], "({i}, {o})");
            }
        }
    }
}
