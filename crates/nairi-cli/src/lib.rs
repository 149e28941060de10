//! `nairi`, the command line of the Nairi public REST API, as a library: the binary's `main`
//! is [`main_entry`].
//!
//! Fixed commands (`run`, `watch`, `chat`, `api`, `login`, `doctor`, `emulator`,
//! `completions`) are declared with clap's derive API ([`cli`]); one `GROUP VERB` command per
//! operation of the core's table is added at run time ([`resources`]), its flags derived from
//! the request models of the embedded `spec/surface.json` ([`schema`]).
//!
//! ```
//! // The operations' commands are built from the table: `agents env-vars list AGENT` exists.
//! let cmd = nairi_cli::cli::command();
//! let m = cmd.try_get_matches_from(["nairi", "agents", "env-vars", "list", "support-bot"]).unwrap();
//! let (group, sub) = m.subcommand().unwrap();
//! let (op, _) = nairi_cli::resources::resolve(group, sub).unwrap();
//! assert_eq!(op.id, "agents.env_vars.list");
//! ```
#![warn(missing_docs)]

pub mod archive;
pub mod chat;
pub mod cli;
pub mod doctor;
pub mod emulator_command;
pub mod exit;
pub mod globals;
pub mod input;
pub mod login;
pub mod markdown;
pub mod output;
pub mod profiles;
pub mod raw_api;
pub mod resources;
pub mod schema;
pub mod secret_set;
pub mod turn_commands;
pub mod turn_wait;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{Cli, Fixed};
use crate::exit::{CliError, report};
use crate::globals::GlobalArgs;

/// Parses the command line, runs the command and gives the exit code.
pub fn main_entry() -> ExitCode {
    let matches = match cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let globals = GlobalArgs::from_arg_matches(&matches).unwrap_or_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&CliError::local(format!("no async runtime: {e}")), false),
    };
    let result = dispatch(&matches, &globals, &runtime);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, globals.json),
    }
}

fn dispatch(
    matches: &clap::ArgMatches,
    globals: &GlobalArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    if let Some((name, sub)) = matches.subcommand()
        && resources::is_group(name)
    {
        if let Some(leaf) = secret_set::matches(name, sub) {
            return rt.block_on(secret_set::run(&leaf, globals));
        }
        let (op, leaf) = resources::resolve(name, sub)
            .ok_or_else(|| CliError::usage(format!("unknown command under {name}")))?;
        return rt.block_on(resources::run(op, leaf, globals));
    }
    let cli = Cli::from_arg_matches(matches).map_err(|e| CliError::usage(e.to_string()))?;
    match cli.command {
        Fixed::Run(args) => rt.block_on(turn_commands::run(args, globals)),
        Fixed::Watch(args) => rt.block_on(turn_commands::watch(args, globals)),
        Fixed::Chat(args) => chat::run(args, globals, rt),
        Fixed::Api(args) => rt.block_on(raw_api::run(args, globals)),
        Fixed::Login(args) => rt.block_on(login::login(args, globals)),
        Fixed::Logout => login::logout(globals),
        Fixed::Doctor(_) => rt.block_on(doctor::run(globals)),
        Fixed::Emulator(args) => rt.block_on(emulator_command::run(args)),
        Fixed::Completions { shell } => {
            let mut cmd = cli::command();
            clap_complete::generate(shell, &mut cmd, "nairi", &mut std::io::stdout());
            Ok(())
        }
    }
}
