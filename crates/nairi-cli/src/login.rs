//! `nairi login` and `nairi logout`: a key per profile in the user config file.

use clap::Args;

use crate::exit::CliError;
use crate::globals::{GlobalArgs, Settings, Source, build_client};
use crate::input::Stdin;
use crate::profiles::{self, Profile};

/// `nairi login`.
#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    /// Store the key without checking it against the API.
    #[arg(long)]
    pub no_verify: bool,
}

fn config_path() -> Result<std::path::PathBuf, CliError> {
    profiles::config_path()
        .ok_or_else(|| CliError::local("no config directory: set XDG_CONFIG_HOME or HOME"))
}

/// Runs `nairi login`: the key is read from stdin (or a no-echo prompt), checked with one
/// request unless `--no-verify`, and stored with `--base-url` if given.
pub async fn login(args: LoginArgs, globals: &GlobalArgs) -> Result<(), CliError> {
    if globals.api_key.is_some() {
        return Err(CliError::usage(
            "nairi login reads the key from stdin or a prompt, not from --api-key",
        ));
    }
    let (name, _) = profiles::selected(globals.profile.as_deref());
    let key = Stdin::new().read_secret("the API key", "Nairi API key (nr_...): ")?;
    let key = key.trim().to_owned();
    if !args.no_verify {
        let settings = Settings {
            api_key: Some((key.clone(), Source::Flag)),
            base_url: globals
                .base_url
                .clone()
                .map(|u| (u, Source::Flag))
                .unwrap_or_else(|| (nairi::config::DEFAULT_BASE_URL.to_owned(), Source::Default)),
            profile: name.clone(),
        };
        build_client(&settings)?.agents().list().await?;
    }
    let path = config_path()?;
    let mut config = profiles::load(&path)?;
    config.profiles.insert(
        name.clone(),
        Profile {
            api_key: Some(key),
            base_url: globals.base_url.clone(),
        },
    );
    profiles::save(&path, &config)?;
    eprintln!("Logged in: profile {name:?} saved in {}", path.display());
    Ok(())
}

/// Runs `nairi logout`.
pub fn logout(globals: &GlobalArgs) -> Result<(), CliError> {
    let (name, _) = profiles::selected(globals.profile.as_deref());
    let path = config_path()?;
    let mut config = profiles::load(&path)?;
    if config.profiles.remove(&name).is_none() {
        return Err(CliError::usage(format!(
            "no profile {name:?} in {}",
            path.display()
        )));
    }
    profiles::save(&path, &config)?;
    eprintln!(
        "Logged out: profile {name:?} removed from {}",
        path.display()
    );
    Ok(())
}
