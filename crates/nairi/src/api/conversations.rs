//! `client.conversations()`: start and follow up (the raw calls), and the high-level layer on
//! top: wait for a turn, watch its events, run a prompt to its reply. Types and the poll engine
//! live in [`crate::conversation`].

use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::conversation::{Engine, RunOptions, Turn, TurnEvent, WaitOptions};
use crate::error::{Error, Result};
use crate::operations as op;
use crate::types::{
    ContinueAnswer, ContinueConversation, StartConversation, TurnHandle, validate_turn,
};

/// The events of one turn, as [`Conversations::watch`] yields them (`Unpin`, `Send`).
pub type TurnEventStream = BoxStream<'static, Result<TurnEvent>>;

/// The conversations API group.
#[derive(Debug, Clone, Copy)]
pub struct Conversations<'c> {
    pub(crate) client: &'c Client,
}

impl<'c> Conversations<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Conversations { client }
    }

    /// `POST /conversations/start`: creates a job and sends its first prompt.
    ///
    /// Never retried on a 5xx or timeout: the server may have created the job.
    pub async fn start(&self, body: &StartConversation) -> Result<TurnHandle> {
        if body.agent_id.trim().is_empty() {
            return Err(crate::Error::validation("agent_id", "must not be empty"));
        }
        validate_turn(&body.prompt, &body.attachment_ids)?;
        self.client
            .call(op::CONVERSATIONS_START.request(&[])?.json(body)?)
            .await
    }

    /// `POST /conversations/{job_id}/continue`: sends a follow-up prompt on an API job.
    ///
    /// The returned handle adopts a `job_id` from the answer when present, else keeps `job_id`.
    /// A 400 carries a hint that the conversation may have ended, as ended conversations cannot
    /// be continued (BEHAVIOUR 4.16), unless the refusal is about the attachments.
    pub async fn follow_up(&self, job_id: &str, body: &ContinueConversation) -> Result<TurnHandle> {
        validate_turn(&body.prompt, &body.attachment_ids)?;
        let answer: ContinueAnswer = self
            .client
            .call(op::CONVERSATIONS_FOLLOW_UP.request(&[job_id])?.json(body)?)
            .await
            .map_err(with_ended_hint)?;
        Ok(TurnHandle {
            job_id: answer
                .job_id
                .filter(|j| !j.trim().is_empty())
                .unwrap_or_else(|| job_id.to_owned()),
            message_id: answer.message_id,
        })
    }

    /// Waits for a turn to finish and returns its reply.
    ///
    /// Polls the user message with a backoff until it is `completed` or `failed`, or until a
    /// completed reply is listed while the status lags. A `failed` turn is
    /// [`Error::TurnFailed`](crate::Error::TurnFailed); running out of `options.timeout` is
    /// [`Error::WaitTimeout`](crate::Error::WaitTimeout). Transient errors (network, 5xx, 429)
    /// are retried until the timeout; a garbled body is retried too, but an endpoint whose
    /// answer fails to decode several times in a row ends the wait with that
    /// [`Error::Decode`](crate::Error::Decode); 4xx errors end the wait. Dropping the future
    /// stops it.
    ///
    /// The status says `completed` but no reply is listed even after `options.reply_grace`:
    /// the turn is returned with [`Turn::reply_missing`] set (not an error).
    ///
    /// # Errors
    ///
    /// - [`Error::TurnFailed`](crate::Error::TurnFailed): the user message ended `failed`
    ///   (also after a reply was listed), with this turn's notices only.
    /// - [`Error::WaitTimeout`](crate::Error::WaitTimeout): `options.timeout` ran out; carries
    ///   the job id, message id, last status seen and last transient error.
    /// - [`Error::Validation`](crate::Error::Validation): invalid `options` (before any
    ///   request), or the polled message belongs to another job or is not a user message.
    /// - [`Error::Decode`](crate::Error::Decode) after repeated undecodable answers, and
    ///   non-transient API errors (401, 403, 404...).
    pub async fn wait(&self, handle: &TurnHandle, options: &WaitOptions) -> Result<Turn> {
        Engine::new(self.client, handle, options.clone(), false)
            .finish(None)
            .await
    }

    /// Streams a turn's events: status changes, progress, assistant and system messages, each
    /// message once; the last item is [`TurnEvent::Completed`] or [`TurnEvent::Failed`], or an
    /// `Err` (timeout, non-transient error), and then the stream ends. The change to
    /// `completed` or `failed` comes after the turn's messages, right before that last item.
    ///
    /// The stream owns a clone of the client; dropping it stops polling. Each stream keeps its
    /// own record of what it delivered: a new `watch` on the same handle (after dropping one,
    /// or alongside it) starts from the beginning of the turn and delivers its messages again.
    /// The error items are those listed under [`wait`](Self::wait)'s errors, except that a
    /// failed turn is the [`TurnEvent::Failed`] item, not an `Err`.
    pub fn watch(&self, handle: &TurnHandle, options: WaitOptions) -> TurnEventStream {
        Engine::new(self.client, handle, options, true)
            .into_stream()
            .boxed()
    }

    /// Starts a conversation and waits for the reply: [`start`](Self::start) then
    /// [`wait`](Self::wait).
    ///
    /// `request` is a [`StartConversation`] or an `(agent_id, prompt)` pair; `options.ask_mode`
    /// overrides its mode when set, and `options.attachment_ids` are added to its own. Nothing
    /// is sent when the prompt, the attachments or the wait options are invalid.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) before anything is sent (empty agent id
    /// or prompt, more than 10 attachment ids, invalid wait options); the errors of
    /// [`start`](Self::start); then those of [`wait`](Self::wait):
    /// [`Error::TurnFailed`](crate::Error::TurnFailed),
    /// [`Error::WaitTimeout`](crate::Error::WaitTimeout) (the conversation was started: keep
    /// the ids from the error to wait again).
    pub async fn run(
        &self,
        request: impl Into<StartConversation>,
        options: &RunOptions,
    ) -> Result<Turn> {
        let mut body: StartConversation = request.into();
        if options.ask_mode.is_some() {
            body.ask_mode = options.ask_mode;
        }
        body.attachment_ids
            .extend(options.attachment_ids.iter().cloned());
        options.wait.validate()?;
        let handle = self.start(&body).await?;
        self.wait_with(&handle, options).await
    }

    /// Sends a follow-up prompt and waits for the reply: [`follow_up`](Self::follow_up) then
    /// [`wait`](Self::wait). The turn's `job_id` is the one the server answered with, when it
    /// named one. `options.ask_mode` is ignored (the conversation keeps its mode).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) before anything is sent (empty prompt,
    /// more than 10 attachment ids, invalid wait options); the errors of
    /// [`follow_up`](Self::follow_up) (a 400 may mean the conversation ended); then those of
    /// [`wait`](Self::wait): [`Error::TurnFailed`](crate::Error::TurnFailed),
    /// [`Error::WaitTimeout`](crate::Error::WaitTimeout).
    pub async fn run_follow_up(
        &self,
        job_id: &str,
        prompt: &str,
        options: &RunOptions,
    ) -> Result<Turn> {
        let body = ContinueConversation {
            extra: Default::default(),
            prompt: prompt.to_owned(),
            attachment_ids: options.attachment_ids.clone(),
        };
        options.wait.validate()?;
        let handle = self.follow_up(job_id, &body).await?;
        self.wait_with(&handle, options).await
    }

    async fn wait_with(&self, handle: &TurnHandle, options: &RunOptions) -> Result<Turn> {
        let emit = options.on_event.is_some();
        Engine::new(self.client, handle, options.wait.clone(), emit)
            .finish(options.on_event.as_deref())
            .await
    }
}

/// Why a refused continue may have been refused: the server does not say.
const ENDED_HINT: &str = "if the conversation has ended (completed or abandoned: pull \
     request merged or closed, 25 h without updates) or was not started through the API, it \
     cannot be continued: start a new one";

/// The likeliest reason for a 400 on a continue, an ended conversation, is worth a hint,
/// worded as a possibility: the same status answers a bad prompt or attachment id. A refusal
/// that names the attachments is evidently about them and gets none.
fn with_ended_hint(mut e: Error) -> Error {
    if let Error::Api(a) = &mut e
        && a.status == 400
        && a.hint.is_none()
        && !a.message.to_lowercase().contains("attachment")
    {
        a.hint = Some(ENDED_HINT.to_owned());
    }
    e
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
