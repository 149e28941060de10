//! Attachments: uploads (`{attachment_id}`), downloads (base64 bytes) and safe file names.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::common::{Extra, Timestamp, lenient_int, lenient_timestamp};

/// Largest attachment the API accepts: 50 MB, counted as 52,428,800 bytes.
pub const MAX_ATTACHMENT_BYTES: u64 = 52_428_800;

/// The file name used when a server-supplied name sanitises to nothing.
pub const FALLBACK_FILENAME: &str = "attachment.bin";

/// Answer of `POST /attachments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct AttachmentUpload {
    /// The `att_...` id to pass in `attachment_ids` of start or continue.
    pub attachment_id: String,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An attachment as downloaded: metadata and the decoded bytes.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Attachment {
    /// The `att_...` id.
    pub id: String,
    /// File name chosen by the uploader or the agent; sanitise before using it on disk
    /// (see [`Attachment::safe_filename`]).
    #[serde(default)]
    pub filename: Option<String>,
    /// MIME type, when the server reports it.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Size in bytes, when the server reports it.
    #[serde(default, deserialize_with = "lenient_int")]
    pub size_bytes: Option<i64>,
    /// Upload time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// The file's bytes (base64 on the wire, decoded here). A response without `data`, or
    /// with `data: null`, is a decode error rather than silently empty bytes; `""` is an
    /// empty file.
    #[serde(with = "base64_bytes")]
    #[cfg_attr(feature = "schema", schemars(with = "String", extend("contentEncoding" = "base64")))]
    pub data: Bytes,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("id", &self.id)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("size_bytes", &self.size_bytes)
            .field("created_at", &self.created_at)
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("extra", &self.extra)
            .finish()
    }
}

impl Attachment {
    /// A name safe to create inside a directory: see [`sanitize_filename`].
    pub fn safe_filename(&self) -> String {
        sanitize_filename(self.filename.as_deref(), &self.id)
    }

    /// Writes the bytes into `dir` under [`Attachment::safe_filename`] and returns the path
    /// written.
    ///
    /// An existing regular file of that name is replaced. The bytes go to a new temporary
    /// file in `dir` that is then renamed over the name, so a symbolic link of that name is
    /// replaced by the file (its target is never written through) and a reader never sees a
    /// half-written file. A directory of that name is an error. `dir` itself must exist.
    ///
    /// Failures are [`crate::Error::Io`] (class `FileSystemError`) with the path concerned
    /// and the operating system's error as the source.
    pub async fn save_to_dir(&self, dir: impl AsRef<Path>) -> crate::Result<PathBuf> {
        let dir = dir.as_ref();
        let name = self.safe_filename();
        let path = dir.join(&name);
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| crate::Error::Io { path, source }
        };
        let (tmp, mut file) = create_temp_file(dir).await.map_err(io(dir))?;
        let written = async {
            use tokio::io::AsyncWriteExt;
            file.write_all(&self.data).await?;
            file.sync_all().await?;
            drop(file);
            if tokio::fs::symlink_metadata(&path)
                .await
                .is_ok_and(|m| m.is_dir())
            {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a directory of that name is in the way",
                ));
            }
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io(&path)(e));
        }
        Ok(path)
    }
}

/// Creates `.nairi-<random>.tmp` in `dir` (short, whatever the final name's length), failing
/// rather than opening anything that exists (`create_new` never follows a symbolic link).
async fn create_temp_file(dir: &Path) -> std::io::Result<(PathBuf, tokio::fs::File)> {
    let mut attempts = 0;
    loop {
        let tmp = dir.join(format!(".nairi-{:016x}.tmp", fastrand::u64(..)));
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Turns a file name that came from the server (the agent chooses it) into one that cannot
/// leave the target directory: the last path component only, every character outside
/// `[A-Za-z0-9._-]` replaced by `_`, at most 255 bytes. An empty result or `.`/`..` becomes
/// [`FALLBACK_FILENAME`]; a missing name becomes `<id>.bin` (sanitised the same way).
pub fn sanitize_filename(filename: Option<&str>, id: &str) -> String {
    let raw = match filename {
        Some(name) => name.to_owned(),
        None => format!("{id}.bin"),
    };
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() > 255 {
        // Keep a short extension; the name itself is cut (everything is ASCII by now).
        let ext = clean
            .rfind('.')
            .filter(|&i| i > 0 && clean.len() - i <= 16)
            .map(|i| clean[i..].to_owned())
            .unwrap_or_default();
        clean.truncate(255 - ext.len());
        clean.push_str(&ext);
    }
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        return FALLBACK_FILENAME.to_owned();
    }
    clean
}

/// One file for a multipart upload (attachments, skills): its name, MIME type and bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// The file name sent in the multipart part (the server stores it).
    pub filename: String,
    /// The part's MIME type, e.g. `image/png`.
    pub content_type: String,
    /// The bytes; cheap to clone, so retries resend them without copying.
    pub data: Bytes,
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .finish()
    }
}

/// The serde form of a [`FileUpload`], as the generic call takes it: the bytes as standard
/// base64 (`data`), next to `filename` and `content_type`.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "FileUpload"))]
#[serde(deny_unknown_fields)]
struct FileUploadForm {
    /// The file name sent in the multipart part.
    filename: String,
    /// The part's MIME type, e.g. `image/png`.
    content_type: String,
    /// The bytes, standard base64 with padding.
    #[cfg_attr(feature = "schema", schemars(extend("contentEncoding" = "base64")))]
    data: String,
}

impl Serialize for FileUpload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        FileUploadForm {
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(&self.data),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileUpload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let form = FileUploadForm::deserialize(d)?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(form.data.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("data is not base64: {e}")))?;
        Ok(FileUpload {
            filename: form.filename,
            content_type: form.content_type,
            data: Bytes::from(data),
        })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for FileUpload {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FileUpload".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        FileUploadForm::json_schema(generator)
    }
}

impl FileUpload {
    /// A file from bytes already in memory.
    pub fn new(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        FileUpload {
            filename: filename.into(),
            content_type: content_type.into(),
            data: data.into(),
        }
    }

    /// A file read from disk for any upload: the name is the path's last component and the
    /// MIME type is guessed from its extension. A file larger than the largest upload the API
    /// takes ([`MAX_ATTACHMENT_BYTES`]) is refused before it is read; each operation then checks
    /// its own limit. The bindings' uploads from a path come through here.
    pub async fn from_path(path: impl AsRef<Path>) -> crate::Result<Self> {
        Self::read(path.as_ref(), MAX_ATTACHMENT_BYTES).await
    }

    /// An upload of bytes in memory: the MIME type is `content_type` or, absent, guessed from
    /// the file name (as for a path).
    pub fn from_bytes(
        filename: impl Into<String>,
        content_type: Option<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        let filename = filename.into();
        let content_type = content_type.unwrap_or_else(|| guess_content_type(&filename).to_owned());
        FileUpload::new(filename, content_type, data)
    }

    /// The same upload under another file name or MIME type, when given (an unset MIME type
    /// with a new name is guessed from that name).
    pub fn renamed(mut self, filename: Option<String>, content_type: Option<String>) -> Self {
        if let Some(name) = filename {
            if content_type.is_none() {
                self.content_type = guess_content_type(&name).to_owned();
            }
            self.filename = name;
        }
        if let Some(ct) = content_type {
            self.content_type = ct;
        }
        self
    }

    /// Reads a file with tokio; the name is the path's last component and the MIME type is
    /// guessed from its extension. Files larger than `max_bytes` are refused before reading. A
    /// path that cannot be read (missing, no permission) is an [`crate::Error::Io`]; one that
    /// names no regular file, or too large a file, a validation error.
    pub(crate) async fn read(path: &Path, max_bytes: u64) -> crate::Result<Self> {
        let shown = path.display();
        let filename = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                crate::Error::validation("path", format!("{shown} does not name a file"))
            })?
            .to_owned();
        let io = |source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = tokio::fs::metadata(path).await.map_err(io)?;
        if !meta.is_file() {
            return Err(crate::Error::validation(
                "path",
                format!("{shown} is not a regular file"),
            ));
        }
        if meta.len() > max_bytes {
            return Err(crate::Error::validation(
                "file",
                format!(
                    "{shown} is {} bytes; the limit is {max_bytes} bytes",
                    meta.len()
                ),
            ));
        }
        let data = tokio::fs::read(path).await.map_err(io)?;
        let content_type = guess_content_type(&filename).to_owned();
        Ok(FileUpload {
            filename,
            content_type,
            data: Bytes::from(data),
        })
    }

    /// Checks the name, MIME type and size (1..=`max_bytes`) before anything is sent.
    pub(crate) fn validate(&self, max_bytes: u64) -> crate::Result<()> {
        if self.filename.trim().is_empty() {
            return Err(crate::Error::validation("filename", "must not be empty"));
        }
        if self.filename.chars().any(|c| c.is_control() || c == '"') {
            return Err(crate::Error::validation(
                "filename",
                "must not contain control characters or quotes",
            ));
        }
        if !is_mime_type(&self.content_type) {
            return Err(crate::Error::validation(
                "content_type",
                format!("{:?} is not a MIME type like image/png", self.content_type),
            ));
        }
        if self.data.is_empty() {
            return Err(crate::Error::validation(
                "file",
                format!("{} is empty (0 bytes)", self.filename),
            ));
        }
        if self.data.len() as u64 > max_bytes {
            return Err(crate::Error::validation(
                "file",
                format!(
                    "{} is {} bytes; the limit is {max_bytes} bytes",
                    self.filename,
                    self.data.len()
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn into_part(self) -> crate::transport::FilePart {
        crate::transport::FilePart {
            field: "file",
            filename: self.filename,
            content_type: self.content_type,
            data: self.data,
        }
    }
}

/// `type/subtype` with token characters, optionally followed by `; parameters`.
fn is_mime_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match essence.split_once('/') {
        Some((t, s)) => token(t) && token(s) && value.chars().all(|c| !c.is_control()),
        None => false,
    }
}

/// The MIME type for a file name's extension; `application/octet-stream` when unknown.
pub fn guess_content_type(filename: &str) -> &'static str {
    let ext = match filename.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() || !ext.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "xml" => "application/xml",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "js" | "mjs" => "text/javascript",
        "ts" => "text/typescript",
        "py" => "text/x-python",
        "rs" => "text/x-rust",
        "sh" => "application/x-sh",
        "zip" | "skill" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

/// `data` as base64 text on the wire, bytes in memory; a bad encoding fails decoding.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(data: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = Option::<String>::deserialize(d)?.ok_or_else(|| {
            serde::de::Error::custom("`data` is null: the attachment has no content")
        })?;
        // Tolerate line-wrapped base64 (MIME style) by dropping ASCII whitespace.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD
            .decode(compact.as_bytes())
            .map(Bytes::from)
            .map_err(|e| serde::de::Error::custom(format!("`data` is not valid base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_take_the_given_mime_type_or_one_guessed_from_the_name() {
        let f = FileUpload::from_bytes("notes.txt", None, b"hi".to_vec());
        assert_eq!(
            (f.filename.as_str(), f.content_type.as_str()),
            ("notes.txt", "text/plain")
        );
        let f = FileUpload::from_bytes("notes.txt", Some("text/markdown".into()), b"hi".to_vec());
        assert_eq!(f.content_type, "text/markdown");
        assert_eq!(&f.data[..], b"hi");
    }

    #[tokio::test]
    async fn from_path_reads_names_guesses_and_can_be_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"hello").unwrap();
        let f = FileUpload::from_path(&path).await.unwrap();
        assert_eq!(
            (f.filename.as_str(), f.content_type.as_str()),
            ("notes.txt", "text/plain")
        );
        assert_eq!(f.data.as_ref(), b"hello");
        let r = f.clone().renamed(Some("photo.png".into()), None);
        assert_eq!(
            (r.filename.as_str(), r.content_type.as_str()),
            ("photo.png", "image/png")
        );
        let r = f.renamed(None, Some("application/octet-stream".into()));
        assert_eq!(r.content_type, "application/octet-stream");
        let err = FileUpload::from_path(dir.path().join("missing"))
            .await
            .unwrap_err();
        // A path that cannot be read is a file-system error; one that names no file, a
        // validation error.
        assert!(
            matches!(err, crate::Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );
        let err = FileUpload::from_path(dir.path()).await.unwrap_err();
        assert!(matches!(err, crate::Error::Validation { ref field, .. } if field == "path"));
    }

    #[test]
    fn filenames_are_sanitised() {
        let cases = [
            (Some("report.pdf"), "report.pdf"),
            (Some("../../etc/passwd"), "passwd"),
            (Some("..\\..\\win.ini"), "win.ini"),
            (Some("a b?c*.txt"), "a_b_c_.txt"),
            (Some("résumé.md"), "r_sum_.md"),
            (Some(""), FALLBACK_FILENAME),
            (Some("."), FALLBACK_FILENAME),
            (Some(".."), FALLBACK_FILENAME),
            (Some("dir/"), FALLBACK_FILENAME),
            (Some("/"), FALLBACK_FILENAME),
            (None, "att_1.bin"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_filename(input, "att_1"), want, "{input:?}");
        }
        assert_eq!(sanitize_filename(None, "../x"), "x.bin");
        let long = format!("{}.png", "a".repeat(400));
        let cut = sanitize_filename(Some(&long), "att_1");
        assert_eq!(cut.len(), 255);
        assert!(cut.ends_with(".png"));
    }

    #[test]
    fn content_types_are_guessed() {
        assert_eq!(guess_content_type("a.PNG"), "image/png");
        assert_eq!(guess_content_type("notes.md"), "text/markdown");
        assert_eq!(guess_content_type("x.skill"), "application/zip");
        assert_eq!(guess_content_type("noext"), "application/octet-stream");
        assert_eq!(guess_content_type("a.weird"), "application/octet-stream");
    }

    #[test]
    fn mime_types_are_checked() {
        assert!(is_mime_type("image/png"));
        assert!(is_mime_type("text/plain; charset=utf-8"));
        for bad in ["", "png", "image/", "/png", "image png/x", "a/b\n"] {
            assert!(!is_mime_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn attachment_data_round_trips() {
        let a: Attachment =
            serde_json::from_str(r#"{"id":"att_1","filename":"a.txt","data":"aGk=\n"}"#).unwrap();
        assert_eq!(&a.data[..], b"hi");
        assert!(format!("{a:?}").contains("<2 bytes>"));
        let back = serde_json::to_value(&a).unwrap();
        assert_eq!(back["data"], "aGk=");
        assert!(serde_json::from_str::<Attachment>(r#"{"id":"a","data":"!!"}"#).is_err());
        let missing = serde_json::from_str::<Attachment>(r#"{"id":"a"}"#).unwrap_err();
        assert!(missing.to_string().contains("`data`"), "{missing}");
        let null = serde_json::from_str::<Attachment>(r#"{"id":"a","data":null}"#).unwrap_err();
        assert!(null.to_string().contains("`data` is null"), "{null}");
    }
}
