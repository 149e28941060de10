//! The one poll loop behind `wait`, `watch` and `run`.
//!
//! It polls `GET /messages/{id}` with a backoff and lists the whole thread only when that is
//! worth its cost (BEHAVIOUR 4.10): on a status change and at a slow cadence while watching, at
//! a slower one while just waiting (to catch a reply whose status lags), and at the end. A tick
//! that lists does not poll as well: the listing carries the user message's status. The change
//! to a terminal status is emitted after the turn's messages listed on the way to the end, right
//! before `Completed` or `Failed`. All work happens inside the caller's future or stream, so
//! dropping it stops everything: no task is spawned and no request is made afterwards.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use futures::Stream;
use tokio::time::Instant;

use super::errors::{TurnFailed, WaitTimeout};
use super::events::TurnEvent;
use super::options::WaitOptions;
use super::progress::ProgressEvent;
use super::turn::{Turn, has_final_reply, has_reply, turn_indices};
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::types::{Message, MessageRole, MessageStatus, TurnHandle};

/// Undecodable answers in a row from one endpoint after which the wait gives up with the
/// decode error: a garbled body now and then is transient, one that never decodes is not.
pub(crate) const MAX_DECODE_FAILURES: u32 = 4;

/// Which request a transient error came from (decode failures are counted per endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Poll,
    List,
}

/// Called with each event of a `run` whose options ask for them.
pub type EventCallback = dyn Fn(&TurnEvent) + Send + Sync;

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
    last_status: Option<MessageStatus>,
    interval: Duration,
    next_sleep: Option<Duration>,
    last_list: Instant,
    thread: Option<Vec<Message>>,
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
        Engine {
            client: client.with_options(RequestOptions {
                max_retries: Some(0),
                ..Default::default()
            }),
            job_id: handle.job_id.clone(),
            message_id: handle.message_id.clone(),
            // A timeout too long to represent is no timeout.
            deadline: opts.timeout.and_then(|t| started.checked_add(t)),
            interval: opts.initial_interval,
            opts,
            emit,
            started,
            last_status: None,
            next_sleep: None,
            last_list: started,
            thread: None,
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
    pub(crate) async fn finish(mut self, on_event: Option<&EventCallback>) -> Result<Turn> {
        while let Some(item) = self.next().await {
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
        Err(self.timeout_error())
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
    async fn poll_tick(&mut self) -> Result<()> {
        if let Some(d) = self.next_sleep.take() {
            self.sleep_before(d, self.deadline).await;
        }
        self.check_deadline()?;
        let cadence = if self.emit {
            self.opts.progress_interval
        } else {
            self.opts.early_reply_interval
        };
        // A listing that failed is no reason to stop watching the status: this tick polls it
        // too, and the listing's Retry-After counts for the next delay.
        let mut list_retry_after = None;
        let mut listing_failed = false;
        if self.last_list.elapsed() >= cadence {
            match self.fetch_thread(self.deadline, false).await? {
                Some(thread) => {
                    let (changed, done) = self.list_tick(thread);
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
                m
            }
            Err(e) => {
                let retry_after = self.absorb(e, Source::Poll)?;
                self.schedule(false, longest(retry_after, list_retry_after));
                return Ok(());
            }
        };
        let mut changed = self.observe(&message.status, false);
        if self.finish_if_terminal() {
            return Ok(());
        }
        if changed && self.emit && !listing_failed {
            match self.fetch_thread(self.deadline, false).await? {
                Some(thread) => {
                    let (listed_change, done) = self.list_tick(thread);
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
    /// the first listing of the finish), or a completed reply while the status lags.
    fn list_tick(&mut self, thread: Vec<Message>) -> (bool, bool) {
        let (changed, turn) = self.adopt(thread);
        let Some(outcome) = self.terminal_outcome() else {
            let early = turn
                .as_deref()
                .is_some_and(|ix| has_final_reply(self.listed(ix)));
            if early {
                self.phase = Phase::Settling {
                    outcome: Outcome::Completed,
                };
            }
            return (changed, early);
        };
        if turn
            .as_deref()
            .is_some_and(|ix| satisfies(outcome, self.listed(ix)))
        {
            self.phase = Phase::Settling { outcome };
        } else {
            self.start_grace(outcome);
        }
        (changed, true)
    }

    /// Records a status seen on the user message; returns whether it changed.
    ///
    /// The status only moves forward (`queued`, then `pending` or a value this SDK does not
    /// know, then `completed` or `failed`): an older copy, such as a listing that lags the
    /// status poll, is ignored, and a terminal status is never left. Between two statuses of
    /// the same stage only the status poll is believed. A null or missing status is no news.
    fn observe(&mut self, status: &MessageStatus, from_listing: bool) -> bool {
        // A null or missing status (decoded as `Unknown("")`) says nothing.
        if matches!(status, MessageStatus::Unknown(s) if s.is_empty()) {
            return false;
        }
        if let Some(last) = &self.last_status {
            let (old, new) = (stage(last), stage(status));
            let believed = new > old || (new == old && !last.is_terminal() && !from_listing);
            if last == status || !believed {
                if last != status {
                    tracing::debug!(
                        message_id = %self.message_id, seen = %status.as_str(),
                        kept = %last.as_str(), from_listing, "ignoring a status that goes back"
                    );
                }
                return false;
            }
        }
        let event = TurnEvent::StatusChanged {
            from: self.last_status.clone(),
            to: status.clone(),
        };
        // The turn's messages listed on the way to the end come first.
        if status.is_terminal() {
            self.held_status = Some(event);
        } else {
            self.push(event);
        }
        self.last_status = Some(status.clone());
        true
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
        match self.last_status {
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
        self.next_sleep = Some(self.opts.initial_interval);
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
                    let ra = retry_after.map(|ra| self.cap_retry_after(ra));
                    self.next_sleep = Some(self.opts.initial_interval.max(ra.unwrap_or_default()));
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
        if !self.opts.settle.is_zero() && !deadline_passed {
            self.sleep_before(self.opts.settle, self.deadline).await;
            if let Ok(Some(thread)) = self.fetch_thread(self.deadline, true).await {
                self.adopt(thread);
            }
        }
        // A reply taken early (the status still lagging) does not make the turn a success when
        // the user message has turned `failed` since (a reply, then a failed push): the
        // status is the last word, and `Completed` never carries a failed turn.
        let outcome = if self.last_status == Some(MessageStatus::Failed) {
            Outcome::Failed
        } else {
            outcome
        };
        let messages: Vec<Message> = match self.thread.as_deref() {
            Some(thread) => turn_indices(thread, &self.message_id)
                .unwrap_or_default()
                .into_iter()
                .map(|i| thread[i].clone())
                .collect(),
            None => Vec::new(),
        };
        let event = match outcome {
            Outcome::Completed => TurnEvent::Completed(Turn::from_turn_messages(
                &self.job_id,
                &self.message_id,
                self.last_status.clone().unwrap_or(MessageStatus::Completed),
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
        let listed = match self
            .bounded(limit, client.messages().list(&self.job_id))
            .await
        {
            Ok(r) => r,
            Err(_) if soft => return Ok(None),
            Err(e) => return Err(e),
        };
        self.last_list = Instant::now();
        match listed {
            Ok(thread) => {
                self.list_decode_failures = 0;
                Ok(Some(thread))
            }
            Err(e) => {
                self.list_retry_after = self.absorb(e, Source::List)?;
                Ok(None)
            }
        }
    }

    /// Keeps the listing and emits the messages of this turn not delivered before (only those
    /// are read further: progress JSON is parsed once per message, not once per listing). The
    /// listing is newer than the last poll, so the user message's status in it counts as seen,
    /// if it moves forward. Returns whether that changed the status, and where this turn's
    /// messages are in the listing (`None` when the user message is not listed).
    fn adopt(&mut self, thread: Vec<Message>) -> (bool, Option<Vec<usize>>) {
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
                    MessageRole::Progress => {
                        #[cfg(test)]
                        tests::PROGRESS_PARSED.with(|n| n.set(n.get() + 1));
                        TurnEvent::Progress(ProgressEvent::from_message(m))
                    }
                    MessageRole::Assistant => TurnEvent::Assistant(m.clone()),
                    _ => TurnEvent::System(m.clone()),
                };
                self.delivered.insert(m.id.clone());
                self.queue.push_back(event);
            }
        }
        self.thread = Some(thread);
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

    /// Sets the next delay: back to the initial interval after a change, else one step
    /// further up the backoff; jittered, at most the progress cadence while watching, and at
    /// least a server's `Retry-After` (capped like the client's own retries).
    fn schedule(&mut self, changed: bool, retry_after: Option<Duration>) {
        self.interval = if changed {
            self.opts.initial_interval
        } else {
            scale(self.interval, self.opts.backoff_multiplier).min(self.opts.max_interval)
        };
        let spread = self.opts.jitter * (2.0 * fastrand::f64() - 1.0);
        let mut delay = scale(self.interval, (1.0 + spread).max(0.0));
        if self.emit {
            delay = delay.min(self.opts.progress_interval);
        }
        if let Some(ra) = retry_after {
            delay = delay.max(self.cap_retry_after(ra));
        }
        self.next_sleep = Some(delay);
    }

    /// A server's `Retry-After`, capped like the client's own retries.
    fn cap_retry_after(&self, ra: Duration) -> Duration {
        ra.min(self.client.config().retry.max_retry_after)
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
    async fn bounded<T>(
        &self,
        limit: Option<Instant>,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<Result<T>> {
        match limit {
            None => Ok(fut.await),
            Some(at) => tokio::time::timeout_at(at, fut)
                .await
                .map_err(|_| self.timeout_error()),
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
            last_status: self.last_status.clone(),
            waited: self.started.elapsed(),
            last_error: self.last_error.clone(),
        }))
    }
}

/// How far along a status is: `queued` < `pending` (and unknown values) < terminal.
fn stage(status: &MessageStatus) -> u8 {
    match status {
        MessageStatus::Queued => 0,
        MessageStatus::Completed | MessageStatus::Failed => 2,
        _ => 1,
    }
}

/// The longer of two optional delays.
fn longest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The earlier of two instants, `None` standing for "never".
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `d * factor` (factor >= 0, finite), saturating at `Duration::MAX` instead of panicking.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
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
    use std::cell::Cell;

    use super::*;
    use crate::error::ApiError;

    thread_local! {
        /// Progress messages parsed by `adopt` on this thread.
        pub(super) static PROGRESS_PARSED: Cell<usize> = const { Cell::new(0) };
    }

    fn message(id: &str, role: &str, status: &str, content: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id, "job_id": "job_1", "content": content, "role": role, "status": status,
        }))
        .unwrap()
    }

    // Each listing holds the whole thread; only messages not delivered yet are read further.
    #[test]
    fn a_listing_parses_only_progress_not_delivered_before() {
        let mut e = engine(WaitOptions::default(), true);
        let mut thread = vec![
            message("cmsg_1", "user", "pending", "hi"),
            message("p1", "progress", "completed", r#"{"progress_type":"text"}"#),
            message("p2", "progress", "completed", r#"{"progress_type":"step"}"#),
        ];
        PROGRESS_PARSED.with(|n| n.set(0));
        e.adopt(thread.clone());
        assert_eq!(PROGRESS_PARSED.with(Cell::get), 2);
        thread.push(message("p3", "progress", "completed", "{}"));
        for _ in 0..5 {
            e.adopt(thread.clone());
        }
        assert_eq!(
            PROGRESS_PARSED.with(Cell::get),
            3,
            "p1 and p2 once, p3 once"
        );
        let progress = e
            .queue
            .iter()
            .filter(|ev| matches!(ev, TurnEvent::Progress(_)))
            .count();
        assert_eq!(progress, 3);
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
            job_id: "job_1".into(),
            message_id: "cmsg_1".into(),
        };
        Engine::new(&client, &handle, opts, emit)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_grows_to_the_cap_and_resets_on_a_change() {
        let opts = WaitOptions::default()
            .initial_interval(ms(100))
            .max_interval(ms(1000))
            .backoff_multiplier(2.0)
            .jitter(0.0);
        let mut e = engine(opts, false);
        e.schedule(true, None);
        assert_eq!(e.next_sleep, Some(ms(100)));
        let mut seen = Vec::new();
        for _ in 0..5 {
            e.schedule(false, None);
            seen.push(e.next_sleep.unwrap());
        }
        assert_eq!(seen, [ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        e.schedule(true, None);
        assert_eq!(e.next_sleep, Some(ms(100)));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let opts = WaitOptions::default()
            .initial_interval(ms(1000))
            .max_interval(ms(1000))
            .jitter(0.2);
        let mut e = engine(opts, false);
        for _ in 0..200 {
            e.schedule(true, None);
            let d = e.next_sleep.unwrap();
            assert!(d >= ms(800) && d <= ms(1200), "{d:?}");
        }
    }

    #[test]
    fn watching_caps_the_delay_and_retry_after_raises_it() {
        let opts = WaitOptions::default()
            .initial_interval(ms(100))
            .max_interval(ms(5000))
            .progress_interval(ms(300))
            .jitter(0.0);
        let mut watching = engine(opts.clone(), true);
        for _ in 0..10 {
            watching.schedule(false, None);
        }
        assert_eq!(watching.next_sleep, Some(ms(300)));
        let mut waiting = engine(opts, false);
        waiting.schedule(true, Some(ms(700)));
        assert_eq!(waiting.next_sleep, Some(ms(700)));
        // Capped like the client's own retries (RetryPolicy::max_retry_after).
        let cap = waiting.client.config().retry.max_retry_after;
        waiting.schedule(true, Some(cap + Duration::from_secs(3600)));
        assert_eq!(waiting.next_sleep, Some(cap.max(ms(100))));
    }

    #[test]
    fn the_backoff_saturates_instead_of_overflowing() {
        let max = Duration::MAX;
        let opts = WaitOptions::default()
            .initial_interval(max)
            .max_interval(max)
            .backoff_multiplier(2.0)
            .jitter(1.0);
        let mut e = engine(opts.clone(), false);
        for changed in [true, false, false, true] {
            e.schedule(changed, None);
            assert!(e.next_sleep.is_some());
        }
        let mut e = engine(opts.timeout(Some(max)), true);
        assert_eq!(e.deadline, None, "a timeout too long to represent is none");
        e.schedule(false, None);
        assert_eq!(e.next_sleep, Some(WaitOptions::default().progress_interval));
        e.schedule(false, Some(max));
        let cap = e.client.config().retry.max_retry_after;
        assert_eq!(
            e.next_sleep,
            Some(cap.max(WaitOptions::default().progress_interval))
        );
        assert_eq!(earliest(None, None), None);
        assert_eq!(scale(max, 1.5), max);
        assert_eq!(scale(ms(10), 1.5), ms(15));
    }

    #[tokio::test]
    async fn a_zero_timeout_ends_before_any_request() {
        let mut e = engine(WaitOptions::default().timeout(Some(Duration::ZERO)), true);
        match e.next().await {
            Some(Err(Error::WaitTimeout(t))) => {
                assert_eq!(t.last_status, None);
                assert_eq!(t.last_error, None);
            }
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
