//! Exit codes and the one error type of the command line.

use std::fmt;
use std::process::ExitCode;

use nairi::{Error, ErrorKind};

/// Success.
pub const OK: u8 = 0;
/// The API answered with an error, or could not be reached.
pub const API_ERROR: u8 = 1;
/// The command line or its input was invalid (nothing was sent).
pub const USAGE: u8 = 2;
/// The agent's turn failed.
pub const TURN_FAILED: u8 = 3;
/// The reply did not come within `--timeout`.
pub const WAIT_TIMEOUT: u8 = 4;
/// The conversation had ended (completed or abandoned): start a new one.
pub const CONVERSATION_ENDED: u8 = 5;
/// A prompt may or may not have been taken by the server.
pub const OUTCOME_UNKNOWN: u8 = 6;
/// Interrupted (Ctrl+C) while waiting; the turn goes on on the server.
pub const INTERRUPTED: u8 = 130;

/// The exit codes as shown at the end of `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    API error (the server refused the request or could not be reached)
  2    usage error (bad arguments or input; nothing was sent)
  3    the agent's turn failed
  4    the reply did not come within --timeout (the turn goes on)
  5    the conversation has ended (start a new one)
  6    outcome unknown (the prompt may or may not have been taken)
  130  interrupted by Ctrl+C while waiting (the turn goes on)";

/// What ends a command: an SDK error, a usage error, or an already reported failure.
#[derive(Debug)]
pub enum CliError {
    /// An error of the core, printed with its details.
    Sdk(Error),
    /// A usage error (exit 2) with its message.
    Usage(String),
    /// Something already reported on stderr; just exit with this code.
    Reported(u8),
    /// A local failure (a file that cannot be read...), exit 1.
    Local(String),
}

impl CliError {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// A local failure.
    pub fn local(message: impl Into<String>) -> Self {
        CliError::Local(message.into())
    }

    /// The process exit code for this error.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Sdk(e) => sdk_code(e),
            CliError::Usage(_) => USAGE,
            CliError::Reported(code) => *code,
            CliError::Local(_) => API_ERROR,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Sdk(e) => write!(f, "{e}"),
            CliError::Usage(m) | CliError::Local(m) => f.write_str(m),
            CliError::Reported(code) => write!(f, "exit {code}"),
        }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Sdk(e)
    }
}

/// The exit code of an SDK error.
pub fn sdk_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::Validation | ErrorKind::Config => USAGE,
        ErrorKind::TurnFailed => TURN_FAILED,
        ErrorKind::WaitTimeout => WAIT_TIMEOUT,
        ErrorKind::ConversationEnded => CONVERSATION_ENDED,
        ErrorKind::OutcomeUnknown => OUTCOME_UNKNOWN,
        _ => API_ERROR,
    }
}

/// Prints `err` on stderr (as the JSON error payload when `json`) and gives the exit code.
pub fn report(err: &CliError, json: bool) -> ExitCode {
    match err {
        CliError::Reported(_) => {}
        CliError::Sdk(e) if json => {
            let payload = serde_json::to_string(&e.to_payload()).unwrap_or_else(|_| e.to_string());
            eprintln!("{payload}");
        }
        CliError::Sdk(e) => {
            eprintln!("error: {e}");
            if let Some(api) = e.as_api() {
                if let Some(hint) = &api.hint {
                    eprintln!("hint: {hint}");
                }
                if let Some(id) = &api.request_id {
                    eprintln!("request id: {id}");
                }
            }
            match e {
                Error::WaitTimeout(w) => eprintln!(
                    "The turn goes on on the server. Resume with:\n  nairi watch {} {}",
                    w.job_id, w.message_id
                ),
                Error::ConversationEnded(_) => {
                    eprintln!("hint: an ended conversation takes no more prompts; start a new one")
                }
                _ => {}
            }
            if e.kind() == ErrorKind::Config {
                eprintln!("hint: run `nairi login`, or set NAIRI_API_KEY (see `nairi doctor`)");
            }
        }
        CliError::Usage(m) if json => {
            eprintln!(
                "{}",
                serde_json::json!({"class": "UsageError", "message": m})
            );
        }
        CliError::Usage(m) => eprintln!("error: {m}"),
        CliError::Local(m) => eprintln!("error: {m}"),
    }
    ExitCode::from(err.code())
}
