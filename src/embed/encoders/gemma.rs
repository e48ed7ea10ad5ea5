//! EmbeddingGemma-300m in candle: the Gemma 3 text model run as a *bidirectional*
//! encoder (no causal mask; local layers see a symmetric window), then the
//! Sentence-Transformers head: mean pooling, the dense projections 768→3072→768.
//!
//! The local window: `config.json` says `sliding_window: 512`, and Hugging Face
//! transformers (since PR #40700, "Fix SWA") turns that, for bidirectional attention,
//! into `512 / 2 + 1 = 257`, masking `|i − j| < 257`: 256 tokens on each side. That, not
//! `|i − j| < 512`, reproduces sentence-transformers on inputs longer than 257 tokens
//! (checked on a 1,208-token input: cosine 0.99999995 against transformers 5.23, 0.9888
//! with the `< 512` rule).
//! Struct and tensor names mirror the checkpoint (`layers.{i}.self_attn.q_proj`, …, no
//! `model.` prefix); the architecture is written down in `docs/MODELS.md`.
//!
//! candle-transformers' `gemma3` is causal and reads `model.`-prefixed names, so this
//! module is its own; it reuses candle-nn's RMSNorm and RoPE kernels. As in the XLM-R
//! encoder, the 262k-row embedding table is read from the memory map, row by row.

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
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
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub intermediate_size: usize,
    pub hidden_activation: String,
    pub rms_norm_eps: f64,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    pub rope_theta: f64,
    pub rope_local_base_freq: f64,
    pub sliding_window: usize,
    pub query_pre_attn_scalar: f64,
    pub layer_types: Vec<LayerType>,
    #[serde(default)]
    pub use_bidirectional_attention: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerType {
    SlidingAttention,
    FullAttention,
}

impl Config {
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::model(&path, e))?;
        let config: Config = serde_json::from_str(&text).map_err(|e| Error::model(&path, e))?;
        let problem = if config.hidden_activation != "gelu_pytorch_tanh" {
            Some(format!(
                "hidden_activation `{}` is not supported",
                config.hidden_activation
            ))
        } else if !config.use_bidirectional_attention {
            Some("not an embedding model (use_bidirectional_attention is not set)".into())
        } else if config.layer_types.len() != config.num_hidden_layers {
            Some("layer_types does not list every layer".into())
        } else if config.num_key_value_heads == 0
            || !config
                .num_attention_heads
                .is_multiple_of(config.num_key_value_heads)
        {
            Some("num_attention_heads is not a multiple of num_key_value_heads".into())
        } else if !config.head_dim.is_multiple_of(2) {
            Some("head_dim is odd".into())
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::model(&path, problem)),
            None => Ok(config),
        }
    }
}

/// Gemma's RMSNorm: `x / √(mean(x²) + eps) · (1 + w)`; `1 + w` is computed once at load.
struct RmsNorm {
    alpha: Tensor,
    eps: f32,
}

impl RmsNorm {
    fn load(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<Self> {
        Ok(RmsNorm {
            alpha: (vb.get(size, "weight")? + 1.0)?,
            eps: eps as f32,
        })
    }

    /// Normalises over the last dimension.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::rms_norm(&x.contiguous()?, &self.alpha, self.eps)
    }
}

/// cos and sin of `position · θ^(−2i/d)`, `[positions, head_dim / 2]` each (the HF
/// non-interleaved "rotate half" layout that `candle_nn::rotary_emb::rope` expects).
struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    fn new(
        theta: f64,
        head_dim: usize,
        positions: usize,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        for p in 0..positions {
            for i in 0..half {
                let angle = p as f64 * theta.powf(-2.0 * i as f64 / head_dim as f64);
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Ok(Rope {
            cos: Tensor::from_vec(cos, (positions, half), device)?,
            sin: Tensor::from_vec(sin, (positions, half), device)?,
        })
    }

    /// Rotates `x` `[batch, heads, len, head_dim]` by positions `0..len`.
    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let len = x.dim(2)?;
        candle_nn::rotary_emb::rope(
            &x.contiguous()?,
            &self.cos.narrow(0, 0, len)?,
            &self.sin.narrow(0, 0, len)?,
        )
    }
}

struct Attention {
    /// `q_proj`, `k_proj` and `v_proj` stacked into one product.
    qkv_proj: Linear,
    o_proj: Linear,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    scale: f32,
}

struct Mlp {
    /// `gate_proj` and `up_proj` stacked: `[gate | up]`.
    gate_up_proj: Linear,
    down_proj: Linear,
}

struct Layer {
    self_attn: Attention,
    mlp: Mlp,
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
    pre_feedforward_layernorm: RmsNorm,
    post_feedforward_layernorm: RmsNorm,
    kind: LayerType,
}

/// The encoder with its Sentence-Transformers head.
pub struct Gemma {
    config: Config,
    embed_tokens: MappedTable,
    layers: Vec<Layer>,
    norm: RmsNorm,
    /// `2_Dense` then `3_Dense` (both linear, no bias, identity activation) folded into
    /// one `[hidden, hidden]` product: `(W₃ · W₂)ᵀ`.
    head: Linear,
    rope_global: Rope,
    rope_local: Rope,
    device: Device,
}

impl Gemma {
    /// `products` applies to the 24 layers, except that in int8 the two products that
    /// write back into the residual stream (`o_proj`, `down_proj`) stay in f32; the folded
    /// head, run once per sequence, stays in f32.
    pub fn load(dir: &Path, products: Products) -> Result<Self, Error> {
        let config = Config::load(dir)?;
        let device = Device::Cpu;
        let weights = Weights::open(
            dir,
            "embed_tokens.weight",
            config.vocab_size,
            config.hidden_size,
        )?;
        let projection = |folder: &str| -> Result<Tensor, Error> {
            let path = dir.join(folder).join("model.safetensors");
            candle_core::safetensors::load(&path, &device)
                .map_err(|e| Error::model(&path, e))?
                .remove("linear.weight")
                .ok_or_else(|| Error::model(&path, "tensor linear.weight is missing"))
        };
        let head = fold_head(
            &projection("2_Dense")?,
            &projection("3_Dense")?,
            config.hidden_size,
        )
        .map_err(|e| Error::model(&dir.join("3_Dense"), e))?;
        Self::build(
            config,
            &weights.file,
            weights.table,
            head,
            weights.vb,
            device,
            products,
        )
        .map_err(|e| Error::model(&weights.path, e))
    }

    fn build(
        config: Config,
        file: &MappedFile,
        embed_tokens: MappedTable,
        head: Linear,
        vb: VarBuilder,
        device: Device,
        products: Products,
    ) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let eps = config.rms_norm_eps;
        let (heads, kv_heads, head_dim) = (
            config.num_attention_heads,
            config.num_key_value_heads,
            config.head_dim,
        );
        let ff = config.intermediate_size;
        // In int8, the products whose outputs are added to the residual stream lose the
        // most: with them in f32, the worst golden cosine goes from 0.99818 to 0.99921
        // (0.99891 with `down_proj` alone), for about a third of the multiply-adds.
        let sensitive = match products {
            Products::Int8 => Products::F32,
            other => other,
        };
        let layers = config
            .layer_types
            .iter()
            .enumerate()
            .map(|(i, &kind)| {
                let l = vb.pp(format!("layers.{i}"));
                let att = l.pp("self_attn");
                let mlp = l.pp("mlp");
                Ok(Layer {
                    self_attn: Attention {
                        qkv_proj: Linear::stacked(
                            file,
                            &[
                                (att.pp("q_proj"), heads * head_dim),
                                (att.pp("k_proj"), kv_heads * head_dim),
                                (att.pp("v_proj"), kv_heads * head_dim),
                            ],
                            h,
                            false,
                            products,
                        )?,
                        o_proj: Linear::load(
                            file,
                            att.pp("o_proj"),
                            heads * head_dim,
                            h,
                            false,
                            sensitive,
                        )?,
                        q_norm: RmsNorm::load(att.pp("q_norm"), head_dim, eps)?,
                        k_norm: RmsNorm::load(att.pp("k_norm"), head_dim, eps)?,
                        heads,
                        kv_heads,
                        head_dim,
                        scale: config.query_pre_attn_scalar.powf(-0.5) as f32,
                    },
                    mlp: Mlp {
                        gate_up_proj: Linear::stacked(
                            file,
                            &[(mlp.pp("gate_proj"), ff), (mlp.pp("up_proj"), ff)],
                            h,
                            false,
                            products,
                        )?,
                        down_proj: Linear::load(
                            file,
                            mlp.pp("down_proj"),
                            ff,
                            h,
                            false,
                            sensitive,
                        )?,
                    },
                    input_layernorm: RmsNorm::load(l.pp("input_layernorm"), h, eps)?,
                    post_attention_layernorm: RmsNorm::load(
                        l.pp("post_attention_layernorm"),
                        h,
                        eps,
                    )?,
                    pre_feedforward_layernorm: RmsNorm::load(
                        l.pp("pre_feedforward_layernorm"),
                        h,
                        eps,
                    )?,
                    post_feedforward_layernorm: RmsNorm::load(
                        l.pp("post_feedforward_layernorm"),
                        h,
                        eps,
                    )?,
                    kind,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let positions = config.max_position_embeddings;
        Ok(Gemma {
            norm: RmsNorm::load(vb.pp("norm"), h, eps)?,
            rope_global: Rope::new(config.rope_theta, head_dim, positions, &device)?,
            rope_local: Rope::new(config.rope_local_base_freq, head_dim, positions, &device)?,
            config,
            embed_tokens,
            layers,
            head,
            device,
        })
    }

    /// Local layers attend to keys with `|i − j| <` this (see the module docs).
    fn local_window(&self) -> usize {
        self.config.sliding_window / 2 + 1
    }

    /// Pooled, projected (not yet normalised) embeddings `[batch, hidden]` of right-padded
    /// sequences: `ids` holds `batch × len` ids, `lengths` the real length of each.
    fn forward(&self, ids: &[u32], lengths: &[usize], len: usize) -> candle_core::Result<Tensor> {
        let batch = lengths.len();
        let h = self.config.hidden_size;
        let mut x = (self.embed_tokens.rows(ids, &self.device)? * (h as f64).sqrt())?;
        for layer in &self.layers {
            let (rope, window) = match layer.kind {
                LayerType::FullAttention => (&self.rope_global, None),
                LayerType::SlidingAttention => (&self.rope_local, Some(self.local_window())),
            };
            x = layer.forward(&x, lengths, len, rope, window)?;
        }
        let x = self.norm.forward(&x)?.reshape((batch, len, h))?;
        self.head.forward(&mean_pool(&x, lengths)?)
    }
}

impl Encoder for Gemma {
    fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    fn output_size(&self) -> usize {
        self.head.outputs()
    }

    fn pooled(
        &self,
        ids: &[u32],
        lengths: &[usize],
        len: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        self.forward(ids, lengths, len)?.to_vec2()
    }
}

/// `(W₃ · W₂)ᵀ` from the projections `W₂` `[wide, hidden]` and `W₃` `[out, wide]`.
fn fold_head(up: &Tensor, down: &Tensor, hidden: usize) -> candle_core::Result<Linear> {
    let (wide, inputs) = up.dims2()?;
    let (_, down_inputs) = down.dims2()?;
    if inputs != hidden || down_inputs != wide {
        candle_core::bail!(
            "the dense head is {:?} then {:?}, which does not follow a {hidden}-wide encoder",
            up.dims(),
            down.dims()
        );
    }
    Linear::from_transposed(down.matmul(up)?.t()?)
}

impl Layer {
    /// `x` is `[batch·len, hidden]`.
    fn forward(
        &self,
        x: &Tensor,
        lengths: &[usize],
        len: usize,
        rope: &Rope,
        window: Option<usize>,
    ) -> candle_core::Result<Tensor> {
        let attended = self.self_attn.forward(
            &self.input_layernorm.forward(x)?,
            lengths,
            len,
            rope,
            window,
        )?;
        let x = (x + self.post_attention_layernorm.forward(&attended)?)?;
        let inner = self.pre_feedforward_layernorm.forward(&x)?;
        let gated = kernels::gelu_tanh_gated(&self.mlp.gate_up_proj.forward(&inner)?)?;
        let out = self.mlp.down_proj.forward(&gated)?;
        x + self.post_feedforward_layernorm.forward(&out)?
    }
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        lengths: &[usize],
        len: usize,
        rope: &Rope,
        window: Option<usize>,
    ) -> candle_core::Result<Tensor> {
        let batch = lengths.len();
        let (heads, kv_heads, d) = (self.heads, self.kv_heads, self.head_dim);
        let qkv = self.qkv_proj.forward(x)?;
        // Per head: RMSNorm over head_dim, then RoPE; `[batch, heads, len, head_dim]`.
        let project = |start: usize, count: usize, norm: &RmsNorm| {
            let part = qkv
                .narrow(1, start * d, count * d)?
                .reshape((batch, len, count, d))?;
            rope.apply(&norm.forward(&part)?.transpose(1, 2)?)
        };
        let q = project(0, heads, &self.q_norm)?;
        let k = project(heads, kv_heads, &self.k_norm)?;
        let v = qkv
            .narrow(1, (heads + kv_heads) * d, kv_heads * d)?
            .reshape((batch, len, kv_heads, d))?
            .transpose(1, 2)?
            .contiguous()?;
        // Grouped-query attention without copying K and V: the query heads that share one
        // KV head are laid end to end, `[batch·kv_heads, group·len, head_dim]`.
        let group = heads / kv_heads;
        let q = q.reshape((batch * kv_heads, group * len, d))?;
        let k = k.reshape((batch * kv_heads, len, d))?;
        let v = v.reshape((batch * kv_heads, len, d))?;
        let scores = q.matmul(&k.t()?)?.reshape((batch, heads, len, len))?;
        let probs = kernels::masked_softmax(&scores, self.scale, lengths, heads, window)?;
        let out = probs
            .reshape((batch * kv_heads, group * len, len))?
            .matmul(&v)?
            .reshape((batch, heads, len, d))?
            .transpose(1, 2)?
            .reshape((batch * len, heads * d))?;
        self.o_proj.forward(&out)
    }
}
