//! The command tree: the fixed commands (derive) and the resource groups built from the
//! operation table (builder), joined into one clap `Command`.

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::chat::ChatArgs;
use crate::doctor::DoctorArgs;
use crate::emulator_command::EmulatorArgs;
use crate::exit::EXIT_CODES_HELP;
use crate::globals::GlobalArgs;
use crate::login::LoginArgs;
use crate::raw_api::ApiArgs;
use crate::resources::group_commands;
use crate::turn_commands::{RunArgs, WatchArgs};

const ABOUT: &str = "The Nairi command line: chat with an agent, run prompts from scripts, \
manage every resource of the API.";

const AFTER_HELP: &str = "\
Resource commands (`nairi GROUP VERB`) come from the SDK's operation table: path parameters \
are arguments, body fields are --flags, --data gives the whole body as JSON. Output is a \
table on a terminal and JSON otherwise (--json, --table, --quiet to choose).

Configuration: --api-key / NAIRI_API_KEY, --base-url / NAIRI_BASE_URL, or a profile stored \
by `nairi login` (--profile / NAIRI_PROFILE). `nairi doctor` checks the set-up.
";

/// The fixed part of the command line.
#[derive(Parser, Debug)]
#[command(name = "nairi", version, about = ABOUT, after_help = format!("{AFTER_HELP}\n{EXIT_CODES_HELP}"))]
#[command(subcommand_required = true, arg_required_else_help = true)]
pub struct Cli {
    /// Options of every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Fixed,
}

/// The commands written by hand (the resource groups are added by [`command`]).
#[derive(Subcommand, Debug)]
pub enum Fixed {
    /// Send a prompt and print the reply (for scripts).
    Run(RunArgs),
    /// Follow a running turn until its reply.
    Watch(WatchArgs),
    /// Talk with an agent interactively.
    Chat(ChatArgs),
    /// Call an endpoint by method and path (the escape hatch, like `gh api`).
    Api(ApiArgs),
    /// Store an API key for a profile (read from stdin or a no-echo prompt).
    Login(LoginArgs),
    /// Remove a profile's stored key.
    Logout,
    /// Check the set-up: key, base URL, connectivity, clock, proxies.
    Doctor(DoctorArgs),
    /// Run the embedded emulator and print the `export` lines that point at it.
    Emulator(EmulatorArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// The whole command line: the fixed commands and one group per resource of the API.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for group in group_commands() {
        cmd = cmd.subcommand(group);
    }
    cmd
}
