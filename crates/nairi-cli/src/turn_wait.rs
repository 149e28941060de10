//! Waiting for a turn from the command line: the live status line and progress on stderr (on a
//! terminal only), Ctrl+C that stops waiting and says how to resume, and printing the turn.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use nairi::conversation::LinkKind;
use nairi::types::{MessageStatus, TurnHandle};
use nairi::{Error, Turn, TurnEvent, WaitOptions};

use crate::exit::{CliError, INTERRUPTED};
use crate::markdown;

/// The command that resumes watching a turn.
pub fn resume_command(handle: &TurnHandle, agent: Option<&str>) -> String {
    let mut cmd = format!("nairi watch {} {}", handle.job_id, handle.message_id);
    if let Some(agent) = agent {
        cmd.push_str(&format!(" --agent {agent}"));
    }
    cmd
}

/// The live status line on stderr: stage and elapsed time, redrawn in place; progress events
/// are printed above it as they arrive.
pub struct StatusLine {
    live: bool,
    started: Instant,
    stage: String,
    drawn: bool,
}

impl StatusLine {
    /// A status line, drawn only when `live`.
    pub fn new(live: bool) -> Self {
        StatusLine {
            live,
            started: Instant::now(),
            stage: "sending".to_owned(),
            drawn: false,
        }
    }

    /// Whether it draws anything.
    pub fn is_live(&self) -> bool {
        self.live
    }

    fn clear(&mut self) {
        if self.live && self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }

    /// Redraws the line with the current stage and elapsed time.
    pub fn draw(&mut self) {
        if !self.live {
            return;
        }
        let secs = self.started.elapsed().as_secs();
        eprint!("\r\x1b[2K⏳ {} · {}s", self.stage, secs);
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    /// Prints a line above the status line.
    pub fn line(&mut self, text: &str) {
        if !self.live {
            return;
        }
        self.clear();
        eprintln!("{text}");
        self.draw();
    }

    /// Takes one event into account.
    pub fn event(&mut self, event: &TurnEvent) {
        match event {
            TurnEvent::StatusChanged { to, .. } => {
                self.stage = match to {
                    MessageStatus::Queued => "queued".to_owned(),
                    MessageStatus::Pending => "working".to_owned(),
                    other => other.as_str().to_owned(),
                };
                self.draw();
            }
            TurnEvent::StillQueued { waited } => self.line(&format!(
                "  ! still queued after {}s: is the agent deployed (`nairi agents deploy AGENT`) \
                 with a free instance?",
                waited.as_secs()
            )),
            TurnEvent::Progress(p) => {
                let text = if let Some(tool) = &p.tool_name {
                    let status = p.tool_status.as_deref().unwrap_or("used");
                    match &p.summary {
                        Some(s) => format!("  • {tool} ({status}): {}", one_line(s, 80)),
                        None => format!("  • {tool} ({status})"),
                    }
                } else if let Some(text) = p.text_delta.as_ref().or(p.summary.as_ref()) {
                    format!("  › {}", one_line(text, 100))
                } else {
                    format!("  · {}", p.progress_type.as_deref().unwrap_or("progress"))
                };
                self.line(&text);
            }
            TurnEvent::System(m) => self.line(&format!("  ! {}", one_line(&m.content, 120))),
            _ => self.draw(),
        }
    }

    /// Removes the line (before the reply or an error is printed).
    pub fn finish(&mut self) {
        self.clear();
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let mut cut: String = flat.chars().take(max - 1).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

/// How a wait ended, when it did not give a turn.
fn interrupted(status: &mut StatusLine, handle: &TurnHandle, agent: Option<&str>) -> CliError {
    status.finish();
    eprintln!(
        "Stopped waiting; the turn goes on on the server. Resume with:\n  {}",
        resume_command(handle, agent)
    );
    CliError::Reported(INTERRUPTED)
}

/// Waits for the turn, drawing progress when `status` is live; each event is also passed to
/// `on_event` (the `--json` event stream of `nairi watch`). Ctrl+C stops waiting.
pub async fn wait_turn(
    client: &nairi::Client,
    handle: &TurnHandle,
    options: &WaitOptions,
    status: &mut StatusLine,
    on_event: &mut dyn FnMut(&TurnEvent),
    need_events: bool,
) -> Result<Turn, CliError> {
    let agent = options.agent_id.clone();
    let conversations = client.conversations();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    if !(status.is_live() || need_events) {
        let wait = conversations.wait(handle, options);
        tokio::pin!(wait);
        return tokio::select! {
            turn = &mut wait => turn.map_err(CliError::from),
            _ = &mut ctrl_c => Err(interrupted(status, handle, agent.as_deref())),
        };
    }
    let mut events = conversations.watch(handle, options);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    status.draw();
    loop {
        tokio::select! {
            event = events.next() => {
                let event = match event {
                    Some(Ok(event)) => event,
                    Some(Err(e)) => {
                        status.finish();
                        return Err(e.into());
                    }
                    None => {
                        status.finish();
                        return Err(CliError::local("the turn's events ended without its result"));
                    }
                };
                on_event(&event);
                match event {
                    TurnEvent::Completed(turn) => {
                        status.finish();
                        return Ok(turn);
                    }
                    TurnEvent::Failed(failed) => {
                        status.finish();
                        return Err(CliError::Sdk(Error::TurnFailed(Box::new(failed))));
                    }
                    other => status.event(&other),
                }
            }
            _ = ticker.tick(), if status.is_live() => status.draw(),
            _ = &mut ctrl_c => return Err(interrupted(status, handle, agent.as_deref())),
        }
    }
}

/// The lines after a reply on a terminal: the turn's pull requests and commits, and its cost.
pub fn turn_footer(turn: &Turn) -> Vec<String> {
    let mut lines = Vec::new();
    for link in &turn.links {
        let label = match link.kind {
            LinkKind::PullRequest => "pull request",
            LinkKind::Commit => "commit",
            _ => "link",
        };
        lines.push(format!("{label}: {}", link.url));
    }
    if let Some(usage) = &turn.usage {
        let mut parts = Vec::new();
        if let Some(cost) = usage.cost_usd {
            parts.push(format!("${cost:.4}"));
        }
        if let (Some(i), Some(o)) = (usage.input_tokens, usage.output_tokens) {
            parts.push(format!("{i} in / {o} out tokens"));
        }
        if let Some(model) = &usage.model {
            parts.push(model.clone());
        }
        if !parts.is_empty() {
            lines.push(format!("cost: {}", parts.join(" · ")));
        }
    }
    lines
}

/// Prints a finished turn: the reply on stdout (rendered when stdout is a terminal), and on a
/// terminal's stderr its links and cost, or why there is no reply.
pub fn print_turn(turn: &Turn) {
    let stdout_tty = std::io::stdout().is_terminal();
    let stderr_tty = std::io::stderr().is_terminal();
    match turn.reply() {
        None => eprintln!(
            "The turn completed but its reply never appeared (job {}, message {}).",
            turn.job_id, turn.message_id
        ),
        Some(_) if turn.is_empty_reply => {
            if stderr_tty {
                eprintln!("(the agent answered nothing)");
            }
        }
        Some(text) if stdout_tty => crate::output::print(&markdown::render(text, true)),
        Some(text) => crate::output::print(text),
    }
    if stderr_tty {
        for line in turn_footer(turn) {
            eprintln!("\x1b[2m{line}\x1b[0m");
        }
    }
}
