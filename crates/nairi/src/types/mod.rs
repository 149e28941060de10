//! Request and response models. Field names are the wire names; unknown fields are kept in
//! `extra`, unknown enum values in `Unknown(..)`.
//!
//! Decoding a response never fails because of one odd non-ID field:
//! - strings and lists that are `null` or missing decode as `""` and `[]`;
//! - required enums (`Message::role`, `Message::status`, `Conversation::status`) that are
//!   `null` or missing decode as `Unknown("")`; optional ones as `None`;
//! - timestamps that are `null`, missing, not a string or not RFC 3339 decode as `None`;
//! - counts and token usage accept integral floats (`12.0`) and numeric strings (`"12"`);
//!   any other value (`12.5`, `true`) decodes as `None`; prices and costs accept numbers and
//!   numeric strings, anything else is `None`.
//!
//! - in messages, a `content` that is not a string is kept as its JSON text, other strings of
//!   the wrong type decode as empty or `None`, and `attachment_ids` keeps its string entries.
//!
//! Only a missing or malformed `id` (and the ids of start/continue answers) fails decoding.
//! In the message and conversation lists, an entry without a usable `id` is left out (and
//! counted in the list's `skipped`) instead of failing the whole list.

mod agent_config;
mod agents;
mod artifacts;
mod attachments;
mod catalog;
pub(crate) mod common;
mod conversations;
mod scheduled_jobs;
mod vaults;

pub use agent_config::*;
pub use agents::*;
pub use artifacts::*;
pub use attachments::*;
pub use catalog::*;
pub use common::{Extra, Timestamp, parse_timestamp};
pub use conversations::*;
pub use scheduled_jobs::*;
pub use vaults::*;
