//! `nairi chat AGENT`: an interactive conversation with line editing and history.
//!
//! Each prompt starts the conversation or follows up in it; while the agent works a live
//! status line on stderr shows the stage, the elapsed time and each progress event; the reply
//! is rendered for the terminal with the turn's links and cost. Ctrl+C during a wait stops
//! waiting (the turn goes on) and prints the command that resumes watching it; Ctrl+C at the
//! prompt or Ctrl+D leaves.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use nairi::types::{ContinueConversation, StartConversation};
use nairi::{Error, ErrorKind};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::exit::{CliError, EXIT_CODES_HELP, INTERRUPTED};
use crate::globals::GlobalArgs;
use crate::input::{Stdin, parse_duration};
use crate::turn_commands::{upload_attachments, wait_options};
use crate::turn_wait::{StatusLine, print_turn, wait_turn};

/// The commands typed at the chat prompt.
pub const CHAT_HELP: &str = "\
  /new          start a new conversation with the next prompt
  /attach PATH  attach a file to the next prompt (repeatable)
  /ask          toggle ask mode (the agent answers without changing anything)
  /help         this list
  /quit         leave (also Ctrl+D, or Ctrl+C at the prompt)";

/// `nairi chat`.
#[derive(Args, Debug, Clone)]
#[command(after_help = format!("Chat commands:\n{CHAT_HELP}\n\n{EXIT_CODES_HELP}"))]
pub struct ChatArgs {
    /// The agent (`cci_` id or slug).
    pub agent: String,
    /// Start in ask mode.
    #[arg(long)]
    pub ask: bool,
    /// Give up waiting for a reply after this long (default 70m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Continue this conversation (job id) instead of starting one.
    #[arg(long, value_name = "JOB_ID")]
    pub resume: Option<String>,
}

struct Session {
    agent: String,
    job: Option<String>,
    ask: bool,
    attachments: Vec<String>,
}

enum Line {
    Prompt(String),
    Handled,
    Quit,
}

fn command(session: &mut Session, line: &str) -> Line {
    let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match cmd {
        "/quit" | "/exit" | "/q" => return Line::Quit,
        "/new" => {
            session.job = None;
            eprintln!("The next prompt starts a new conversation.");
        }
        "/ask" => {
            session.ask = !session.ask;
            let state = if session.ask { "on" } else { "off" };
            eprintln!("Ask mode {state} (it applies when a conversation starts).");
        }
        "/attach" if rest.is_empty() => eprintln!("usage: /attach PATH"),
        "/attach" => {
            if std::path::Path::new(rest).is_file() {
                session.attachments.push(rest.to_owned());
                eprintln!("Attached {rest} to the next prompt.");
            } else {
                eprintln!("{rest}: no such file");
            }
        }
        "/help" => eprintln!("{CHAT_HELP}"),
        other if other.starts_with('/') => {
            eprintln!("unknown command {other}; /help lists them")
        }
        _ => return Line::Prompt(line.to_owned()),
    }
    Line::Handled
}

/// Runs the chat until the user leaves.
pub fn run(
    args: ChatArgs,
    globals: &GlobalArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "nairi chat needs a terminal; in scripts use `nairi run AGENT PROMPT`",
        ));
    }
    let client = globals.client()?;
    let options = wait_options(args.timeout, Some(&args.agent));
    options.validate()?;
    let mut editor = DefaultEditor::new()
        .map_err(|e| CliError::local(format!("the terminal cannot be used: {e}")))?;
    let mut session = Session {
        agent: args.agent.clone(),
        job: args.resume.clone(),
        ask: args.ask,
        attachments: Vec::new(),
    };
    eprintln!(
        "Chatting with {}. /help for commands; Ctrl+D or /quit leaves.",
        session.agent
    );
    loop {
        let line = match editor.readline("you> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::local(format!("reading the prompt: {e}"))),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        let prompt = match command(&mut session, line) {
            Line::Quit => break,
            Line::Handled => continue,
            Line::Prompt(p) => p,
        };
        rt.block_on(turn(&client, &mut session, prompt, &options));
    }
    eprintln!("Bye.");
    Ok(())
}

async fn turn(
    client: &nairi::Client,
    session: &mut Session,
    prompt: String,
    options: &nairi::WaitOptions,
) {
    let stdin = Stdin::new();
    let attachments = std::mem::take(&mut session.attachments);
    let result = async {
        let ids = upload_attachments(client, &attachments, &stdin).await?;
        let conversations = client.conversations();
        let handle = match &session.job {
            Some(job) => {
                let body = ContinueConversation {
                    extra: Default::default(),
                    prompt,
                    attachment_ids: ids,
                };
                conversations.follow_up(job, &body).await?
            }
            None => {
                let mut body = StartConversation::new(session.agent.clone(), prompt);
                body.attachment_ids = ids;
                body.ask_mode = session.ask.then_some(true);
                conversations.start(&body).await?
            }
        };
        session.job = Some(handle.job_id.clone());
        let mut status = StatusLine::new(std::io::stderr().is_terminal());
        wait_turn(client, &handle, options, &mut status, &mut |_| {}, false).await
    }
    .await;
    match result {
        Ok(turn) => {
            session.job = Some(turn.job_id.clone());
            print_turn(&turn);
        }
        Err(CliError::Reported(INTERRUPTED)) => {}
        Err(CliError::Sdk(Error::TurnFailed(failed))) => {
            eprintln!("✗ The turn failed: {}", failed.reason());
            for m in &failed.system_messages {
                eprintln!("  {}", m.content);
            }
        }
        Err(CliError::Sdk(e)) if e.kind() == ErrorKind::ConversationEnded => {
            eprintln!("{e}");
            eprintln!(
                "This conversation cannot take more prompts: your next prompt starts a new one."
            );
            session.job = None;
        }
        Err(e) => eprintln!("error: {e}"),
    }
}
