//! `nairi run` (a prompt to its reply, for scripts) and `nairi watch` (follow a running turn).

use std::path::Path;
use std::time::Duration;

use clap::Args;
use nairi::types::{ContinueConversation, StartConversation, TurnHandle};
use nairi::{TurnEvent, WaitOptions};

use crate::archive::upload_from_path;
use crate::exit::{CliError, EXIT_CODES_HELP};
use crate::globals::GlobalArgs;
use crate::input::{Stdin, parse_duration};
use crate::output;
use crate::turn_wait::{StatusLine, print_turn, resume_command, wait_turn};

/// `nairi run`.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct RunArgs {
    /// The agent (`cci_` id or slug), then the prompt (`-` reads it from stdin). With
    /// --follow-up, the agent may be left out.
    #[arg(value_name = "AGENT PROMPT", num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    /// Attach a file to the prompt (repeatable; uploaded first).
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<String>,
    /// Ask mode: the agent answers without changing anything.
    #[arg(long)]
    pub ask: bool,
    /// Send the prompt as a follow-up in this conversation (job id) instead of starting one.
    #[arg(long, value_name = "JOB_ID")]
    pub follow_up: Option<String>,
    /// Give up waiting after this long (90, 90s, 10m, 2h; default 70m). The turn goes on.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Print the handle (`JOB_ID MESSAGE_ID`, or JSON with --json) instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
}

/// `nairi watch`.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct WatchArgs {
    /// The conversation.
    pub job_id: String,
    /// The user message of the turn.
    pub message_id: String,
    /// The agent, to notice sooner that the conversation ended.
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Give up waiting after this long (90, 90s, 10m, 2h; default 70m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

/// Wait options for the command line: the timeout and the agent, the rest defaults.
pub fn wait_options(timeout: Option<Duration>, agent: Option<&str>) -> WaitOptions {
    let mut options = WaitOptions::default();
    if let Some(t) = timeout {
        options.timeout = Some(t);
    }
    options.agent_id = agent.map(str::to_owned);
    options
}

/// Uploads each attachment and gives their ids.
pub async fn upload_attachments(
    client: &nairi::Client,
    paths: &[String],
    stdin: &Stdin,
) -> Result<Vec<String>, CliError> {
    let mut ids = Vec::new();
    for path in paths {
        if Path::new(path).is_dir() {
            return Err(CliError::usage(format!(
                "--attach {path}: a directory cannot be attached (zip it first)"
            )));
        }
        let upload = upload_from_path(path, stdin)?;
        ids.push(client.attachments().upload(upload).await?.attachment_id);
    }
    Ok(ids)
}

/// Runs `nairi run`.
pub async fn run(args: RunArgs, globals: &GlobalArgs) -> Result<(), CliError> {
    let (agent, prompt) = match (args.follow_up.is_some(), args.args.as_slice()) {
        (_, [agent, prompt]) => (Some(agent.clone()), prompt.clone()),
        (true, [prompt]) => (None, prompt.clone()),
        (false, [_]) => {
            return Err(CliError::usage(
                "give the agent and the prompt: nairi run AGENT PROMPT",
            ));
        }
        _ => return Err(CliError::usage("nairi run AGENT PROMPT")),
    };
    if args.ask && args.follow_up.is_some() {
        return Err(CliError::usage(
            "--ask applies to a new conversation; a follow-up keeps the conversation's mode",
        ));
    }
    let stdin = Stdin::new();
    let prompt = if prompt == "-" {
        stdin.read_text("the prompt")?
    } else {
        prompt
    };
    if prompt.trim().is_empty() {
        return Err(CliError::usage("the prompt is empty"));
    }
    let options = wait_options(args.timeout, agent.as_deref());
    options.validate()?;
    let client = globals.client()?;
    let attachment_ids = upload_attachments(&client, &args.attach, &stdin).await?;
    let conversations = client.conversations();
    let handle = match &args.follow_up {
        Some(job) => {
            let body = ContinueConversation {
                extra: Default::default(),
                prompt,
                attachment_ids,
            };
            conversations.follow_up(job, &body).await?
        }
        None => {
            let mut body = StartConversation::new(agent.clone().unwrap_or_default(), prompt);
            body.attachment_ids = attachment_ids;
            if args.ask {
                body.ask_mode = Some(true);
            }
            conversations.start(&body).await?
        }
    };
    if args.no_wait {
        print_handle(&handle, globals.json, agent.as_deref());
        return Ok(());
    }
    let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut status = StatusLine::new(live);
    let turn = wait_turn(&client, &handle, &options, &mut status, &mut |_| {}, false).await?;
    if globals.json {
        output::print(&output::json(
            &serde_json::to_value(&turn).unwrap_or_default(),
        ));
    } else {
        print_turn(&turn);
    }
    Ok(())
}

fn print_handle(handle: &TurnHandle, json: bool, agent: Option<&str>) {
    if json {
        output::print(&output::json(
            &serde_json::to_value(handle).unwrap_or_default(),
        ));
    } else {
        output::print(&format!("{} {}", handle.job_id, handle.message_id));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("Follow it with: {}", resume_command(handle, agent));
    }
}

/// Runs `nairi watch`: with --json each event is a JSON line on stdout; otherwise progress on
/// a terminal's stderr and the reply on stdout.
pub async fn watch(args: WatchArgs, globals: &GlobalArgs) -> Result<(), CliError> {
    let options = wait_options(args.timeout, args.agent.as_deref());
    options.validate()?;
    let client = globals.client()?;
    let handle = TurnHandle::new(args.job_id, args.message_id);
    let json = globals.json;
    let live = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut status = StatusLine::new(live);
    let mut emit = |event: &TurnEvent| {
        if json && let Ok(line) = serde_json::to_string(event) {
            output::print(&line);
        }
    };
    let turn = wait_turn(&client, &handle, &options, &mut status, &mut emit, json).await?;
    if !json {
        print_turn(&turn);
    }
    Ok(())
}
