//! The two ways a turn ends without a reply: failure and timeout.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::types::{Message, MessageStatus};

/// Shown when a failed turn has no system message of its own: quoting an earlier turn's notice
/// (what the pi client does) would blame the wrong thing.
pub const GENERIC_FAILURE_TEXT: &str = "the agent reported no error details for this turn";

/// A turn whose user message ended `failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TurnFailed {
    /// The conversation.
    pub job_id: String,
    /// The user message that failed.
    pub message_id: String,
    /// The error detail parsed from this turn's last error notice (prefix removed).
    pub detail: Option<String>,
    /// That system message's raw text.
    pub raw: Option<String>,
    /// The daemon named in the prefix (`nairid`, `eksecd`, `ccagent`), when there was one.
    pub daemon: Option<String>,
    /// Every system message of this turn (a failure can produce two), oldest first.
    pub system_messages: Vec<Message>,
}

impl TurnFailed {
    /// The human-readable reason: the detail, or a generic text when the turn has none.
    pub fn reason(&self) -> &str {
        self.detail.as_deref().unwrap_or(GENERIC_FAILURE_TEXT)
    }
}

impl fmt::Display for TurnFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "turn failed (job {}, message {}): {}",
            self.job_id,
            self.message_id,
            self.reason()
        )
    }
}

impl std::error::Error for TurnFailed {}

/// A wait that exceeded its overall timeout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WaitTimeout {
    /// The conversation.
    pub job_id: String,
    /// The user message being waited on.
    pub message_id: String,
    /// The last status seen, if any poll succeeded.
    pub last_status: Option<MessageStatus>,
    /// How long the wait lasted.
    pub waited: Duration,
    /// The last transient error while polling, when one kept the wait from finishing.
    pub last_error: Option<String>,
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
        )?;
        if let Some(e) = &self.last_error {
            write!(f, "; last error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitTimeout {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_serialises_like_a_failure() {
        let t = WaitTimeout {
            job_id: "job_1".into(),
            message_id: "cmsg_1".into(),
            last_status: Some(MessageStatus::Pending),
            waited: Duration::from_millis(1500),
            last_error: None,
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["job_id"], "job_1");
        assert_eq!(v["message_id"], "cmsg_1");
        assert_eq!(v["last_status"], "pending");
        assert!(v.get("waited").is_some());
    }
}
