//! Paths: how a document is named. The index keys a document by its absolute path; people
//! see it relative to the working directory when it lies under it. The modification time
//! is kept beside the content hash so a later check can skip hashing unchanged files.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The absolute form of a path, without resolving symlinks away when it cannot be.
pub fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// How a stored document path is shown: relative to the working directory when under it.
pub fn display_path(path: &str) -> String {
    let p = Path::new(path);
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(|r| r.display().to_string()))
        .unwrap_or_else(|| path.to_string())
}

/// The file's modification time as RFC 3339, if the file system has one.
pub fn modified_time(path: &Path) -> Option<String> {
    let modified: SystemTime = std::fs::metadata(path).ok()?.modified().ok()?;
    let time = time::OffsetDateTime::from(modified);
    time.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_working_directory_are_shown_relative() {
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("seeds").join("a.txt");
        assert_eq!(
            display_path(&inside.display().to_string()),
            Path::new("seeds").join("a.txt").display().to_string()
        );
        assert_eq!(display_path("/elsewhere/a.txt"), "/elsewhere/a.txt");
    }

    #[test]
    fn absolute_paths_do_not_need_the_file_to_exist() {
        let path = absolute(Path::new("no-such-file.txt"));
        assert!(path.is_absolute());
        assert!(path.ends_with("no-such-file.txt"));
    }
}
