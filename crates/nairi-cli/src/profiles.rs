//! Named profiles in the user config file (`nairi login`): an API key and an optional base URL
//! each, in `$XDG_CONFIG_HOME/nairi/config.toml` (else `~/.config/nairi/config.toml`), created
//! with owner-only permissions.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::CliError;

/// The profile used when none is selected.
pub const DEFAULT_PROFILE: &str = "default";
/// The environment variable that selects a profile.
pub const ENV_PROFILE: &str = "NAIRI_PROFILE";

/// One profile of the config file.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The `nr_` API key.
    pub api_key: Option<String>,
    /// The base URL, when not the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// The config file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The config file's path: `$XDG_CONFIG_HOME/nairi/config.toml`, else
/// `$HOME/.config/nairi/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("nairi").join("config.toml"))
}

/// Reads the config file; a missing file is an empty config.
pub fn load(path: &Path) -> Result<ConfigFile, CliError> {
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            CliError::usage(format!(
                "{} is not a valid config file: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(CliError::local(format!("{}: {e}", path.display()))),
    }
}

/// Writes the config file with owner-only permissions (0600; its directory 0700), replacing it
/// atomically.
pub fn save(path: &Path, config: &ConfigFile) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::local(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .ok_or_else(|| CliError::local("the config path has no directory"))?;
    create_private_dir(dir).map_err(io)?;
    let text = toml::to_string(config)
        .map_err(|e| CliError::local(format!("the config could not be written: {e}")))?;
    let tmp = path.with_extension("toml.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = private_file(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// The selected profile's name: `--profile`, else `NAIRI_PROFILE`, else `default`; and whether
/// it was selected explicitly.
pub fn selected(flag: Option<&str>) -> (String, bool) {
    if let Some(name) = flag.filter(|n| !n.is_empty()) {
        return (name.to_owned(), true);
    }
    match std::env::var(ENV_PROFILE) {
        Ok(name) if !name.is_empty() => (name, true),
        _ => (DEFAULT_PROFILE.to_owned(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_config_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nairi").join("config.toml");
        let mut config = ConfigFile::default();
        config.profiles.insert(
            "work".into(),
            Profile {
                api_key: Some("nr_secret".into()),
                base_url: Some("http://127.0.0.1:1".into()),
            },
        );
        save(&path, &config).unwrap();
        save(&path, &config).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.profiles["work"], config.profiles["work"]);
        assert!(!format!("{:?}", loaded).contains("nr_secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(
            load(&dir.path().join("missing.toml"))
                .unwrap()
                .profiles
                .is_empty()
        );
        fs::write(dir.path().join("bad.toml"), "profiles = 3").unwrap();
        assert!(matches!(
            load(&dir.path().join("bad.toml")),
            Err(CliError::Usage(_))
        ));
    }
}
