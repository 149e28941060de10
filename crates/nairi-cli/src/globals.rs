//! The options every command takes (`--api-key`, `--base-url`, `--profile`, the output format)
//! and the client built from them.

use std::io::IsTerminal;

use clap::Args;

use crate::exit::CliError;
use crate::profiles;

/// The help heading of the options every command takes.
pub const GLOBAL: &str = "Global options";

/// Options shared by every command.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// API key (prefer `nairi login` or NAIRI_API_KEY: an argument lands in shell history).
    #[arg(long, global = true, value_name = "KEY", help_heading = GLOBAL)]
    pub api_key: Option<String>,
    /// Base URL of the API, a root like `https://api.nairi.ai` (or `NAIRI_BASE_URL`).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = GLOBAL,
        help = "Base URL of the API: a root like https://api.nairi.ai (or NAIRI_BASE_URL)"
    )]
    pub base_url: Option<String>,
    /// Profile of the config file to use (or NAIRI_PROFILE; default `default`).
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,
    /// Print JSON (the default when stdout is not a terminal).
    #[arg(long, global = true, conflicts_with_all = ["table", "quiet"], help_heading = GLOBAL)]
    pub json: bool,
    /// Print a table even when stdout is not a terminal.
    #[arg(long, global = true, conflicts_with = "quiet", help_heading = GLOBAL)]
    pub table: bool,
    /// Print ids only, one a line (for xargs).
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for a person.
    Table,
    /// Pretty-printed JSON.
    Json,
    /// Ids only.
    Quiet,
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable (named).
    Env(&'static str),
    /// A profile of the config file (named).
    Profile(String),
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("the command line"),
            Source::Env(name) => write!(f, "${name}"),
            Source::Profile(name) => write!(f, "profile {name:?} of the config file"),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// The settings after looking at flags, the selected profile and the environment.
#[derive(Clone)]
pub struct Settings {
    /// The API key and where it came from.
    pub api_key: Option<(String, Source)>,
    /// The base URL and where it came from.
    pub base_url: (String, Source),
    /// The selected profile.
    pub profile: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api_key", &self.api_key.as_ref().map(|(_, s)| s))
            .field("base_url", &self.base_url)
            .field("profile", &self.profile)
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl GlobalArgs {
    /// The output format: `--quiet`, `--json`, `--table`, else a table on a terminal and JSON
    /// otherwise.
    pub fn format(&self) -> Format {
        if self.quiet {
            Format::Quiet
        } else if self.json {
            Format::Json
        } else if self.table || std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        }
    }

    /// Resolves the key and base URL: a flag, then the explicitly selected profile
    /// (`--profile`, `NAIRI_PROFILE`), then `NAIRI_API_KEY` / `NAIRI_BASE_URL`, then the
    /// `default` profile, then the built-in default URL.
    pub fn settings(&self) -> Result<Settings, CliError> {
        let (name, explicit) = profiles::selected(self.profile.as_deref());
        let profile = match profiles::config_path() {
            Some(path) => profiles::load(&path)?.profiles.remove(&name),
            None => None,
        };
        if explicit && profile.is_none() && self.api_key.is_none() {
            return Err(CliError::usage(format!(
                "no profile {name:?} in the config file (create it with `nairi login --profile {name}`)"
            )));
        }
        let from_profile = |pick: fn(&profiles::Profile) -> Option<String>| {
            profile
                .as_ref()
                .and_then(pick)
                .map(|v| (v, Source::Profile(name.clone())))
        };
        let key_env =
            env(nairi::config::ENV_API_KEY).map(|k| (k, Source::Env(nairi::config::ENV_API_KEY)));
        let url_env =
            env(nairi::config::ENV_BASE_URL).map(|u| (u, Source::Env(nairi::config::ENV_BASE_URL)));
        let key_profile = from_profile(|p| p.api_key.clone());
        let url_profile = from_profile(|p| p.base_url.clone());
        let api_key = self
            .api_key
            .clone()
            .map(|k| (k, Source::Flag))
            .or(if explicit {
                key_profile.clone().or(key_env.clone())
            } else {
                key_env.clone().or(key_profile.clone())
            });
        let base_url = self
            .base_url
            .clone()
            .map(|u| (u, Source::Flag))
            .or(if explicit {
                url_profile.clone().or(url_env.clone())
            } else {
                url_env.or(url_profile)
            })
            .unwrap_or_else(|| (nairi::config::DEFAULT_BASE_URL.to_owned(), Source::Default));
        Ok(Settings {
            api_key,
            base_url,
            profile: name,
        })
    }

    /// The client for these settings.
    pub fn client(&self) -> Result<nairi::Client, CliError> {
        build_client(&self.settings()?)
    }
}

/// Builds the client from resolved settings; no key is a usage error that says how to set one.
pub fn build_client(settings: &Settings) -> Result<nairi::Client, CliError> {
    let Some((key, _)) = &settings.api_key else {
        return Err(CliError::usage(
            "no API key: run `nairi login`, set NAIRI_API_KEY, or pass --api-key",
        ));
    };
    let client = nairi::ClientBuilder::without_env()
        .api_key(key.clone())
        .base_url(settings.base_url.0.clone())
        .user_agent_suffix(concat!("nairi-cli/", env!("CARGO_PKG_VERSION")))
        .build()?;
    Ok(client)
}
