//! Reading what a command is given besides its arguments: `--data` values, files, stdin (at
//! most once per command) and secrets (stdin or a no-echo prompt, never an argument).

use std::cell::Cell;
use std::io::{IsTerminal, Read};
use std::path::Path;

use serde_json::Value;

use crate::exit::CliError;

/// Reads stdin for one command; a second read is refused, since the first one consumed it.
#[derive(Debug, Default)]
pub struct Stdin {
    used: Cell<Option<&'static str>>,
}

impl Stdin {
    /// A fresh reader.
    pub fn new() -> Self {
        Stdin::default()
    }

    /// Reads all of stdin as text, for `what` (named in the error of a second read).
    pub fn read_text(&self, what: &'static str) -> Result<String, CliError> {
        let bytes = self.read_bytes(what)?;
        String::from_utf8(bytes).map_err(|_| CliError::usage(format!("{what}: stdin is not UTF-8")))
    }

    /// Reads all of stdin as bytes.
    pub fn read_bytes(&self, what: &'static str) -> Result<Vec<u8>, CliError> {
        if let Some(first) = self.used.get() {
            return Err(CliError::usage(format!(
                "{what} and {first} both read stdin; give one of them as a file"
            )));
        }
        self.used.set(Some(what));
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::local(format!("reading stdin: {e}")))?;
        Ok(buf)
    }

    /// A secret: read from stdin when it is not a terminal (the trailing newline removed),
    /// else asked for with a prompt that does not echo. Empty is refused.
    pub fn read_secret(&self, what: &'static str, prompt: &str) -> Result<String, CliError> {
        let value = if std::io::stdin().is_terminal() {
            if self.used.get().is_some() {
                return Err(CliError::usage(format!("{what}: stdin was already read")));
            }
            self.used.set(Some(what));
            rpassword::prompt_password(prompt)
                .map_err(|e| CliError::local(format!("reading {what}: {e}")))?
        } else {
            let text = self.read_text(what)?;
            text.strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                .unwrap_or(&text)
                .to_owned()
        };
        if value.is_empty() {
            return Err(CliError::usage(format!("{what} is empty")));
        }
        Ok(value)
    }

    /// Text from a path, or from stdin for `-`.
    pub fn text_from(&self, what: &'static str, path: &str) -> Result<String, CliError> {
        if path == "-" {
            return self.read_text(what);
        }
        std::fs::read_to_string(path).map_err(|e| file_error(path, e))
    }

    /// A `--data` value: JSON text, `@FILE` or `-` (stdin).
    pub fn json_data(&self, raw: &str) -> Result<Value, CliError> {
        let text = if raw == "-" {
            self.read_text("--data")?
        } else if let Some(path) = raw.strip_prefix('@') {
            std::fs::read_to_string(path).map_err(|e| file_error(path, e))?
        } else {
            raw.to_owned()
        };
        serde_json::from_str(&text).map_err(|e| CliError::usage(format!("--data is not JSON: {e}")))
    }
}

/// A file that cannot be read, named.
pub fn file_error(path: impl AsRef<Path>, e: std::io::Error) -> CliError {
    CliError::usage(format!("{}: {e}", path.as_ref().display()))
}

/// The MIME type of a file, from its extension (`application/octet-stream` when unknown).
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "zip" | "skill" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A wait timeout: seconds (`90`, `1.5`) or with a unit (`90s`, `10m`, `2h`).
pub fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration (like 90, 90s, 10m, 2h)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{raw:?}: the unit must be ms, s, m or h")),
    };
    let secs = n * scale;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{raw:?} must be more than zero"));
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| format!("{raw:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("2h").unwrap().as_secs(), 7200);
        assert_eq!(parse_duration("1.5s").unwrap().as_millis(), 1500);
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type(Path::new("a/b.PNG")), "image/png");
        assert_eq!(content_type(Path::new("notes")), "application/octet-stream");
    }

    #[test]
    fn data_is_json_or_a_file() {
        let stdin = Stdin::new();
        assert_eq!(stdin.json_data(r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(matches!(stdin.json_data("{nope"), Err(CliError::Usage(_))));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.json");
        std::fs::write(&path, r#"{"b":2}"#).unwrap();
        let arg = format!("@{}", path.display());
        assert_eq!(stdin.json_data(&arg).unwrap()["b"], 2);
        assert!(matches!(
            stdin.json_data("@/no/such/file"),
            Err(CliError::Usage(_))
        ));
    }
}
