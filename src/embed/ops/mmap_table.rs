//! A memory-mapped safetensors file, read in place: its 2-D tables with rows read on demand
//! (the vocabulary embeddings: 250k–262k rows, of which a text uses a handful), and its
//! weight matrices as f32 slices of the mapping itself, which `linear` transposes or packs
//! straight into their final form (candle's `VarBuilder` copies each tensor out of the
//! mapping, and `Linear` then copied it again: page zeroing and those copies were about
//! three fifths of a cold EmbeddingGemma `ask`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use memmap2::Mmap;
use safetensors::tensor::{Dtype, Metadata, SafeTensors};

use crate::embed::Error;

/// A safetensors file, mapped read-only, with its header read.
pub struct MappedFile {
    path: PathBuf,
    mmap: Mmap,
    /// Where the tensors' data starts: past the 8-byte length and the JSON header.
    data_start: usize,
    metadata: Metadata,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::model(path, e))?;
        // SAFETY: mapped read-only; model files are not modified while akapit runs.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::model(path, e))?;
        let (header_len, metadata) =
            SafeTensors::read_metadata(&mmap).map_err(|e| Error::model(path, e))?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            mmap,
            data_start: 8 + header_len,
            metadata,
        })
    }

    /// Tensor `name`'s dtype, shape and bytes, checked to lie inside the file and to be as
    /// long as its shape says.
    fn tensor(&self, name: &str) -> Result<(Dtype, &[usize], &[u8]), String> {
        let info = self
            .metadata
            .info(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        let (start, end) = (
            self.data_start + info.data_offsets.0,
            self.data_start + info.data_offsets.1,
        );
        let bytes =
            (info.shape.iter()).try_fold(info.dtype.bitsize() / 8, |size, &d| size.checked_mul(d));
        if start > end || end > self.mmap.len() || Some(end - start) != bytes {
            return Err(format!("tensor {name} lies outside the file"));
        }
        Ok((info.dtype, &info.shape, &self.mmap[start..end]))
    }

    /// Matrix `name`, which must be `rows × cols`, as f32 values in row order: the mapped
    /// bytes themselves where they are f32 and aligned, converted otherwise.
    pub fn matrix(
        &self,
        name: &str,
        (rows, cols): (usize, usize),
    ) -> Result<Cow<'_, [f32]>, String> {
        let (dtype, shape, bytes) = self.tensor(name)?;
        if shape != [rows, cols] {
            return Err(format!(
                "tensor {name} has shape {shape:?}, expected [{rows}, {cols}]"
            ));
        }
        if let (Dtype::F32, Some(values)) = (dtype, f32s(bytes)) {
            return Ok(Cow::Borrowed(values));
        }
        match dtype {
            Dtype::F32 | Dtype::F16 | Dtype::BF16 => {
                let mut values = Vec::with_capacity(rows * cols);
                extend_f32(&mut values, dtype, bytes);
                Ok(Cow::Owned(values))
            }
            other => Err(format!("tensor {name} has unsupported dtype {other:?}")),
        }
    }
}

/// Appends the values of `bytes`, little-endian `dtype` (f32, f16 or bf16; anything else
/// is read as bf16: the callers check the dtype), to `out` as f32.
fn extend_f32(out: &mut Vec<f32>, dtype: Dtype, bytes: &[u8]) {
    match dtype {
        Dtype::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        Dtype::F16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        _ => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
    }
}

/// `bytes` as f32 values in place, where they are aligned for it and the machine reads
/// little-endian values as the file stores them.
fn f32s(bytes: &[u8]) -> Option<&[f32]> {
    if cfg!(target_endian = "big") {
        return None;
    }
    // SAFETY: every bit pattern of four bytes is a valid f32, and `align_to` puts in the
    // middle part only what is aligned for it.
    let (head, values, tail) = unsafe { bytes.align_to::<f32>() };
    (head.is_empty() && tail.is_empty()).then_some(values)
}

pub struct MappedTable {
    file: Arc<MappedFile>,
    /// Byte offset of the table in the file.
    start: usize,
    rows: usize,
    cols: usize,
    dtype: Dtype,
}

impl MappedTable {
    pub fn open(file: Arc<MappedFile>, name: &str) -> Result<Self, Error> {
        let (dtype, shape, bytes) = file.tensor(name).map_err(|e| Error::model(&file.path, e))?;
        let (rows, cols) = match shape {
            [rows, cols] => (*rows, *cols),
            other => {
                return Err(Error::model(
                    &file.path,
                    format!("tensor {name} has shape {other:?}, expected 2-D"),
                ))
            }
        };
        if !matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16) {
            return Err(Error::model(
                &file.path,
                format!("tensor {name} has unsupported dtype {dtype:?}"),
            ));
        }
        let start = bytes.as_ptr() as usize - file.mmap.as_ptr() as usize;
        Ok(MappedTable {
            file,
            start,
            rows,
            cols,
            dtype,
        })
    }

    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The rows for `ids` as an f32 tensor `[ids.len(), cols]`.
    pub fn rows(&self, ids: &[u32], device: &Device) -> candle_core::Result<Tensor> {
        let width = self.dtype.bitsize() / 8;
        let row_bytes = self.cols * width;
        let mut out = Vec::with_capacity(ids.len() * self.cols);
        for &id in ids {
            let id = id as usize;
            if id >= self.rows {
                candle_core::bail!(
                    "{}: token id {id} outside the {} embedding rows",
                    self.file.path.display(),
                    self.rows
                );
            }
            let row = &self.file.mmap[self.start + id * row_bytes..][..row_bytes];
            extend_f32(&mut out, self.dtype, row);
        }
        Tensor::from_vec(out, (ids.len(), self.cols), device)
    }
}

/// A model's `model.safetensors`: its vocabulary table read on demand, its matrices read
/// in place (`file`), and the small tensors (norms, biases) through a memory-mapped
/// `VarBuilder`.
pub struct Weights {
    pub path: PathBuf,
    pub file: Arc<MappedFile>,
    pub table: MappedTable,
    pub vb: VarBuilder<'static>,
}

impl Weights {
    /// Opens `dir/model.safetensors`, checking that the table `name` is `rows × cols`.
    pub fn open(dir: &Path, name: &str, rows: usize, cols: usize) -> Result<Self, Error> {
        let path = dir.join("model.safetensors");
        let file = Arc::new(MappedFile::open(&path)?);
        let table = MappedTable::open(file.clone(), name)?;
        if table.shape() != (rows, cols) {
            return Err(Error::model(
                &path,
                format!(
                    "{name} is {:?}, config.json says {rows}x{cols}",
                    table.shape()
                ),
            ));
        }
        // SAFETY: the file is memory-mapped read-only; akapit never writes a model file
        // while a model is loaded, and candle copies what it reads.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&path], DType::F32, &Device::Cpu) }
            .map_err(|e| Error::model(&path, e))?;
        Ok(Weights {
            path,
            file,
            table,
            vb,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    #[test]
    fn matrices_are_read_in_place_or_converted_and_checked() {
        let values: Vec<f32> = (0..6).map(|i| i as f32 - 2.5).collect();
        let f32_bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let bf16_bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect();
        let tensors = [
            (
                "a.weight",
                TensorView::new(Dtype::F32, vec![2, 3], &f32_bytes).unwrap(),
            ),
            (
                "b.weight",
                TensorView::new(Dtype::BF16, vec![3, 2], &bf16_bytes).unwrap(),
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        safetensors::serialize_to_file(tensors, None, &path).unwrap();
        let file = MappedFile::open(&path).unwrap();

        let a = file.matrix("a.weight", (2, 3)).unwrap();
        assert!(
            matches!(a, Cow::Borrowed(_)),
            "aligned f32 is read in place"
        );
        assert_eq!(&*a, values.as_slice());
        let b = file.matrix("b.weight", (3, 2)).unwrap();
        assert_eq!(&*b, values.as_slice(), "bf16 holds these values exactly");
        let wrong = file.matrix("a.weight", (3, 2)).unwrap_err();
        assert!(
            wrong.contains("a.weight") && wrong.contains("[2, 3]"),
            "{wrong}"
        );
        let missing = file.matrix("c.weight", (1, 1)).unwrap_err();
        assert!(missing.contains("c.weight is missing"), "{missing}");

        // Bytes that are not aligned for f32 are converted, not cast.
        let k = f32_bytes.as_ptr().align_offset(4);
        assert!(f32s(&f32_bytes[k + 1..k + 5]).is_none());
        let one = f32::from_le_bytes(f32_bytes[k..k + 4].try_into().unwrap());
        assert_eq!(f32s(&f32_bytes[k..k + 4]), Some([one].as_slice()));
    }
}
