//! Walk: expands the paths given to `akapit index` into the list of files to read.
//! Directories are walked recursively in sorted order, skipping hidden entries; files named
//! explicitly are taken as they are. Files found while walking that are not text are reported.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::{DirEntry, WalkDir};

use super::paths::absolute;
use super::Error;

/// Extensions (compared case-insensitively) of the files picked up while walking a directory.
const DOCUMENT_EXTENSIONS: [&str; 10] = [
    "txt", "md", "markdown", "pdf", "html", "htm", "xhtml", "docx", "odt", "epub",
];

/// The files to read, in a deterministic order, and what was left out on the way.
#[derive(Debug, Default, PartialEq)]
pub struct Walked {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

/// A file found while walking a directory that will not be read, and why.
#[derive(Debug, PartialEq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Expands `paths` into the files to index. A path that does not exist is an error; a file that
/// is reached twice (named explicitly and inside a named directory, or under two roots that
/// overlap, however they are spelled) is listed once, at its first place. A root that is a
/// symbolic link is followed: the user named it.
pub fn walk(paths: &[PathBuf]) -> Result<Walked, Error> {
    let mut walked = Walked::default();
    let mut seen = HashSet::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::NotFound { path: path.clone() },
            _ => Error::Io {
                path: path.clone(),
                source,
            },
        })?;
        if meta.is_dir() {
            walk_dir(path, &mut walked, &mut seen)?;
        } else if seen.insert(absolute(path)) {
            walked.files.push(path.clone());
        }
    }
    Ok(walked)
}

fn walk_dir(root: &Path, walked: &mut Walked, seen: &mut HashSet<PathBuf>) -> Result<(), Error> {
    let entries = WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        // The root was named by the user, so it is read even when its own name starts with a dot.
        .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry));
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(root).to_path_buf();
                // An unreadable root means nothing can be indexed from it; deeper problems
                // (one unreadable subfolder) should not stop the rest of the walk.
                if err.depth() == 0 {
                    return Err(Error::Io {
                        path,
                        source: err.into(),
                    });
                }
                walked.skipped.push(Skipped {
                    path,
                    reason: err.to_string(),
                });
                continue;
            }
        };
        let file_type = entry.file_type();
        // The root itself (a folder, or a link to one) is walked, not reported; a file
        // already listed (named, or under another root) is neither listed nor reported.
        if file_type.is_dir()
            || entry.depth() == 0
            || (!file_type.is_symlink() && seen.contains(&absolute(entry.path())))
        {
            continue;
        }
        let reason = if file_type.is_symlink() {
            Some("symbolic link, not followed".to_string())
        } else if !file_type.is_file() {
            Some("not a regular file".to_string())
        } else if !has_document_extension(entry.path()) {
            Some(
                "not a document akapit reads (.txt, .md, .pdf, .html, .docx, .odt, .epub)"
                    .to_string(),
            )
        } else {
            None
        };
        match reason {
            Some(reason) => walked.skipped.push(Skipped {
                path: entry.into_path(),
                reason,
            }),
            None => {
                seen.insert(absolute(entry.path()));
                walked.files.push(entry.into_path());
            }
        }
    }
    Ok(())
}

fn is_hidden(entry: &DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with('.')
}

fn has_document_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            DOCUMENT_EXTENSIONS
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, "tekst").unwrap();
    }

    #[test]
    fn walks_directories_sorted_keeping_only_documents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "b.txt",
            "a.MD",
            "c.png",
            "d.PDF",
            "sub/d.Txt",
            "sub/e",
            ".hidden.txt",
            ".git/f.txt",
        ] {
            touch(&root.join(name));
        }
        let walked = walk(&[root.to_path_buf()]).unwrap();
        assert_eq!(
            walked.files,
            vec![
                root.join("a.MD"),
                root.join("b.txt"),
                root.join("d.PDF"),
                root.join("sub/d.Txt")
            ]
        );
        let skipped: Vec<_> = walked.skipped.iter().map(|s| s.path.clone()).collect();
        assert_eq!(skipped, vec![root.join("c.png"), root.join("sub/e")]);
        assert!(walked.skipped.iter().all(|s| s.reason.contains(".pdf")));
    }

    #[test]
    fn explicit_files_are_taken_as_they_are_and_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let pdf = root.join("notes.pdf");
        let txt = root.join("a.txt");
        touch(&pdf);
        touch(&txt);
        let walked = walk(&[pdf.clone(), txt.clone(), root.to_path_buf()]).unwrap();
        assert_eq!(walked.files, vec![pdf, txt]);
        assert!(walked.skipped.is_empty());
    }

    #[test]
    fn a_hidden_directory_named_explicitly_is_walked() {
        let dir = tempfile::tempdir().unwrap();
        let hidden = dir.path().join(".notes");
        touch(&hidden.join("a.txt"));
        let walked = walk(std::slice::from_ref(&hidden)).unwrap();
        assert_eq!(walked.files, vec![hidden.join("a.txt")]);
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nie-ma.txt");
        let err = walk(std::slice::from_ref(&missing)).unwrap_err();
        assert!(matches!(&err, Error::NotFound { path } if *path == missing));
        assert!(err.to_string().contains("nie-ma.txt"));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_found_while_walking_are_reported_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("a.txt"));
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("link.txt")).unwrap();
        let walked = walk(&[root.to_path_buf()]).unwrap();
        assert_eq!(walked.files, vec![root.join("a.txt")]);
        assert_eq!(walked.skipped[0].path, root.join("link.txt"));
        assert!(walked.skipped[0].reason.contains("symbolic link"));
    }

    #[test]
    fn overlapping_roots_list_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("c8");
        touch(&root.join("a.txt"));
        touch(&root.join("sub/b.txt"));
        let relative_spelling = root.join("sub/..");
        let walked = walk(&[root.clone(), relative_spelling, root.join("sub")]).unwrap();
        assert_eq!(
            walked.files,
            vec![root.join("a.txt"), root.join("sub/b.txt")]
        );
        assert!(walked.skipped.is_empty(), "{:?}", walked.skipped);
    }

    #[cfg(unix)]
    #[test]
    fn a_root_that_is_a_symbolic_link_is_walked_without_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("real/a.txt"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("real"), &link).unwrap();
        let walked = walk(std::slice::from_ref(&link)).unwrap();
        assert_eq!(walked.files, vec![link.join("a.txt")]);
        assert!(walked.skipped.is_empty(), "{:?}", walked.skipped);
    }
}
