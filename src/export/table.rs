//! One exported table as Parquet files: rows buffered by column, written a row group at a
//! time, and a new file begun once a file holds `rows_per_file` rows (`windows-00000.parquet`,
//! `windows-00001.parquet`…), so that no file or buffer grows with the index. Each file is
//! hashed as it is written and carries the export's key-value metadata.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::Type;

use super::Error;
use crate::checksum::Hashing;

/// A column's type, as declared in the table's schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `required int64`
    Int64,
    /// `optional int64`
    OptionalInt64,
    /// `required binary (STRING)`
    Text,
    /// `optional binary (STRING)`
    OptionalText,
    /// A list of `dims` floats: `required group (LIST) { repeated group list { required
    /// float element; } }`, which Arrow reads as `list<float>` and DuckDB as `FLOAT[]`.
    Floats { dims: usize },
}

/// One value of a row, in the order of the table's columns.
pub enum Value<'a> {
    Int64(i64),
    OptionalInt64(Option<i64>),
    Text(&'a str),
    OptionalText(Option<&'a str>),
    Floats(&'a [f32]),
}

/// A file the table wrote: its name in the export folder, rows, bytes and sha256.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WrittenFile {
    pub name: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Where a table's files go and how big they get.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub rows_per_group: usize,
    pub rows_per_file: u64,
}

enum Buffer {
    Int64(Vec<i64>),
    OptionalInt64(Vec<i64>, Vec<i16>),
    Text(Vec<ByteArray>),
    OptionalText(Vec<ByteArray>, Vec<i16>),
    Floats(Vec<f32>, usize),
}

pub struct Table {
    dir: PathBuf,
    name: &'static str,
    schema: Arc<Type>,
    kinds: Vec<Kind>,
    properties: Arc<WriterProperties>,
    sizes: Sizes,
    buffers: Vec<Buffer>,
    buffered: usize,
    file: Option<OpenFile>,
    written: Vec<WrittenFile>,
}

struct OpenFile {
    name: String,
    rows: u64,
    writer: SerializedFileWriter<Hashing<BufWriter<File>>>,
}

impl Table {
    /// A table `name` whose files go into `dir`, with `columns` (name and kind, in order)
    /// and `metadata` in every file's footer.
    pub fn new(
        dir: &Path,
        name: &'static str,
        columns: &[(&str, Kind)],
        metadata: &[(String, String)],
        sizes: Sizes,
    ) -> Result<Table, Error> {
        let fields: Vec<String> = columns
            .iter()
            .map(|(column, kind)| match kind {
                Kind::Int64 => format!("required int64 {column};"),
                Kind::OptionalInt64 => format!("optional int64 {column};"),
                Kind::Text => format!("required binary {column} (STRING);"),
                Kind::OptionalText => format!("optional binary {column} (STRING);"),
                Kind::Floats { .. } => format!(
                    "required group {column} (LIST) {{ repeated group list {{ required float element; }} }}"
                ),
            })
            .collect();
        let message = format!("message {name} {{ {} }}", fields.join(" "));
        let schema = parse_message_type(&message).map_err(|source| Error::Parquet {
            path: dir.join(name),
            source,
        })?;
        let metadata = metadata
            .iter()
            .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
            .collect();
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(metadata))
            .set_created_by(format!("akapit {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_row_count(Some(sizes.rows_per_group))
            .build();
        let kinds: Vec<Kind> = columns.iter().map(|(_, kind)| *kind).collect();
        let mut table = Table {
            dir: dir.to_path_buf(),
            name,
            schema: Arc::new(schema),
            buffers: Vec::new(),
            kinds,
            properties: Arc::new(properties),
            sizes,
            buffered: 0,
            file: None,
            written: Vec::new(),
        };
        table.buffers = table.empty_buffers();
        Ok(table)
    }

    fn empty_buffers(&self) -> Vec<Buffer> {
        self.kinds
            .iter()
            .map(|kind| match kind {
                Kind::Int64 => Buffer::Int64(Vec::new()),
                Kind::OptionalInt64 => Buffer::OptionalInt64(Vec::new(), Vec::new()),
                Kind::Text => Buffer::Text(Vec::new()),
                Kind::OptionalText => Buffer::OptionalText(Vec::new(), Vec::new()),
                Kind::Floats { dims } => Buffer::Floats(Vec::new(), *dims),
            })
            .collect()
    }

    /// Adds one row. The values must match the columns in number, order and kind (a
    /// mismatch is a bug of the caller, and panics).
    pub fn push(&mut self, row: &[Value]) -> Result<(), Error> {
        assert_eq!(row.len(), self.buffers.len(), "a row of {}", self.name);
        for (buffer, value) in self.buffers.iter_mut().zip(row) {
            match (buffer, value) {
                (Buffer::Int64(values), Value::Int64(v)) => values.push(*v),
                (Buffer::OptionalInt64(values, defined), Value::OptionalInt64(v)) => {
                    defined.push(i16::from(v.is_some()));
                    values.extend(v);
                }
                (Buffer::Text(values), Value::Text(v)) => values.push(ByteArray::from(*v)),
                (Buffer::OptionalText(values, defined), Value::OptionalText(v)) => {
                    defined.push(i16::from(v.is_some()));
                    values.extend(v.map(ByteArray::from));
                }
                (Buffer::Floats(values, dims), Value::Floats(v)) => {
                    assert_eq!(v.len(), *dims, "a vector of {}", self.name);
                    values.extend_from_slice(v);
                }
                _ => panic!("a value of the wrong kind for a column of {}", self.name),
            }
        }
        self.buffered += 1;
        if self.buffered >= self.sizes.rows_per_group {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group, into the current file or a new one.
    fn flush(&mut self) -> Result<(), Error> {
        if self.buffered == 0 {
            return Ok(());
        }
        if self
            .file
            .as_ref()
            .is_some_and(|f| f.rows >= self.sizes.rows_per_file)
        {
            self.close_file()?;
        }
        if self.file.is_none() {
            self.file = Some(self.open_file()?);
        }
        let empty = self.empty_buffers();
        let buffers = std::mem::replace(&mut self.buffers, empty);
        let rows = std::mem::take(&mut self.buffered);
        let Some(file) = self.file.as_mut() else {
            unreachable!("opened above");
        };
        let path = self.dir.join(&file.name);
        let parquet = |source| Error::Parquet {
            path: path.clone(),
            source,
        };
        let mut group = file.writer.next_row_group().map_err(parquet)?;
        for buffer in &buffers {
            let mut column = group.next_column().map_err(parquet)?.ok_or_else(|| {
                parquet(parquet::errors::ParquetError::General(
                    "the schema has fewer columns than the rows".into(),
                ))
            })?;
            write_column(column.untyped(), buffer).map_err(parquet)?;
            column.close().map_err(parquet)?;
        }
        group.close().map_err(parquet)?;
        file.rows += rows as u64;
        Ok(())
    }

    fn open_file(&self) -> Result<OpenFile, Error> {
        let name = format!("{}-{:05}.parquet", self.name, self.written.len());
        let path = self.dir.join(&name);
        let created = File::create_new(&path).map_err(|source| Error::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
        let writer = SerializedFileWriter::new(
            Hashing::new(BufWriter::with_capacity(1 << 20, created)),
            self.schema.clone(),
            self.properties.clone(),
        )
        .map_err(|source| Error::Parquet { path, source })?;
        Ok(OpenFile {
            name,
            rows: 0,
            writer,
        })
    }

    fn close_file(&mut self) -> Result<(), Error> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let path = self.dir.join(&file.name);
        let hashing = file.writer.into_inner().map_err(|source| Error::Parquet {
            path: path.clone(),
            source,
        })?;
        let (buffered, sha256, bytes) = hashing.finish();
        let created = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all().map(|()| f))
            .map_err(|source| Error::Io {
                action: "write",
                path,
                source,
            })?;
        drop(created);
        self.written.push(WrittenFile {
            name: file.name,
            rows: file.rows,
            bytes,
            sha256,
        });
        Ok(())
    }

    /// Writes what is buffered, closes the last file and returns the files written. A
    /// table without rows still gets one file, holding its schema and metadata.
    pub fn finish(mut self) -> Result<Vec<WrittenFile>, Error> {
        self.flush()?;
        if self.written.is_empty() && self.file.is_none() {
            self.file = Some(self.open_file()?);
        }
        self.close_file()?;
        Ok(self.written)
    }
}

fn write_column(writer: &mut ColumnWriter<'_>, buffer: &Buffer) -> parquet::errors::Result<()> {
    use parquet::column::writer::ColumnWriter as W;
    match (writer, buffer) {
        (W::Int64ColumnWriter(w), Buffer::Int64(values)) => {
            w.write_batch(values, None, None)?;
        }
        (W::Int64ColumnWriter(w), Buffer::OptionalInt64(values, defined)) => {
            w.write_batch(values, Some(defined), None)?;
        }
        (W::ByteArrayColumnWriter(w), Buffer::Text(values)) => {
            w.write_batch(values, None, None)?;
        }
        (W::ByteArrayColumnWriter(w), Buffer::OptionalText(values, defined)) => {
            w.write_batch(values, Some(defined), None)?;
        }
        (W::FloatColumnWriter(w), Buffer::Floats(values, dims)) => {
            // Every element is present (definition level 1); a repetition level of 0 starts
            // the next row's list.
            let defined = vec![1i16; values.len()];
            let repeated: Vec<i16> = (0..values.len())
                .map(|i| i16::from(i % dims != 0))
                .collect();
            w.write_batch(values, Some(&defined), Some(&repeated))?;
        }
        _ => {
            return Err(parquet::errors::ParquetError::General(
                "a column's writer does not match its buffer".into(),
            ))
        }
    }
    Ok(())
}
