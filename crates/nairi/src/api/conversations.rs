//! `client.conversations()`: start and follow up, the raw calls. The high-level layer (wait,
//! watch, run) is [`crate::conversation`], built on these.

use std::sync::LazyLock;

use regex::Regex;

use super::prompt_recovery::SentPrompt;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::operations as op;
use crate::types::{
    ContinueAnswer, ContinueConversation, JobStatus, StartConversation, TurnHandle, validate_turn,
};

/// The conversations API group.
#[derive(Debug, Clone, Copy)]
pub struct Conversations<'c> {
    pub(crate) client: &'c Client,
}

impl<'c> Conversations<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Conversations { client }
    }

    /// `POST /conversations/start`: creates a job and sends its first prompt, exactly once.
    ///
    /// After a failure that may have reached the server (a timeout, a connection lost before
    /// the answer, a 5xx), the agent's conversations are searched for the prompt before it is
    /// sent again: a found turn is returned with [`TurnHandle::recovered`] set; one proven not
    /// taken is sent again within the retry budget; otherwise the error is
    /// [`Error::OutcomeUnknown`]. See [`crate::ClientBuilder::recover_prompts`].
    pub async fn start(&self, body: &StartConversation) -> Result<TurnHandle> {
        if body.agent_id.trim().is_empty() {
            return Err(crate::Error::validation("agent_id", "must not be empty"));
        }
        validate_turn(&body.prompt, &body.attachment_ids)?;
        let req = op::CONVERSATIONS_START.request(&[])?.json(body)?;
        let sent = SentPrompt {
            operation: op::CONVERSATIONS_START.id,
            agent_id: Some(&body.agent_id),
            job_id: None,
            prompt: &body.prompt,
            attachment_ids: &body.attachment_ids,
            started_at: chrono::Utc::now(),
        };
        self.client
            .send_prompt_once(sent, |c| {
                let req = req.clone();
                async move { c.call(req).await }
            })
            .await
    }

    /// `POST /conversations/{job_id}/continue`: sends a follow-up prompt on an API job.
    ///
    /// The returned handle adopts a `job_id` from the answer when present, else keeps `job_id`.
    ///
    /// # Errors
    ///
    /// A 400 saying that the job is completed or abandoned (`job is completed and cannot be
    /// continued`) is [`Error::ConversationEnded`]: ended conversations cannot be continued
    /// (BEHAVIOUR 4.16), start a new one. Another 400 stays a `BadRequestError`; it carries a
    /// hint that the conversation may have ended only when the server gave no reason (a body
    /// that is not the documented JSON, a bare "bad request"), or one about the job's state in
    /// words this SDK does not know; a refusal with its own reason (a malformed job id, the
    /// attachments, the prompt, a job not started through the API) has none.
    pub async fn follow_up(&self, job_id: &str, body: &ContinueConversation) -> Result<TurnHandle> {
        validate_turn(&body.prompt, &body.attachment_ids)?;
        let req = op::CONVERSATIONS_FOLLOW_UP.request(&[job_id])?.json(body)?;
        let sent = SentPrompt {
            operation: op::CONVERSATIONS_FOLLOW_UP.id,
            agent_id: None,
            job_id: Some(job_id),
            prompt: &body.prompt,
            attachment_ids: &body.attachment_ids,
            started_at: chrono::Utc::now(),
        };
        self.client
            .send_prompt_once(sent, |c| {
                let req = req.clone();
                async move {
                    let answer: ContinueAnswer =
                        c.call(req).await.map_err(|e| classify_refusal(job_id, e))?;
                    Ok(handle_from(job_id, answer))
                }
            })
            .await
    }
}

/// The handle of a continue: the answer's `job_id` when it names one, else the one asked.
fn handle_from(job_id: &str, answer: ContinueAnswer) -> TurnHandle {
    TurnHandle {
        job_id: answer
            .job_id
            .filter(|j| !j.trim().is_empty())
            .unwrap_or_else(|| job_id.to_owned()),
        message_id: answer.message_id,
        recovered: false,
    }
}

/// Why a refused continue may have been refused, when the server does not say clearly.
const ENDED_HINT: &str = "the conversation may have ended (completed or abandoned: pull \
     request merged or closed, 25 h without updates); an ended conversation cannot be \
     continued: start a new one";

/// A refusal saying the job ended: the emulator's `job is completed and cannot be continued;
/// start a new conversation`, and the same idea worded otherwise (`cannot be continued`,
/// `job is abandoned`). REFERENCE.md documents only a 400.
static ENDED_REFUSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bjob\s+(?:is|has\s+been)\s+(completed|abandoned)\b|\bcannot\s+be\s+continued\b",
    )
    .expect("valid regex")
});

/// A refusal that names no reason at all.
static GENERIC_REFUSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:bad|invalid)\s+request\s*\.?\s*$").expect("valid regex")
});

/// Words of a refusal about the job's state that are not precise enough to call it ended.
static STATE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(ended|closed|inactive|archived|finished|no\s+longer|not\s+active|status)\b")
        .expect("valid regex")
});

/// A refused continue: [`Error::ConversationEnded`] when the server says the job ended; the
/// ended hint on a 400 that gives no reason (no JSON `error`, a bare "bad request") or one
/// about the job's state in other words; other refusals (a malformed job id, bad attachments, an empty prompt, a
/// job not started through the API) unchanged.
fn classify_refusal(job_id: &str, mut e: Error) -> Error {
    let Error::Api(a) = &mut e else {
        return e;
    };
    if a.status != 400 {
        return e;
    }
    if let Some(caps) = ENDED_REFUSAL.captures(&a.message) {
        let status = caps
            .get(1)
            .map(|s| JobStatus::from(s.as_str().to_ascii_lowercase().as_str()))
            .or_else(|| status_named(&a.message));
        return Error::continue_refused_as_ended(job_id, status, a);
    }
    // A body that was not the documented JSON (`body` kept) or a bare "bad request" says
    // nothing, so the likeliest cause is worth naming.
    let unexplained = a.body.is_some() || GENERIC_REFUSAL.is_match(&a.message);
    if a.hint.is_none() && (unexplained || STATE_WORDS.is_match(&a.message)) {
        a.hint = Some(ENDED_HINT.to_owned());
    }
    e
}

/// `completed` or `abandoned` when the refusal names exactly one of them.
fn status_named(message: &str) -> Option<JobStatus> {
    let lower = message.to_ascii_lowercase();
    match (lower.contains("completed"), lower.contains("abandoned")) {
        (true, false) => Some(JobStatus::Completed),
        (false, true) => Some(JobStatus::Abandoned),
        _ => None,
    }
}

impl From<&StartConversation> for StartConversation {
    /// A copy, so that `run` takes a borrowed request too.
    fn from(request: &StartConversation) -> Self {
        request.clone()
    }
}

impl<A: Into<String>, P: Into<String>> From<(A, P)> for StartConversation {
    /// An `(agent_id, prompt)` pair with the server's defaults.
    fn from((agent_id, prompt): (A, P)) -> Self {
        StartConversation::new(agent_id, prompt)
    }
}
