//! Paths: how a document is named. The index keys a document by its absolute path written
//! as text that round-trips exactly: a file name that is not valid UTF-8 keeps its bytes
//! (`\xHH`), and a backslash is doubled so the two cannot be confused. People see the key
//! relative to the working directory when it lies under it, with control characters shown
//! as escapes. The modification time is kept beside the content hash so a later check can
//! skip hashing unchanged files.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::text::sanitize;

/// The absolute form of a path, without resolving symlinks away when it cannot be.
pub fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The key a file is indexed under: its absolute path as exact text.
pub fn key(path: &Path) -> String {
    to_text(&absolute(path))
}

/// A path as text: UTF-8 as it is, other bytes as `\xHH`, a backslash as `\\`.
pub fn to_text(path: &Path) -> String {
    let mut out = String::new();
    for chunk in bytes(path).utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// The path a key (or any text from `to_text`) names.
pub fn path_of(key: &str) -> PathBuf {
    let mut raw = Vec::with_capacity(key.len());
    let mut rest = key;
    while let Some(at) = rest.find('\\') {
        raw.extend_from_slice(&rest.as_bytes()[..at]);
        let escape = &rest[at..];
        if let Some(after) = escape.strip_prefix("\\\\") {
            raw.push(b'\\');
            rest = after;
        } else if let Some(byte) = escape
            .get(2..4)
            .filter(|_| escape.starts_with("\\x"))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            raw.push(byte);
            rest = &escape[4..];
        } else {
            raw.push(b'\\');
            rest = &escape[1..];
        }
    }
    raw.extend_from_slice(rest.as_bytes());
    from_bytes(raw)
}

#[cfg(unix)]
fn bytes(path: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes()
}

#[cfg(not(unix))]
fn bytes(path: &Path) -> &[u8] {
    path.to_str().map(str::as_bytes).unwrap_or_default()
}

#[cfg(unix)]
fn from_bytes(raw: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(raw))
}

#[cfg(not(unix))]
fn from_bytes(raw: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&raw).into_owned())
}

/// A key relative to the working directory when the file lies under it (for scripts: the
/// text is exact, control characters included).
pub fn relative(key: &str) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            let prefix = to_text(&cwd);
            let rest = key.strip_prefix(&prefix)?.strip_prefix('/')?;
            Some(rest.to_string())
        })
        .unwrap_or_else(|| key.to_string())
}

/// How a document's key is shown to people: relative when under the working directory,
/// with control and bidirectional characters as visible escapes.
pub fn display_path(key: &str) -> String {
    sanitize::escape(&relative(key))
}

/// A path given on the command line or found on disk, shown to people.
pub fn display(path: &Path) -> String {
    sanitize::escape(&to_text(path))
}

/// The file's modification time as RFC 3339, if the file system has one.
pub fn modified_time(path: &Path) -> Option<String> {
    file_stat(path)?.1
}

/// The file's size and modification time (RFC 3339, if the file system has one), from one
/// `stat`; `None` if the file cannot be looked at.
pub fn file_stat(path: &Path) -> Option<(u64, Option<String>)> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata.modified().ok().and_then(|m: SystemTime| {
        time::OffsetDateTime::from(m)
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    Some((metadata.len(), modified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_working_directory_are_shown_relative() {
        let cwd = std::env::current_dir().unwrap();
        let inside = to_text(&cwd.join("seeds").join("a.txt"));
        assert_eq!(display_path(&inside), "seeds/a.txt");
        assert_eq!(display_path("/elsewhere/a.txt"), "/elsewhere/a.txt");
        // A sibling folder whose name starts like the working directory's is not under it.
        let sibling = format!("{}-other/a.txt", to_text(&cwd));
        assert_eq!(display_path(&sibling), sibling);
    }

    #[test]
    fn absolute_paths_do_not_need_the_file_to_exist() {
        let path = absolute(Path::new("no-such-file.txt"));
        assert!(path.is_absolute());
        assert!(path.ends_with("no-such-file.txt"));
    }

    #[cfg(unix)]
    #[test]
    fn keys_round_trip_any_name_and_show_it_safely() {
        use std::os::unix::ffi::OsStrExt;
        let names: [&[u8]; 5] = [
            b"/d/zwykly.txt",
            b"/d/\xff\xfelatin\xb3.txt",
            b"/d/back\\slash\\x41.txt",
            b"/d/line\nbreak\x1b[2J.txt",
            "/d/żółć\u{202e}fdp.txt".as_bytes(),
        ];
        for name in names {
            let path = Path::new(std::ffi::OsStr::from_bytes(name));
            let text = to_text(path);
            assert_eq!(path_of(&text), path, "{text}");
            assert!(!display_path(&text).chars().any(char::is_control), "{text}");
        }
        assert_eq!(
            to_text(Path::new(std::ffi::OsStr::from_bytes(names[1]))),
            "/d/\\xff\\xfelatin\\xb3.txt"
        );
        assert_eq!(
            to_text(Path::new(std::ffi::OsStr::from_bytes(names[2]))),
            "/d/back\\\\slash\\\\x41.txt"
        );
    }
}
