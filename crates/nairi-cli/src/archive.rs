//! Uploads from a path: a file as it is, a directory zipped first (`nairi skills upload DIR`).

use std::io::Write;
use std::path::{Path, PathBuf};

use nairi::types::FileUpload;

use crate::exit::CliError;
use crate::input::{Stdin, content_type, file_error};

/// The upload of `path`: its bytes, or for a directory a zip of its files (named after the
/// directory, paths relative to it, hidden entries such as `.git` left out). `-` reads stdin.
pub fn upload_from_path(path: &str, stdin: &Stdin) -> Result<FileUpload, CliError> {
    if path == "-" {
        let data = stdin.read_bytes("the file")?;
        return Ok(FileUpload::new("stdin", "application/octet-stream", data));
    }
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| file_error(p, e))?;
    let name = p
        .canonicalize()
        .ok()
        .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "upload".to_owned());
    if meta.is_dir() {
        let data = zip_dir(p)?;
        return Ok(FileUpload::new(
            format!("{name}.zip"),
            "application/zip",
            data,
        ));
    }
    let data = std::fs::read(p).map_err(|e| file_error(p, e))?;
    Ok(FileUpload::new(name, content_type(p), data))
}

/// Zips the files under `dir` (deflated, relative `/`-separated names, sorted).
pub fn zip_dir(dir: &Path) -> Result<Vec<u8>, CliError> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "{} has no files to zip",
            dir.display()
        )));
    }
    files.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zip_err =
        |e: zip::result::ZipError| CliError::local(format!("zipping {}: {e}", dir.display()));
    for (name, path) in files {
        let bytes = std::fs::read(&path).map_err(|e| file_error(&path, e))?;
        zip.start_file(name, options).map_err(zip_err)?;
        zip.write_all(&bytes)
            .map_err(|e| CliError::local(format!("zipping {}: {e}", path.display())))?;
    }
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| file_error(dir, e))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ty = entry.file_type().map_err(|e| file_error(&path, e))?;
        if ty.is_dir() {
            collect(root, &path, out)?;
        } else if ty.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_zipped_without_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("pdf-tools");
        std::fs::create_dir_all(skill.join("scripts")).unwrap();
        std::fs::create_dir_all(skill.join(".git")).unwrap();
        std::fs::write(skill.join("SKILL.md"), "---\nname: pdf\n---\n").unwrap();
        std::fs::write(skill.join("scripts/run.sh"), "echo hi").unwrap();
        std::fs::write(skill.join(".git/HEAD"), "ref").unwrap();
        let upload = upload_from_path(skill.to_str().unwrap(), &Stdin::new()).unwrap();
        assert_eq!(upload.filename, "pdf-tools.zip");
        let archive = zip::ZipArchive::new(std::io::Cursor::new(upload.data.to_vec())).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().to_string())
            .collect();
        assert_eq!(names.len(), 2);
        assert_eq!(names, ["SKILL.md", "scripts/run.sh"]);
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(matches!(zip_dir(&empty), Err(CliError::Usage(_))));
    }
}
