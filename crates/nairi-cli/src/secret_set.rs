//! `nairi vaults secrets set VAULT ENV_KEY`: create the secret, or rotate its value when the
//! vault already has one with that key. The value is read from stdin or a no-echo prompt.

use clap::{Arg, ArgMatches, Command};
use nairi::types::{CreateSecret, UpdateSecret};

use crate::exit::CliError;
use crate::globals::GlobalArgs;
use crate::input::Stdin;
use crate::output;

/// The `set` verb added under `vaults secrets`.
pub fn command() -> Command {
    Command::new("set")
        .about("Create a secret, or rotate its value if the vault has one with this key")
        .long_about(
            "Create a secret, or rotate its value if the vault has one with this key.\n\n\
             The value is read from stdin, or asked for without echo on a terminal; it is never \
             taken from an argument.",
        )
        .arg(
            Arg::new("vault")
                .value_name("VAULT_ID")
                .required(true)
                .help("The vault"),
        )
        .arg(
            Arg::new("env_key")
                .value_name("ENV_KEY")
                .required(true)
                .help("The environment variable the agent sees"),
        )
}

/// Whether the matched group path is `vaults secrets set`.
pub fn matches(group: &str, m: &ArgMatches) -> Option<ArgMatches> {
    let (secrets, sub) = m.subcommand()?;
    let (verb, leaf) = sub.subcommand()?;
    (group == "vaults" && secrets == "secrets" && verb == "set").then(|| leaf.clone())
}

/// Runs it and prints the secret's metadata.
pub async fn run(m: &ArgMatches, globals: &GlobalArgs) -> Result<(), CliError> {
    let vault = m.get_one::<String>("vault").cloned().unwrap_or_default();
    let env_key = m.get_one::<String>("env_key").cloned().unwrap_or_default();
    let value = Stdin::new().read_secret("the secret value", &format!("{env_key}: "))?;
    let client = globals.client()?;
    let secrets = client.vaults().secrets();
    let existing = secrets.list(&vault).await?;
    let secret = match existing.iter().find(|s| s.env_key == env_key) {
        Some(found) => {
            let body: UpdateSecret = serde_json::from_value(serde_json::json!({ "value": value }))
                .map_err(|e| CliError::local(e.to_string()))?;
            secrets.update(&vault, &found.id, &body).await?
        }
        None => {
            let body: CreateSecret =
                serde_json::from_value(serde_json::json!({ "env_key": env_key, "value": value }))
                    .map_err(|e| CliError::local(e.to_string()))?;
            secrets.create(&vault, &body).await?
        }
    };
    let json = serde_json::to_value(&secret).map_err(|e| CliError::local(e.to_string()))?;
    output::print(&output::render(&json, "VaultSecret", globals.format()));
    Ok(())
}
