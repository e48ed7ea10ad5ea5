//! The XLM-RoBERTa encoder (multilingual-e5-small) in candle, one struct per module of
//! the checkpoint so names match `model.safetensors` (post-LayerNorm BERT layers, erf
//! GELU, absolute positions offset by `pad_token_id + 1`), pooled by the mean over real
//! tokens. candle-transformers' own `xlm_roberta` is the reference it is tested against
//! (`tests/golden_e5.rs`); this one is faster (stacked Q/K/V, fused kernels, transposed
//! weights, the vocabulary read from the memory map).
//!
//! The 250k-row word embedding table is not copied into memory: rows are gathered
//! straight from the memory-mapped file, which keeps start-up fast and memory small.

use std::path::Path;

use candle_core::{Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use serde::Deserialize;

use super::{mean_pool, Encoder};
use crate::embed::ops::kernels;
use crate::embed::ops::linear::Linear;
use crate::embed::ops::mmap_table::{MappedFile, MappedTable, Weights};
use crate::embed::Error;
use crate::models::Products;

/// The fields of `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: String,
    pub layer_norm_eps: f64,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    pub pad_token_id: u32,
}

impl Config {
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::model(&path, e))?;
        let config: Config = serde_json::from_str(&text).map_err(|e| Error::model(&path, e))?;
        if config.hidden_act != "gelu" {
            return Err(Error::model(
                &path,
                format!("hidden_act `{}` is not supported", config.hidden_act),
            ));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(Error::model(
                &path,
                "hidden_size is not a multiple of num_attention_heads",
            ));
        }
        Ok(config)
    }
}

fn layer_norm(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        eps,
    ))
}

struct Embeddings {
    word_embeddings: MappedTable,
    position_embeddings: Tensor,
    token_type_row: Tensor,
    layer_norm: LayerNorm,
}

struct SelfAttention {
    /// `self.query`, `self.key` and `self.value` stacked into one product (fewer ops per layer).
    query_key_value: Linear,
    heads: usize,
}

/// A LayerNorm after a residual sum, run as one fused op (`kernels::add_layer_norm`).
struct ResidualNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl ResidualNorm {
    fn load(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<Self> {
        Ok(ResidualNorm {
            weight: vb.get(size, "weight")?.to_vec1()?,
            bias: vb.get(size, "bias")?.to_vec1()?,
            eps: eps as f32,
        })
    }

    /// `LayerNorm(y + residual)`.
    fn forward(&self, y: &Tensor, residual: &Tensor) -> candle_core::Result<Tensor> {
        kernels::add_layer_norm(y, residual, &self.weight, &self.bias, self.eps)
    }
}

struct Layer {
    attention: SelfAttention,
    attention_output: Linear,
    attention_norm: ResidualNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: ResidualNorm,
}

pub struct XlmRoberta {
    config: Config,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    device: Device,
}

impl XlmRoberta {
    /// `products` applies to every layer's products.
    pub fn load(dir: &Path, products: Products) -> Result<Self, Error> {
        let config = Config::load(dir)?;
        let weights = Weights::open(
            dir,
            "embeddings.word_embeddings.weight",
            config.vocab_size,
            config.hidden_size,
        )?;
        Self::build(
            config,
            &weights.file,
            weights.table,
            weights.vb,
            Device::Cpu,
            products,
        )
        .map_err(|e| Error::model(&weights.path, e))
    }

    fn build(
        config: Config,
        file: &MappedFile,
        word_embeddings: MappedTable,
        vb: VarBuilder,
        device: Device,
        products: Products,
    ) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let emb = vb.pp("embeddings");
        let embeddings = Embeddings {
            word_embeddings,
            position_embeddings: emb.get(
                (config.max_position_embeddings, h),
                "position_embeddings.weight",
            )?,
            token_type_row: emb
                .get((2, h), "token_type_embeddings.weight")
                .or_else(|_| emb.get((1, h), "token_type_embeddings.weight"))?
                .get(0)?,
            layer_norm: layer_norm(emb.pp("LayerNorm"), h, eps)?,
        };
        let heads = config.num_attention_heads;
        let ff = config.intermediate_size;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let att = l.pp("attention");
                Ok(Layer {
                    attention: SelfAttention {
                        query_key_value: Linear::stacked(
                            file,
                            &["self.query", "self.key", "self.value"].map(|n| (att.pp(n), h)),
                            h,
                            true,
                            products,
                        )?,
                        heads,
                    },
                    attention_output: Linear::load(
                        file,
                        att.pp("output.dense"),
                        h,
                        h,
                        true,
                        products,
                    )?,
                    attention_norm: ResidualNorm::load(att.pp("output.LayerNorm"), h, eps)?,
                    intermediate: Linear::load(
                        file,
                        l.pp("intermediate.dense"),
                        h,
                        ff,
                        true,
                        products,
                    )?,
                    output: Linear::load(file, l.pp("output.dense"), ff, h, true, products)?,
                    output_norm: ResidualNorm::load(l.pp("output.LayerNorm"), h, eps)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(XlmRoberta {
            config,
            embeddings,
            layers,
            device,
        })
    }

    /// Last hidden states `[batch, len, hidden]` for right-padded sequences: `ids` holds
    /// `batch × len` ids, `lengths` the real length of each sequence.
    fn forward(&self, ids: &[u32], lengths: &[usize], len: usize) -> candle_core::Result<Tensor> {
        let batch = lengths.len();
        let h = self.config.hidden_size;
        let pad = self.config.pad_token_id;
        let positions: Vec<u32> = lengths
            .iter()
            .flat_map(|&n| (0..len).map(move |t| if t < n { pad + 1 + t as u32 } else { pad }))
            .collect();
        let positions = Tensor::from_vec(positions, batch * len, &self.device)?;
        let words = self.embeddings.word_embeddings.rows(ids, &self.device)?;
        let x = words
            .add(&self.embeddings.position_embeddings.embedding(&positions)?)?
            .broadcast_add(&self.embeddings.token_type_row)?;
        let mut x = self.embeddings.layer_norm.forward(&x)?;

        for layer in &self.layers {
            x = layer.forward(&x, lengths)?;
        }
        x.reshape((batch, len, h))
    }
}

impl Encoder for XlmRoberta {
    fn max_positions(&self) -> usize {
        // Positions start after the padding id, so that many rows are never used.
        self.config.max_position_embeddings - self.config.pad_token_id as usize - 1
    }

    fn output_size(&self) -> usize {
        self.config.hidden_size
    }

    fn pooled(
        &self,
        ids: &[u32],
        lengths: &[usize],
        len: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        mean_pool(&self.forward(ids, lengths, len)?, lengths)?.to_vec2()
    }
}

impl Layer {
    /// `x` is `[batch·len, hidden]`.
    fn forward(&self, x: &Tensor, lengths: &[usize]) -> candle_core::Result<Tensor> {
        let attended = self.attention.forward(x, lengths)?;
        let x = self
            .attention_norm
            .forward(&self.attention_output.forward(&attended)?, x)?;
        let inner = kernels::gelu_erf(&self.intermediate.forward(&x)?)?;
        self.output_norm.forward(&self.output.forward(&inner)?, &x)
    }
}

impl SelfAttention {
    fn forward(&self, x: &Tensor, lengths: &[usize]) -> candle_core::Result<Tensor> {
        kernels::attention(&self.query_key_value.forward(x)?, lengths, self.heads)
    }
}
