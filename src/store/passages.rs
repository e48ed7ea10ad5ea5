//! The passage database (SQLite): documents, passage text and positions, and each passage's
//! windows (byte ranges of its text) with their embeddings as little-endian f32 BLOBs, so
//! unchanged documents can be carried into a new build without re-embedding, search can map
//! a window found in the vector index back to its passage, and `related` can fetch vectors.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use super::{
    DocumentInfo, Error, NewPassage, NewWindow, StoredPassage, StoredWindow, FORMAT_VERSION,
};

/// `UNIQUE (document, paragraph)` doubles as the index behind `find` and `document_passages`.
/// A document's windows are stored in one transaction with consecutive ids, so
/// `documents.first_window` and `documents.windows` name them as one id range: that is what
/// lets a search restricted to some documents test a window id with a few comparisons.
/// `vector` is the last column of `windows` so that looking up a window's passage and span
/// does not pull in the blob.
const SCHEMA: &str = "
    CREATE TABLE documents (
        id           INTEGER PRIMARY KEY,
        path         TEXT NOT NULL UNIQUE,
        sha256       TEXT NOT NULL,
        bytes        INTEGER NOT NULL,
        modified     TEXT,
        format       TEXT,
        title        TEXT,
        passages     INTEGER NOT NULL,
        first_window INTEGER NOT NULL,
        windows      INTEGER NOT NULL
    );
    CREATE TABLE passages (
        id         INTEGER PRIMARY KEY,
        document   INTEGER NOT NULL REFERENCES documents (id),
        paragraph  INTEGER NOT NULL,
        start_line INTEGER,
        end_line   INTEGER,
        page       INTEGER,
        section    TEXT,
        text       TEXT NOT NULL,
        terms      TEXT NOT NULL,
        UNIQUE (document, paragraph)
    );
    CREATE VIRTUAL TABLE lexical USING fts5 (
        terms, content = 'passages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 0'
    );
    CREATE TABLE windows (
        id         INTEGER PRIMARY KEY,
        passage    INTEGER NOT NULL REFERENCES passages (id),
        start_byte INTEGER NOT NULL,
        end_byte   INTEGER NOT NULL,
        vector     BLOB NOT NULL
    );
    CREATE INDEX windows_by_passage ON windows (passage);
";

const SELECT_STORED: &str = "
    SELECT p.id, d.path, p.paragraph, p.start_line, p.end_line, p.page, p.section, p.text
    FROM passages p JOIN documents d ON d.id = p.document";

/// One open passage database: writable while a build fills it, read-only once published.
pub struct PassageDb {
    conn: Connection,
    path: PathBuf,
    dims: usize,
}

impl PassageDb {
    /// Creates an empty database for a new generation.
    pub fn create(path: &Path, dims: usize) -> Result<PassageDb, Error> {
        let conn = Connection::open(path).map_err(Error::sqlite(path))?;
        // A window row (a 1.5 KB vector at 384 dimensions) and a passage row (a few hundred
        // bytes to a few KB of text) each fit many to a 16 KB page; with 4 KB pages a
        // 600-byte passage with its vector took 4.1 KB, with 16 KB pages 2.4 KB, with
        // lookups no slower.
        // No journal durability and no fsync per transaction: the file lives in an
        // unpublished directory that is thrown away if the build fails, and the builder
        // fsyncs it once before publishing.
        conn.execute_batch(&format!(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = MEMORY;
             PRAGMA synchronous = OFF;
             PRAGMA user_version = {FORMAT_VERSION};
             {SCHEMA}"
        ))
        .map_err(Error::sqlite(path))?;
        Ok(PassageDb {
            conn,
            path: path.to_path_buf(),
            dims,
        })
    }

    /// Opens a published database read-only; it never changes after publication.
    pub fn open(path: &Path, dims: usize) -> Result<PassageDb, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(Error::sqlite(path))?;
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if version != FORMAT_VERSION {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!("database format {version}, expected {FORMAT_VERSION}"),
            });
        }
        Ok(PassageDb {
            conn,
            path: path.to_path_buf(),
            dims,
        })
    }

    /// Stores one document, its passages and their windows in one transaction, with passage
    /// ids `first_passage, first_passage + 1, …` and window ids `first_window, …` in the
    /// order given. The caller has checked the windows.
    pub fn insert_document(
        &mut self,
        doc: &DocumentInfo,
        passages: &[NewPassage],
        first_passage: u64,
        first_window: u64,
    ) -> Result<(), Error> {
        let windows: usize = passages.iter().map(|p| p.windows.len()).sum();
        let tx = self.conn.transaction().map_err(Error::sqlite(&self.path))?;
        {
            tx.execute(
                "INSERT INTO documents
                 (path, sha256, bytes, modified, format, title, passages, first_window, windows)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    doc.path,
                    doc.sha256,
                    saturating_i64(doc.bytes),
                    doc.modified,
                    doc.format,
                    doc.title,
                    saturating_i64(passages.len() as u64),
                    saturating_i64(first_window),
                    saturating_i64(windows as u64),
                ],
            )
            .map_err(Error::sqlite(&self.path))?;
            let document = tx.last_insert_rowid();
            let mut insert_passage = tx
                .prepare_cached(
                    "INSERT INTO passages
                     (id, document, paragraph, start_line, end_line, page, section, text, terms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(Error::sqlite(&self.path))?;
            let mut insert_window = tx
                .prepare_cached(
                    "INSERT INTO windows (id, passage, start_byte, end_byte, vector)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(Error::sqlite(&self.path))?;
            let mut window_ids = first_window..;
            for (id, passage) in (first_passage..).zip(passages) {
                insert_passage
                    .execute(params![
                        saturating_i64(id),
                        document,
                        passage.paragraph,
                        passage.start_line,
                        passage.end_line,
                        passage.page,
                        passage.section,
                        passage.text,
                        passage.terms,
                    ])
                    .map_err(Error::sqlite(&self.path))?;
                // Windows first: `zip` stops at the shorter iterator without taking an id.
                for (window, window_id) in passage.windows.iter().zip(&mut window_ids) {
                    insert_window
                        .execute(params![
                            saturating_i64(window_id),
                            saturating_i64(id),
                            window.start,
                            window.end,
                            encode_vector(&window.vector),
                        ])
                        .map_err(Error::sqlite(&self.path))?;
                }
            }
        }
        tx.commit().map_err(Error::sqlite(&self.path))
    }

    /// SQLite's `quick_check`: the structure of every table and index, without comparing
    /// index contents (that is `integrity_check`, many times slower).
    pub fn quick_check(&self) -> Result<(), Error> {
        let problems: Vec<String> = self
            .conn
            .prepare("PRAGMA quick_check")
            .and_then(|mut stmt| {
                stmt.query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| Error::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        match problems.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(Error::Corrupt {
                path: self.path.clone(),
                reason: problems.join("; "),
            }),
        }
    }

    pub fn passage(&self, id: u64) -> Result<Option<StoredPassage>, Error> {
        self.conn
            .prepare_cached(&format!("{SELECT_STORED} WHERE p.id = ?1"))
            .and_then(|mut stmt| {
                stmt.query_row([saturating_i64(id)], stored_passage)
                    .optional()
            })
            .map_err(Error::sqlite(&self.path))
    }

    pub fn find(&self, doc: &str, paragraph: u32) -> Result<Option<StoredPassage>, Error> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT_STORED} WHERE d.path = ?1 AND p.paragraph = ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(params![doc, paragraph], stored_passage)
                    .optional()
            })
            .map_err(Error::sqlite(&self.path))
    }

    /// A document's passages ordered by paragraph; empty if the document is unknown.
    pub fn document_passages(&self, doc: &str) -> Result<Vec<StoredPassage>, Error> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT_STORED} WHERE d.path = ?1 ORDER BY p.paragraph"
            ))
            .and_then(|mut stmt| stmt.query_map([doc], stored_passage)?.collect())
            .map_err(Error::sqlite(&self.path))
    }

    /// Builds the keyword index over every stored passage's terms (once, when a build
    /// commits: faster than maintaining it row by row).
    pub fn build_lexical(&self) -> Result<(), Error> {
        self.conn
            .execute("INSERT INTO lexical (lexical) VALUES ('rebuild')", [])
            .map(|_| ())
            .map_err(Error::sqlite(&self.path))
    }

    /// Passages matching any of `terms`, best BM25 first (FTS5's k1 = 1.2, b = 0.75; the
    /// score is returned positive, higher is better), optionally only from `only_docs`.
    pub fn lexical_search(
        &self,
        terms: &[String],
        k: usize,
        only_docs: Option<&[String]>,
    ) -> Result<Vec<(u64, f32)>, Error> {
        let mut unique: Vec<&str> = terms.iter().map(String::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        // Each term quoted, so nothing in it is read as FTS5 query syntax.
        let query = unique
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut sql =
            String::from("SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ?1");
        let docs = only_docs.unwrap_or(&[]);
        if only_docs.is_some() {
            let marks = vec!["?"; docs.len()].join(", ");
            sql.push_str(&format!(
                " AND rowid IN (SELECT p.id FROM passages p JOIN documents d ON d.id = p.document \
                  WHERE d.path IN ({marks}))"
            ));
        }
        sql.push_str(&format!(" ORDER BY bm25(lexical), rowid LIMIT {k}"));
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&query];
        values.extend(docs.iter().map(|d| d as &dyn rusqlite::ToSql));
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(values.as_slice(), |row| {
                    Ok((unsigned(row, 0)?, -row.get::<_, f64>(1)? as f32))
                })?
                .collect()
            })
            .map_err(Error::sqlite(&self.path))
    }

    /// How many passages contain each of `terms` (0 for a term the index has never seen).
    pub fn document_frequencies(&self, terms: &[String]) -> Result<Vec<u64>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT count(*) FROM lexical WHERE lexical MATCH ?1")
            .map_err(Error::sqlite(&self.path))?;
        terms
            .iter()
            .map(|t| {
                let quoted = format!("\"{}\"", t.replace('"', "\"\""));
                stmt.query_row([quoted], |row| unsigned(row, 0))
                    .map_err(Error::sqlite(&self.path))
            })
            .collect()
    }

    /// The passage a window belongs to and the window's byte span in its text.
    pub fn window(&self, id: u64) -> Result<Option<(u64, Range<usize>)>, Error> {
        self.conn
            .prepare_cached("SELECT passage, start_byte, end_byte FROM windows WHERE id = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([saturating_i64(id)], |row| {
                    Ok((unsigned(row, 0)?, count(row, 1)?..count(row, 2)?))
                })
                .optional()
            })
            .map_err(Error::sqlite(&self.path))
    }

    /// A passage's windows in text order; empty if the passage is unknown.
    pub fn windows(&self, passage: u64) -> Result<Vec<StoredWindow>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, start_byte, end_byte, vector FROM windows
                 WHERE passage = ?1 ORDER BY start_byte, end_byte, id",
            )
            .map_err(Error::sqlite(&self.path))?;
        let mut rows = stmt
            .query([saturating_i64(passage)])
            .map_err(Error::sqlite(&self.path))?;
        let mut windows = Vec::new();
        while let Some(row) = rows.next().map_err(Error::sqlite(&self.path))? {
            let read = |row: &Row| -> rusqlite::Result<_> {
                Ok((
                    unsigned(row, 0)?,
                    count(row, 1)?..count(row, 2)?,
                    row.get::<_, Vec<u8>>(3)?,
                ))
            };
            let (id, span, blob) = read(row).map_err(Error::sqlite(&self.path))?;
            windows.push((span, self.decode(&blob, id)?));
        }
        Ok(windows)
    }

    /// The window ids of each of `docs`, one range per document in the order given; an
    /// error naming the first document that is not in this database.
    pub fn document_windows(&self, docs: &[String]) -> Result<Vec<Range<u64>>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT first_window, windows FROM documents WHERE path = ?1")
            .map_err(Error::sqlite(&self.path))?;
        docs.iter()
            .map(|doc| {
                let found = stmt
                    .query_row([doc], |row| {
                        let first = unsigned(row, 0)?;
                        Ok(first..first + unsigned(row, 1)?)
                    })
                    .optional()
                    .map_err(Error::sqlite(&self.path))?;
                found.ok_or_else(|| Error::UnknownDocument(doc.clone()))
            })
            .collect()
    }

    /// A document with its passages and windows exactly as stored, in their original order;
    /// `None` if the document is not in this database.
    pub fn document(&self, doc: &str) -> Result<Option<(DocumentInfo, Vec<NewPassage>)>, Error> {
        let found = self
            .conn
            .query_row(
                "SELECT id, path, sha256, bytes, modified, passages, format, title
                 FROM documents WHERE path = ?1",
                [doc],
                |row| {
                    let info = DocumentInfo {
                        path: row.get(1)?,
                        sha256: row.get(2)?,
                        bytes: unsigned(row, 3)?,
                        modified: row.get(4)?,
                        passages: count(row, 5)?,
                        format: row.get(6)?,
                        title: row.get(7)?,
                    };
                    Ok((row.get::<_, i64>(0)?, info))
                },
            )
            .optional()
            .map_err(Error::sqlite(&self.path))?;
        let Some((document, info)) = found else {
            return Ok(None);
        };
        let mut passages = Vec::with_capacity(info.passages);
        // Passage id → its position in `passages`.
        let mut positions = HashMap::with_capacity(info.passages);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, paragraph, start_line, end_line, page, section, text, terms
                 FROM passages WHERE document = ?1 ORDER BY id",
            )
            .map_err(Error::sqlite(&self.path))?;
        let mut rows = stmt.query([document]).map_err(Error::sqlite(&self.path))?;
        while let Some(row) = rows.next().map_err(Error::sqlite(&self.path))? {
            let read = |row: &Row| -> rusqlite::Result<_> {
                Ok((
                    unsigned(row, 0)?,
                    NewPassage {
                        paragraph: row.get(1)?,
                        start_line: row.get(2)?,
                        end_line: row.get(3)?,
                        page: row.get(4)?,
                        section: row.get(5)?,
                        text: row.get(6)?,
                        terms: row.get(7)?,
                        windows: Vec::new(),
                    },
                ))
            };
            let (id, passage) = read(row).map_err(Error::sqlite(&self.path))?;
            positions.insert(id, passages.len());
            passages.push(passage);
        }

        let mut stmt = self
            .conn
            .prepare(
                "SELECT w.id, w.passage, w.start_byte, w.end_byte, w.vector
                 FROM windows w JOIN passages p ON p.id = w.passage
                 WHERE p.document = ?1 ORDER BY w.id",
            )
            .map_err(Error::sqlite(&self.path))?;
        let mut rows = stmt.query([document]).map_err(Error::sqlite(&self.path))?;
        while let Some(row) = rows.next().map_err(Error::sqlite(&self.path))? {
            let read = |row: &Row| -> rusqlite::Result<_> {
                Ok((
                    unsigned(row, 0)?,
                    unsigned(row, 1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                ))
            };
            let (id, passage, start, end, blob) = read(row).map_err(Error::sqlite(&self.path))?;
            // The join guarantees the passage is one of this document's.
            let position = positions[&passage];
            passages[position].windows.push(NewWindow {
                start,
                end,
                vector: self.decode(&blob, id)?,
            });
        }
        Ok(Some((info, passages)))
    }

    /// Calls `add` with every window id and vector, in id order.
    pub fn for_each_vector(
        &self,
        mut add: impl FnMut(u64, Vec<f32>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, vector FROM windows ORDER BY id")
            .map_err(Error::sqlite(&self.path))?;
        let mut rows = stmt.query([]).map_err(Error::sqlite(&self.path))?;
        while let Some(row) = rows.next().map_err(Error::sqlite(&self.path))? {
            let id = unsigned(row, 0).map_err(Error::sqlite(&self.path))?;
            let blob = row
                .get_ref(1)
                .and_then(|value| Ok(value.as_blob()?))
                .map_err(Error::sqlite(&self.path))?;
            add(id, self.decode(blob, id)?)?;
        }
        Ok(())
    }

    /// Closes the connection, reporting errors that dropping it would swallow.
    pub fn close(self) -> Result<(), Error> {
        self.conn
            .close()
            .map_err(|(_, source)| Error::sqlite(&self.path)(source))
    }

    fn decode(&self, blob: &[u8], window: u64) -> Result<Vec<f32>, Error> {
        decode_vector(blob, self.dims).ok_or_else(|| Error::Corrupt {
            path: self.path.clone(),
            reason: format!(
                "window {window} has a {}-byte vector, expected {} f32 values",
                blob.len(),
                self.dims
            ),
        })
    }
}

fn stored_passage(row: &Row) -> rusqlite::Result<StoredPassage> {
    Ok(StoredPassage {
        id: unsigned(row, 0)?,
        doc: row.get(1)?,
        paragraph: row.get(2)?,
        start_line: row.get(3)?,
        end_line: row.get(4)?,
        page: row.get(5)?,
        section: row.get(6)?,
        text: row.get(7)?,
    })
}

/// SQLite integers are signed; every count and id this module writes is non-negative.
fn unsigned(row: &Row, column: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(column)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}

fn count(row: &Row, column: usize) -> rusqlite::Result<usize> {
    let value: i64 = row.get(column)?;
    usize::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}

/// Ids, counts and file sizes never come near `i64::MAX`; saturating keeps the write
/// infallible rather than inventing an error no caller could meet.
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Little-endian regardless of the host, so an index can be copied between machines.
pub fn encode_vector(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `None` unless `blob` holds exactly `dims` f32 values.
pub fn decode_vector(blob: &[u8], dims: usize) -> Option<Vec<f32>> {
    if blob.len() != dims * 4 {
        return None;
    }
    let values = blob
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str, passages: usize) -> DocumentInfo {
        DocumentInfo {
            path: path.into(),
            sha256: format!("sha-of-{path}"),
            bytes: 1000,
            modified: None,
            passages,
            format: Some("text".into()),
            title: None,
        }
    }

    /// A passage with one window over its whole text.
    fn passage(paragraph: u32, text: &str, vector: Vec<f32>) -> NewPassage {
        NewPassage {
            paragraph,
            start_line: Some(paragraph * 10 + 1),
            end_line: Some(paragraph * 10 + 3),
            page: None,
            section: None,
            text: text.into(),
            terms: text.to_lowercase(),
            windows: vec![NewWindow {
                start: 0,
                end: text.len() as u32,
                vector,
            }],
        }
    }

    #[test]
    fn vectors_round_trip_through_little_endian_blobs() {
        let vector = [1.0, -0.5, f32::MIN_POSITIVE, 3.25e7];
        let blob = encode_vector(&vector);
        assert_eq!(blob.len(), 16);
        assert_eq!(&blob[..4], &1.0f32.to_le_bytes());
        assert_eq!(decode_vector(&blob, 4).unwrap(), vector);
        assert_eq!(decode_vector(&blob, 3), None);
        assert_eq!(decode_vector(&blob[..15], 4), None);
    }

    #[test]
    fn stored_documents_read_back_identically_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        let mut db = PassageDb::create(&path, 2).unwrap();
        let mut a = vec![
            passage(1, "Ala ma kota. Kot ma Alę.", vec![1.0, 0.0]),
            passage(0, "Tytuł", vec![0.0, 1.0]),
        ];
        // Windows given out of text order: `document` keeps the given order (a copy is
        // exact), `windows` returns text order.
        a[0].windows.insert(
            0,
            NewWindow {
                start: 13,
                end: 25,
                vector: vec![0.6, -0.8],
            },
        );
        let mut info = doc("/n/a.md", 2);
        info.modified = Some("2025-03-01T10:00:00Z".into());
        db.insert_document(&info, &a, 1, 1).unwrap();
        db.insert_document(&doc("/n/b.md", 1), &[passage(0, "B", vec![0.6, 0.8])], 3, 4)
            .unwrap();
        db.close().unwrap();

        let db = PassageDb::open(&path, 2).unwrap();
        let (read_info, read) = db.document("/n/a.md").unwrap().unwrap();
        assert_eq!(read_info, info);
        assert_eq!(read, a);

        let ordered = db.document_passages("/n/a.md").unwrap();
        let paragraphs: Vec<u32> = ordered.iter().map(|p| p.paragraph).collect();
        assert_eq!(paragraphs, [0, 1]);
        assert_eq!(
            ordered[0].id, 2,
            "ids follow insertion order, not paragraph order"
        );

        let found = db.find("/n/b.md", 0).unwrap().unwrap();
        assert_eq!(
            (found.id, found.doc.as_str(), found.text.as_str()),
            (3, "/n/b.md", "B")
        );
        assert!(db.find("/n/b.md", 1).unwrap().is_none());
        assert_eq!(
            db.passage(1).unwrap().unwrap().text,
            "Ala ma kota. Kot ma Alę."
        );
        assert!(db.passage(4).unwrap().is_none());
        assert!(db.document("/n/c.md").unwrap().is_none());

        // Window ids run on across passages and documents: a's are 1..=3, b's is 4.
        assert_eq!(db.window(1).unwrap(), Some((1, 13..25)));
        assert_eq!(db.window(2).unwrap(), Some((1, 0..25)));
        assert_eq!(db.window(3).unwrap(), Some((2, 0..6)));
        assert_eq!(db.window(4).unwrap(), Some((3, 0..1)));
        assert_eq!(db.window(5).unwrap(), None);
        assert_eq!(
            db.windows(1).unwrap(),
            [(0..25, vec![1.0, 0.0]), (13..25, vec![0.6, -0.8])]
        );
        assert_eq!(db.windows(3).unwrap(), [(0..1, vec![0.6, 0.8])]);
        assert!(db.windows(4).unwrap().is_empty());
        assert_eq!(
            db.document_windows(&["/n/b.md".into(), "/n/a.md".into()])
                .unwrap(),
            [4..5, 1..4]
        );
        let err = db.document_windows(&["/n/c.md".into()]).unwrap_err();
        assert!(matches!(err, Error::UnknownDocument(ref d) if d == "/n/c.md"));

        let mut seen = Vec::new();
        db.for_each_vector(|id, v| {
            seen.push((id, v));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(seen[2].1, [0.0, 1.0]);
    }

    #[test]
    fn read_only_database_rejects_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        PassageDb::create(&path, 2).unwrap().close().unwrap();
        let mut db = PassageDb::open(&path, 2).unwrap();
        assert!(db.insert_document(&doc("/x", 0), &[], 1, 1).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_passage_database_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        std::fs::write(&path, b"definitely not sqlite, just some text long enough").unwrap();
        let err = PassageDb::open(&path, 2).err().unwrap();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    }
}
