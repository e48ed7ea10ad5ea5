//! `x · Wᵀ (+ b)` over the last dimension as one 2-D matrix product, shared by the
//! encoders. In f32, `Wᵀ` is stored transposed once at load: gemm packs the right-hand
//! matrix on every call, and packing a strided transposed view was a third of a query's
//! time. In bf16 ([`Products::Bf16`]) the weights are packed once for `super::bf16`, in
//! int8 ([`Products::Int8`]) quantised and packed once for `super::int8`; the packed
//! products add the bias to their own output (`super::split::Product`).

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::bf16::PackedBf16;
use super::int8::PackedI8;
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
    /// `weight` `[outputs, inputs]`, and `bias` `[outputs]` when `bias` is set.
    pub fn load(
        vb: VarBuilder,
        inputs: usize,
        outputs: usize,
        bias: bool,
        products: Products,
    ) -> Result<Self> {
        Self::stacked(&[(vb, outputs)], inputs, bias, products)
    }

    /// Several layers with the same input computed as one product, outputs side by side
    /// in the order given (e.g. Q, K and V). `Products::Bf16` and `Products::Int8` fall
    /// back to f32 on a CPU without their instructions.
    pub fn stacked(
        parts: &[(VarBuilder, usize)],
        inputs: usize,
        bias: bool,
        products: Products,
    ) -> Result<Self> {
        let weights = parts
            .iter()
            .map(|(vb, outputs)| vb.get((*outputs, inputs), "weight"))
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
        let weight = Tensor::cat(&weights, 0)?;
        let outputs = weight.dims2()?.0;
        let packed = match products {
            Products::Bf16 => PackedBf16::pack(&weight.flatten_all()?.to_vec1()?, inputs, outputs)
                .map(Weight::Bf16),
            Products::Int8 => {
                PackedI8::pack(&weight.flatten_all()?.to_vec1()?, inputs, outputs).map(Weight::Int8)
            }
            Products::F32 => None,
        };
        let weight = match packed {
            Some(packed) => packed,
            None => Weight::F32(weight.t()?.contiguous()?),
        };
        Ok(Linear { weight, bias })
    }

    /// From a ready `Wᵀ` `[inputs, outputs]`.
    pub fn from_transposed(weight_t: Tensor) -> Result<Self> {
        Ok(Linear {
            weight: Weight::F32(weight_t.contiguous()?),
            bias: None,
        })
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
