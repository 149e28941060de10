//! Reading why a turn failed from its system messages (BEHAVIOUR 4.3-4.5).

use std::sync::LazyLock;

use regex::Regex;

use super::errors::TurnFailed;
use crate::types::{Message, MessageRole};

/// The daemon has been renamed twice and self-hosted users run old versions, so every prefix
/// can still appear.
static DAEMON_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^\s*(nairid|eksecd|ccagent)\s+encountered\s+(?:an\s+)?error\s*:\s*(.*?)\s*$")
        .expect("valid regex")
});

/// Failure notices the daemon writes without the prefix ("Job abandoned: Remote branch ...",
/// "Job failed: ... cleanup failed ...").
static UNPREFIXED_FAILURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*job\s+(abandoned|failed)\s*:").expect("valid regex"));

/// Notices the daemon writes about git activity and the job's end ("Agent opened a [pull
/// request](...)", "New commit added: ...", "Job complete - ..."): never a failure's reason.
static GIT_NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(agent\s+opened\s+a\b|new\s+commit\s+added\b|job\s+complete\b)")
        .expect("valid regex")
});

/// Whether a system message's text is a git-activity or job-completion notice, which trails
/// the reply of the turn that finished.
pub fn is_git_notice(text: &str) -> bool {
    GIT_NOTICE.is_match(text)
}

/// A system message's text read as a failure notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureText {
    /// The daemon name of the prefix (`nairid`, `eksecd`, `ccagent`), when present.
    pub daemon: Option<String>,
    /// The text without the prefix, trimmed.
    pub detail: String,
    /// Whether the text looks like a failure notice at all (prefixed or a known unprefixed form).
    pub is_error: bool,
}

/// Parses one system message's text; any text is accepted.
pub fn parse_failure_text(text: &str) -> FailureText {
    if let Some(caps) = DAEMON_PREFIX.captures(text) {
        let detail = caps.get(2).map_or("", |m| m.as_str()).to_owned();
        return FailureText {
            daemon: caps.get(1).map(|m| m.as_str().to_ascii_lowercase()),
            detail: if detail.is_empty() {
                text.trim().to_owned()
            } else {
                detail
            },
            is_error: true,
        };
    }
    FailureText {
        daemon: None,
        detail: text.trim().to_owned(),
        is_error: UNPREFIXED_FAILURE.is_match(text),
    }
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
}

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
    fn every_daemon_prefix_is_stripped() {
        for (text, daemon) in [
            ("nairid encountered error: rate limited", "nairid"),
            ("eksecd encountered error: rate limited", "eksecd"),
            ("ccagent encountered error:   rate limited  ", "ccagent"),
            ("NAIRID Encountered Error: rate limited", "nairid"),
        ] {
            let p = parse_failure_text(text);
            assert_eq!(p.detail, "rate limited", "{text}");
            assert_eq!(p.daemon.as_deref(), Some(daemon));
            assert!(p.is_error);
        }
    }

    #[test]
    fn multi_line_details_are_kept_whole() {
        let p = parse_failure_text("nairid encountered error: first\nsecond line");
        assert_eq!(p.detail, "first\nsecond line");
    }

    #[test]
    fn unprefixed_notices_are_recognised_and_others_are_not() {
        let p = parse_failure_text(
            "Job abandoned: Remote branch 'x' was deleted (likely merged). Please start a new conversation.",
        );
        assert!(p.is_error);
        assert_eq!(p.daemon, None);
        assert!(p.detail.starts_with("Job abandoned: Remote branch"));
        assert!(parse_failure_text("Job failed: cleanup failed").is_error);
        assert!(!parse_failure_text("Agent opened a [pull request](https://x/pull/1)").is_error);
        let empty = parse_failure_text("nairid encountered error:");
        assert_eq!(empty.detail, "nairid encountered error:");
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
        assert_eq!(
            f.reason(),
            crate::conversation::errors::GENERIC_FAILURE_TEXT
        );
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
}
