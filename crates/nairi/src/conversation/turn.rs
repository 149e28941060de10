//! The result of a finished turn, assembled from the thread.

use std::cmp::Ordering;
use std::collections::VecDeque;

use serde::Serialize;

use super::failure::{is_git_notice, parse_failure_text};
use super::links::{Link, LinkKind, parse_links};
use crate::types::{Message, MessageRole, MessageStatus};

/// Assistant content the daemon writes when the agent produced no output.
pub const EMPTY_REPLY_SENTINEL: &str = "(agent returned no response)";

/// Token and cost figures of a turn, when the agent's harness reported them.
///
/// Summed over the turn's assistant messages (normally one); `model` is the last one reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Turn {
    /// The conversation (the one a follow-up's answer named, when it named one).
    pub job_id: String,
    /// The user message of this turn.
    pub message_id: String,
    /// The user message's last seen status: `completed`, or the status it still had when the
    /// reply was listed before the status caught up (normally `pending`; a value this SDK does
    /// not know is kept as [`MessageStatus::Unknown`]). Never `failed`: a turn whose user message
    /// turned `failed`, even after its reply was listed, ends in
    /// [`Error::TurnFailed`](crate::Error::TurnFailed) instead.
    pub status: MessageStatus,
    /// The reply: the content of this turn's assistant messages, joined by blank lines when
    /// there are several (the daemon sends one). Progress text is never part of it. The
    /// sentinel `(agent returned no response)` is kept verbatim; see `is_empty_reply`.
    ///
    /// Empty when the reply never appeared (`reply_missing`), which an empty answer is not:
    /// read it through [`Turn::reply`], which tells the two apart.
    pub text: String,
    /// Whether the agent produced no reply: no assistant content, or only the sentinel.
    pub is_empty_reply: bool,
    /// Whether no assistant message of this turn was listed at all, even after the reply grace
    /// window (the status said `completed` but the reply never appeared). Distinct from
    /// `is_empty_reply`, which is also true for an empty or sentinel reply that was listed.
    pub reply_missing: bool,
    /// This turn's messages, progress included, oldest first: those the agent produced for
    /// this user message. Follow-ups sent before this turn ended sit right after it in the
    /// thread (`u1 u2 a1 a2`); they and their messages are not part of it, and system notices
    /// that trail this turn's reply are, even when listed once the next turn runs.
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
        let reply_missing = !messages.iter().any(|m| m.role == MessageRole::Assistant);
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
            reply_missing,
            messages,
            attachment_ids,
            usage,
            links,
        }
    }

    /// The reply text, or `None` when no assistant message of this turn was listed
    /// (`reply_missing`: the status said `completed` but the reply never appeared), so that a
    /// missing reply is never read as an empty answer. An empty or sentinel reply that was
    /// listed is `Some` (check `is_empty_reply`).
    ///
    /// ```
    /// # fn show(turn: &nairi::Turn) {
    /// match turn.reply() {
    ///     None => eprintln!("the reply of {} never appeared", turn.message_id),
    ///     Some(_) if turn.is_empty_reply => eprintln!("the agent answered nothing"),
    ///     Some(text) => println!("{text}"),
    /// }
    /// # }
    /// ```
    pub fn reply(&self) -> Option<&str> {
        (!self.reply_missing).then_some(self.text.as_str())
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
/// like the agent's queue: each non-user message belongs to the oldest unfinished turn; any
/// assistant message (even an empty one) finishes it; a git or job-completion notice trails
/// the turn that finished last (git notices come ~200 ms after the reply, possibly once the
/// next turn runs), as does another non-error system message arriving before the next turn
/// produced anything (unless that turn failed: it may be its reason), and anything listed when
/// no turn is waiting (late progress, completion reasons). An error notice after a turn was
/// closed by its reply, when that turn then failed (a rejected push), is that turn's if it was
/// created before the failure or, when the timestamps cannot tell, if the next turn has no
/// progress or reply yet.
///
/// A failed turn has no reply to finish it, so it ends (see `failed_turn_is_over`) at the first
/// message created after it failed (its error notice comes first, then the user message turns
/// `failed`: REFERENCE 2.5), or, when the timestamps cannot tell, at the first reply (without
/// timestamps, also progress) after its error notice, or at any message after a user message
/// sent once its error notice was there (the retry-after-failure flow: `u1 e1 u2 e2`).
///
/// Assumption: the agent answers one job's messages strictly in order and writes a turn's
/// reply before it starts the next one (BEHAVIOUR 2, "Concurrency"), so replies are listed in
/// the order of their user messages. A server that listed them swapped (`u1 u2 a2 a1`) would
/// give each turn the other's reply; this walk does not try to detect that. Known limitation:
/// a turn that failed silently (no notice) with a follow-up queued behind it, listed without
/// timestamps, takes the follow-up's messages (the failed turn is still reported as failed,
/// with the generic reason), and the follow-up ends without a reply, which the wait reports
/// as `Turn::reply_missing` rather than as an empty success.
pub fn turn_messages(thread: &[Message], message_id: &str) -> Option<Vec<Message>> {
    turn_indices(thread, message_id).map(|ix| ix.into_iter().map(|i| thread[i].clone()).collect())
}

/// [`turn_messages`] as positions in `thread`, ascending, for reading a turn without copying it.
pub(crate) fn turn_indices(thread: &[Message], message_id: &str) -> Option<Vec<usize>> {
    let target = thread.iter().position(|m| m.id == message_id)?;
    // Only a user message (or one whose role came back null) is a prompt that starts a turn:
    // an assistant or system message id has no turn of its own.
    if !matches!(
        thread[target].role,
        MessageRole::User | MessageRole::Unknown(_)
    ) {
        return Some(Vec::new());
    }
    let mut owners: Vec<Option<usize>> = vec![None; thread.len()];
    let mut queue: VecDeque<usize> = VecDeque::new();
    let mut last_finished: Option<usize> = None;
    // Whether `last_finished` was closed by its reply (not by its failure being over).
    let mut last_by_reply = false;
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
        let notice = (m.role == MessageRole::System).then(|| parse_failure_text(&m.content));
        let error_detail = notice
            .as_ref()
            .filter(|n| n.is_error)
            .map(|n| n.detail.as_str());
        while let Some(&f) = queue.front()
            && failed_turn_is_over(&thread[f], m, error_detail, &front)
        {
            last_finished = queue.pop_front();
            last_by_reply = false;
            front = FrontState::default();
        }
        let Some(&f) = queue.front() else {
            owners[i] = last_finished;
            continue;
        };
        if let (Some(notice), Some(lf)) = (&notice, last_finished) {
            let previous = &thread[lf];
            let routed = if notice.is_error {
                // A reply, then a failure (a rejected push): the notice comes after the reply
                // closed the turn, possibly once the next queued turn is the front one.
                last_by_reply
                    && previous.status == MessageStatus::Failed
                    && match m
                        .created_at
                        .zip(failed_at(previous))
                        .map(|(c, u)| c.cmp(&u))
                    {
                        Some(Ordering::Less) => true,
                        Some(Ordering::Greater) => false,
                        _ => !front.active,
                    }
            } else {
                // Git notices trail the reply of the turn that replied last, even once the next
                // turn is running; other texts do too unless the waiting turn failed, whose
                // reason they may be.
                (last_by_reply && is_git_notice(&m.content))
                    || (!front.started && thread[f].status != MessageStatus::Failed)
            };
            if routed {
                owners[i] = Some(lf);
                continue;
            }
        }
        owners[i] = Some(f);
        front.started = true;
        front.active |= matches!(m.role, MessageRole::Progress | MessageRole::Assistant);
        if let Some(detail) = error_detail {
            front.errored = true;
            front.last_error = Some(detail.to_owned());
        }
        // Any assistant message, even an empty one, is the turn's answer.
        if m.role == MessageRole::Assistant {
            last_finished = queue.pop_front();
            last_by_reply = true;
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
    /// A progress or assistant message: the agent is working on it.
    active: bool,
    /// An error notice.
    errored: bool,
    /// The detail of its last error notice.
    last_error: Option<String>,
    /// A user message was listed after that error notice.
    user_after_notice: bool,
}

/// When a failed user message turned `failed`: its `updated_at`, when later than its creation
/// (a server that never moves it says nothing).
fn failed_at(user: &Message) -> Option<crate::types::Timestamp> {
    user.updated_at
        .filter(|u| user.created_at.is_none_or(|c| *u > c))
}

/// Whether the front turn, whose user message is `user`, is over before message `m` (an error
/// notice with `error_detail` when it is one): only a failed turn can be, as nothing else
/// finishes it.
///
/// A message created after the failure (see [`failed_at`]) belongs to a later turn; one created
/// before it belongs to this turn (late progress included), unless it is a reply after the
/// turn's error notice. In the same instant (timestamps may
/// have whole-second precision) or without a usable time, the order decides: a reply after the
/// error notice (without timestamps, progress too), or any message after a user message sent
/// once the notice was there (the retry-after-failure flow: `u1 e1 u2 e2`), ends the turn;
/// except the wrapped duplicate of the turn's own notice (its detail contains the earlier
/// detail), which the daemon writes right after the raw one.
fn failed_turn_is_over(
    user: &Message,
    m: &Message,
    error_detail: Option<&str>,
    front: &FrontState,
) -> bool {
    if user.status != MessageStatus::Failed {
        return false;
    }
    let wrapped_duplicate = error_detail
        .zip(front.last_error.as_deref())
        .is_some_and(|(d, prev)| !prev.is_empty() && d != prev && d.contains(prev));
    let reply_after_notice = front.errored && m.role == MessageRole::Assistant;
    match m.created_at.zip(failed_at(user)).map(|(c, u)| c.cmp(&u)) {
        Some(Ordering::Greater) => true,
        // Late progress or a second notice of this turn; but a failed turn has no reply after
        // its error notice, so such a reply is the next turn's (a server may touch a failed
        // message's `updated_at` again later).
        Some(Ordering::Less) => reply_after_notice,
        Some(Ordering::Equal) => {
            !wrapped_duplicate && (reply_after_notice || front.user_after_notice)
        }
        None => {
            let after_notice = front.errored && m.role == MessageRole::Progress;
            !wrapped_duplicate && (reply_after_notice || after_notice || front.user_after_notice)
        }
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

/// Any assistant message, whatever its status or content (an empty one is an empty reply):
/// enough once the user message says `completed`.
pub(crate) fn has_reply<'a>(turn: impl IntoIterator<Item = &'a Message>) -> bool {
    turn.into_iter().any(|m| m.role == MessageRole::Assistant)
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

    fn untimed(thread: &[Message]) -> Vec<Message> {
        thread
            .iter()
            .cloned()
            .map(|mut m| {
                m.created_at = None;
                m.updated_at = None;
                m
            })
            .collect()
    }

    // A reply, then a failure (the push was rejected) while a follow-up waits: the notice is
    // the replied turn's, with or without timestamps.
    #[test]
    fn a_failure_after_the_reply_stays_with_the_replied_turn() {
        let timed = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 4),
            at_s(plain("u2", "user", "B"), 1),
            at_s(plain("a1", "assistant", "done, pushing"), 2),
            at_s(
                plain(
                    "e1",
                    "system",
                    "nairid encountered error: git push rejected",
                ),
                3,
            ),
            at_s(plain("p2", "progress", "{}"), 5),
            at_s(plain("a2", "assistant", "reply B"), 6),
        ];
        for thread in [untimed(&timed), timed] {
            assert_eq!(ids(&thread, "u1").unwrap(), ["a1", "e1"]);
            assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
        }
        // Nothing of the follow-up listed yet.
        let thread = vec![
            status(plain("u1", "user", "A"), "failed"),
            plain("u2", "user", "B"),
            plain("a1", "assistant", "done, pushing"),
            plain(
                "e1",
                "system",
                "nairid encountered error: git push rejected",
            ),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1", "e1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), Vec::<String>::new());
    }

    // Whole-second timestamps: the retry, its notice and the first failure share a second.
    #[test]
    fn equal_timestamps_fall_back_to_the_order() {
        let thread = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 5),
            at_s(
                plain("e1", "system", "nairid encountered error: invalid API key"),
                5,
            ),
            at(status(plain("u2", "user", "B"), "failed"), 5, 5),
            at_s(
                plain("e2", "system", "nairid encountered error: rate limited"),
                5,
            ),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["e1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["e2"]);
        // The wrapped duplicate of the turn's own notice stays with it.
        let thread = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 3),
            at_s(plain("e1", "system", "nairid encountered error: boom"), 3),
            at_s(plain("u2", "user", "B"), 3),
            at_s(
                plain(
                    "e1b",
                    "system",
                    "nairid encountered error: error continuing Claude session: boom",
                ),
                3,
            ),
            at_s(plain("p2", "progress", "{}"), 4),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["e1", "e1b"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2"]);
        assert_eq!(ids(&untimed(&thread), "u1").unwrap(), ["e1", "e1b"]);
    }

    // Progress of the failed turn listed late, between its two notices, was created before the
    // failure: it does not end the turn, and the second notice stays too.
    #[test]
    fn late_progress_between_two_notices_stays_with_the_failed_turn() {
        let thread = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 5),
            at_s(plain("u2", "user", "B"), 1),
            at_s(plain("e1", "system", "nairid encountered error: boom"), 3),
            at(plain("p1", "progress", "{}"), 2, 4),
            at_s(
                plain("e1b", "system", "nairid encountered error: wrapped boom"),
                4,
            ),
            at_s(plain("p2", "progress", "{}"), 6),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["e1", "p1", "e1b"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2"]);
    }

    // A git notice listed once the next turn is running still trails the turn that replied.
    #[test]
    fn a_late_git_notice_trails_the_replied_turn() {
        let thread = vec![
            plain("u1", "user", "A"),
            plain("u2", "user", "B"),
            plain("a1", "assistant", "reply A"),
            plain("p2", "progress", "{}"),
            plain(
                "s1",
                "system",
                "Agent opened a [pull request](https://github.com/a/b/pull/1)",
            ),
            plain("a2", "assistant", "reply B"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1", "s1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["p2", "a2"]);
    }

    // An unrecognised text after a success, when the waiting turn failed, is that turn's.
    #[test]
    fn an_unrecognised_notice_goes_to_the_failed_waiting_turn() {
        let thread = vec![
            plain("u1", "user", "A"),
            plain("a1", "assistant", "reply A"),
            status(plain("u2", "user", "B"), "failed"),
            plain("x2", "system", "Agent session crashed unexpectedly"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["x2"]);
    }

    // An empty assistant message is still the turn's answer: the next reply is not taken.
    #[test]
    fn an_empty_assistant_message_closes_its_turn() {
        let thread = vec![
            plain("u1", "user", "A"),
            plain("u2", "user", "B"),
            plain("a1", "assistant", ""),
            plain("a2", "assistant", "B reply"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["a1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["a2"]);
        let t = Turn::from_turn_messages(
            "job_1",
            "u1",
            MessageStatus::Completed,
            turn_messages(&thread, "u1").unwrap(),
        );
        assert!(t.is_empty_reply);
        assert_eq!(t.text, "");
    }

    // Only a prompt has a turn: an assistant or system message id has none.
    #[test]
    fn a_non_user_message_has_no_turn() {
        let thread = vec![
            plain("u1", "user", "A"),
            plain("a1", "assistant", "reply A"),
            plain("s1", "system", "x"),
            plain("u2", "user", "B"),
            plain("a2", "assistant", "reply B"),
        ];
        for id in ["a1", "s1", "a2"] {
            assert_eq!(ids(&thread, id).unwrap(), Vec::<String>::new(), "{id}");
        }
        assert_eq!(ids(&thread, "u2").unwrap(), ["a2"]);
    }

    // Known limitation (M3): a silent failure (no notice) with a queued follow-up, listed
    // without timestamps, takes the follow-up's messages; the follow-up then has no reply,
    // which its turn shows as `reply_missing` rather than as an empty success.
    #[test]
    fn a_silent_failure_without_timestamps_leaves_the_follow_up_visibly_without_a_reply() {
        let thread = vec![
            status(plain("u1", "user", "A"), "failed"),
            plain("u2", "user", "B"),
            plain("p2", "progress", "{}"),
            plain("a2", "assistant", "reply B"),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["p2", "a2"]);
        let t = Turn::from_turn_messages(
            "job_1",
            "u2",
            MessageStatus::Completed,
            turn_messages(&thread, "u2").unwrap(),
        );
        assert!(t.reply_missing);
    }

    // A server that touches a failed message's `updated_at` again later: a reply after the
    // error notice is still the next turn's.
    #[test]
    fn a_reply_after_the_notice_is_the_next_turns_even_before_updated_at() {
        let thread = vec![
            at(status(plain("u1", "user", "A"), "failed"), 0, 59),
            at_s(plain("e1", "system", "nairid encountered error: boom"), 2),
            at_s(plain("u2", "user", "B"), 3),
            at_s(plain("a2", "assistant", "reply B"), 6),
        ];
        assert_eq!(ids(&thread, "u1").unwrap(), ["e1"]);
        assert_eq!(ids(&thread, "u2").unwrap(), ["a2"]);
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
        assert!(!t.reply_missing);
        let t = Turn::from_turn_messages("job_1", "u1", MessageStatus::Completed, vec![]);
        assert_eq!(t.text, "");
        assert!(t.is_empty_reply);
        assert!(t.reply_missing);
        let t = Turn::from_turn_messages(
            "job_1",
            "u1",
            MessageStatus::Completed,
            vec![plain("a1", "assistant", "")],
        );
        assert!(t.is_empty_reply);
        assert!(!t.reply_missing, "an empty reply was listed");
    }

    #[test]
    fn a_missing_reply_is_no_reply_and_an_empty_one_is_some() {
        let missing = Turn::from_turn_messages("job_1", "u1", MessageStatus::Completed, vec![]);
        assert_eq!(missing.reply(), None);
        let empty = Turn::from_turn_messages(
            "job_1",
            "u1",
            MessageStatus::Completed,
            vec![plain("a1", "assistant", "")],
        );
        assert_eq!(empty.reply(), Some(""));
        let sentinel = Turn::from_turn_messages(
            "job_1",
            "u1",
            MessageStatus::Completed,
            vec![plain("a1", "assistant", EMPTY_REPLY_SENTINEL)],
        );
        assert_eq!(sentinel.reply(), Some(EMPTY_REPLY_SENTINEL));
        let said = Turn::from_turn_messages(
            "job_1",
            "u1",
            MessageStatus::Completed,
            vec![
                plain("p1", "progress", "{}"),
                plain("a1", "assistant", "Done."),
            ],
        );
        assert_eq!(said.reply(), Some("Done."));
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
