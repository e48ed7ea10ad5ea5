//! One segment's passage database (SQLite): its documents, passage text and positions, each
//! passage's windows (byte ranges of its text) and its keyword postings. Window vectors live
//! in the segment's vector file only; while a segment is being written they wait in a
//! second database, `pending.sqlite`, attached to the same connection, so that a document
//! and its vectors are stored in one transaction and a killed build can resume from them.

use std::ops::Range;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use super::postings::{PostingList, PostingsWriter};
use super::{DocumentInfo, Error, NewPassage, StoredPassage, FORMAT_VERSION};

/// `UNIQUE (document, paragraph)` doubles as the index behind `find` and `document_passages`.
/// A document's passages and windows are stored in one transaction with consecutive ids, so
/// `documents.first_passage`/`first_window` and the counts name them as id ranges: that is
/// what lets a search skip deleted documents or keep to some documents with a few
/// comparisons per id.
const SCHEMA: &str = "
    CREATE TABLE documents (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,
        sha256        TEXT NOT NULL,
        bytes         INTEGER NOT NULL,
        modified      TEXT,
        format        TEXT,
        title         TEXT,
        passages      INTEGER NOT NULL,
        first_passage INTEGER NOT NULL,
        first_window  INTEGER NOT NULL,
        windows       INTEGER NOT NULL
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
        UNIQUE (document, paragraph)
    );
    CREATE TABLE windows (
        id         INTEGER PRIMARY KEY,
        passage    INTEGER NOT NULL REFERENCES passages (id),
        start_byte INTEGER NOT NULL,
        end_byte   INTEGER NOT NULL
    );
    CREATE INDEX windows_by_passage ON windows (passage);
    CREATE TABLE postings (
        term       TEXT PRIMARY KEY,
        passages   INTEGER NOT NULL,
        max_tf     INTEGER NOT NULL,
        min_length INTEGER NOT NULL,
        list       BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE lengths (id INTEGER PRIMARY KEY, terms BLOB NOT NULL);
";

/// What waits in `pending.sqlite` until the segment is finished: window vectors (for the
/// vector file) and passages' keyword terms (for the postings), neither kept after.
const PENDING_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS pending.vectors (window INTEGER PRIMARY KEY, vector BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS pending.terms (passage INTEGER PRIMARY KEY, terms TEXT NOT NULL);";

const SELECT_STORED: &str = "
    SELECT p.id, d.path, p.paragraph, p.start_line, p.end_line, p.page, p.section, p.text
    FROM passages p JOIN documents d ON d.id = p.document";

/// Where a document's passages and windows are in its segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub passages: Range<u64>,
    pub windows: Range<u64>,
}

/// A stored document read back for copying into another segment: its record, its passages
/// (windows with empty vectors, no keyword terms) and each window's id, in the order stored.
pub type StoredDocument = (DocumentInfo, Vec<NewPassage>, Vec<u64>);

/// A segment whose postings a merge copies: its database, its passages' lengths by id, and
/// the id each of its passages gets in the merged segment (0: left out, being deleted).
pub struct PostingsSource<'a> {
    pub db: &'a PassageDb,
    pub lengths: &'a [u32],
    pub new_ids: Vec<u32>,
}

/// One open passage database: writable while its segment is written, read-only once
/// published.
pub struct PassageDb {
    conn: Connection,
    path: PathBuf,
}

impl PassageDb {
    /// Creates an empty database for a new segment, with its pending vectors beside it.
    pub fn create(path: &Path, pending: &Path) -> Result<PassageDb, Error> {
        let conn = Connection::open(path).map_err(Error::sqlite(path))?;
        // A passage row (a few hundred bytes to a few KB of text) fits many to a 16 KB page.
        // The journal is a file (a killed build leaves every finished document readable),
        // but nothing is flushed per transaction: the writer syncs the files once before
        // publishing.
        conn.execute_batch(&format!(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = TRUNCATE;
             PRAGMA synchronous = OFF;
             PRAGMA user_version = {FORMAT_VERSION};
             {SCHEMA}"
        ))
        .map_err(Error::sqlite(path))?;
        let db = PassageDb {
            conn,
            path: path.to_path_buf(),
        };
        db.attach_pending(pending)?;
        Ok(db)
    }

    /// Opens the database of a segment left unfinished by a killed build, to go on writing.
    pub fn resume(path: &Path, pending: &Path) -> Result<PassageDb, Error> {
        let conn = Connection::open(path).map_err(Error::sqlite(path))?;
        let db = PassageDb {
            conn,
            path: path.to_path_buf(),
        };
        db.check_version()?;
        db.conn
            .execute_batch("PRAGMA journal_mode = TRUNCATE; PRAGMA synchronous = OFF;")
            .map_err(Error::sqlite(path))?;
        db.attach_pending(pending)?;
        Ok(db)
    }

    fn attach_pending(&self, pending: &Path) -> Result<(), Error> {
        let name = pending.to_str().ok_or_else(|| Error::Io {
            action: "open",
            path: pending.to_path_buf(),
            source: std::io::Error::other("the path is not valid UTF-8"),
        })?;
        self.conn
            .execute("ATTACH DATABASE ?1 AS pending", [name])
            .and_then(|_| {
                self.conn.execute_batch(&format!(
                    "PRAGMA pending.journal_mode = TRUNCATE; PRAGMA pending.synchronous = OFF;
                     {PENDING_SCHEMA}"
                ))
            })
            .map_err(Error::sqlite(pending))
    }

    /// Opens a published database read-only; it never changes after publication.
    pub fn open(path: &Path) -> Result<PassageDb, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(Error::sqlite(path))?;
        let db = PassageDb {
            conn,
            path: path.to_path_buf(),
        };
        db.check_version()?;
        Ok(db)
    }

    fn check_version(&self) -> Result<(), Error> {
        let version: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| self.corrupt(e.to_string()))?;
        if version != FORMAT_VERSION {
            return Err(self.corrupt(format!(
                "database format {version}, expected {FORMAT_VERSION}"
            )));
        }
        Ok(())
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }

    fn sqlite(&self) -> impl FnOnce(rusqlite::Error) -> Error + use<> {
        Error::sqlite(self.path.clone())
    }

    /// Stores one document, its passages, their windows and the windows' vectors (in the
    /// pending database) in one transaction, with passage ids `first_passage, …` and window
    /// ids `first_window, …` in the order given. The caller has checked the windows.
    pub fn insert_document(
        &mut self,
        doc: &DocumentInfo,
        passages: &[NewPassage],
        first_passage: u64,
        first_window: u64,
    ) -> Result<(), Error> {
        let windows: usize = passages.iter().map(|p| p.windows.len()).sum();
        let path = self.path.clone();
        let err = move || Error::sqlite(path.clone());
        let tx = self.conn.transaction().map_err(err())?;
        {
            tx.execute(
                "INSERT INTO documents (path, sha256, bytes, modified, format, title, passages,
                                        first_passage, first_window, windows)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    doc.path,
                    doc.sha256,
                    saturating_i64(doc.bytes),
                    doc.modified,
                    doc.format,
                    doc.title,
                    saturating_i64(passages.len() as u64),
                    saturating_i64(first_passage),
                    saturating_i64(first_window),
                    saturating_i64(windows as u64),
                ],
            )
            .map_err(err())?;
            let document = tx.last_insert_rowid();
            let mut insert_passage = tx
                .prepare_cached(
                    "INSERT INTO passages
                     (id, document, paragraph, start_line, end_line, page, section, text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(err())?;
            let mut insert_terms = tx
                .prepare_cached("INSERT INTO pending.terms (passage, terms) VALUES (?1, ?2)")
                .map_err(err())?;
            let mut insert_window = tx
                .prepare_cached(
                    "INSERT INTO windows (id, passage, start_byte, end_byte)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(err())?;
            let mut insert_vector = tx
                .prepare_cached("INSERT INTO pending.vectors (window, vector) VALUES (?1, ?2)")
                .map_err(err())?;
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
                    ])
                    .map_err(err())?;
                // A merge copies postings, not terms: its passages come without them.
                if !passage.terms.is_empty() {
                    insert_terms
                        .execute(params![saturating_i64(id), passage.terms])
                        .map_err(err())?;
                }
                // Windows first: `zip` stops at the shorter iterator without taking an id.
                for (window, window_id) in passage.windows.iter().zip(&mut window_ids) {
                    let window_id = saturating_i64(window_id);
                    insert_window
                        .execute(params![
                            window_id,
                            saturating_i64(id),
                            window.start,
                            window.end
                        ])
                        .map_err(err())?;
                    insert_vector
                        .execute(params![window_id, encode_vector(&window.vector)])
                        .map_err(err())?;
                }
            }
        }
        tx.commit().map_err(err())
    }

    /// The documents stored so far with where they are: for resuming an unfinished segment.
    pub fn stored_documents(&self) -> Result<Vec<(DocumentInfo, Placement)>, Error> {
        self.conn
            .prepare(
                "SELECT path, sha256, bytes, modified, passages, format, title,
                        first_passage, first_window, windows
                 FROM documents ORDER BY first_passage",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| {
                    let info = document_info(row)?;
                    let first_passage = unsigned(row, 7)?;
                    let first_window = unsigned(row, 8)?;
                    let placement = Placement {
                        passages: first_passage..first_passage + info.passages as u64,
                        windows: first_window..first_window + unsigned(row, 9)?,
                    };
                    Ok((info, placement))
                })?
                .collect()
            })
            .map_err(self.sqlite())
    }

    /// Removes documents stored by an unfinished segment that the build no longer wants.
    pub fn remove_documents(&mut self, paths: &[String]) -> Result<(), Error> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(Error::sqlite(&path))?;
        for doc in paths {
            tx.execute(
                "DELETE FROM pending.vectors WHERE window IN (SELECT w.id FROM windows w
                   JOIN passages p ON p.id = w.passage JOIN documents d ON d.id = p.document
                   WHERE d.path = ?1)",
                [doc],
            )
            .and_then(|_| {
                tx.execute(
                    "DELETE FROM windows WHERE passage IN (SELECT p.id FROM passages p
                       JOIN documents d ON d.id = p.document WHERE d.path = ?1)",
                    [doc],
                )
            })
            .and_then(|_| {
                tx.execute(
                    "DELETE FROM pending.terms WHERE passage IN (SELECT p.id FROM passages p
                       JOIN documents d ON d.id = p.document WHERE d.path = ?1)",
                    [doc],
                )
            })
            .and_then(|_| {
                tx.execute(
                    "DELETE FROM passages WHERE document IN
                       (SELECT id FROM documents WHERE path = ?1)",
                    [doc],
                )
            })
            .and_then(|_| tx.execute("DELETE FROM documents WHERE path = ?1", [doc]))
            .map_err(Error::sqlite(&path))?;
        }
        tx.commit().map_err(Error::sqlite(&path))
    }

    /// Builds the keyword postings and passage lengths (for passage ids below `end`) from
    /// the pending terms of every stored passage.
    pub fn write_postings(&mut self, end: u32) -> Result<(), Error> {
        let path = self.path.clone();
        let mut postings = PostingsWriter::default();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT passage, terms FROM pending.terms ORDER BY passage")
                .map_err(Error::sqlite(&path))?;
            let mut rows = stmt.query([]).map_err(Error::sqlite(&path))?;
            while let Some(row) = rows.next().map_err(Error::sqlite(&path))? {
                let id = unsigned(row, 0).map_err(Error::sqlite(&path))?;
                let terms = row.get_ref(1).and_then(|v| Ok(v.as_str()?));
                let terms = terms.map_err(Error::sqlite(&path))?;
                let id = u32::try_from(id).map_err(|_| Error::Corrupt {
                    path: path.clone(),
                    reason: format!("passage id {id} is past what a segment holds"),
                })?;
                postings.add(id, terms);
            }
        }
        let (lists, lengths) = postings.finish(end);
        self.insert_postings(
            lists.iter().map(|(term, list)| Ok((term.as_str(), list))),
            &lengths,
        )
    }

    /// Builds the keyword postings and passage lengths (for passage ids below `end`) of a
    /// merge from the postings of the segments merged, as Lucene does: each list is the
    /// sources' lists with deleted passages left out and ids renumbered. Nothing is
    /// analysed again, and a term's lists are read one at a time.
    pub fn write_merged_postings(
        &mut self,
        sources: &[PostingsSource],
        end: u32,
    ) -> Result<(), Error> {
        let mut lengths = vec![0u32; end as usize];
        for source in sources {
            for (old, &new) in source.new_ids.iter().enumerate() {
                if new != 0 {
                    let slot = lengths.get_mut(new as usize).ok_or_else(|| {
                        self.corrupt(format!("a merge renumbers a passage to {new}, past {end}"))
                    })?;
                    *slot = source.lengths.get(old).copied().unwrap_or(0);
                }
            }
        }
        let mut terms = std::collections::BTreeSet::new();
        for source in sources {
            terms.extend(source.db.terms()?);
        }
        let merged = terms.iter().filter_map(|term| {
            let mut postings: Vec<(u32, u32)> = Vec::new();
            for source in sources {
                let list = match source.db.postings(term) {
                    Ok(Some(list)) => list,
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                };
                let Some((ids, counts)) = list.decode() else {
                    return Some(Err(source
                        .db
                        .corrupt(format!("the postings of `{term}` are damaged"))));
                };
                postings.extend(ids.into_iter().zip(counts).filter_map(|(id, count)| {
                    let new = source.new_ids.get(id as usize).copied().unwrap_or(0);
                    (new != 0).then_some((new, count))
                }));
            }
            postings.sort_unstable();
            let mut list = PostingList::empty();
            let mut previous = 0;
            for (id, count) in postings {
                list.push(previous, id, count, lengths[id as usize]);
                previous = id;
            }
            (list.passages > 0).then(|| Ok((term.as_str(), list)))
        });
        self.insert_postings(merged, &lengths)
    }

    fn insert_postings<'a, L: std::borrow::Borrow<PostingList>>(
        &mut self,
        lists: impl Iterator<Item = Result<(&'a str, L), Error>>,
        lengths: &[u32],
    ) -> Result<(), Error> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(Error::sqlite(&path))?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO postings (term, passages, max_tf, min_length, list)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(Error::sqlite(&path))?;
            for item in lists {
                let (term, list) = item?;
                let list = list.borrow();
                insert
                    .execute(params![
                        term,
                        list.passages,
                        list.max_tf,
                        list.min_length,
                        list.bytes
                    ])
                    .map_err(Error::sqlite(&path))?;
            }
            let bytes: Vec<u8> = lengths.iter().flat_map(|l| l.to_le_bytes()).collect();
            tx.execute(
                "INSERT INTO lengths (id, terms) VALUES (1, ?1)",
                params![bytes],
            )
            .map_err(Error::sqlite(&path))?;
        }
        tx.commit().map_err(Error::sqlite(&path))
    }

    /// Every term with postings in this segment, in order.
    pub fn terms(&self) -> Result<Vec<String>, Error> {
        self.conn
            .prepare("SELECT term FROM postings ORDER BY term")
            .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
            .map_err(self.sqlite())
    }

    /// Every pending vector in window-id order, in batches of up to `batch`.
    pub fn for_each_pending_vector(
        &self,
        dims: usize,
        batch: usize,
        mut add: impl FnMut(&[(u64, Vec<f32>)]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT window, vector FROM pending.vectors ORDER BY window")
            .map_err(self.sqlite())?;
        let mut rows = stmt.query([]).map_err(Error::sqlite(&self.path))?;
        let mut buffer = Vec::with_capacity(batch);
        while let Some(row) = rows.next().map_err(Error::sqlite(&self.path))? {
            let id = unsigned(row, 0).map_err(Error::sqlite(&self.path))?;
            let blob = row
                .get_ref(1)
                .and_then(|value| Ok(value.as_blob()?))
                .map_err(Error::sqlite(&self.path))?;
            let vector = decode_vector(blob, dims).ok_or_else(|| {
                self.corrupt(format!(
                    "pending window {id} has a {}-byte vector",
                    blob.len()
                ))
            })?;
            buffer.push((id, vector));
            if buffer.len() == batch {
                add(&buffer)?;
                buffer.clear();
            }
        }
        if !buffer.is_empty() {
            add(&buffer)?;
        }
        Ok(())
    }

    /// Passages and windows stored: (passages, windows).
    pub fn counts(&self) -> Result<(usize, usize), Error> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM windows)",
                [],
                |row| Ok((count(row, 0)?, count(row, 1)?)),
            )
            .map_err(self.sqlite())
    }

    /// SQLite's `quick_check`: the structure of every table and index, without comparing
    /// index contents (that is `integrity_check`, many times slower).
    pub fn quick_check(&self) -> Result<(), Error> {
        let problems: Vec<String> = self
            .conn
            .prepare("PRAGMA main.quick_check")
            .and_then(|mut stmt| {
                stmt.query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| self.corrupt(e.to_string()))?;
        match problems.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(self.corrupt(problems.join("; "))),
        }
    }

    pub fn passage(&self, id: u64) -> Result<Option<StoredPassage>, Error> {
        self.conn
            .prepare_cached(&format!("{SELECT_STORED} WHERE p.id = ?1"))
            .and_then(|mut stmt| {
                stmt.query_row([saturating_i64(id)], stored_passage)
                    .optional()
            })
            .map_err(self.sqlite())
    }

    /// The passage numbered `paragraph` in document `doc`, if this segment holds one.
    pub fn find(&self, doc: &str, paragraph: u32) -> Result<Option<StoredPassage>, Error> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT_STORED} WHERE d.path = ?1 AND p.paragraph = ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(params![doc, paragraph], stored_passage)
                    .optional()
            })
            .map_err(self.sqlite())
    }

    /// All passages of `doc` ordered by paragraph; empty if this segment does not hold it.
    pub fn document_passages(&self, doc: &str) -> Result<Vec<StoredPassage>, Error> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT_STORED} WHERE d.path = ?1 ORDER BY p.paragraph"
            ))
            .and_then(|mut stmt| stmt.query_map([doc], stored_passage)?.collect())
            .map_err(self.sqlite())
    }

    /// The postings of one analysed term, if any passage of this segment has it.
    pub fn postings(&self, term: &str) -> Result<Option<PostingList>, Error> {
        self.conn
            .prepare_cached(
                "SELECT passages, max_tf, min_length, list FROM postings WHERE term = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([term], |row| {
                    Ok(PostingList {
                        passages: row.get(0)?,
                        max_tf: row.get(1)?,
                        min_length: row.get(2)?,
                        bytes: row.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(self.sqlite())
    }

    /// How many passages of this segment (deleted ones included) contain `term`.
    pub fn document_frequency(&self, term: &str) -> Result<u64, Error> {
        self.conn
            .prepare_cached("SELECT passages FROM postings WHERE term = ?1")
            .and_then(|mut stmt| stmt.query_row([term], |row| unsigned(row, 0)).optional())
            .map(Option::unwrap_or_default)
            .map_err(self.sqlite())
    }

    /// Each passage's number of terms, indexed by passage id (index 0 unused).
    pub fn lengths(&self) -> Result<Vec<u32>, Error> {
        let blob: Vec<u8> = self
            .conn
            .query_row("SELECT terms FROM lengths WHERE id = 1", [], |row| {
                row.get(0)
            })
            .map_err(|e| self.corrupt(format!("no passage lengths: {e}")))?;
        if !blob.len().is_multiple_of(4) {
            return Err(self.corrupt("passage lengths of a broken size".into()));
        }
        Ok(blob
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The passage a window belongs to, and the window's byte span in the passage text.
    pub fn window(&self, id: u64) -> Result<Option<(u64, Range<usize>)>, Error> {
        self.conn
            .prepare_cached("SELECT passage, start_byte, end_byte FROM windows WHERE id = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([saturating_i64(id)], |row| {
                    Ok((unsigned(row, 0)?, count(row, 1)?..count(row, 2)?))
                })
                .optional()
            })
            .map_err(self.sqlite())
    }

    /// A passage's windows (id and byte span), in text order.
    pub fn windows(&self, passage: u64) -> Result<Vec<(u64, Range<usize>)>, Error> {
        self.conn
            .prepare_cached(
                "SELECT id, start_byte, end_byte FROM windows
                 WHERE passage = ?1 ORDER BY start_byte, end_byte, id",
            )
            .and_then(|mut stmt| {
                stmt.query_map([saturating_i64(passage)], |row| {
                    Ok((unsigned(row, 0)?, count(row, 1)?..count(row, 2)?))
                })?
                .collect()
            })
            .map_err(self.sqlite())
    }

    /// Where `doc`'s passages and windows are, if this segment holds it.
    pub fn placement(&self, doc: &str) -> Result<Option<Placement>, Error> {
        self.conn
            .prepare_cached(
                "SELECT first_passage, passages, first_window, windows FROM documents
                 WHERE path = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([doc], |row| {
                    let passage = unsigned(row, 0)?;
                    let window = unsigned(row, 2)?;
                    Ok(Placement {
                        passages: passage..passage + unsigned(row, 1)?,
                        windows: window..window + unsigned(row, 3)?,
                    })
                })
                .optional()
            })
            .map_err(self.sqlite())
    }

    /// A document as it was stored: its record, its passages (with window spans and empty
    /// vectors) and the windows' ids, in the order stored, ready to be copied once the
    /// caller has the vectors.
    pub fn document(&self, doc: &str) -> Result<Option<StoredDocument>, Error> {
        let found = self
            .conn
            .query_row(
                "SELECT path, sha256, bytes, modified, passages, format, title, first_passage
                 FROM documents WHERE path = ?1",
                [doc],
                |row| Ok((document_info(row)?, unsigned(row, 7)?)),
            )
            .optional()
            .map_err(self.sqlite())?;
        let Some((info, first)) = found else {
            return Ok(None);
        };
        let ids = first..first + info.passages as u64;
        let mut passages: Vec<NewPassage> = self
            .conn
            .prepare_cached(
                "SELECT paragraph, start_line, end_line, page, section, text
                 FROM passages WHERE id >= ?1 AND id < ?2 ORDER BY id",
            )
            .and_then(|mut stmt| {
                stmt.query_map(
                    [saturating_i64(ids.start), saturating_i64(ids.end)],
                    |row| {
                        Ok(NewPassage {
                            paragraph: row.get(0)?,
                            start_line: row.get(1)?,
                            end_line: row.get(2)?,
                            page: row.get(3)?,
                            section: row.get(4)?,
                            text: row.get(5)?,
                            // Not stored once a segment is finished.
                            terms: String::new(),
                            windows: Vec::new(),
                        })
                    },
                )?
                .collect::<Result<_, _>>()
            })
            .map_err(self.sqlite())?;
        let mut window_ids = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, passage, start_byte, end_byte FROM windows
                 WHERE passage >= ?1 AND passage < ?2 ORDER BY id",
            )
            .map_err(self.sqlite())?;
        let mut rows = stmt
            .query([saturating_i64(ids.start), saturating_i64(ids.end)])
            .map_err(Error::sqlite(&self.path))?;
        while let Some(row) = rows.next().map_err(Error::sqlite(&self.path))? {
            let read = |row: &Row| -> rusqlite::Result<_> {
                Ok((
                    unsigned(row, 0)?,
                    unsigned(row, 1)?,
                    row.get(2)?,
                    row.get(3)?,
                ))
            };
            let (id, passage, start, end) = read(row).map_err(Error::sqlite(&self.path))?;
            let position = (passage - ids.start) as usize;
            passages[position].windows.push(super::NewWindow {
                start,
                end,
                vector: Vec::new(),
            });
            window_ids.push(id);
        }
        Ok(Some((info, passages, window_ids)))
    }

    /// Detaches the pending vectors (after they went into the vector file) and closes.
    pub fn close(self) -> Result<(), Error> {
        let _ = self.conn.execute("DETACH DATABASE pending", []);
        self.conn
            .close()
            .map_err(|(_, source)| Error::sqlite(&self.path)(source))
    }
}

fn document_info(row: &Row) -> rusqlite::Result<DocumentInfo> {
    Ok(DocumentInfo {
        path: row.get(0)?,
        sha256: row.get(1)?,
        bytes: unsigned(row, 2)?,
        modified: row.get(3)?,
        passages: count(row, 4)?,
        windows: 0,
        format: row.get(5)?,
        title: row.get(6)?,
        segment: String::new(),
    })
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

fn unsigned(row: &Row, column: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(column)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}

fn count(row: &Row, column: usize) -> rusqlite::Result<usize> {
    let value: i64 = row.get(column)?;
    usize::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A vector as little-endian f32 bytes, as the pending database holds it.
pub fn encode_vector(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The vector of `dims` values in `blob`, or `None` if it has another length.
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
    use crate::store::NewWindow;

    fn doc(path: &str, passages: usize) -> DocumentInfo {
        DocumentInfo {
            path: path.into(),
            sha256: format!("sha-of-{path}"),
            bytes: 1000,
            modified: None,
            passages,
            windows: 0,
            format: Some("text".into()),
            title: None,
            segment: String::new(),
        }
    }

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

    fn create(dir: &Path) -> PassageDb {
        PassageDb::create(&dir.join("p.sqlite"), &dir.join("pending.sqlite")).unwrap()
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
        let mut db = create(dir.path());
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
        let mut pending = Vec::new();
        db.for_each_pending_vector(2, 3, |batch| {
            pending.push(batch.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            pending,
            [
                vec![
                    (1, vec![0.6, -0.8]),
                    (2, vec![1.0, 0.0]),
                    (3, vec![0.0, 1.0])
                ],
                vec![(4, vec![0.6, 0.8])]
            ]
        );
        db.write_postings(4).unwrap();
        db.close().unwrap();

        let db = PassageDb::open(&dir.path().join("p.sqlite")).unwrap();
        let (read_info, read, window_ids) = db.document("/n/a.md").unwrap().unwrap();
        assert_eq!(read_info, info);
        assert_eq!(window_ids, [1, 2, 3]);
        let without_vectors: Vec<NewPassage> = a
            .iter()
            .map(|p| NewPassage {
                terms: String::new(),
                windows: p
                    .windows
                    .iter()
                    .map(|w| NewWindow {
                        vector: Vec::new(),
                        ..w.clone()
                    })
                    .collect(),
                ..p.clone()
            })
            .collect();
        assert_eq!(read, without_vectors);

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
        assert!(db.passage(4).unwrap().is_none());
        assert!(db.document("/n/c.md").unwrap().is_none());

        // Window ids run on across passages and documents: a's are 1..=3, b's is 4.
        assert_eq!(db.window(1).unwrap(), Some((1, 13..25)));
        assert_eq!(db.window(3).unwrap(), Some((2, 0..6)));
        assert_eq!(db.window(5).unwrap(), None);
        assert_eq!(db.windows(1).unwrap(), [(2, 0..25), (1, 13..25)]);
        assert_eq!(
            db.placement("/n/b.md").unwrap(),
            Some(Placement {
                passages: 3..4,
                windows: 4..5
            })
        );
        assert_eq!(db.placement("/n/c.md").unwrap(), None);
        assert_eq!(db.counts().unwrap(), (3, 4));

        // "ala ma kota. kot ma alę." has 6 terms (split on spaces, as the analyzer joined them).
        assert_eq!(db.lengths().unwrap(), [0, 6, 1, 1]);
        assert_eq!(db.document_frequency("ma").unwrap(), 1);
        assert_eq!(db.document_frequency("nic").unwrap(), 0);
        let list = db.postings("ma").unwrap().unwrap();
        assert_eq!((list.passages, list.max_tf, list.min_length), (1, 2, 6));
        assert_eq!(list.decode().unwrap(), (vec![1], vec![2]));
    }

    #[test]
    fn unwanted_documents_of_an_unfinished_segment_are_removed_with_their_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = create(dir.path());
        db.insert_document(&doc("/a", 1), &[passage(0, "A", vec![1.0, 0.0])], 1, 1)
            .unwrap();
        db.insert_document(&doc("/b", 1), &[passage(0, "B", vec![0.0, 1.0])], 2, 2)
            .unwrap();
        db.close().unwrap();
        let mut db = PassageDb::resume(
            &dir.path().join("p.sqlite"),
            &dir.path().join("pending.sqlite"),
        )
        .unwrap();
        let stored: Vec<String> = db
            .stored_documents()
            .unwrap()
            .into_iter()
            .map(|(d, _)| d.path)
            .collect();
        assert_eq!(stored, ["/a", "/b"]);
        db.remove_documents(&["/a".into()]).unwrap();
        assert_eq!(db.counts().unwrap(), (1, 1));
        let mut ids = Vec::new();
        db.for_each_pending_vector(2, 8, |batch| {
            ids.extend(batch.iter().map(|(id, _)| *id));
            Ok(())
        })
        .unwrap();
        assert_eq!(ids, [2]);
    }

    #[test]
    fn read_only_database_rejects_writes() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path()).close().unwrap();
        let mut db = PassageDb::open(&dir.path().join("p.sqlite")).unwrap();
        assert!(db.insert_document(&doc("/x", 0), &[], 1, 1).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_passage_database_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite");
        std::fs::write(&path, b"definitely not sqlite, just some text long enough").unwrap();
        let err = PassageDb::open(&path).err().unwrap();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    }
}
