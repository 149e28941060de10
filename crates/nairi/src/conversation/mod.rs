//! Driving conversations: wait for a turn, watch its events, run a prompt to its reply.
//!
//! `wait`, `watch`, `run` and `run_follow_up` are methods of [`crate::api::Conversations`]
//! (`client.conversations()`) defined here, on top of its raw calls (`start`, `follow_up`):
//! this module depends on the api module, never the reverse. It also holds their options,
//! results, events and errors, and the pure functions that read a thread (turn boundaries,
//! failure notices, links, progress envelopes), exported for reuse and tests.
//!
//! ```no_run
//! # async fn demo(client: nairi::Client) -> nairi::Result<()> {
//! use nairi::conversation::RunOptions;
//! let turn = client
//!     .conversations()
//!     .run(("support-bot", "Refund the failed charge for cus_123"), &RunOptions::default())
//!     .await?;
//! println!("{}", turn.text);
//! let next = client
//!     .conversations()
//!     .run_follow_up(&turn.job_id, "and email them", &RunOptions::default())
//!     .await?;
//! # let _ = next; Ok(()) }
//! ```

mod clock;
mod engine;
mod errors;
mod events;
mod failure;
mod links;
mod methods;
mod options;
mod progress;
mod schedule;
mod status;
mod turn;

pub use errors::{ConversationEnded, GENERIC_FAILURE_TEXT, TurnFailed, WaitTimeout};
pub use events::{EventCallback, TurnEvent};
pub use failure::{FailureText, job_end_notice, parse_failure_text};
pub use links::{Link, LinkKind, parse_links};
pub use methods::TurnEventStream;
pub use options::{DEFAULT_QUEUED_WARNING, DEFAULT_WAIT_TIMEOUT, RunOptions, WaitOptions};
pub use progress::ProgressEvent;
pub use turn::{EMPTY_REPLY_SENTINEL, Turn, Usage, turn_messages};

/// Results, errors and events can gain fields and variants without breaking callers: outside
/// this crate they cannot be built field by field nor matched exhaustively. Each block must
/// fail to compile for that reason alone.
///
/// ```compile_fail
/// let _ = nairi::conversation::Usage {
///     cost_usd: None, input_tokens: None, output_tokens: None, cache_read_tokens: None,
///     cache_write_tokens: None, model: None,
/// };
/// ```
///
/// ```compile_fail
/// use nairi::types::MessageStatus;
/// let _ = nairi::conversation::Turn {
///     job_id: String::new(), message_id: String::new(), status: MessageStatus::Completed,
///     text: String::new(), is_empty_reply: true, reply_missing: true, messages: vec![],
///     attachment_ids: vec![],
///     usage: None, links: vec![],
/// };
/// ```
///
/// ```compile_fail
/// let _ = nairi::conversation::TurnFailed {
///     job_id: String::new(), message_id: String::new(), detail: None, raw: None, daemon: None,
///     system_messages: vec![],
/// };
/// ```
///
/// ```compile_fail
/// let _ = nairi::conversation::WaitTimeout {
///     job_id: String::new(), message_id: String::new(), last_status: None,
///     waited: std::time::Duration::ZERO, last_error: None,
/// };
/// ```
///
/// ```compile_fail
/// let _ = nairi::conversation::ConversationEnded {
///     job_id: String::new(), message_id: None, job_status: None, notice: None,
///     last_status: None, request_id: None,
/// };
/// ```
///
/// ```compile_fail
/// let _ = nairi::conversation::ProgressEvent {
///     message_id: String::new(), progress_type: None, tool_name: None, tool_status: None,
///     tool_use_id: None, parent_tool_use_id: None, input: None, output: None, text_delta: None,
///     summary: None, raw_content: String::new(), data: None, created_at: None,
/// };
/// ```
///
/// ```compile_fail
/// let _ = nairi::conversation::Link {
///     url: String::new(), text: None, kind: nairi::conversation::LinkKind::Other,
///     message_id: String::new(),
/// };
/// ```
///
/// ```compile_fail
/// use nairi::conversation::TurnEvent;
/// fn describe(event: &TurnEvent) -> &'static str {
///     match event {
///         TurnEvent::StatusChanged { .. } => "status",
///         TurnEvent::StillQueued { .. } => "still queued",
///         TurnEvent::Progress(_) => "progress",
///         TurnEvent::Assistant(_) => "assistant",
///         TurnEvent::System(_) => "system",
///         TurnEvent::Completed(_) => "completed",
///         TurnEvent::Failed(_) => "failed",
///     }
/// }
/// ```
///
/// ```compile_fail
/// use nairi::conversation::LinkKind;
/// fn describe(kind: LinkKind) -> &'static str {
///     match kind {
///         LinkKind::PullRequest => "pr",
///         LinkKind::Commit => "commit",
///         LinkKind::Other => "other",
///     }
/// }
/// ```
///
/// The same uses with room for additions compile:
///
/// ```
/// use nairi::conversation::{LinkKind, TurnEvent};
/// fn describe(event: &TurnEvent) -> &'static str {
///     match event {
///         TurnEvent::StatusChanged { .. } => "status",
///         TurnEvent::Completed(turn) if turn.links.iter().any(|l| l.kind == LinkKind::Commit) => {
///             "committed"
///         }
///         _ => "other",
///     }
/// }
/// let _ = nairi::conversation::Usage::default();
/// ```
#[cfg(doctest)]
pub struct NonExhaustiveTypes;
