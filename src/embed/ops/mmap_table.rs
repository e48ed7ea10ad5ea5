//! A 2-D table inside a memory-mapped safetensors file whose rows are read on demand
//! (the vocabulary embeddings: 250k–262k rows, of which a text uses a handful).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use memmap2::Mmap;
use safetensors::tensor::{Dtype, SafeTensors};

use crate::embed::Error;

pub struct MappedTable {
    path: PathBuf,
    mmap: Mmap,
    /// Byte offset of the table in the file.
    start: usize,
    rows: usize,
    cols: usize,
    dtype: Dtype,
}

impl MappedTable {
    pub fn open(path: &Path, name: &str) -> Result<Self, Error> {
        let file = std::fs::File::open(path).map_err(|e| Error::model(path, e))?;
        // SAFETY: mapped read-only; model files are not modified while akapit runs.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::model(path, e))?;
        let (header_len, metadata) =
            SafeTensors::read_metadata(&mmap).map_err(|e| Error::model(path, e))?;
        let info = metadata
            .info(name)
            .ok_or_else(|| Error::model(path, format!("tensor {name} is missing")))?;
        let (rows, cols) = match info.shape.as_slice() {
            [rows, cols] => (*rows, *cols),
            other => {
                return Err(Error::model(
                    path,
                    format!("tensor {name} has shape {other:?}, expected 2-D"),
                ))
            }
        };
        if !matches!(info.dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16) {
            return Err(Error::model(
                path,
                format!("tensor {name} has unsupported dtype {:?}", info.dtype),
            ));
        }
        let start = 8 + header_len + info.data_offsets.0;
        let end = 8 + header_len + info.data_offsets.1;
        if end > mmap.len() || end - start != rows * cols * info.dtype.bitsize() / 8 {
            return Err(Error::model(
                path,
                format!("tensor {name} lies outside the file"),
            ));
        }
        Ok(MappedTable {
            path: path.to_path_buf(),
            mmap,
            start,
            rows,
            cols,
            dtype: info.dtype,
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
                    self.path.display(),
                    self.rows
                );
            }
            let row = &self.mmap[self.start + id * row_bytes..self.start + (id + 1) * row_bytes];
            match self.dtype {
                Dtype::F32 => out.extend(
                    row.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                ),
                Dtype::F16 => out.extend(
                    row.chunks_exact(2)
                        .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
                ),
                _ => out.extend(
                    row.chunks_exact(2)
                        .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
                ),
            }
        }
        Tensor::from_vec(out, (ids.len(), self.cols), device)
    }
}

/// A model's `model.safetensors`: its vocabulary table read on demand, and everything
/// else through a memory-mapped `VarBuilder`.
pub struct Weights {
    pub path: PathBuf,
    pub table: MappedTable,
    pub vb: VarBuilder<'static>,
}

impl Weights {
    /// Opens `dir/model.safetensors`, checking that the table `name` is `rows × cols`.
    pub fn open(dir: &Path, name: &str, rows: usize, cols: usize) -> Result<Self, Error> {
        let path = dir.join("model.safetensors");
        let table = MappedTable::open(&path, name)?;
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
        Ok(Weights { path, table, vb })
    }
}
