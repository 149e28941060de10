//! The one poll loop behind `wait`, `watch` and `run`.
//!
//! It polls `GET /messages/{id}` with a backoff and lists the whole thread only when that is
//! worth its cost (BEHAVIOUR 4.10): on a status change and at a slow cadence while watching, at
//! a slower one while just waiting (to catch a reply whose status lags), and at the end. A tick
//! that lists does not poll as well: the listing carries the user message's status. The change
//! to a terminal status is emitted after the turn's messages listed on the way to the end, right
//! before `Completed` or `Failed`. All work happens inside the caller's future or stream, so
//! dropping it stops everything: no task is spawned and no request is made afterwards.
//!
//! A conversation that ends (completed or abandoned) never picks up the waiting turn, so the
//! wait ends with `ConversationEnded` instead of running into its timeout. Two signs, both
//! cheap: a `Job abandoned: ...` / `Job complete - ...` notice listed after the user message
//! (read from the listings the loop makes anyway: every `progress_interval` while watching,
//! every `early_reply_interval` while waiting), and, when the agent is known
//! (`WaitOptions::agent_id`, set by `run`), the agent's conversation list filtered to ended
//! jobs updated since the user message, fetched every `job_status_interval` (a minute by
//! default, never on every tick). Either is confirmed by a listing: a reply that is there
//! still completes the turn.
//!
//! The settle window before the last listing counts from when the turn's reply (without one,
//! its newest message) was written, on the server's clock (`clock`): a turn noticed well after its end is returned from
//! the listing that found it, and when the terminal status is polled soon after the end, the
//! listing that fetches the reply is put off until the settle is over, so that one listing
//! does for both.
//!
//! The scheduling arithmetic lives in `schedule`, the status bookkeeping in `status`, the
//! server-clock bounds in `clock`.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use futures::Stream;
use tokio::time::Instant;

use super::clock::ServerClock;
use super::errors::{ConversationEnded, TurnFailed, WaitTimeout};
use super::events::{EventCallback, TurnEvent};
use super::failure::job_end_notice;
use super::options::WaitOptions;
use super::progress::ProgressEvent;
use super::schedule::{Backoff, earliest, longest};
use super::status::{Observed, QueuedWatch, StatusTracker};
use super::turn::{Turn, has_final_reply, has_reply, turn_indices};
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::types::{
    ConversationSort, JobStatus, ListConversations, MAX_PAGE_LIMIT, Message, MessageRole,
    MessageStatus, Timestamp, TurnHandle,
};

/// Delay between two listings while the status is terminal but the reply (or the error notice)
/// is not listed yet (at most `initial_interval`): a lagging list catches up within moments.
pub(crate) const GRACE_RELIST_INTERVAL: Duration = Duration::from_millis(250);

/// Undecodable answers in a row from one endpoint after which the wait gives up with the
/// decode error: a garbled body now and then is transient, one that never decodes is not.
pub(crate) const MAX_DECODE_FAILURES: u32 = 4;

/// Which request a transient error came from (decode failures are counted per endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Poll,
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Polling the user message's status.
    Polling,
    /// The status is terminal: listing until the reply (or error notice) is there, for at most
    /// the grace window once a listing succeeded.
    Finishing {
        outcome: Outcome,
        grace: Grace,
    },
    /// Outcome known; one more listing after the settle window, then the end.
    Settling {
        outcome: Outcome,
    },
    Done,
}

/// The reply grace window of [`Phase::Finishing`].
#[derive(Debug, Clone, Copy)]
enum Grace {
    /// No listing succeeded yet: the overall deadline applies and ends in the timeout error.
    NotListed,
    /// Listed at least once: keep listing until this instant (`None`: a window too long to
    /// represent, i.e. endless), or the overall deadline if earlier, then return what was listed.
    Until(Option<Instant>),
}

pub(crate) struct Engine {
    /// The caller's client without per-request retries: the loop's own backoff governs.
    client: Client,
    job_id: String,
    message_id: String,
    opts: WaitOptions,
    /// Whether a consumer wants intermediate events (`watch`, `run` with a callback).
    emit: bool,
    started: Instant,
    deadline: Option<Instant>,
    status: StatusTracker,
    backoff: Backoff,
    queued: QueuedWatch,
    next_sleep: Option<Duration>,
    last_list: Instant,
    /// When the agent's conversation list was last checked for this job's end.
    last_job_check: Instant,
    /// The user message's creation time (server clock), bounding that check.
    user_created_at: Option<Timestamp>,
    /// The job's status when that check found it ended, until a listing confirms it.
    ended_status: Option<JobStatus>,
    /// What is kept of the last listing: the thread from the user message on (`None` before
    /// the first listing; empty when the user message was not listed). The earlier turns of a
    /// long conversation are dropped as soon as a listing has been read, so that a wait holds
    /// one listing at most while the next one is decoded.
    thread: Option<Vec<Message>>,
    /// Where this turn's messages are in `thread`, found on the whole listing (the turns still
    /// queued before this one decide which replies are whose).
    turn: Vec<usize>,
    /// When the kept listing was requested and when it arrived.
    listed_at: Option<(Instant, Instant)>,
    /// Bounds of the server's clock, from the timestamps of the answers.
    clock: ServerClock,
    delivered: HashSet<String>,
    queue: VecDeque<TurnEvent>,
    /// The change to a terminal status, emitted after the messages listed on the way to the
    /// end, right before `Completed` or `Failed`.
    held_status: Option<TurnEvent>,
    pending_error: Option<Error>,
    last_error: Option<String>,
    /// Consecutive undecodable answers of `GET /messages/{id}` and of the listing.
    poll_decode_failures: u32,
    list_decode_failures: u32,
    /// The `Retry-After` of the last listing that failed, for the next delay.
    list_retry_after: Option<Duration>,
    phase: Phase,
}

impl Engine {
    pub(crate) fn new(client: &Client, handle: &TurnHandle, opts: WaitOptions, emit: bool) -> Self {
        let started = Instant::now();
        let pending_error = opts.validate().err();
        let phase = if pending_error.is_some() {
            Phase::Done
        } else {
            Phase::Polling
        };
        let cap = emit.then_some(opts.progress_interval);
        Engine {
            client: client.with_options(RequestOptions {
                max_retries: Some(0),
                ..Default::default()
            }),
            job_id: handle.job_id.clone(),
            message_id: handle.message_id.clone(),
            // A timeout too long to represent is no timeout.
            deadline: opts.timeout.and_then(|t| started.checked_add(t)),
            backoff: Backoff::new(&opts, cap, client.config().retry.max_retry_after),
            queued: QueuedWatch::new(opts.queued_warning),
            opts,
            emit,
            started,
            status: StatusTracker::default(),
            next_sleep: None,
            last_list: started,
            last_job_check: started,
            user_created_at: None,
            ended_status: None,
            thread: None,
            turn: Vec::new(),
            listed_at: None,
            clock: ServerClock::new(started, chrono::Utc::now()),
            delivered: HashSet::new(),
            queue: VecDeque::new(),
            held_status: None,
            pending_error,
            last_error: None,
            poll_decode_failures: 0,
            list_decode_failures: 0,
            list_retry_after: None,
            phase,
        }
    }

    /// The next event; `None` after the terminal event or an error.
    pub(crate) async fn next(&mut self) -> Option<Result<TurnEvent>> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(Ok(ev));
            }
            if let Some(e) = self.pending_error.take() {
                self.phase = Phase::Done;
                return Some(Err(e));
            }
            if matches!(self.phase, Phase::Done) {
                return None;
            }
            if let Err(e) = self.advance().await {
                self.release_held_status();
                self.phase = Phase::Done;
                self.pending_error = Some(e);
            }
        }
    }

    /// Runs to the end, handing every event to `on_event`, and returns the turn.
    ///
    /// The engine is boxed before the future is made: an `async fn` taking `self` by value
    /// keeps it twice in its state (the argument and the moved local, 2 x 1.2 KB), and a
    /// binding spawns one such future per pending `wait` or `run`.
    pub(crate) fn finish(
        self,
        on_event: Option<&EventCallback>,
    ) -> impl Future<Output = Result<Turn>> + '_ {
        let mut engine = Box::new(self);
        async move {
            while let Some(item) = engine.next().await {
                let event = item?;
                if let Some(cb) = on_event {
                    cb(&event);
                }
                match event {
                    TurnEvent::Completed(turn) => return Ok(turn),
                    TurnEvent::Failed(failed) => return Err(Error::TurnFailed(Box::new(failed))),
                    _ => {}
                }
            }
            // The loop always ends with a terminal event or an error; report rather than panic.
            Err(engine.timeout_error())
        }
    }

    /// The engine as a stream that owns it.
    pub(crate) fn into_stream(self) -> impl Stream<Item = Result<TurnEvent>> + Send + 'static {
        futures::stream::unfold(self, |mut engine| async move {
            engine.next().await.map(|item| (item, engine))
        })
    }

    async fn advance(&mut self) -> Result<()> {
        match self.phase {
            Phase::Polling => self.poll_tick().await,
            Phase::Finishing { outcome, grace } => self.finish_step(outcome, grace).await,
            Phase::Settling { outcome } => {
                self.settle(outcome).await;
                Ok(())
            }
            Phase::Done => Ok(()),
        }
    }

    /// One tick while the turn runs: when the thread is due to be listed, the listing alone
    /// (it carries the user message's status); otherwise the status poll, followed by a listing
    /// when the status changed and a consumer wants the messages that came with the change.
    /// When the agent's conversation list is due, it is checked first for the job's end.
    async fn poll_tick(&mut self) -> Result<()> {
        if let Some(d) = self.next_sleep.take() {
            self.sleep_before(d, self.deadline).await;
        }
        self.check_deadline()?;
        if self.job_check_due() {
            self.check_job_status().await?;
        }
        let cadence = if self.emit {
            self.opts.progress_interval
        } else {
            self.opts.early_reply_interval
        };
        // A listing that failed is no reason to stop watching the status: this tick polls it
        // too, and the listing's Retry-After counts for the next delay.
        let mut list_retry_after = None;
        let mut listing_failed = false;
        if self.ended_status.is_some() || self.last_list.elapsed() >= cadence {
            match self.fetch_thread(self.deadline, false).await? {
                Some(thread) => {
                    let (changed, done) = self.list_tick(thread)?;
                    if !done {
                        self.schedule(changed, None);
                    }
                    return Ok(());
                }
                None => {
                    listing_failed = true;
                    list_retry_after = self.list_retry_after.take();
                }
            }
        }
        let client = self.client.clone();
        let polled = self
            .bounded(self.deadline, client.messages().get(&self.message_id))
            .await?;
        let message = match polled {
            Ok(m) => {
                self.poll_decode_failures = 0;
                self.check_polled(&m)?;
                let received = Instant::now();
                for stamp in [m.created_at, m.updated_at].into_iter().flatten() {
                    self.clock.observe(received, stamp);
                }
                m
            }
            Err(e) => {
                let retry_after = self.absorb(e, Source::Poll)?;
                self.schedule(false, longest(retry_after, list_retry_after));
                return Ok(());
            }
        };
        if self.user_created_at.is_none() {
            self.user_created_at = message.created_at;
        }
        let mut changed = self.observe(&message.status, false);
        if self.finish_if_terminal() {
            self.next_sleep = self.settle_before_listing(message.updated_at);
            return Ok(());
        }
        if changed && self.emit && !listing_failed {
            match self.fetch_thread(self.deadline, false).await? {
                Some(thread) => {
                    let (listed_change, done) = self.list_tick(thread)?;
                    if done {
                        return Ok(());
                    }
                    changed |= listed_change;
                }
                None => list_retry_after = self.list_retry_after.take(),
            }
        }
        self.schedule(changed, list_retry_after);
        Ok(())
    }

    /// Whether the agent's conversation list is due to be checked for the job's end: only when
    /// the agent is known, and at most every `job_status_interval`.
    fn job_check_due(&self) -> bool {
        self.opts.agent_id.is_some()
            && self.last_job_check.elapsed() >= self.opts.job_status_interval
    }

    /// Looks for this job among the agent's ended conversations (`completed`, `abandoned`)
    /// updated since the user message was created (a short list, normally empty). When it is
    /// there, the next listing (made at once) decides: a reply or terminal status listed still
    /// ends the turn as usual; otherwise the wait ends with [`Error::ConversationEnded`]. The
    /// check is an extra sign, not the wait's subject: its errors are logged and the next
    /// check is a full interval later.
    async fn check_job_status(&mut self) -> Result<()> {
        self.last_job_check = Instant::now();
        let Some(agent_id) = self.opts.agent_id.clone() else {
            return Ok(());
        };
        let params = ListConversations {
            status: vec![JobStatus::Completed, JobStatus::Abandoned],
            // The job's end touches it after the user message was written; a second of slack
            // for timestamps at whole-second precision.
            updated_after: self
                .user_created_at
                .map(|t| t - chrono::Duration::seconds(1)),
            sort: Some(ConversationSort::UpdatedAtDesc),
            limit: Some(MAX_PAGE_LIMIT),
            ..Default::default()
        };
        let client = self.client.clone();
        let listed = self
            .bounded(
                self.deadline,
                client.agents().conversations().list(&agent_id, &params),
            )
            .await?;
        match listed {
            Ok(page) => {
                self.ended_status = page
                    .into_iter()
                    .find(|c| c.id == self.job_id)
                    .map(|c| c.status)
                    .filter(|s| matches!(s, JobStatus::Completed | JobStatus::Abandoned));
            }
            Err(e) => tracing::debug!(
                error = %e, job_id = %self.job_id, agent_id = %agent_id,
                "could not check whether the conversation ended"
            ),
        }
        Ok(())
    }

    /// Refuses to wait on a message that is not this handle's prompt: one of another job (its
    /// reply would never be listed in this job's thread), or an assistant, system or progress
    /// message (which has no turn). A missing job id or role says nothing.
    fn check_polled(&self, m: &Message) -> Result<()> {
        if !m.job_id.is_empty() && m.job_id != self.job_id {
            return Err(Error::validation(
                "message_id",
                format!(
                    "message {} belongs to job {}, not {}",
                    self.message_id, m.job_id, self.job_id
                ),
            ));
        }
        if !matches!(m.role, MessageRole::User | MessageRole::Unknown(_)) {
            return Err(Error::validation(
                "message_id",
                format!(
                    "message {} has role {}, so it is not a user message: only a prompt has a turn to wait for",
                    self.message_id,
                    m.role.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// Takes a listing made while the turn runs; returns whether the status changed, and
    /// whether the turn is over: a terminal status in the listing (which then also counts as
    /// the first listing of the finish), or a completed reply while the status lags. A notice
    /// that the job ended, listed after the user message with nothing of this turn after it,
    /// is the [`Error::ConversationEnded`] of a turn that will never run.
    fn list_tick(&mut self, thread: Vec<Message>) -> Result<(bool, bool)> {
        if self.user_created_at.is_none() {
            self.user_created_at = thread
                .iter()
                .find(|m| m.id == self.message_id)
                .and_then(|m| m.created_at);
        }
        let (changed, turn) = self.adopt(thread);
        let Some(outcome) = self.terminal_outcome() else {
            let early = turn
                .as_deref()
                .is_some_and(|ix| has_final_reply(self.listed(ix)));
            if early {
                self.phase = Phase::Settling {
                    outcome: Outcome::Completed,
                };
                return Ok((changed, true));
            }
            let notice = self.ended_notice();
            if notice.is_some() || self.ended_status.is_some() {
                return Err(self.ended_error(self.ended_status.clone(), notice));
            }
            return Ok((changed, false));
        };
        if turn
            .as_deref()
            .is_some_and(|ix| satisfies(outcome, self.listed(ix)))
        {
            self.phase = Phase::Settling { outcome };
        } else {
            self.start_grace(outcome);
        }
        Ok((changed, true))
    }

    /// The last notice of the job's end (`Job abandoned: ...`, `Job complete - ...`) listed
    /// after the user message, unless this turn's progress or reply follows it (then the job
    /// is evidently still working on it). Scans the whole rest of the thread, not only this
    /// turn's messages: a completion notice trails the turn that finished last, yet it still
    /// means that no later message will be picked up.
    fn ended_notice(&self) -> Option<(JobStatus, String)> {
        let thread = self.thread.as_deref()?;
        let user = thread.iter().position(|m| m.id == self.message_id)?;
        let after = &thread[user + 1..];
        let (at, status) = after.iter().enumerate().rev().find_map(|(i, m)| {
            (m.role == MessageRole::System)
                .then(|| job_end_notice(&m.content))
                .flatten()
                .map(|s| (i, s))
        })?;
        let worked_after = self.turn.iter().any(|&i| {
            i > user + 1 + at
                && matches!(
                    thread[i].role,
                    MessageRole::Progress | MessageRole::Assistant
                )
        });
        (!worked_after).then(|| (status, after[at].content.trim().to_owned()))
    }

    fn ended_error(
        &self,
        job_status: Option<JobStatus>,
        notice: Option<(JobStatus, String)>,
    ) -> Error {
        let (status, notice) = match notice {
            Some((from_notice, text)) => (job_status.or(Some(from_notice)), Some(text)),
            None => (job_status, None),
        };
        tracing::info!(
            job_id = %self.job_id, message_id = %self.message_id,
            job_status = status.as_ref().map(JobStatus::as_str).unwrap_or("ended"),
            "the conversation ended while its turn waited"
        );
        Error::ConversationEnded(Box::new(ConversationEnded::while_waiting(
            &self.job_id,
            &self.message_id,
            status,
            notice,
            self.status.last().cloned(),
        )))
    }

    /// Records a status seen on the user message; returns whether it changed (see
    /// [`StatusTracker::observe`]). A change is an event, the terminal one held back until the
    /// turn's messages are out; a turn left `queued` too long is flagged once.
    fn observe(&mut self, status: &MessageStatus, from_listing: bool) -> bool {
        let changed = match self.status.observe(status, from_listing) {
            Observed::Changed { from } => {
                let event = TurnEvent::StatusChanged {
                    from,
                    to: status.clone(),
                };
                // The turn's messages listed on the way to the end come first.
                if status.is_terminal() {
                    self.held_status = Some(event);
                } else {
                    self.push(event);
                }
                true
            }
            Observed::Same => false,
            Observed::Ignored { kept } => {
                tracing::debug!(
                    message_id = %self.message_id, seen = %status.as_str(),
                    kept = %kept.as_str(), from_listing, "ignoring a status that goes back"
                );
                false
            }
        };
        let waited = self.started.elapsed();
        if self.queued.check(self.status.last(), waited) {
            tracing::warn!(
                job_id = %self.job_id, message_id = %self.message_id,
                waited_secs = waited.as_secs_f64(),
                "the turn is still queued: the agent may not be deployed (a deploy is \
                 asynchronous and has no status endpoint) or has no free instance"
            );
            self.push(TurnEvent::StillQueued { waited });
        }
        changed
    }

    /// Emits the terminal status change held back by `observe`.
    fn release_held_status(&mut self) {
        if let Some(event) = self.held_status.take() {
            self.push(event);
        }
    }

    /// Moves on to finishing once the last status seen is terminal; queued, pending and values
    /// this SDK does not know keep the polling going.
    fn finish_if_terminal(&mut self) -> bool {
        let Some(outcome) = self.terminal_outcome() else {
            return false;
        };
        self.phase = Phase::Finishing {
            outcome,
            grace: Grace::NotListed,
        };
        true
    }

    fn terminal_outcome(&self) -> Option<Outcome> {
        match self.status.last() {
            Some(MessageStatus::Completed) => Some(Outcome::Completed),
            Some(MessageStatus::Failed) => Some(Outcome::Failed),
            _ => None,
        }
    }

    /// A listing succeeded without what the outcome needs: list again until the grace window
    /// ends.
    fn start_grace(&mut self, outcome: Outcome) {
        self.phase = Phase::Finishing {
            outcome,
            grace: Grace::Until(Instant::now().checked_add(self.opts.reply_grace)),
        };
        self.next_sleep = Some(self.grace_relist());
    }

    /// The delay between two listings of the reply grace window.
    fn grace_relist(&self) -> Duration {
        self.opts.initial_interval.min(GRACE_RELIST_INTERVAL)
    }

    /// How long to put off the listing that fetches the reply after the status poll found the
    /// turn terminal, its `updated_at` being `status_at`: until the settle window is over, so
    /// that this listing is also the last one (the reply is written before the status, so it is
    /// at least as old). `None` (list at once, then settle as needed) without a bound of the
    /// server's clock that can tell the status's age, or without a settle window.
    fn settle_before_listing(&self, status_at: Option<Timestamp>) -> Option<Duration> {
        if self.opts.settle.is_zero() {
            return None;
        }
        let now = Instant::now();
        // Only when the bound already shows the status as written by now: a loose bound (a
        // wait begun long after its turn started) would only add the window to the lag.
        if self.clock.age_at_least(status_at?, now).is_zero() {
            return None;
        }
        let wake = self
            .clock
            .instant_when_aged(status_at?, self.opts.settle, now)?;
        // Not past the overall deadline: a finished turn is returned, not timed out, even when
        // the timeout falls inside the window (the settle is cut short then, as always).
        if self.deadline.is_some_and(|d| wake >= d) {
            return None;
        }
        Some(wake.saturating_duration_since(now))
    }

    /// When the last listing is due so that it comes the settle window after the turn's reply
    /// (see [`Engine::newest_turn_stamp`]) was written; `None` when the kept listing was already requested that late. When
    /// the messages' age cannot be told, the window counts from when the kept listing arrived.
    fn settle_wake(&self) -> Option<Instant> {
        let Some((sent, received)) = self.listed_at else {
            return Instant::now().checked_add(self.opts.settle);
        };
        let counted_from_listing = received.checked_add(self.opts.settle);
        let aged = self
            .newest_turn_stamp()
            .and_then(|w| self.clock.instant_when_aged(w, self.opts.settle, sent));
        match aged {
            Some(at) if at <= sent => None,
            Some(at) => earliest(Some(at), counted_from_listing),
            None => counted_from_listing,
        }
    }

    /// When the messages that trailing notices follow were written, from the kept listing:
    /// the latest reply of the turn, else (a failed turn, a reply never listed) the latest of
    /// the turn's messages after the user message. `None` when there is none or one of them
    /// has no timestamp (its age is unknown).
    fn newest_turn_stamp(&self) -> Option<Timestamp> {
        let thread = self.thread.as_deref()?;
        let after_prompt = || {
            self.turn
                .iter()
                .filter_map(|&i| thread.get(i))
                .filter(|m| m.id != self.message_id)
        };
        let replies = || after_prompt().filter(|m| m.role == MessageRole::Assistant);
        let anchors: Vec<&Message> = if replies().next().is_some() {
            replies().collect()
        } else {
            after_prompt().collect()
        };
        let mut newest = None;
        for m in anchors {
            newest = newest.max(Some(m.created_at?));
        }
        newest
    }

    async fn finish_step(&mut self, outcome: Outcome, grace: Grace) -> Result<()> {
        // Before the first successful listing the overall deadline applies; after it the grace
        // window does too, and the end of either returns what was listed rather than a timeout.
        let (limit, soft) = match grace {
            Grace::NotListed => (self.deadline, false),
            Grace::Until(until) => (earliest(until, self.deadline), true),
        };
        if let Some(d) = self.next_sleep.take() {
            self.sleep_before(d, limit).await;
        }
        if !soft {
            self.check_deadline()?;
        }
        if let Some(thread) = self.fetch_thread(limit, soft).await? {
            let (_, turn) = self.adopt(thread);
            let satisfied = turn
                .as_deref()
                .is_some_and(|ix| satisfies(outcome, self.listed(ix)));
            if satisfied {
                self.phase = Phase::Settling { outcome };
                return Ok(());
            }
            if matches!(grace, Grace::NotListed) {
                self.start_grace(outcome);
            }
        }
        let grace = match self.phase {
            Phase::Finishing { grace, .. } => grace,
            _ => Grace::NotListed,
        };
        let retry_after = self.list_retry_after.take();
        match grace {
            Grace::Until(until) => {
                if earliest(until, self.deadline).is_some_and(|end| Instant::now() >= end) {
                    self.phase = Phase::Settling { outcome };
                } else {
                    let ra = retry_after.map(|ra| self.backoff.cap_retry_after(ra));
                    self.next_sleep = Some(self.grace_relist().max(ra.unwrap_or_default()));
                }
            }
            Grace::NotListed => self.schedule(false, retry_after),
        }
        Ok(())
    }

    /// Waits the settle window, lists once more (a failure keeps the earlier listing), and
    /// emits the outcome.
    async fn settle(&mut self, outcome: Outcome) {
        let deadline_passed = self.deadline.is_some_and(|d| Instant::now() >= d);
        // No wake: the listing that showed the turn was already made late enough.
        let wake = (!self.opts.settle.is_zero() && !deadline_passed)
            .then(|| self.settle_wake())
            .flatten();
        if let Some(wake) = wake {
            if let Some(wake) = earliest(Some(wake), self.deadline) {
                tokio::time::sleep_until(wake).await;
            }
            if let Ok(Some(thread)) = self.fetch_thread(self.deadline, true).await {
                self.adopt(thread);
            }
        }
        // A reply taken early (the status still lagging) does not make the turn a success when
        // the user message has turned `failed` since (a reply, then a failed push): the
        // status is the last word, and `Completed` never carries a failed turn.
        let outcome = if self.status.last() == Some(&MessageStatus::Failed) {
            Outcome::Failed
        } else {
            outcome
        };
        // The turn is over: its messages move out of the kept listing instead of being copied.
        let kept = self.thread.take().unwrap_or_default();
        let mut wanted = self.turn.iter().copied().peekable();
        let messages: Vec<Message> = kept
            .into_iter()
            .enumerate()
            .filter_map(|(i, m)| (wanted.next_if_eq(&i).is_some()).then_some(m))
            .collect();
        let event = match outcome {
            Outcome::Completed => TurnEvent::Completed(Turn::from_turn_messages(
                &self.job_id,
                &self.message_id,
                self.status
                    .last()
                    .cloned()
                    .unwrap_or(MessageStatus::Completed),
                messages,
            )),
            Outcome::Failed => TurnEvent::Failed(TurnFailed::from_turn_messages(
                &self.job_id,
                &self.message_id,
                &messages,
            )),
        };
        self.release_held_status();
        self.queue.push_back(event);
        self.phase = Phase::Done;
    }

    /// Lists the thread; `None` after a transient failure (already recorded). Reaching `limit`
    /// is the wait's timeout error unless `soft`, when it only means "nothing new".
    async fn fetch_thread(
        &mut self,
        limit: Option<Instant>,
        soft: bool,
    ) -> Result<Option<Vec<Message>>> {
        let client = self.client.clone();
        let sent = Instant::now();
        let listed = match self
            .bounded(limit, client.messages().list(&self.job_id))
            .await
        {
            Ok(r) => r,
            Err(_) if soft => return Ok(None),
            Err(e) => return Err(e),
        };
        let received = Instant::now();
        self.last_list = received;
        match listed {
            Ok(thread) => {
                self.list_decode_failures = 0;
                // The freshest timestamp is the one that bounds the clock offset best.
                let freshest = thread
                    .iter()
                    .flat_map(|m| [m.created_at, m.updated_at])
                    .flatten()
                    .max();
                if let Some(stamp) = freshest {
                    self.clock.observe(received, stamp);
                }
                self.listed_at = Some((sent, received));
                Ok(Some(thread))
            }
            Err(e) => {
                self.list_retry_after = self.absorb(e, Source::List)?;
                Ok(None)
            }
        }
    }

    /// Keeps the listing from the user message on and emits the messages of this turn not
    /// delivered before (only those are read further: progress JSON is parsed once per
    /// message, not once per listing). The listing is newer than the last poll, so the user
    /// message's status in it counts as seen, if it moves forward. Returns whether that
    /// changed the status, and where this turn's messages are in the kept part (`None` when the
    /// user message is not listed).
    fn adopt(&mut self, mut thread: Vec<Message>) -> (bool, Option<Vec<usize>>) {
        let changed = match thread.iter().find(|m| m.id == self.message_id) {
            Some(user) => {
                let status = user.status.clone();
                self.observe(&status, true)
            }
            None => false,
        };
        let turn = turn_indices(&thread, &self.message_id);
        if self.emit {
            for &i in turn.as_deref().unwrap_or_default() {
                let m = &thread[i];
                if !matches!(
                    m.role,
                    MessageRole::Progress | MessageRole::Assistant | MessageRole::System
                ) || self.delivered.contains(&m.id)
                {
                    continue;
                }
                let event = match m.role {
                    MessageRole::Progress => TurnEvent::Progress(ProgressEvent::from_message(m)),
                    MessageRole::Assistant => TurnEvent::Assistant(m.clone()),
                    _ => TurnEvent::System(m.clone()),
                };
                self.delivered.insert(m.id.clone());
                self.queue.push_back(event);
            }
        }
        // Everything before the user message belongs to earlier turns: dropped now, not held
        // while the next listing is decoded.
        let (kept, turn) = match thread.iter().position(|m| m.id == self.message_id) {
            Some(user) => {
                let tail = thread.split_off(user);
                let turn = turn.map(|ix| ix.into_iter().map(|i| i - user).collect::<Vec<_>>());
                (tail, turn)
            }
            None => (Vec::new(), turn),
        };
        drop(thread);
        self.thread = Some(kept);
        self.turn = turn.clone().unwrap_or_default();
        (changed, turn)
    }

    /// The messages of the kept listing at `indices`.
    fn listed<'a>(&'a self, indices: &'a [usize]) -> impl Iterator<Item = &'a Message> + 'a {
        let thread = self.thread.as_deref().unwrap_or_default();
        indices.iter().filter_map(move |&i| thread.get(i))
    }

    fn push(&mut self, event: TurnEvent) {
        if self.emit {
            self.queue.push_back(event);
        }
    }

    /// Records a transient error and returns its `Retry-After`; other errors end the wait, and
    /// so does the [`MAX_DECODE_FAILURES`]th undecodable answer in a row from one endpoint
    /// (the network, gateways and rate limits stay transient until the timeout).
    fn absorb(&mut self, e: Error, source: Source) -> Result<Option<Duration>> {
        if !is_transient(&e) {
            return Err(e);
        }
        if matches!(e, Error::Decode { .. }) {
            let failures = match source {
                Source::Poll => &mut self.poll_decode_failures,
                Source::List => &mut self.list_decode_failures,
            };
            *failures += 1;
            if *failures >= MAX_DECODE_FAILURES {
                return Err(e);
            }
        }
        tracing::debug!(error = %e, message_id = %self.message_id, "transient error while waiting");
        let retry_after = e.as_api().and_then(|a| a.retry_after);
        self.last_error = Some(e.to_string());
        Ok(retry_after)
    }

    /// Sets the next delay (see [`Backoff::next`]).
    fn schedule(&mut self, changed: bool, retry_after: Option<Duration>) {
        let waited = self.started.elapsed();
        self.next_sleep = Some(
            self.backoff
                .next(changed, retry_after, fastrand::f64(), waited),
        );
    }

    /// Sleeps `d`, or until `limit` if earlier; a `d` too long to represent without a limit
    /// sleeps until the future is dropped.
    async fn sleep_before(&self, d: Duration, limit: Option<Instant>) {
        match earliest(Instant::now().checked_add(d), limit) {
            Some(wake) => tokio::time::sleep_until(wake).await,
            None => std::future::pending().await,
        }
    }

    /// Runs a request, giving up at `limit` with the timeout error.
    ///
    /// The request's future is boxed here, before the returned future exists: it is by far
    /// the largest state of a wait (reqwest, retry and decode state), and a wait spends nearly
    /// all its life asleep between requests. Inline (also as an argument of an `async fn`,
    /// which keeps it in its own state), every pending wait would carry that space all the
    /// time; boxed, it takes heap only while its request is in flight, which is what matters
    /// with 10,000 concurrent waits (bench/results/scale-20261201.md).
    fn bounded<'a, T: 'a>(
        &'a self,
        limit: Option<Instant>,
        fut: impl Future<Output = Result<T>> + 'a,
    ) -> impl Future<Output = Result<Result<T>>> + 'a {
        let fut = Box::pin(fut);
        async move {
            match limit {
                None => Ok(fut.await),
                Some(at) => tokio::time::timeout_at(at, fut)
                    .await
                    .map_err(|_| self.timeout_error()),
            }
        }
    }

    fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(self.timeout_error()),
            _ => Ok(()),
        }
    }

    fn timeout_error(&self) -> Error {
        Error::WaitTimeout(Box::new(WaitTimeout {
            job_id: self.job_id.clone(),
            message_id: self.message_id.clone(),
            last_status: self.status.last().cloned(),
            waited: self.started.elapsed(),
            last_error: self.last_error.clone(),
        }))
    }
}

/// Whether a turn's listed messages hold what its outcome needs: the reply, or (failed) a
/// system message that may explain why.
fn satisfies<'a>(outcome: Outcome, mut turn: impl Iterator<Item = &'a Message>) -> bool {
    match outcome {
        Outcome::Completed => has_reply(turn),
        Outcome::Failed => turn.any(|m| m.role == MessageRole::System),
    }
}

/// Errors worth another poll: the network, gateways, rate limits and garbled bodies.
/// Client errors (400, 401, 403, 404...) will not fix themselves.
pub(crate) fn is_transient(e: &Error) -> bool {
    match e {
        Error::Connection { .. } | Error::Timeout { .. } | Error::Decode { .. } => true,
        Error::Api(a) => a.status == 408 || a.status == 429 || (500..=599).contains(&a.status),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn message(id: &str, role: &str, status: &str, content: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id, "job_id": "job_1", "content": content, "role": role, "status": status,
        }))
        .unwrap()
    }

    // Each listing holds the whole thread; only messages not delivered yet become events (and
    // only those are parsed: the event is built from the parse).
    #[test]
    fn a_listing_delivers_only_progress_not_delivered_before() {
        let mut e = engine(WaitOptions::default(), true);
        let mut thread = vec![
            message("cmsg_1", "user", "pending", "hi"),
            message("p1", "progress", "completed", r#"{"progress_type":"text"}"#),
            message("p2", "progress", "completed", r#"{"progress_type":"step"}"#),
        ];
        e.adopt(thread.clone());
        thread.push(message("p3", "progress", "completed", "{}"));
        for _ in 0..5 {
            e.adopt(thread.clone());
        }
        let progress: Vec<&str> = e
            .queue
            .iter()
            .filter_map(|ev| match ev {
                TurnEvent::Progress(p) => Some(p.message_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(progress, ["p1", "p2", "p3"]);
    }

    // A long thread: only the part from the user message on is kept, and the turn's messages
    // are still found on the whole listing (the earlier prompt still waiting for its reply
    // takes the first reply after ours).
    #[test]
    fn only_the_thread_from_the_user_message_on_is_kept() {
        let mut e = engine(WaitOptions::default(), false);
        let mut thread: Vec<Message> = (0..50)
            .flat_map(|i| {
                [
                    message(&format!("u{i}"), "user", "completed", "earlier"),
                    message(&format!("a{i}"), "assistant", "completed", "done"),
                ]
            })
            .collect();
        thread.push(message(
            "u_waiting",
            "user",
            "pending",
            "queued before ours",
        ));
        thread.push(message("cmsg_1", "user", "pending", "hi"));
        thread.push(message(
            "a_first",
            "assistant",
            "completed",
            "for u_waiting",
        ));
        thread.push(message("a_ours", "assistant", "completed", "for cmsg_1"));
        let (_, turn) = e.adopt(thread);
        let kept = e.thread.as_deref().unwrap();
        let ids: Vec<&str> = kept.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["cmsg_1", "a_first", "a_ours"]);
        assert_eq!(turn.as_deref(), Some(&[2][..]));
        let listed: Vec<&str> = e.listed(&e.turn).map(|m| m.id.as_str()).collect();
        assert_eq!(listed, ["a_ours"]);
        e.adopt(vec![message("other", "user", "pending", "not ours")]);
        assert_eq!(e.thread.as_deref().map(<[Message]>::len), Some(0));
        assert!(e.turn.is_empty());
    }

    #[test]
    fn a_job_end_notice_after_the_prompt_ends_the_wait_unless_the_turn_works_on() {
        let mut e = engine(WaitOptions::default(), false);
        let notice = "Job abandoned: Remote branch 'b' was deleted";
        let thread = vec![
            message("cmsg_0", "user", "completed", "before"),
            message("a0", "assistant", "completed", "done"),
            message("s0", "system", "completed", "Job complete - old"),
            message("cmsg_1", "user", "pending", "hi"),
            message("p1", "progress", "completed", "{}"),
            message("s1", "system", "completed", notice),
        ];
        e.adopt(thread.clone());
        assert_eq!(
            e.ended_notice(),
            Some((JobStatus::Abandoned, notice.to_owned()))
        );
        let mut working = thread;
        working.push(message("p2", "progress", "completed", "{}"));
        e.adopt(working);
        assert_eq!(
            e.ended_notice(),
            None,
            "progress after the notice: still working"
        );
        e.adopt(vec![
            message("s0", "system", "completed", "Job complete - old"),
            message("cmsg_1", "user", "pending", "hi"),
        ]);
        assert_eq!(
            e.ended_notice(),
            None,
            "a notice before the prompt is older"
        );
    }

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError {
            status,
            message: "x".into(),
            body: None,
            request_id: None,
            retry_after: None,
            endpoint: "GET /messages/m".into(),
            hint: None,
        }))
    }

    fn engine(opts: WaitOptions, emit: bool) -> Engine {
        let client = crate::ClientBuilder::without_env()
            .api_key("nr_test")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let handle = TurnHandle {
            recovered: false,
            job_id: "job_1".into(),
            message_id: "cmsg_1".into(),
        };
        Engine::new(&client, &handle, opts, emit)
    }

    #[tokio::test]
    async fn a_zero_timeout_is_refused_before_any_request() {
        let mut e = engine(WaitOptions::default().timeout(Some(Duration::ZERO)), true);
        match e.next().await {
            Some(Err(Error::Validation { field, .. })) => assert_eq!(field, "timeout"),
            other => panic!("{other:?}"),
        }
        assert!(e.next().await.is_none());
    }

    #[test]
    fn transient_classification() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient(&api(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!is_transient(&api(s)), "{s}");
        }
        assert!(is_transient(&Error::Connection {
            message: "reset".into(),
            never_sent: false,
            source: None,
        }));
        assert!(is_transient(&Error::Timeout {
            endpoint: "GET /x".into(),
            timeout: Duration::from_secs(1)
        }));
        assert!(is_transient(&Error::Decode {
            endpoint: "GET /x".into(),
            message: "eof".into(),
            snippet: "{".into()
        }));
        assert!(!is_transient(&Error::validation("message_id", "empty")));
    }
}
