//! `x · Wᵀ (+ b)` over the last dimension as one 2-D matrix product, shared by the
//! encoders. `Wᵀ` is stored transposed once at load: gemm packs the right-hand matrix on
//! every call, and packing a strided transposed view was a third of a query's time.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

pub struct Linear {
    /// `Wᵀ`, `[inputs, outputs]`.
    weight_t: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// `weight` `[outputs, inputs]` and `bias` `[outputs]`.
    pub fn load(vb: VarBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        Self::stacked(&[(vb, outputs)], inputs, true)
    }

    /// `weight` only.
    pub fn load_no_bias(vb: VarBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        Self::stacked(&[(vb, outputs)], inputs, false)
    }

    /// Several layers with the same input computed as one product, outputs side by side
    /// in the order given (e.g. Q, K and V).
    pub fn stacked(parts: &[(VarBuilder, usize)], inputs: usize, bias: bool) -> Result<Self> {
        let weights = parts
            .iter()
            .map(|(vb, outputs)| vb.get((*outputs, inputs), "weight"))
            .collect::<Result<Vec<_>>>()?;
        let bias = if bias {
            let biases = parts
                .iter()
                .map(|(vb, outputs)| vb.get(*outputs, "bias"))
                .collect::<Result<Vec<_>>>()?;
            Some(Tensor::cat(&biases, 0)?)
        } else {
            None
        };
        Ok(Linear {
            weight_t: Tensor::cat(&weights, 0)?.t()?.contiguous()?,
            bias,
        })
    }

    /// From a ready `Wᵀ` `[inputs, outputs]`.
    pub fn from_transposed(weight_t: Tensor) -> Result<Self> {
        Ok(Linear {
            weight_t: weight_t.contiguous()?,
            bias: None,
        })
    }

    pub fn weight_t(&self) -> &Tensor {
        &self.weight_t
    }

    /// `x` is `[rows, inputs]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.matmul(&self.weight_t)?;
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}
