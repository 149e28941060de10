//! A prompt is sent exactly once: after an ambiguous failure of `start` or `continue` (the
//! request may have reached the server), look for the turn it would have created before
//! sending it again.
//!
//! The API has no idempotency keys, so the SDK asks the server what happened instead. A
//! `start` is looked for among the agent's conversations updated since just before the call:
//! the first user message of a conversation created since then must hold the same prompt and
//! attachment ids. A `continue` is looked for among the job's messages. "Since the call" is
//! in the server's clock, estimated from the `Date` header of the lookup's answer (one-second
//! resolution) with [`SKEW_MARGIN`] of slack either way. A message this client already handed
//! back is never claimed again, so two identical prompts sent one after the other are each
//! recovered to their own turn.
//!
//! The outcome of the lookup:
//! - found: the handle is returned as if the answer had arrived, with
//!   [`TurnHandle::recovered`] set and an `info` trace event;
//! - not taken (lookups succeeded for the whole window and found nothing): the prompt is sent
//!   again, within the retry budget; except after a timeout (or a 504), where the request may
//!   still be processed later, so the outcome stays unknown;
//! - undecided (the lookups failed, or a candidate conversation still has no user message):
//!   [`crate::Error::OutcomeUnknown`], carrying what is needed to check later.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::operations as op;
use crate::transport::ApiResponse;
use crate::types::{
    ConversationPage, ConversationSort, ListConversations, Message, MessageList, MessageRole,
    Timestamp, TurnHandle,
};

/// Slack added on both sides of "created since the call started", for the `Date` header's
/// one-second resolution and the time the request took to arrive.
pub const SKEW_MARGIN: Duration = Duration::from_secs(2);

/// Allowance used when the server sent no `Date` header to estimate its clock from.
pub const UNKNOWN_SKEW_ALLOWANCE: Duration = Duration::from_secs(300);

/// How many handed-back message ids a client remembers (recent prompts only matter).
const CLAIMED_CAPACITY: usize = 4096;

/// Message ids this client handed back, oldest first.
#[derive(Default)]
pub(crate) struct ClaimedPrompts(Mutex<VecDeque<String>>);

impl ClaimedPrompts {
    pub(crate) fn claim(&self, message_id: &str) {
        let mut ids = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() >= CLAIMED_CAPACITY {
            ids.pop_front();
        }
        ids.push_back(message_id.to_owned());
    }

    fn contains(&self, message_id: &str) -> bool {
        let ids = self.0.lock().unwrap_or_else(|p| p.into_inner());
        ids.iter().any(|id| id == message_id)
    }
}

/// A `start` or `continue` whose outcome the SDK could not establish: the prompt may or may
/// not have been taken. Check later with these details (the conversation list of the agent or
/// the job's messages) before sending it again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct OutcomeUnknown {
    /// `conversations.start` or `conversations.follow_up`.
    pub operation: String,
    /// The agent of a `start`.
    pub agent_id: Option<String>,
    /// The job of a `continue`.
    pub job_id: Option<String>,
    /// SHA-256 of the prompt, hex: match it against the user messages without keeping the
    /// prompt in logs.
    pub prompt_sha256: String,
    /// When the call started, by this machine's clock.
    pub started_at: Timestamp,
    /// The failure that made the outcome ambiguous.
    pub failure: String,
    /// Why the lookup could not decide.
    pub reason: String,
}

impl fmt::Display for OutcomeUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match (&self.agent_id, &self.job_id) {
            (_, Some(job)) => format!("job {job}"),
            (Some(agent), None) => format!("agent {agent}"),
            (None, None) => "the API".to_owned(),
        };
        write!(
            f,
            "{} to {target} may or may not have been taken (prompt sha256 {}, started {}): {}; \
             {}. Check the conversation before sending it again",
            self.operation,
            self.prompt_sha256,
            self.started_at.to_rfc3339(),
            self.failure,
            self.reason
        )
    }
}

impl std::error::Error for OutcomeUnknown {}

/// Whether a failed `start`/`continue` may have reached the server (and so may have created
/// the turn): timeouts, connections lost after sending, 5xx (HTML gateway pages included) and
/// 2xx answers that could not be read.
pub(crate) fn is_ambiguous(e: &Error) -> bool {
    match e {
        Error::Timeout { .. } | Error::Decode { .. } => true,
        Error::Connection { never_sent, .. } => !never_sent,
        Error::Api(a) => (500..=599).contains(&a.status),
        _ => false,
    }
}

/// A failure after which the request may still be processed later: not finding the turn
/// proves nothing.
fn may_still_land(e: &Error) -> bool {
    match e {
        Error::Timeout { .. } => true,
        Error::Api(a) => a.status == 504,
        _ => false,
    }
}

/// What one `start` or `continue` sent.
pub(crate) struct SentPrompt<'a> {
    pub(crate) operation: &'static str,
    pub(crate) agent_id: Option<&'a str>,
    pub(crate) job_id: Option<&'a str>,
    pub(crate) prompt: &'a str,
    pub(crate) attachment_ids: &'a [String],
    pub(crate) started_at: Timestamp,
}

enum Lookup {
    Found(TurnHandle),
    NotFound,
    /// A candidate has no user message yet: look again.
    Settling(String),
}

/// What the lookup window established.
pub(crate) enum Decision {
    /// The turn exists: its handle.
    Found(TurnHandle),
    /// The prompt was not taken: sending it again makes no duplicate.
    NotTaken,
    /// The lookup could not decide.
    Unknown(Error),
}

impl Client {
    fn recovery_enabled(&self) -> bool {
        self.options
            .recover_prompts
            .unwrap_or(self.inner.config.recover_prompts)
    }

    /// Runs `send` (a `start` or `continue`) and, after an ambiguous failure, finds the turn
    /// it created or sends it again, within the retry budget; the handle is claimed.
    pub(crate) async fn send_prompt_once<F, Fut>(
        &self,
        sent: SentPrompt<'_>,
        send: F,
    ) -> Result<TurnHandle>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<TurnHandle>>,
    {
        let mut resends = self
            .options
            .max_retries
            .unwrap_or(self.inner.config.retry.max_retries);
        loop {
            let failure = match send(self.clone()).await {
                Ok(handle) => {
                    self.inner.claimed.claim(&handle.message_id);
                    return Ok(handle);
                }
                Err(e) if self.recovery_enabled() && is_ambiguous(&e) => e,
                Err(e) => return Err(e),
            };
            tracing::warn!(
                operation = sent.operation,
                error = %failure,
                "the prompt may have reached the server; looking for it before sending it again"
            );
            match self.decide(&sent, &failure).await {
                Decision::Found(mut handle) => {
                    handle.recovered = true;
                    self.inner.claimed.claim(&handle.message_id);
                    tracing::info!(
                        operation = sent.operation,
                        job_id = %handle.job_id,
                        message_id = %handle.message_id,
                        "recovered the turn of a prompt whose answer was lost"
                    );
                    return Ok(handle);
                }
                Decision::NotTaken if resends > 0 => {
                    resends -= 1;
                    tracing::info!(
                        operation = sent.operation,
                        "the prompt was not taken; sending it again"
                    );
                }
                Decision::NotTaken => return Err(failure),
                Decision::Unknown(e) => return Err(e),
            }
        }
    }

    /// Looks for the turn until found, or until the window ends.
    async fn decide(&self, sent: &SentPrompt<'_>, failure: &Error) -> Decision {
        let window = self.inner.config.prompt_recovery_window;
        let deadline = Instant::now() + window;
        let mut delay = Duration::from_millis(100);
        let mut last_problem: Option<String>;
        let mut lookups_ok = 0u32;
        loop {
            match self.look_up(sent).await {
                Ok(Lookup::Found(handle)) => return Decision::Found(handle),
                Ok(Lookup::NotFound) => {
                    lookups_ok += 1;
                    last_problem = None;
                }
                Ok(Lookup::Settling(why)) => last_problem = Some(why),
                Err(e) => last_problem = Some(format!("the lookup failed: {e}")),
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
        let reason = match last_problem {
            Some(problem) => problem,
            None if lookups_ok > 0 && !may_still_land(failure) => return Decision::NotTaken,
            None => format!(
                "no such turn was found within {:.1} s, but after a timeout the request may \
                 still be processed",
                window.as_secs_f64()
            ),
        };
        Decision::Unknown(Error::OutcomeUnknown(Box::new(OutcomeUnknown {
            operation: sent.operation.to_owned(),
            agent_id: sent.agent_id.map(str::to_owned),
            job_id: sent.job_id.map(str::to_owned),
            prompt_sha256: sha256_hex(sent.prompt),
            started_at: sent.started_at,
            failure: failure.to_string(),
            reason,
        })))
    }

    async fn look_up(&self, sent: &SentPrompt<'_>) -> Result<Lookup> {
        let quiet = self.with_options(crate::RequestOptions {
            max_retries: Some(0),
            ..Default::default()
        });
        match (sent.job_id, sent.agent_id) {
            (Some(job_id), _) => quiet.look_up_in_job(sent, job_id).await,
            (None, Some(agent_id)) => quiet.look_up_for_agent(sent, agent_id).await,
            (None, None) => Ok(Lookup::NotFound),
        }
    }

    /// The earliest server time at which the prompt's message can have been created.
    fn since(sent: &SentPrompt<'_>, resp: &ApiResponse) -> Timestamp {
        let margin = chrono::TimeDelta::from_std(SKEW_MARGIN).unwrap_or_default();
        match resp.clock_skew() {
            Some(skew) => sent.started_at + skew - margin,
            None => {
                sent.started_at
                    - chrono::TimeDelta::from_std(UNKNOWN_SKEW_ALLOWANCE).unwrap_or_default()
            }
        }
    }

    async fn look_up_for_agent(&self, sent: &SentPrompt<'_>, agent_id: &str) -> Result<Lookup> {
        let margin = chrono::TimeDelta::from_std(UNKNOWN_SKEW_ALLOWANCE).unwrap_or_default();
        let filter = ListConversations {
            updated_after: Some(sent.started_at - margin),
            sort: Some(ConversationSort::CreatedAtDesc),
            limit: Some(crate::types::MAX_PAGE_LIMIT),
            ..Default::default()
        };
        let mut req = op::AGENTS_CONVERSATIONS_LIST.request(&[agent_id])?;
        for (k, v) in filter.query() {
            req = req.query(k, v);
        }
        let resp = match self.send(req).await {
            Ok(resp) => resp,
            // No such agent: the start cannot have created anything.
            Err(e) if e.status() == Some(404) => return Ok(Lookup::NotFound),
            Err(e) => return Err(e),
        };
        let since = Self::since(sent, &resp);
        let page: ConversationPage = resp.decode()?;
        for job in page
            .conversations
            .iter()
            .filter(|c| c.created_at.is_none_or(|t| t >= since))
        {
            let list: MessageList = self.call(op::MESSAGES_LIST.request(&[&job.id])?).await?;
            let Some(first) = list.messages.iter().find(|m| m.role == MessageRole::User) else {
                return Ok(Lookup::Settling(format!(
                    "conversation {} has no user message yet",
                    job.id
                )));
            };
            if self.is_ours(first, sent, since) {
                return Ok(Lookup::Found(TurnHandle::new(&job.id, &first.id)));
            }
        }
        Ok(Lookup::NotFound)
    }

    async fn look_up_in_job(&self, sent: &SentPrompt<'_>, job_id: &str) -> Result<Lookup> {
        let resp = match self.send(op::MESSAGES_LIST.request(&[job_id])?).await {
            Ok(resp) => resp,
            // No such job: the continue cannot have added anything.
            Err(e) if e.status() == Some(404) => return Ok(Lookup::NotFound),
            Err(e) => return Err(e),
        };
        let since = Self::since(sent, &resp);
        let list: MessageList = resp.decode()?;
        Ok(list
            .messages
            .iter()
            .find(|m| m.role == MessageRole::User && self.is_ours(m, sent, since))
            .map_or(Lookup::NotFound, |m| {
                let job = if m.job_id.is_empty() {
                    job_id
                } else {
                    &m.job_id
                };
                Lookup::Found(TurnHandle::new(job, &m.id))
            }))
    }

    /// The prompt's message: same text and attachments, created since the call (a message
    /// without a timestamp cannot be placed and is not taken), and not already handed back.
    fn is_ours(&self, m: &Message, sent: &SentPrompt<'_>, since: Timestamp) -> bool {
        m.content == sent.prompt
            && same_ids(&m.attachment_ids, sent.attachment_ids)
            && m.created_at.is_some_and(|t| t >= since)
            && !self.inner.claimed.contains(&m.id)
    }
}

fn same_ids(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_failures_are_those_that_may_have_reached_the_server() {
        let api = |status| {
            Error::from(crate::ApiError::from_response(
                status,
                b"",
                None,
                None,
                "POST /conversations/start".into(),
                &crate::redact::Redactor::for_key("nr_k"),
            ))
        };
        assert!(is_ambiguous(&api(502)) && is_ambiguous(&api(500)));
        assert!(!is_ambiguous(&api(400)) && !is_ambiguous(&api(429)));
        let conn = |never_sent| Error::Connection {
            message: "reset".into(),
            never_sent,
            source: None,
        };
        assert!(is_ambiguous(&conn(false)) && !is_ambiguous(&conn(true)));
        assert!(!is_ambiguous(&Error::validation("prompt", "empty")));
        assert!(may_still_land(&api(504)) && !may_still_land(&api(502)));
    }

    #[test]
    fn claims_are_remembered_and_bounded() {
        let c = ClaimedPrompts::default();
        c.claim("cmsg_1");
        assert!(c.contains("cmsg_1") && !c.contains("cmsg_2"));
        for i in 0..CLAIMED_CAPACITY {
            c.claim(&format!("x{i}"));
        }
        assert!(!c.contains("cmsg_1"), "the oldest claim makes room");
    }

    #[test]
    fn attachment_ids_match_in_any_order_and_the_hash_is_hex() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(same_ids(&ids(&["b", "a"]), &ids(&["a", "b"])));
        assert!(!same_ids(&ids(&["a"]), &ids(&["a", "a"])));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
