//! The index directory's layout and the file-system steps that keep it consistent across
//! crashes: the marker that proves a folder is an index, segment and generation names, the
//! builders' lock, write-then-rename with fsync, and removal of what killed or superseded
//! builds and merges leave behind. akapit removes only segment folders (and the generation
//! folders of format 2) that carry its own marker with this index's id: whatever else is in
//! the folder, it did not make.

use std::fs::{self, File, TryLockError};
use std::io::{ErrorKind, Write};
use std::path::Path;

use super::Error;

/// Marks a folder as an akapit index; holds the index's id.
pub const MARKER: &str = ".akapit-index";
/// Inside every segment folder akapit writes: the id of the index it belongs to.
pub const GENERATION_MARKER: &str = ".akapit-generation";
/// The single commit point: whatever segments it names are the index.
pub const MANIFEST: &str = "manifest.json";
/// Held exclusively by a builder for its whole run; readers never take it.
pub const LOCK: &str = ".lock";
/// Inside a segment folder.
pub const PASSAGES: &str = "passages.sqlite";
/// Inside a segment folder.
pub const VECTORS: &str = "vectors.usearch";
/// Inside an unfinished segment folder: the window vectors waiting for the vector file.
pub const PENDING: &str = "pending.sqlite";
/// Inside an unfinished segment folder: what the build writing it was (model, chunker…),
/// so that a later build resumes it only if it would write the same.
pub const PENDING_STATE: &str = "pending.json";
/// Anything with this suffix is unpublished work of a build that may have been killed.
pub const TMP_SUFFIX: &str = ".tmp";
const GENERATION_PREFIX: &str = "gen-";
const SEGMENT_PREFIX: &str = "seg-";

/// `gen-000042`: zero-padded so names sort in commit order.
pub fn generation_name(number: u64) -> String {
    format!("{GENERATION_PREFIX}{number:06}")
}

/// The number of a generation name, `None` for anything else.
pub fn parse_generation(name: &str) -> Option<u64> {
    parse_numbered(name, GENERATION_PREFIX)
}

/// `seg-000042`: zero-padded so a directory listing sorts in the order they were written.
pub fn segment_name(number: u64) -> String {
    format!("{SEGMENT_PREFIX}{number:06}")
}

/// The number of a segment folder name, `None` for anything else. Also guards the
/// manifest's segment names against names that would leave the index directory.
pub fn parse_segment(name: &str) -> Option<u64> {
    parse_numbered(name, SEGMENT_PREFIX)
}

fn parse_numbered(name: &str, prefix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Makes `dir` an index folder, or checks that it is one, and returns the index's id. A
/// folder that does not exist is created; an empty one, or one holding an index from before
/// markers, is marked; anything else is refused, so that akapit never builds (and later
/// cleans up) inside a folder of someone else's files.
pub fn claim(dir: &Path) -> Result<String, Error> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::NotAFolder {
                path: dir.to_path_buf(),
            })
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(Error::io("create the index directory", dir))?
        }
        Err(e) => return Err(Error::io("read", dir)(e)),
    }
    let marker = dir.join(MARKER);
    match fs::read_to_string(&marker) {
        Ok(id) => return Ok(id.trim().to_string()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read", &marker)(e)),
    }
    let empty = fs::read_dir(dir)
        .map_err(Error::io("list", dir))?
        .next()
        .is_none();
    let earlier_index = matches!(super::Manifest::read(dir), Ok(Some(_)));
    if !empty && !earlier_index {
        return Err(Error::NotAnIndex {
            dir: dir.to_path_buf(),
        });
    }
    let id = new_id(dir);
    write_atomic(&marker, format!("{id}\n").as_bytes())?;
    // Two builds marking one empty folder at once: the marker that landed is the id.
    let written = fs::read_to_string(&marker).map_err(Error::io("read", &marker))?;
    Ok(written.trim().to_string())
}

/// An id no other index has: the hash of the folder, the time and the process.
fn new_id(dir: &Path) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{}:{nanos}:{}", dir.display(), std::process::id());
    crate::checksum::sha256_hex(seed.as_bytes())[..32].to_string()
}

/// Marks a generation folder as made by the index `id`.
pub fn mark_generation(generation: &Path, id: &str) -> Result<(), Error> {
    let marker = generation.join(GENERATION_MARKER);
    fs::write(&marker, format!("{id}\n")).map_err(Error::io("write", &marker))
}

/// Whether `path` is a generation folder that the index `id` made.
pub fn is_our_generation(path: &Path, id: &str) -> bool {
    fs::read_to_string(path.join(GENERATION_MARKER)).is_ok_and(|found| found.trim() == id)
}

/// Takes the builders' lock. If another build holds it: fails at once naming the lock file
/// when `wait` is `None`, or calls `wait` and blocks until the lock is free. The lock is
/// released when the returned file is closed, also when the process dies.
pub fn lock(dir: &Path, wait: Option<&dyn Fn()>) -> Result<File, Error> {
    let path = dir.join(LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io("create the lock file", &path))?;
    match (file.try_lock(), wait) {
        (Ok(()), _) => Ok(file),
        (Err(TryLockError::WouldBlock), None) => Err(Error::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        }),
        (Err(TryLockError::WouldBlock), Some(wait)) => {
            wait();
            file.lock().map_err(Error::io("lock", &path))?;
            Ok(file)
        }
        (Err(TryLockError::Error(source)), _) => Err(Error::Io {
            action: "lock",
            path,
            source,
        }),
    }
}

/// One past the highest segment number in `dir`, unfinished ones included, so that a new
/// segment never reuses the name of one a reader may still have open.
pub fn next_segment(dir: &Path) -> Result<u64, Error> {
    let mut highest = 0;
    for entry in fs::read_dir(dir).map_err(Error::io("list", dir))? {
        let entry = entry.map_err(Error::io("list", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let name = name.strip_suffix(TMP_SUFFIX).unwrap_or(&name);
        if let Some(number) = parse_segment(name) {
            highest = highest.max(number);
        }
    }
    Ok(highest + 1)
}

/// Best-effort removal of the segment folders (published or not) that the index `id` made
/// and `keep` does not name, and of its generation folders from format 2. Must only run
/// under the lock. A failure here costs disk space, never correctness, so it is not
/// reported: the next build tries again.
pub fn remove_unused(dir: &Path, id: &str, keep: &dyn Fn(&str) -> bool) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let bare = name.strip_suffix(TMP_SUFFIX).unwrap_or(&name);
        let ours = parse_segment(bare).is_some() || parse_generation(bare).is_some();
        let path = entry.path();
        if ours && !keep(name.as_ref()) && is_our_generation(&path, id) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Replaces `path` with `contents` so that a reader sees either the old or the new file,
/// even across a crash: write a sibling `.tmp`, fsync it, rename it over, fsync the dir.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(TMP_SUFFIX);
    let tmp = Path::new(&tmp_name);
    let mut file = File::create(tmp).map_err(Error::io("create", tmp))?;
    file.write_all(contents).map_err(Error::io("write", tmp))?;
    file.sync_all().map_err(Error::io("flush to disk", tmp))?;
    drop(file);
    fs::rename(tmp, path).map_err(Error::io("publish", path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Flushes a finished file to disk before it is published by a rename.
pub fn sync_file(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(Error::io("flush to disk", path))
}

/// Makes a rename or file creation inside `dir` durable. Directories cannot be opened as
/// files on Windows, where renames are journaled by the file system instead.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    if cfg!(unix) {
        File::open(dir)
            .and_then(|file| file.sync_all())
            .map_err(Error::io("flush to disk", dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_names_round_trip_and_reject_other_names() {
        assert_eq!(generation_name(7), "gen-000007");
        assert_eq!(
            parse_generation(&generation_name(1_234_567)),
            Some(1_234_567)
        );
        assert_eq!(parse_generation("gen-"), None);
        assert_eq!(parse_generation("gen-../../etc"), None);
        assert_eq!(parse_generation("gen-000003.tmp"), None);
        assert_eq!(parse_segment(&segment_name(42)), Some(42));
        assert_eq!(parse_segment("seg-../x"), None);
        assert_eq!(parse_segment("gen-000001"), None);
        assert_eq!(parse_generation("manifest.json"), None);
    }

    #[test]
    fn next_segment_counts_leftovers_of_killed_builds() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_segment(dir.path()).unwrap(), 1);
        fs::create_dir(dir.path().join("seg-000002")).unwrap();
        fs::create_dir(dir.path().join("seg-000009.tmp")).unwrap();
        fs::create_dir(dir.path().join("gen-000011")).unwrap();
        fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        assert_eq!(next_segment(dir.path()).unwrap(), 10);
    }

    #[test]
    fn only_generations_this_index_made_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let id = claim(dir.path()).unwrap();
        for name in ["gen-000001", "seg-000002", "seg-000003.tmp", "seg-000004"] {
            let generation = dir.path().join(name);
            fs::create_dir(&generation).unwrap();
            fs::write(generation.join(PASSAGES), "x").unwrap();
            if name != "seg-000004" {
                mark_generation(&generation, &id).unwrap();
            }
        }
        fs::write(dir.path().join("manifest.json.tmp"), "{").unwrap();
        fs::write(dir.path().join(LOCK), "").unwrap();

        remove_unused(dir.path(), &id, &|name| name == "seg-000002");

        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // seg-000004 carries no marker of this index: akapit did not make it.
        assert_eq!(
            left,
            [
                MARKER,
                LOCK,
                "manifest.json.tmp",
                "seg-000002",
                "seg-000004",
            ]
        );
    }

    #[test]
    fn a_folder_of_other_files_is_not_claimed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("gen-000003")).unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = claim(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NotAnIndex { .. }), "{err:?}");
        assert!(!dir.path().join(MARKER).exists());

        let file = dir.path().join("notes.txt");
        assert!(matches!(claim(&file), Err(Error::NotAFolder { .. })));

        let fresh = dir.path().join("new/index");
        let id = claim(&fresh).unwrap();
        assert_eq!(claim(&fresh).unwrap(), id, "the id stays");
        assert_eq!(id.len(), 32);
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST);
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(!dir.path().join("manifest.json.tmp").exists());
    }

    #[test]
    fn second_lock_fails_and_names_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path(), None).unwrap();
        let err = lock(dir.path(), None).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        assert!(err.to_string().contains(".lock"), "{err}");
        drop(held);
        assert!(lock(dir.path(), None).is_ok());
    }
}
