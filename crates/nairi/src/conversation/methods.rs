//! `wait`, `watch`, `run` and `run_follow_up` on `client.conversations()`: the high-level
//! layer over the raw calls (`start`, `follow_up`) of [`crate::api::Conversations`]. It
//! depends on the api module, never the reverse.

use futures::StreamExt;
use futures::stream::BoxStream;

use super::engine::Engine;
use super::events::TurnEvent;
use super::options::{RunOptions, WaitOptions};
use super::turn::Turn;
use crate::api::Conversations;
use crate::error::Result;
use crate::types::{ContinueConversation, StartConversation, TurnHandle};

/// The events of one turn, as [`Conversations::watch`] yields them (`Unpin`, `Send`).
pub type TurnEventStream = BoxStream<'static, Result<TurnEvent>>;

impl Conversations<'_> {
    /// Waits for a turn to finish and returns its reply.
    ///
    /// Polls the user message with a backoff until it is `completed` or `failed`, or until a
    /// completed reply is listed while the status lags. A `failed` turn is
    /// [`Error::TurnFailed`](crate::Error::TurnFailed); running out of `options.timeout` is
    /// [`Error::WaitTimeout`](crate::Error::WaitTimeout); a conversation that ends meanwhile
    /// is [`Error::ConversationEnded`](crate::Error::ConversationEnded). Transient errors
    /// (network, 5xx, 429) are retried until the timeout; a garbled body is retried too, but
    /// an endpoint whose answer fails to decode several times in a row ends the wait with that
    /// [`Error::Decode`](crate::Error::Decode); 4xx errors end the wait. Dropping the future
    /// stops it.
    ///
    /// The status says `completed` but no reply is listed even after `options.reply_grace`:
    /// the turn is returned with [`Turn::reply`] `None` (not an error).
    ///
    /// ```no_run
    /// # async fn demo(client: nairi::Client) -> nairi::Result<()> {
    /// use nairi::types::StartConversation;
    /// let conversations = client.conversations();
    /// let handle = conversations.start(&StartConversation::new("support-bot", "Hi")).await?;
    /// let turn = conversations.wait(&handle, &nairi::WaitOptions::default()).await?;
    /// println!("{}", turn.reply().unwrap_or("<the reply was never listed>"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::TurnFailed`](crate::Error::TurnFailed): the user message ended `failed`
    ///   (also after a reply was listed), with this turn's notices only.
    /// - [`Error::WaitTimeout`](crate::Error::WaitTimeout): `options.timeout` ran out; carries
    ///   the job id, message id, last status seen and last transient error.
    /// - [`Error::ConversationEnded`](crate::Error::ConversationEnded): the job ended
    ///   (completed or abandoned) before the turn ran: a notice in the thread, or the agent's
    ///   conversation list when `options.agent_id` is set.
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
    /// message once, and [`TurnEvent::StillQueued`] once if the turn stays `queued` long; the
    /// last item is [`TurnEvent::Completed`] or [`TurnEvent::Failed`], or an `Err` (timeout,
    /// ended conversation, non-transient error), and then the stream ends. The change to
    /// `completed` or `failed` comes after the turn's messages, right before that last item.
    ///
    /// The stream owns a clone of the client; dropping it stops polling. Each stream keeps its
    /// own record of what it delivered: a new `watch` on the same handle (after dropping one,
    /// or alongside it) starts from the beginning of the turn and delivers its messages again.
    /// The error items are those listed under [`wait`](Self::wait)'s errors, except that a
    /// failed turn is the [`TurnEvent::Failed`] item, not an `Err`.
    ///
    /// ```no_run
    /// # async fn demo(client: nairi::Client, handle: nairi::types::TurnHandle) {
    /// use futures::StreamExt;
    /// let mut events = client.conversations().watch(&handle, &nairi::WaitOptions::default());
    /// while let Some(event) = events.next().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn watch(&self, handle: &TurnHandle, options: &WaitOptions) -> TurnEventStream {
        Engine::new(self.client, handle, options.clone(), true)
            .into_stream()
            .boxed()
    }

    /// Starts a conversation and waits for the reply: [`start`](Self::start) then
    /// [`wait`](Self::wait).
    ///
    /// `request` is a [`StartConversation`] or an `(agent_id, prompt)` pair; `options.ask_mode`
    /// overrides its mode when set, and `options.attachment_ids` are added to its own. Nothing
    /// is sent when the prompt, the attachments or the wait options are invalid. Unless
    /// `options.wait.agent_id` is set, it is the request's agent, so that the wait notices the
    /// conversation ending from the agent's conversation list too.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) before anything is sent (empty agent id
    /// or prompt, more than 10 attachment ids, invalid wait options such as a zero timeout);
    /// the errors of [`start`](Self::start); then those of [`wait`](Self::wait):
    /// [`Error::TurnFailed`](crate::Error::TurnFailed),
    /// [`Error::WaitTimeout`](crate::Error::WaitTimeout) (the conversation was started: keep
    /// the ids from the error to wait again),
    /// [`Error::ConversationEnded`](crate::Error::ConversationEnded).
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
        let mut wait = options.wait.clone();
        if wait.agent_id.is_none() && !body.agent_id.trim().is_empty() {
            wait.agent_id = Some(body.agent_id.clone());
        }
        // Checked before `start`: a job started with options the wait then refuses would be
        // left running with nobody waiting for it.
        wait.validate()?;
        // Boxed, like the follow-up below: the start's request state (about 3 KB) would
        // otherwise stay in the future of every pending `run` for the whole wait.
        let handle = Box::pin(self.start(&body)).await?;
        self.wait_with(&handle, wait, options).await
    }

    /// Sends a follow-up prompt and waits for the reply: [`follow_up`](Self::follow_up) then
    /// [`wait`](Self::wait). The turn's `job_id` is the one the server answered with, when it
    /// named one. `options.ask_mode` is ignored (the conversation keeps its mode).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) before anything is sent (empty prompt,
    /// more than 10 attachment ids, invalid wait options); the errors of
    /// [`follow_up`](Self::follow_up), among them
    /// [`Error::ConversationEnded`](crate::Error::ConversationEnded) when the conversation
    /// ended; then those of [`wait`](Self::wait).
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
        let handle = Box::pin(self.follow_up(job_id, &body)).await?;
        self.wait_with(&handle, options.wait.clone(), options).await
    }

    async fn wait_with(
        &self,
        handle: &TurnHandle,
        wait: WaitOptions,
        options: &RunOptions,
    ) -> Result<Turn> {
        let emit = options.on_event.is_some();
        Engine::new(self.client, handle, wait, emit)
            .finish(options.on_event.as_deref())
            .await
    }
}
