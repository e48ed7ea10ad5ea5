//! `akapit export`: an index as Parquet files, the interchange format that distributed
//! vector stores' bulk loaders, Spark and DuckDB read. Three tables, each one or more files:
//! `documents` (path, title, format, checksum), `passages` (text and citation: document,
//! paragraph, page, lines, section) and `windows` (the byte span of each window in its
//! passage's text, and its vector as float32). Every file's footer names the model, its
//! weights and the vector size; `export.json` lists the files with their checksums.
//!
//! The folder is written as `DIR.partial/` and renamed to `DIR` when complete, so a killed
//! export never leaves a folder that looks finished.

mod table;

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{self, Index, Manifest};
pub use table::WrittenFile;
use table::{Kind, Sizes, Table, Value};

/// Version of the export's layout (tables, columns, `export.json`); bumped on any change
/// a reader of an earlier export would misread.
pub const EXPORT_VERSION: u32 = 1;

/// The export's own list of what it holds, written last.
pub const MANIFEST: &str = "export.json";

/// Marks a folder as written by `akapit export`: only such folders are ever removed or
/// replaced.
pub const MARKER: &str = ".akapit-export";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{} is a file, not a folder; export into a new or empty folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error(
        "{} holds files that are not an earlier akapit export; export into a new or empty folder",
        dir.display()
    )]
    NotEmpty { dir: PathBuf },
    #[error("{} cannot be an export folder: it has no name of its own", dir.display())]
    Unnamed { dir: PathBuf },
}

/// How big files and row groups get.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// A new file of a table is begun once a file holds this many rows, in whole row groups
    /// (about 1.5 GB of windows at 384 dimensions with the default).
    pub rows_per_file: u64,
    /// Rows written together (and read together by most readers).
    pub rows_per_group: usize,
}

impl Options {
    pub const DEFAULT: Options = Options {
        rows_per_file: 1_000_000,
        rows_per_group: 8_192,
    };
}

/// `export.json`: what the export holds and how it was made.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportManifest {
    pub format: String,
    pub version: u32,
    pub model: store::ModelInfo,
    /// How the index stored its vectors (`f32`, `f16`, `i8`); exported as float32 as stored,
    /// unit length, compared by cosine (= dot product).
    pub stored_vectors: String,
    pub documents: u64,
    pub passages: u64,
    pub windows: u64,
    pub files: Vec<WrittenFile>,
}

/// What an export wrote.
pub struct Exported {
    pub dir: PathBuf,
    pub manifest: ExportManifest,
}

/// Writes `index` into the folder `dir` (new, empty, or an earlier export, which is
/// replaced). `progress` is told each document as it is written.
pub fn parquet(
    index: &Index,
    dir: &Path,
    options: Options,
    progress: &mut dyn FnMut(usize),
) -> Result<Exported, Error> {
    let partial = prepare(dir)?;
    let manifest = index.manifest();
    let metadata = metadata(manifest);
    let sizes = Sizes {
        rows_per_group: options.rows_per_group,
        rows_per_file: options.rows_per_file,
    };
    let dims = manifest.model.dims;
    let mut documents = Table::new(
        &partial,
        "documents",
        &[
            ("document", Kind::Text),
            ("title", Kind::OptionalText),
            ("format", Kind::OptionalText),
            ("sha256", Kind::Text),
            ("bytes", Kind::Int64),
            ("modified", Kind::OptionalText),
            ("passages", Kind::Int64),
        ],
        &metadata,
        sizes,
    )?;
    let mut passages = Table::new(
        &partial,
        "passages",
        &[
            ("passage_id", Kind::Int64),
            ("document", Kind::Text),
            ("paragraph", Kind::Int64),
            ("page", Kind::OptionalInt64),
            ("start_line", Kind::OptionalInt64),
            ("end_line", Kind::OptionalInt64),
            ("section", Kind::OptionalText),
            ("text", Kind::Text),
        ],
        &metadata,
        sizes,
    )?;
    let mut windows = Table::new(
        &partial,
        "windows",
        &[
            ("window_id", Kind::Int64),
            ("passage_id", Kind::Int64),
            ("document", Kind::Text),
            ("paragraph", Kind::Int64),
            ("start_byte", Kind::Int64),
            ("end_byte", Kind::Int64),
            ("vector", Kind::Floats { dims }),
        ],
        &metadata,
        sizes,
    )?;

    let mut paths: Vec<&str> = manifest.documents.iter().map(|d| d.path.as_str()).collect();
    paths.sort_unstable();
    let (mut passage_id, mut window_id) = (0i64, 0i64);
    for path in &paths {
        let Some((info, stored)) = index.document(path)? else {
            return Err(store::Error::Corrupt {
                path: index.dir().join(store::MANIFEST_FILE),
                reason: format!("it lists {path}, which no segment holds"),
            }
            .into());
        };
        documents.push(&[
            Value::Text(&info.path),
            Value::OptionalText(info.title.as_deref()),
            Value::OptionalText(info.format.as_deref()),
            Value::Text(&info.sha256),
            Value::Int64(info.bytes as i64),
            Value::OptionalText(info.modified.as_deref()),
            Value::Int64(stored.len() as i64),
        ])?;
        for passage in &stored {
            let paragraph = i64::from(passage.paragraph);
            passages.push(&[
                Value::Int64(passage_id),
                Value::Text(&info.path),
                Value::Int64(paragraph),
                Value::OptionalInt64(passage.page.map(i64::from)),
                Value::OptionalInt64(passage.start_line.map(i64::from)),
                Value::OptionalInt64(passage.end_line.map(i64::from)),
                Value::OptionalText(passage.section.as_deref()),
                Value::Text(&passage.text),
            ])?;
            for window in &passage.windows {
                windows.push(&[
                    Value::Int64(window_id),
                    Value::Int64(passage_id),
                    Value::Text(&info.path),
                    Value::Int64(paragraph),
                    Value::Int64(i64::from(window.start)),
                    Value::Int64(i64::from(window.end)),
                    Value::Floats(&window.vector),
                ])?;
                window_id += 1;
            }
            passage_id += 1;
        }
        progress(1);
    }
    let mut files = documents.finish()?;
    files.extend(passages.finish()?);
    files.extend(windows.finish()?);
    let written = ExportManifest {
        format: "akapit-export".into(),
        version: EXPORT_VERSION,
        model: manifest.model.clone(),
        stored_vectors: manifest.vectors.scalar.to_string(),
        documents: paths.len() as u64,
        passages: passage_id as u64,
        windows: window_id as u64,
        files,
    };
    let json = serde_json::to_vec_pretty(&written).map_err(|e| Error::Io {
        action: "write",
        path: partial.join(MANIFEST),
        source: std::io::Error::other(e),
    })?;
    write_synced(&partial.join(MANIFEST), &json)?;
    publish(&partial, dir)?;
    Ok(Exported {
        dir: dir.to_path_buf(),
        manifest: written,
    })
}

/// Every file's footer: what a loader needs to know to search the vectors the same way.
fn metadata(manifest: &Manifest) -> Vec<(String, String)> {
    let model = &manifest.model;
    let mut pairs = vec![
        ("akapit.export_version", EXPORT_VERSION.to_string()),
        ("akapit.model", model.name.clone()),
        ("akapit.model_revision", model.revision.clone()),
        ("akapit.model_sha256", model.sha256.clone()),
        ("akapit.dims", model.dims.to_string()),
        ("akapit.metric", "cosine".to_string()),
        (
            "akapit.vectors",
            format!(
                "float32, unit length, as the index stored them ({}); a passage's score is \
                 its best window's",
                manifest.vectors.scalar
            ),
        ),
        (
            "akapit.queries",
            "embed questions with `akapit embed`, which uses the index's model and prompt"
                .to_string(),
        ),
    ];
    if let Some(spec) = crate::models::registry::find(&model.name) {
        pairs.push(("akapit.query_prompt", spec.query_prefix.clone()));
    }
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// The `.partial` folder next to `dir`, new and marked. `dir` must be new, an empty folder
/// or an earlier export; a `.partial` folder left by a killed export is removed first.
fn prepare(dir: &Path) -> Result<PathBuf, Error> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::NotAFolder {
                path: dir.to_path_buf(),
            })
        }
        Ok(_) => {
            if !is_empty(dir)? && earlier_export(dir)?.is_none() {
                return Err(Error::NotEmpty {
                    dir: dir.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(source) => return Err(io("read", dir)(source)),
    }
    let partial = sibling(dir, "partial")?;
    // An earlier export that a killed run had moved aside but not yet removed.
    let replaced = sibling(dir, "replaced")?;
    if replaced.exists() {
        remove_export(&replaced)?;
    }
    if partial.exists() {
        if !partial.join(MARKER).is_file() {
            return Err(Error::NotEmpty { dir: partial });
        }
        fs::remove_dir_all(&partial).map_err(io("remove", &partial))?;
    }
    fs::create_dir_all(&partial).map_err(io("create", &partial))?;
    write_synced(
        &partial.join(MARKER),
        format!("akapit export, version {EXPORT_VERSION}\n").as_bytes(),
    )?;
    Ok(partial)
}

/// `DIR.suffix`, beside `dir`.
fn sibling(dir: &Path, suffix: &str) -> Result<PathBuf, Error> {
    let name = dir.file_name().ok_or_else(|| Error::Unnamed {
        dir: dir.to_path_buf(),
    })?;
    let mut sibling = name.to_os_string();
    sibling.push(".");
    sibling.push(suffix);
    Ok(dir.with_file_name(sibling))
}

/// Renames the finished `partial` folder to `dir`, replacing an empty folder or an earlier
/// export there (whose files are removed only once the new export is in place).
fn publish(partial: &Path, dir: &Path) -> Result<(), Error> {
    sync_dir(partial)?;
    let mut replaced = None;
    if dir.exists() {
        if is_empty(dir)? {
            fs::remove_dir(dir).map_err(io("replace", dir))?;
        } else {
            let old = sibling(dir, "replaced")?;
            fs::rename(dir, &old).map_err(io("move aside", dir))?;
            replaced = Some(old);
        }
    }
    fs::rename(partial, dir).map_err(io("rename", partial))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    if let Some(old) = replaced {
        remove_export(&old)?;
    }
    Ok(())
}

/// The files of an earlier export in `dir` (marker, manifest and the files it lists), if
/// `dir` holds exactly those; `None` if it holds anything else.
fn earlier_export(dir: &Path) -> Result<Option<Vec<PathBuf>>, Error> {
    if !dir.join(MARKER).is_file() {
        return Ok(None);
    }
    let Ok(text) = fs::read(dir.join(MANIFEST)) else {
        return Ok(None);
    };
    let Ok(manifest) = serde_json::from_slice::<ExportManifest>(&text) else {
        return Ok(None);
    };
    let mut ours: HashSet<String> = manifest.files.into_iter().map(|f| f.name).collect();
    ours.insert(MARKER.into());
    ours.insert(MANIFEST.into());
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io("list", dir))? {
        let entry = entry.map_err(io("list", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().map_err(io("list", dir))?.is_file();
        if !is_file || !ours.contains(&name) {
            return Ok(None);
        }
        files.push(entry.path());
    }
    Ok(Some(files))
}

/// Removes an earlier export moved aside: its own files, then the folder.
fn remove_export(dir: &Path) -> Result<(), Error> {
    let Some(files) = earlier_export(dir)? else {
        return Err(Error::NotEmpty {
            dir: dir.to_path_buf(),
        });
    };
    for file in files {
        fs::remove_file(&file).map_err(io("remove", &file))?;
    }
    fs::remove_dir(dir).map_err(io("remove", dir))
}

fn is_empty(dir: &Path) -> Result<bool, Error> {
    Ok(fs::read_dir(dir).map_err(io("list", dir))?.next().is_none())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(path)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()
    };
    write().map_err(io("write", path))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, ListAccessor};

    use super::*;
    use crate::store::testutil::{build, DIMS};

    const SMALL: Options = Options {
        rows_per_file: 4,
        rows_per_group: 3,
    };

    fn export(index: &Index, dir: &Path) -> Result<Exported, Error> {
        parquet(index, dir, SMALL, &mut |_| {})
    }

    /// Every row of a table, from its files in order, as parquet's own reader reads them.
    fn rows(dir: &Path, table: &str) -> Vec<Vec<Field>> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{table}-")))
            .collect();
        names.sort();
        let mut rows = Vec::new();
        for name in names {
            let reader = SerializedFileReader::new(File::open(dir.join(name)).unwrap()).unwrap();
            for row in reader.into_iter() {
                let row = row.unwrap();
                rows.push(row.get_column_iter().map(|(_, f)| f.clone()).collect());
            }
        }
        rows
    }

    fn long(value: Option<u32>) -> Field {
        value.map_or(Field::Null, |v| Field::Long(i64::from(v)))
    }

    fn text(value: Option<&str>) -> Field {
        value.map_or(Field::Null, |v| Field::Str(v.to_string()))
    }

    #[test]
    fn exports_every_passage_and_window_as_the_index_stores_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        build(
            &dir,
            &[
                ("/notes/b.txt", 3),
                ("/notes/a.txt", 2),
                ("/notes/c.txt", 4),
            ],
        );
        let index = Index::open(&dir).unwrap().unwrap();
        let out = tmp.path().join("out");
        let done = export(&index, &out).unwrap();
        assert_eq!(
            (
                done.manifest.documents,
                done.manifest.passages,
                done.manifest.windows
            ),
            (3, 9, 18)
        );
        assert!(!tmp.path().join("out.partial").exists());

        let (mut passages, mut windows) = (Vec::new(), Vec::new());
        for path in ["/notes/a.txt", "/notes/b.txt", "/notes/c.txt"] {
            let (_, stored) = index.document(path).unwrap().unwrap();
            for p in stored {
                let id = passages.len() as i64;
                for w in &p.windows {
                    windows.push((id, path, p.paragraph, w.start, w.end, w.vector.clone()));
                }
                passages.push(vec![
                    Field::Long(id),
                    Field::Str(path.into()),
                    Field::Long(i64::from(p.paragraph)),
                    long(p.page),
                    long(p.start_line),
                    long(p.end_line),
                    text(p.section.as_deref()),
                    Field::Str(p.text.clone()),
                ]);
            }
        }
        assert_eq!(rows(&out, "passages"), passages);
        let found = rows(&out, "windows");
        assert_eq!(found.len(), windows.len());
        for (n, (row, (passage, path, paragraph, start, end, vector))) in
            found.iter().zip(&windows).enumerate()
        {
            assert_eq!(
                row[..6],
                [
                    Field::Long(n as i64),
                    Field::Long(*passage),
                    Field::Str(path.to_string()),
                    Field::Long(i64::from(*paragraph)),
                    Field::Long(i64::from(*start)),
                    Field::Long(i64::from(*end)),
                ]
            );
            let Field::ListInternal(list) = &row[6] else {
                panic!("the vector is not a list: {:?}", row[6]);
            };
            let read: Vec<f32> = (0..list.len())
                .map(|i| list.get_float(i).unwrap())
                .collect();
            assert_eq!(read.len(), DIMS);
            assert_eq!(&read, vector);
        }
        let documents = rows(&out, "documents");
        assert_eq!(documents.len(), 3);
        assert_eq!(documents[0][0], Field::Str("/notes/a.txt".into()));
        assert_eq!(documents[0][6], Field::Long(2));

        // Files of whole row groups (3 rows) rolled over once past 4 rows; each one is listed with its true checksum and
        // carries the model in its footer.
        let manifest: ExportManifest =
            serde_json::from_slice(&fs::read(out.join(MANIFEST)).unwrap()).unwrap();
        let names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "documents-00000.parquet",
                "passages-00000.parquet",
                "passages-00001.parquet",
                "windows-00000.parquet",
                "windows-00001.parquet",
                "windows-00002.parquet",
            ]
        );
        for file in &manifest.files {
            let path = out.join(&file.name);
            assert_eq!(crate::checksum::sha256_file(&path).unwrap(), file.sha256);
            assert_eq!(fs::metadata(&path).unwrap().len(), file.bytes);
            let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
            let meta = reader.metadata().file_metadata();
            assert_eq!(meta.num_rows() as u64, file.rows);
            let pairs: HashSet<(String, Option<String>)> = meta
                .key_value_metadata()
                .unwrap()
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect();
            assert!(pairs.contains(&("akapit.model".into(), Some("test/fake-8d".into()))));
            assert!(pairs.contains(&("akapit.dims".into(), Some("8".into()))));
        }
    }

    #[test]
    fn an_empty_index_exports_empty_tables() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        build(&dir, &[]);
        let index = Index::open(&dir).unwrap().unwrap();
        let done = export(&index, &tmp.path().join("out")).unwrap();
        assert_eq!(done.manifest.files.len(), 3);
        assert!(done.manifest.files.iter().all(|f| f.rows == 0));
        assert!(rows(&tmp.path().join("out"), "windows").is_empty());
    }

    #[test]
    fn writes_only_into_new_or_empty_folders_or_over_its_own_exports() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        build(&dir, &[("/notes/a.txt", 2)]);
        let index = Index::open(&dir).unwrap().unwrap();

        // A folder of someone's files is refused and left as it was.
        let theirs = tmp.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        fs::write(theirs.join("notes.txt"), "mine").unwrap();
        assert!(matches!(
            export(&index, &theirs),
            Err(Error::NotEmpty { .. })
        ));
        assert_eq!(
            fs::read_to_string(theirs.join("notes.txt")).unwrap(),
            "mine"
        );
        assert!(!tmp.path().join("theirs.partial").exists());
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            export(&index, &file),
            Err(Error::NotAFolder { .. })
        ));

        // An empty folder is used; an earlier export is replaced, and what a killed export
        // left beside it is removed.
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        export(&index, &out).unwrap();
        let partial = tmp.path().join("out.partial");
        fs::create_dir(&partial).unwrap();
        fs::write(partial.join(MARKER), "akapit export").unwrap();
        fs::write(partial.join("windows-00000.parquet"), "half written").unwrap();
        export(&index, &out).unwrap();
        assert!(!partial.exists());
        assert!(!tmp.path().join("out.replaced").exists());
        assert_eq!(rows(&out, "passages").len(), 2);

        // Not once someone has put a file of their own into it, nor over a `.partial`
        // folder akapit did not make.
        fs::write(out.join("README"), "about this export").unwrap();
        assert!(matches!(export(&index, &out), Err(Error::NotEmpty { .. })));
        assert!(out.join("README").exists());
        let other = tmp.path().join("other");
        fs::create_dir(tmp.path().join("other.partial")).unwrap();
        fs::write(tmp.path().join("other.partial/data"), "theirs").unwrap();
        assert!(matches!(
            export(&index, &other),
            Err(Error::NotEmpty { .. })
        ));
        assert!(tmp.path().join("other.partial/data").exists());
    }
}
