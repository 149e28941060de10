//! The result of a finished turn, assembled from the thread.

use std::cmp::Ordering;
use std::collections::VecDeque;

use serde::Serialize;

use super::failure::parse_failure_text;
use super::links::{Link, LinkKind, parse_links};
use crate::types::{Message, MessageRole, MessageStatus};

/// Assistant content the daemon writes when the agent produced no output.
pub const EMPTY_REPLY_SENTINEL: &str = "(agent returned no response)";

/// Token and cost figures of a turn, when the agent's harness reported them.
///
/// Summed over the turn's assistant messages (normally one); `model` is the last one reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Usage {
    /// Cost in USD.
    pub cost_usd: Option<f64>,
    /// Input tokens.
    pub input_tokens: Option<i64>,
    /// Output tokens.
    pub output_tokens: Option<i64>,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: Option<i64>,
    /// Tokens written to the prompt cache.
    pub cache_write_tokens: Option<i64>,
    /// Model that produced the reply.
    pub model: Option<String>,
}

/// A finished turn: the agent's reply and everything that came with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Turn {
    /// The conversation (the one a follow-up's answer named, when it named one).
    pub job_id: String,
    /// The user message of this turn.
    pub message_id: String,
    /// The user message's last seen status: `completed`, or still `pending` when the reply
    /// arrived before the status caught up.
    pub status: MessageStatus,
    /// The reply: the content of this turn's assistant messages, joined by blank lines when
    /// there are several (the daemon sends one). Progress text is never part of it. The
    /// sentinel `(agent returned no response)` is kept verbatim; see `is_empty_reply`.
    pub text: String,
    /// Whether the agent produced no reply: no assistant content, or only the sentinel.
    pub is_empty_reply: bool,
    /// This turn's messages (those after its user message, up to the next user message),
    /// progress included, oldest first.
    pub messages: Vec<Message>,
    /// Files the agent produced, from assistant and system messages, deduplicated, in order.
    pub attachment_ids: Vec<String>,
    /// Cost and tokens, when reported (only some harnesses do; older messages never).
    pub usage: Option<Usage>,
    /// Links found in this turn's system messages (pull requests, commits, others).
    pub links: Vec<Link>,
}

impl Turn {
    /// Assembles the turn from its messages (see [`turn_messages`]).
    pub fn from_turn_messages(
        job_id: &str,
        message_id: &str,
        status: MessageStatus,
        messages: Vec<Message>,
    ) -> Self {
        let replies: Vec<&str> = messages
            .iter()
            .filter(|m| m.role == MessageRole::Assistant && !m.content.trim().is_empty())
            .map(|m| m.content.as_str())
            .collect();
        let text = replies.join("\n\n");
        let is_empty_reply = replies.iter().all(|r| r.trim() == EMPTY_REPLY_SENTINEL);
        let mut attachment_ids: Vec<String> = Vec::new();
        for m in messages
            .iter()
            .filter(|m| matches!(m.role, MessageRole::Assistant | MessageRole::System))
        {
            for id in &m.attachment_ids {
                if !id.is_empty() && !attachment_ids.contains(id) {
                    attachment_ids.push(id.clone());
                }
            }
        }
        let mut links: Vec<Link> = Vec::new();
        for m in messages.iter().filter(|m| m.role == MessageRole::System) {
            for link in parse_links(&m.content, &m.id) {
                if !links.iter().any(|l| l.url == link.url) {
                    links.push(link);
                }
            }
        }
        let usage = sum_usage(messages.iter().filter(|m| m.role == MessageRole::Assistant));
        Turn {
            job_id: job_id.to_owned(),
            message_id: message_id.to_owned(),
            status,
            text,
            is_empty_reply,
            messages,
            attachment_ids,
            usage,
            links,
        }
    }

    /// Links to pull requests.
    pub fn pull_requests(&self) -> impl Iterator<Item = &Link> {
        self.links
            .iter()
            .filter(|l| l.kind == LinkKind::PullRequest)
    }

    /// Links to commits.
    pub fn commits(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(|l| l.kind == LinkKind::Commit)
    }

    /// This turn's system messages (git notices, completion reasons), oldest first.
    pub fn system_messages(&self) -> impl Iterator<Item = &Message> {
        self.messages
            .iter()
            .filter(|m| m.role == MessageRole::System)
    }
}

/// The messages of the turn started by user message `message_id`, oldest first. `None` when
/// the id is not listed (yet): treating the whole thread as the reply would quote earlier turns.
///
/// The thread is positional (ascending), and follow-ups sent before the previous turn ended
/// sit next to each other ahead of their replies (`u1 u2 reply1 reply2`), because the agent
/// works through one job's messages in order (BEHAVIOUR 4.9, 4.13). So the thread is walked
/// like the agent's queue: each non-user message belongs to the oldest unfinished turn; a
/// non-empty assistant message finishes it; a system message that is not an error notice,
/// arriving before the next turn produced anything, trails the turn that just finished (git
/// notices come ~200 ms after the reply), as does anything listed when no turn is waiting
/// (late progress, completion reasons).
///
/// A failed turn has no reply to finish it, so it ends (see `failed_turn_is_over`) at the first
/// message created after it failed (its error notice comes first, then the user message turns
/// `failed`: REFERENCE 2.5), or, when the timestamps cannot tell, at the first progress or
/// assistant message after its error notice, or at any message after a user message that was
/// sent once its error notice was there (the retry-after-failure flow: `u1 e1 u2 e2`).
pub fn turn_messages(thread: &[Message], message_id: &str) -> Option<Vec<Message>> {
    turn_indices(thread, message_id).map(|ix| ix.into_iter().map(|i| thread[i].clone()).collect())
}

/// [`turn_messages`] as positions in `thread`, ascending, for reading a turn without copying it.
pub(crate) fn turn_indices(thread: &[Message], message_id: &str) -> Option<Vec<usize>> {
    let target = thread.iter().position(|m| m.id == message_id)?;
    let mut owners: Vec<Option<usize>> = vec![None; thread.len()];
    let mut queue: VecDeque<usize> = VecDeque::new();
    let mut last_finished: Option<usize> = None;
    // What the front turn has had so far.
    let mut front = FrontState::default();
    for (i, m) in thread.iter().enumerate() {
        // The user message waited on starts a turn even if its role came back null.
        if m.role == MessageRole::User || i == target {
            if !queue.is_empty() && front.errored {
                front.user_after_notice = true;
            }
            queue.push_back(i);
            continue;
        }
        while let Some(&f) = queue.front()
            && failed_turn_is_over(&thread[f], m, &front)
        {
            last_finished = queue.pop_front();
            front = FrontState::default();
        }
        let is_error = m.role == MessageRole::System && parse_failure_text(&m.content).is_error;
        let Some(&f) = queue.front() else {
            owners[i] = last_finished;
            continue;
        };
        if m.role == MessageRole::System && !is_error && !front.started && last_finished.is_some() {
            owners[i] = last_finished;
            continue;
        }
        owners[i] = Some(f);
        front.started = true;
        front.errored |= is_error;
        if m.role == MessageRole::Assistant && !m.content.trim().is_empty() {
            last_finished = queue.pop_front();
            front = FrontState::default();
        }
    }
    Some(
        owners
            .into_iter()
            .enumerate()
            .filter(|(_, owner)| *owner == Some(target))
            .map(|(i, _)| i)
            .collect(),
    )
}

/// What the oldest unfinished turn has been given while walking the thread.
#[derive(Debug, Default)]
struct FrontState {
    /// Any message.
    started: bool,
    /// An error notice.
    errored: bool,
    /// A user message was listed after that error notice.
    user_after_notice: bool,
}

/// Whether the front turn, whose user message is `user`, is over before message `m`: only a
/// failed turn can be, as nothing else finishes it.
///
/// The user message's `updated_at` is when it turned `failed` (when that is later than its
/// creation; a server that never moves it says nothing). A message created after that belongs
/// to a later turn; one created before (or in the same millisecond) still belongs to this turn
/// unless it is progress or a reply after the error notice; without a usable time, a progress or assistant message after
/// the error notice, or any message after a user message sent once the notice was there, ends
/// the turn.
fn failed_turn_is_over(user: &Message, m: &Message, front: &FrontState) -> bool {
    if user.status != MessageStatus::Failed {
        return false;
    }
    let after_notice =
        front.errored && matches!(m.role, MessageRole::Progress | MessageRole::Assistant);
    let failed_at = user
        .updated_at
        .filter(|u| user.created_at.is_none_or(|c| *u > c));
    match m.created_at.zip(failed_at).map(|(c, u)| c.cmp(&u)) {
        Some(Ordering::Greater) => true,
        // Written no later than the failure (timestamps have millisecond precision: the
        // wrapped duplicate notice and the status change often share one).
        Some(_) => after_notice,
        None => after_notice || front.user_after_notice,
    }
}

/// A completed, non-empty assistant message in the turn: the reply may land before the user
/// message's status flips (BEHAVIOUR 4.1).
pub(crate) fn has_final_reply<'a>(turn: impl IntoIterator<Item = &'a Message>) -> bool {
    turn.into_iter().any(|m| {
        m.role == MessageRole::Assistant
            && m.status == MessageStatus::Completed
            && !m.content.trim().is_empty()
    })
}

/// Any non-empty assistant content, whatever its status: enough once the user message says
/// `completed`.
pub(crate) fn has_reply<'a>(turn: impl IntoIterator<Item = &'a Message>) -> bool {
    turn.into_iter()
        .any(|m| m.role == MessageRole::Assistant && !m.content.trim().is_empty())
}

fn sum_usage<'a>(assistants: impl Iterator<Item = &'a Message>) -> Option<Usage> {
    // Server figures can be anything: token sums saturate rather than overflow.
    fn add(acc: &mut Option<i64>, v: Option<i64>) {
        if let Some(v) = v {
            *acc = Some(acc.map_or(v, |a| a.saturating_add(v)));
        }
    }
    fn add_cost(acc: &mut Option<f64>, v: Option<f64>) {
        if let Some(v) = v.filter(|c| c.is_finite()) {
            // A sum beyond f64 stays the largest finite cost, not infinity (JSON has none).
            *acc = Some(acc.map_or(v, |a| (a + v).min(f64::MAX)));
        }
    }
    let mut usage = Usage::default();
    let mut any = false;
    for m in assistants {
        let model = m.model.clone().filter(|s| !s.is_empty());
        any |= m.cost_usd.is_some()
            || m.input_tokens.is_some()
            || m.output_tokens.is_some()
            || m.cache_read_tokens.is_some()
            || m.cache_write_tokens.is_some()
            || model.is_some();
        add_cost(&mut usage.cost_usd, m.cost_usd);
        add(&mut usage.input_tokens, m.input_tokens);
        add(&mut usage.output_tokens, m.output_tokens);
        add(&mut usage.cache_read_tokens, m.cache_read_tokens);
        add(&mut usage.cache_write_tokens, m.cache_write_tokens);
        if model.is_some() {
            usage.model = model;
        }
    }
    any.then_some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, role: &str, content: &str, extra: serde_json::Value) -> Message {
        let mut v = serde_json::json!({
            "id": id, "job_id": "job_1", "content": content, "role": role, "status": "completed",
        });
        if let (serde_json::Value::Object(m), serde_json::Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        serde_json::from_value(v).unwrap()
    }

    fn plain(id: &str, role: &str, content: &str) -> Message {
        msg(id, role, content, serde_json::json!({}))
    }

    fn two_turn_thread() -> Vec<Message> {
        vec![
            plain("u1", "user", "first"),
            plain("a1", "assistant", "reply one"),
            plain(
                "s1",
                "system",
                "Agent opened a [pull request](https://github.com/a/b/pull/1)",
            ),
            plain("u2", "user", "second"),
            plain(
                "p2",
                "progress",
                r#"{"progress_type":"text","text_delta":"x"}"#,
            ),
            plain("a2", "assistant", "reply two"),
        ]
    }

    fn ids(thread: &[Message], id: &str) -> Option<Vec<String>> {
        turn_messages(thread, id).map(|t| t.into_iter().map(|m| m.id).collect())
    }

    fn status(mut m: Message, status: &str) -> Message {
        m.status = MessageStatus::from(status);
        m
    }

    #[test]
    fn sequential_turns_are_split_at_the_user_messages() {
        let thread = two_turn_thread();
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1", "s1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
        assert_eq!(
            ids(&thread, "u3"),
            None,
            "a missing id is not the whole thread"
        );
        assert_eq!(ids(&thread, "a2").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn queued_follow_ups_get_their_own_replies() {
        let thread = vec![
            plain("u1", "user", "A"),
            plain("u2", "user", "B"),
            plain("p1", "progress", "{}"),
            plain("a1", "assistant", "reply A"),
            plain(
                "s1",
                "system",
                "Agent opened a [pull request](https://x/pull/1)",
            ),
            plain("p2", "progress", "{}"),
            plain("a2", "assistant", "reply B"),
            plain("late", "progress", "{}"),
            plain("done", "system", "Job complete - Thread is inactive"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["p1", "a1", "s1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2", "late", "done"]);
    }

    #[test]
    fn a_failed_turn_hands_over_to_the_next_one() {
        let thread = vec![
            status(plain("u1", "user", "A"), "failed"),
            plain("u2", "user", "B"),
            plain("p1", "progress", "{}"),
            plain("e1", "system", "nairid encountered error: boom"),
            plain(
                "e2",
                "system",
                "nairid encountered error: error continuing Claude session: boom",
            ),
            plain("p2", "progress", "{}"),
            plain("a2", "assistant", "reply B"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["p1", "e1", "e2"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
    }

    /// `m` created at second `created` and last changed at second `updated` of a minute.
    fn at(mut m: Message, created: u32, updated: u32) -> Message {
        let t = |s: u32| format!("2026-11-28T10:00:{s:02}.000Z").parse().unwrap();
        m.created_at = Some(t(created));
        m.updated_at = Some(t(updated));
        m
    }

    /// A message that never changed after its creation at second `created`.
    fn at_s(m: Message, created: u32) -> Message {
        at(m, created, created)
    }

    // The documented retry after a failure (REFERENCE 2.5 step 4): the follow-up is sent once
    // the first turn failed, and fails too. Its notice is its own.
    #[test]
    fn a_retry_that_fails_again_keeps_its_own_error_notice() {
        let timed = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 2),
            at_s(plain("s1", "system", "nairid encountered error: first"), 1),
            at(status(plain("u2", "user", "B"), "failed"), 3, 5),
            at_s(plain("s2", "system", "nairid encountered error: second"), 4),
        ];
        let untimed: Vec<Message> = timed
            .iter()
            .cloned()
            .map(|mut m| {
                m.created_at = None;
                m.updated_at = None;
                m
            })
            .collect();
        for thread in [timed, untimed] {
            assert_eq!(ids(&thread, "u1").unwrap(), ["s1"]);
            assert_eq!(ids(&thread, "u2").unwrap(), ["s2"]);
        }
    }

    // A turn that failed without a notice: the follow-up's messages were created after the
    // failure, so they are the follow-up's.
    #[test]
    fn a_silent_failure_does_not_take_the_next_reply() {
        let thread = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 1),
            at_s(plain("u2", "user", "B"), 2),
            at_s(plain("p2", "progress", "{}"), 3),
            at_s(plain("a2", "assistant", "reply B"), 4),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), Vec::<String>::new());
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
    }

    // A follow-up queued while the first turn still ran, listed between the first turn's two
    // notices (raw error, wrapped duplicate): both notices were written before the first turn
    // failed, so both are its own.
    #[test]
    fn a_double_notice_around_a_queued_follow_up_stays_with_the_failed_turn() {
        let thread = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 4),
            at_s(plain("e1", "system", "nairid encountered error: boom"), 2),
            at_s(plain("u2", "user", "B"), 3),
            at_s(
                plain(
                    "e2",
                    "system",
                    "nairid encountered error: error continuing Claude session: boom",
                ),
                4,
            ),
            at_s(plain("p2", "progress", "{}"), 5),
            at_s(plain("a2", "assistant", "reply B"), 6),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["e1", "e2"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
    }

    // A server that never moves `updated_at` says nothing about when a turn failed: its own
    // messages, all created after its user message, stay with it.
    #[test]
    fn an_unmoved_updated_at_is_not_taken_as_the_failure_time() {
        let thread = vec![
            at_s(status(plain("u1", "user", "A"), "failed"), 0),
            at_s(plain("u2", "user", "B"), 1),
            at_s(plain("p1", "progress", "{}"), 2),
            at_s(plain("e1", "system", "nairid encountered error: boom"), 3),
            at_s(plain("p2", "progress", "{}"), 4),
            at_s(plain("a2", "assistant", "reply B"), 5),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["p1", "e1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
    }

    // Null roles and statuses decode as `Unknown("")`: the message waited on still starts its
    // turn, and a message of unknown role is kept in the turn without ending it. (Another
    // user message with a null role cannot be told from any other message: only the one
    // waited on is known to be a prompt.)
    #[test]
    fn null_roles_and_statuses_keep_the_turns_apart() {
        let blank = |m: Message| Message {
            role: MessageRole::default(),
            status: MessageStatus::default(),
            ..m
        };
        let thread = vec![
            plain("u1", "user", "A"),
            plain("a1", "assistant", "reply A"),
            blank(plain("u2", "user", "B")),
            blank(plain("x2", "progress", "?")),
            plain("a2", "assistant", "reply B"),
        ];
        assert_eq!(ids(&thread, "u2").unwrap(), ["x2", "a2"]);
    }

    #[test]
    fn an_error_notice_after_a_reply_belongs_to_the_waiting_turn() {
        let thread = vec![
            plain("u1", "user", "A"),
            plain("u2", "user", "B"),
            plain("a1", "assistant", "reply A"),
            plain("e2", "system", "nairid encountered error: boom"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["e2"]);
    }

    #[test]
    fn messages_before_any_user_message_belong_to_no_turn() {
        let thread = vec![
            plain("s0", "system", "hello"),
            plain("u1", "user", "A"),
            plain("a1", "assistant", "reply"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1"]);
    }

    #[test]
    fn assembly_of_a_full_turn() {
        let turn = vec![
            plain(
                "p1",
                "progress",
                r#"{"progress_type":"text","text_delta":"draft"}"#,
            ),
            msg(
                "a1",
                "assistant",
                "Done.",
                serde_json::json!({
                    "attachment_ids": ["att_1", "att_2"], "cost_usd": 0.5, "input_tokens": 10,
                    "output_tokens": 20, "model": "claude-opus-4-7"
                }),
            ),
            msg(
                "s1",
                "system",
                "New commit added: [abc1234](https://github.com/a/b/commit/abc1234) in [#4](https://github.com/a/b/pull/4)",
                serde_json::json!({"attachment_ids": ["att_2", "att_3"]}),
            ),
        ];
        let t = Turn::from_turn_messages("job_1", "u1", MessageStatus::Completed, turn);
        assert_eq!(t.text, "Done.");
        assert!(!t.is_empty_reply);
        assert_eq!(t.attachment_ids, ["att_1", "att_2", "att_3"]);
        assert_eq!(t.messages.len(), 3);
        let usage = t.usage.clone().unwrap();
        assert_eq!(usage.cost_usd, Some(0.5));
        assert_eq!(usage.input_tokens, Some(10));
        assert_eq!(usage.cache_read_tokens, None);
        assert_eq!(usage.model.as_deref(), Some("claude-opus-4-7"));
        assert_eq!(t.pull_requests().count(), 1);
        assert_eq!(t.commits().count(), 1);
        assert_eq!(t.system_messages().count(), 1);
    }

    #[test]
    fn several_assistant_messages_are_joined_and_usage_summed() {
        let turn = vec![
            msg(
                "a1",
                "assistant",
                "part one",
                serde_json::json!({"cost_usd": 0.25, "output_tokens": 5, "model": "m1"}),
            ),
            plain("a-empty", "assistant", "  "),
            msg(
                "a2",
                "assistant",
                "part two",
                serde_json::json!({"cost_usd": 0.5, "output_tokens": 7, "model": "m2"}),
            ),
        ];
        let t = Turn::from_turn_messages("job_1", "u1", MessageStatus::Completed, turn);
        assert_eq!(t.text, "part one\n\npart two");
        let usage = t.usage.unwrap();
        assert_eq!(usage.cost_usd, Some(0.75));
        assert_eq!(usage.output_tokens, Some(12));
        assert_eq!(usage.model.as_deref(), Some("m2"));
    }

    #[test]
    fn token_sums_saturate_instead_of_overflowing() {
        let huge = serde_json::json!({
            "input_tokens": i64::MAX, "output_tokens": i64::MAX, "cache_read_tokens": i64::MAX,
            "cache_write_tokens": i64::MIN, "cost_usd": f64::MAX,
        });
        let turn = vec![
            msg("a1", "assistant", "one", huge.clone()),
            msg("a2", "assistant", "two", huge),
            msg(
                "a3",
                "assistant",
                "three",
                serde_json::json!({"input_tokens": 1, "cache_write_tokens": -1}),
            ),
        ];
        let usage = Turn::from_turn_messages("job_1", "u1", MessageStatus::Completed, turn)
            .usage
            .unwrap();
        assert_eq!(usage.input_tokens, Some(i64::MAX));
        assert_eq!(usage.output_tokens, Some(i64::MAX));
        assert_eq!(usage.cache_read_tokens, Some(i64::MAX));
        assert_eq!(usage.cache_write_tokens, Some(i64::MIN));
        assert_eq!(usage.cost_usd, Some(f64::MAX));
    }

    #[test]
    fn sentinel_and_missing_replies_are_empty() {
        let t = Turn::from_turn_messages(
            "job_1",
            "u1",
            MessageStatus::Completed,
            vec![plain("a1", "assistant", EMPTY_REPLY_SENTINEL)],
        );
        assert_eq!(t.text, EMPTY_REPLY_SENTINEL);
        assert!(t.is_empty_reply);
        assert_eq!(t.usage, None);
        let t = Turn::from_turn_messages("job_1", "u1", MessageStatus::Completed, vec![]);
        assert_eq!(t.text, "");
        assert!(t.is_empty_reply);
    }

    #[test]
    fn reply_detection() {
        let pending_reply = msg(
            "a1",
            "assistant",
            "hi",
            serde_json::json!({"status": "pending"}),
        );
        assert!(!has_final_reply(std::slice::from_ref(&pending_reply)));
        assert!(has_reply(std::slice::from_ref(&pending_reply)));
        assert!(has_final_reply(&[plain("a1", "assistant", "hi")]));
        assert!(!has_final_reply(&[plain("a1", "assistant", " ")]));
        assert!(!has_final_reply(&[plain("s1", "system", "hi")]));
    }
}
