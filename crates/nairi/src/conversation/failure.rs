//! Reading why a turn failed from its system messages (BEHAVIOUR 4.3-4.5).

use std::sync::LazyLock;

use regex::Regex;

use crate::types::JobStatus;

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

/// The platform's notices that a job ended: `Job abandoned: <why>` (a deleted branch, a stale
/// job) and `Job complete - <why>` (pull request merged or closed, inactivity).
static JOB_END_NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*job\s+(?:(abandoned)\s*:|(complete(?:d)?)\b)").expect("valid regex")
});

/// The job status a system message's text announces, when it is a notice that the job ended
/// (`Job abandoned: ...` is `abandoned`, `Job complete - ...` is `completed`).
pub fn job_end_notice(text: &str) -> Option<JobStatus> {
    let caps = JOB_END_NOTICE.captures(text)?;
    Some(if caps.get(1).is_some() {
        JobStatus::Abandoned
    } else {
        JobStatus::Completed
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn job_end_notices_name_the_status() {
        for (text, status) in [
            (
                "Job abandoned: Remote branch 'x' was deleted",
                Some(JobStatus::Abandoned),
            ),
            ("  job ABANDONED : stale", Some(JobStatus::Abandoned)),
            (
                "Job complete - Pull request was merged",
                Some(JobStatus::Completed),
            ),
            ("Job completed: inactivity", Some(JobStatus::Completed)),
            ("Job failed: cleanup failed", None),
            ("Job completeness check", None),
            ("nairid encountered error: Job abandoned: x", None),
            ("Agent opened a [pull request](https://x/pull/1)", None),
        ] {
            assert_eq!(job_end_notice(text), status, "{text}");
        }
    }
}
