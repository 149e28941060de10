//! The ways a turn ends without a reply: failure, timeout, and the conversation's end.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::failure::{FailureText, is_git_notice, parse_failure_text};
use crate::error::ApiError;
use crate::types::{JobStatus, Message, MessageRole, MessageStatus};

/// Shown when a failed turn has no system message of its own: quoting an earlier turn's notice
/// (what the pi client does) would blame the wrong thing.
pub const GENERIC_FAILURE_TEXT: &str = "the agent reported no error details for this turn";

/// A turn whose user message ended `failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// Builds the failure of a turn from that turn's messages only (those after its user
    /// message), so that an earlier turn's notice is never quoted.
    ///
    /// The reported detail comes from the last system message that reads as an error; when none
    /// does, from the last non-empty system message that is not a git or job-completion notice
    /// (a pull-request link is no reason); otherwise it stays `None` (the generic text).
    pub fn from_turn_messages(job_id: &str, message_id: &str, turn_messages: &[Message]) -> Self {
        let system_messages: Vec<Message> = turn_messages
            .iter()
            .filter(|m| m.role == MessageRole::System)
            .cloned()
            .collect();
        let parsed: Vec<(&Message, FailureText)> = system_messages
            .iter()
            .filter(|m| !m.content.trim().is_empty())
            .map(|m| (m, parse_failure_text(&m.content)))
            .collect();
        let chosen = parsed.iter().rev().find(|(_, p)| p.is_error).or_else(|| {
            parsed
                .iter()
                .rev()
                .find(|(m, _)| !is_git_notice(&m.content))
        });
        TurnFailed {
            job_id: job_id.to_owned(),
            message_id: message_id.to_owned(),
            detail: chosen.map(|(_, p)| p.detail.clone()),
            raw: chosen.map(|(m, _)| m.content.clone()),
            daemon: chosen.and_then(|(_, p)| p.daemon.clone()),
            system_messages,
        }
    }

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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct WaitTimeout {
    /// The conversation.
    pub job_id: String,
    /// The user message being waited on.
    pub message_id: String,
    /// The last status seen, if any poll succeeded.
    pub last_status: Option<MessageStatus>,
    /// How long the wait lasted (seconds in the serde form).
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
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
        if self.last_status == Some(MessageStatus::Queued) {
            f.write_str(STILL_QUEUED_TEXT)?;
        }
        if let Some(e) = &self.last_error {
            write!(f, "; last error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitTimeout {}

/// Why a turn may sit in `queued`: the platform gives no other sign (deploys are asynchronous
/// and have no status endpoint).
pub(crate) const STILL_QUEUED_TEXT: &str = "; the turn never left `queued`: the agent may not \
     be deployed (a deploy is asynchronous and has no status endpoint) or has no free instance";

/// A conversation that ended (`completed` or `abandoned`) while a turn waited on it, or that
/// refused a follow-up because it had. An ended conversation never picks up another message:
/// start a new one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ConversationEnded {
    /// The conversation.
    pub job_id: String,
    /// The user message whose turn was waiting; `None` for a refused follow-up.
    pub message_id: Option<String>,
    /// `completed` or `abandoned`, when the agent's conversation list, the notice or the
    /// refusal said which.
    pub job_status: Option<JobStatus>,
    /// The platform's notice (`Job abandoned: ...`, `Job complete - ...`), or the server's text
    /// refusing the follow-up; `None` when only the job's status said so.
    pub notice: Option<String>,
    /// The user message's last status seen while waiting.
    pub last_status: Option<MessageStatus>,
    /// The request id of the refused follow-up, when the server sent one.
    pub request_id: Option<String>,
}

impl ConversationEnded {
    /// The end noticed while waiting on `message_id`.
    pub(crate) fn while_waiting(
        job_id: &str,
        message_id: &str,
        job_status: Option<JobStatus>,
        notice: Option<String>,
        last_status: Option<MessageStatus>,
    ) -> Self {
        ConversationEnded {
            job_id: job_id.to_owned(),
            message_id: Some(message_id.to_owned()),
            job_status,
            notice,
            last_status,
            request_id: None,
        }
    }

    /// A follow-up the server refused because the conversation ended.
    pub(crate) fn refused_continue(
        job_id: &str,
        job_status: Option<JobStatus>,
        refusal: &ApiError,
    ) -> Self {
        ConversationEnded {
            job_id: job_id.to_owned(),
            message_id: None,
            job_status,
            notice: Some(refusal.message.clone()),
            last_status: None,
            request_id: refusal.request_id.clone(),
        }
    }
}

impl fmt::Display for ConversationEnded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conversation {} has ended", self.job_id)?;
        if let Some(status) = &self.job_status {
            write!(f, " ({status})")?;
        }
        match &self.message_id {
            Some(m) => write!(f, " while message {m} waited for its reply")?,
            None => f.write_str(" and cannot be continued")?,
        }
        if let Some(notice) = &self.notice {
            write!(f, ": {notice}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        f.write_str("; start a new conversation")
    }
}

impl std::error::Error for ConversationEnded {}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, role: &str, content: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id, "job_id": "job_1", "content": content, "role": role, "status": "completed",
        }))
        .unwrap()
    }

    #[test]
    fn double_failure_reports_the_last_and_keeps_both() {
        let turn = [
            msg("m2", "progress", "{}"),
            msg("m3", "system", "nairid encountered error: boom"),
            msg(
                "m4",
                "system",
                "nairid encountered error: error continuing Claude session: boom",
            ),
        ];
        let f = TurnFailed::from_turn_messages("job_1", "m1", &turn);
        assert_eq!(
            f.detail.as_deref(),
            Some("error continuing Claude session: boom")
        );
        assert_eq!(
            f.raw.as_deref(),
            Some("nairid encountered error: error continuing Claude session: boom")
        );
        assert_eq!(f.daemon.as_deref(), Some("nairid"));
        assert_eq!(f.system_messages.len(), 2);
        assert_eq!(f.system_messages[0].id, "m3");
        assert!(
            f.to_string()
                .contains("error continuing Claude session: boom")
        );
    }

    #[test]
    fn an_error_beats_a_later_git_notice() {
        let turn = [
            msg(
                "m3",
                "system",
                "Job abandoned: Remote branch 'b' was deleted",
            ),
            msg(
                "m4",
                "system",
                "New commit added: [abc1234](https://x/commit/abc1234)",
            ),
        ];
        let f = TurnFailed::from_turn_messages("job_1", "m1", &turn);
        assert_eq!(
            f.detail.as_deref(),
            Some("Job abandoned: Remote branch 'b' was deleted")
        );
    }

    #[test]
    fn no_system_message_gives_the_generic_text() {
        let turn = [msg("m2", "assistant", "partial")];
        let f = TurnFailed::from_turn_messages("job_1", "m1", &turn);
        assert_eq!(f.detail, None);
        assert_eq!(f.raw, None);
        assert!(f.system_messages.is_empty());
        let text = f.to_string();
        assert!(text.contains("no error details"), "{text}");
        assert!(text.contains("job_1") && text.contains("m1"));
    }

    #[test]
    fn a_git_notice_is_never_the_reason() {
        let turn = [
            msg(
                "m3",
                "system",
                "Agent opened a [pull request](https://x/pull/1)",
            ),
            msg(
                "m4",
                "system",
                "New commit added: [abc1234](https://x/commit/abc1234)",
            ),
            msg("m5", "system", "Job complete - Thread is inactive"),
        ];
        let f = TurnFailed::from_turn_messages("job_1", "m1", &turn);
        assert_eq!(f.detail, None);
        assert_eq!(f.reason(), GENERIC_FAILURE_TEXT);
        assert_eq!(f.system_messages.len(), 3);
        assert!(is_git_notice("  new commit added: abc"));
        assert!(!is_git_notice("Job abandoned: x"));
    }

    #[test]
    fn unrecognised_system_text_is_still_reported() {
        let turn = [msg("m3", "system", "Something odd happened")];
        let f = TurnFailed::from_turn_messages("job_1", "m1", &turn);
        assert_eq!(f.detail.as_deref(), Some("Something odd happened"));
        assert_eq!(f.daemon, None);
    }

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
        assert!(!t.to_string().contains("queued"), "{t}");
    }

    #[test]
    fn a_timeout_in_queued_says_why_it_may_be_stuck() {
        let t = WaitTimeout {
            job_id: "job_1".into(),
            message_id: "cmsg_1".into(),
            last_status: Some(MessageStatus::Queued),
            waited: Duration::from_secs(60),
            last_error: Some("503".into()),
        };
        let text = t.to_string();
        assert!(text.contains("never left `queued`"), "{text}");
        assert!(text.contains("not be deployed"), "{text}");
        assert!(text.contains("no free instance"), "{text}");
        assert!(text.ends_with("last error: 503"), "{text}");
    }

    #[test]
    fn an_ended_conversation_names_the_job_its_status_and_the_notice() {
        let e = ConversationEnded::while_waiting(
            "job_1",
            "cmsg_1",
            Some(JobStatus::Abandoned),
            Some("Job abandoned: Remote branch deleted".into()),
            Some(MessageStatus::Pending),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("conversation job_1 has ended (abandoned) while message cmsg_1"),
            "{text}"
        );
        assert!(
            text.contains("Job abandoned: Remote branch deleted"),
            "{text}"
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["job_id"], "job_1");
        assert_eq!(v["job_status"], "abandoned");
        assert_eq!(v["last_status"], "pending");
        assert_eq!(v["notice"], "Job abandoned: Remote branch deleted");
    }
}
