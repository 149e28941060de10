//! Driving conversations: wait for a turn, watch its events, run a prompt to its reply.
//!
//! The methods live on [`crate::api::Conversations`] (`client.conversations()`); this module
//! holds their options, results and errors, and the pure functions that read a thread (turn
//! boundaries, failure notices, links, progress envelopes), exported for reuse and tests.
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

mod engine;
mod errors;
mod events;
mod failure;
mod links;
mod options;
mod progress;
mod turn;

pub(crate) use engine::Engine;
pub use engine::EventCallback;
pub use errors::{GENERIC_FAILURE_TEXT, TurnFailed, WaitTimeout};
pub use events::TurnEvent;
pub use failure::{FailureText, parse_failure_text};
pub use links::{Link, LinkKind, parse_links};
pub use options::{DEFAULT_WAIT_TIMEOUT, RunOptions, WaitOptions};
pub use progress::ProgressEvent;
pub use turn::{EMPTY_REPLY_SENTINEL, Turn, Usage, turn_messages};
