//! Ops: the hand-written pieces under the encoders, and the only room in akapit where
//! `unsafe` code is allowed. `kernels` fuses element-wise work (GELU, masked softmax, the
//! gated activation) into vectorised loops; `bf16` multiplies with AVX512-BF16 instructions,
//! `int8` with 8-bit integers (AVX512-VNNI, AVX-VNNI or AVX2); `split` shares a product among
//! the cores; `linear` is a layer's product in the arithmetic the model runs in;
//! `mmap_table` reads vocabulary rows and matrices from memory-mapped weights; `compare`
//! times the products side by side (with candle's q8_0 one) for `akapit bench --products`.
//!
//! Every `unsafe fn` here says in a `# Safety` section what its caller must guarantee, and
//! every `unsafe` block says why that holds.

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod bf16;
pub(crate) mod compare;
pub(crate) mod int8;
pub(crate) mod kernels;
pub(crate) mod linear;
pub(crate) mod mmap_table;
pub(crate) mod split;
