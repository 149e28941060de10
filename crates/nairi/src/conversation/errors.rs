//! The two ways a turn ends without a reply: failure and timeout.

use std::fmt;
use std::time::Duration;

use crate::types::{Message, MessageStatus};

/// A turn whose user message ended `failed`.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnFailed {
    /// The conversation.
    pub job_id: String,
    /// The user message that failed.
    pub message_id: String,
    /// The error detail parsed from this turn's last system message (prefix removed).
    pub detail: Option<String>,
    /// That system message's raw text.
    pub raw: Option<String>,
    /// Every system message of this turn (a failure can produce two), oldest first.
    pub system_messages: Vec<Message>,
}

impl fmt::Display for TurnFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "turn failed (job {}, message {}): ",
            self.job_id, self.message_id
        )?;
        match &self.detail {
            Some(d) => f.write_str(d),
            None => f.write_str("the agent reported no error details for this turn"),
        }
    }
}

impl std::error::Error for TurnFailed {}

/// A wait that exceeded its overall timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitTimeout {
    /// The conversation.
    pub job_id: String,
    /// The user message being waited on.
    pub message_id: String,
    /// The last status seen, if any poll succeeded.
    pub last_status: Option<MessageStatus>,
    /// How long the wait lasted.
    pub waited: Duration,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting after {:.1} s for message {} of job {} (last status: {})",
            self.waited.as_secs_f64(),
            self.message_id,
            self.job_id,
            self.last_status
                .as_ref()
                .map(MessageStatus::as_str)
                .unwrap_or("never seen")
        )
    }
}

impl std::error::Error for WaitTimeout {}
