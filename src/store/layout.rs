//! The index directory's layout and the file-system steps that keep it consistent across
//! crashes: generation names, the builders' lock, write-then-rename with fsync, and removal
//! of what killed or superseded builds leave behind.

use std::fs::{self, File, TryLockError};
use std::io::Write;
use std::path::Path;

use super::Error;

/// The single commit point: whatever generation it names is the index.
pub const MANIFEST: &str = "manifest.json";
/// Held exclusively by a builder for its whole run; readers never take it.
pub const LOCK: &str = ".lock";
/// Inside a generation directory.
pub const PASSAGES: &str = "passages.sqlite";
/// Inside a generation directory.
pub const VECTORS: &str = "vectors.usearch";
/// Anything with this suffix is unpublished work of a build that may have been killed.
pub const TMP_SUFFIX: &str = ".tmp";
const GENERATION_PREFIX: &str = "gen-";

/// `gen-000042`: zero-padded so a directory listing sorts in build order.
pub fn generation_name(number: u64) -> String {
    format!("{GENERATION_PREFIX}{number:06}")
}

/// The number of a generation directory name, `None` for anything else. Also guards the
/// manifest's `generation` field against names that would leave the index directory.
pub fn parse_generation(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(GENERATION_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Takes the builders' lock, or fails at once (naming the lock file) if another build has it.
/// The lock is released when the returned file is closed, also when the process dies.
pub fn lock(dir: &Path) -> Result<File, Error> {
    let path = dir.join(LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io("create the lock file", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        }),
        Err(TryLockError::Error(source)) => Err(Error::Io {
            action: "lock",
            path,
            source,
        }),
    }
}

/// One more than the highest generation number present in any form (published, renamed
/// but never committed, or a `.tmp` leftover), so a new build never reuses a name.
pub fn next_generation(dir: &Path) -> Result<u64, Error> {
    let mut highest = 0;
    for entry in fs::read_dir(dir).map_err(Error::io("list", dir))? {
        let entry = entry.map_err(Error::io("list", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let name = name.strip_suffix(TMP_SUFFIX).unwrap_or(&name);
        if let Some(number) = parse_generation(name) {
            highest = highest.max(number);
        }
    }
    Ok(highest + 1)
}

/// Best-effort removal of every `*.tmp` entry and every generation other than `keep`.
/// Must only run under the lock. A failure here costs disk space, never correctness, so it
/// is not reported: the next build tries again.
pub fn remove_unpublished(dir: &Path, keep: Option<&str>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stray = name.ends_with(TMP_SUFFIX);
        let superseded = keep.is_some_and(|keep| name != keep && parse_generation(&name).is_some());
        if stray || superseded {
            let path = entry.path();
            if path.is_dir() {
                let _ = fs::remove_dir_all(&path);
            } else {
                let _ = fs::remove_file(&path);
            }
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
        assert_eq!(parse_generation("manifest.json"), None);
    }

    #[test]
    fn next_generation_counts_leftovers_of_killed_builds() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_generation(dir.path()).unwrap(), 1);
        fs::create_dir(dir.path().join("gen-000002")).unwrap();
        fs::create_dir(dir.path().join("gen-000009.tmp")).unwrap();
        fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        assert_eq!(next_generation(dir.path()).unwrap(), 10);
    }

    #[test]
    fn remove_unpublished_keeps_only_the_named_generation() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["gen-000001", "gen-000002", "gen-000003.tmp"] {
            fs::create_dir(dir.path().join(name)).unwrap();
            fs::write(dir.path().join(name).join(PASSAGES), "x").unwrap();
        }
        fs::write(dir.path().join("manifest.json.tmp"), "{").unwrap();
        fs::write(dir.path().join(MANIFEST), "{}").unwrap();
        fs::write(dir.path().join(LOCK), "").unwrap();

        remove_unpublished(dir.path(), Some("gen-000002"));

        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [LOCK, "gen-000002", MANIFEST]);
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
        let held = lock(dir.path()).unwrap();
        let err = lock(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        assert!(err.to_string().contains(".lock"), "{err}");
        drop(held);
        assert!(lock(dir.path()).is_ok());
    }
}
