//! How long and how often to poll a turn, and what to send with `run`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::engine::EventCallback;
use super::events::TurnEvent;
use crate::error::{Error, Result};

/// Default overall timeout: longer than the daemon's default 1 h turn cap (BEHAVIOUR 4.11), so
/// a turn that can still finish is never abandoned, yet a stuck one ends.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(70 * 60);

/// Polling and timing settings of `wait`, `watch` and `run`.
///
/// Every field is public; the setters allow chaining from `WaitOptions::default()`. Any
/// duration may be as long as `Duration::MAX`: one too long to represent counts as endless, and
/// every sleep still ends at the overall timeout when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitOptions {
    /// First delay between two status polls, and the delay again after each status change.
    pub initial_interval: Duration,
    /// Cap of the delay between two status polls.
    pub max_interval: Duration,
    /// Growth of the delay after each poll that saw no change (>= 1).
    pub backoff_multiplier: f64,
    /// Random spread of each delay, as a fraction in `0..=1` (0.1 = ±10%).
    pub jitter: f64,
    /// Overall limit of the wait, ending in a `WaitTimeout` error; `None` (or a duration too long
    /// to represent) waits forever (cancel by dropping the future). Default
    /// [`DEFAULT_WAIT_TIMEOUT`] (70 minutes). A status this SDK does not know (neither
    /// `queued`, `pending`, `completed` nor `failed`) is taken as "still running": the wait
    /// keeps polling until a known terminal status, a listed reply, or this timeout.
    pub timeout: Option<Duration>,
    /// When the status says `completed` (or `failed`) but the reply (or the error notice) is not
    /// listed yet, how long to keep listing before returning without it (at most until the
    /// overall timeout).
    pub reply_grace: Duration,
    /// After the reply, how long to wait before the last listing so that trailing system
    /// messages (pull-request and commit notices, ~200 ms later) are part of the turn; 0 = none.
    /// Cut short by the overall timeout.
    pub settle: Duration,
    /// `watch`: the thread (with progress) is listed at most this often while the turn runs.
    pub progress_interval: Duration,
    /// `wait`: the thread is listed at most this often while the turn runs, only to notice a
    /// reply whose user-message status lags behind.
    pub early_reply_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            initial_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(5),
            backoff_multiplier: 1.5,
            jitter: 0.1,
            timeout: Some(DEFAULT_WAIT_TIMEOUT),
            reply_grace: Duration::from_secs(3),
            settle: Duration::from_millis(300),
            progress_interval: Duration::from_secs(1),
            early_reply_interval: Duration::from_secs(10),
        }
    }
}

impl WaitOptions {
    /// Sets [`WaitOptions::initial_interval`].
    pub fn initial_interval(mut self, d: Duration) -> Self {
        self.initial_interval = d;
        self
    }

    /// Sets [`WaitOptions::max_interval`].
    pub fn max_interval(mut self, d: Duration) -> Self {
        self.max_interval = d;
        self
    }

    /// Sets [`WaitOptions::backoff_multiplier`].
    pub fn backoff_multiplier(mut self, m: f64) -> Self {
        self.backoff_multiplier = m;
        self
    }

    /// Sets [`WaitOptions::jitter`].
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Sets [`WaitOptions::timeout`] (`None` = no limit).
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.timeout = d;
        self
    }

    /// Sets [`WaitOptions::reply_grace`].
    pub fn reply_grace(mut self, d: Duration) -> Self {
        self.reply_grace = d;
        self
    }

    /// Sets [`WaitOptions::settle`].
    pub fn settle(mut self, d: Duration) -> Self {
        self.settle = d;
        self
    }

    /// Sets [`WaitOptions::progress_interval`].
    pub fn progress_interval(mut self, d: Duration) -> Self {
        self.progress_interval = d;
        self
    }

    /// Sets [`WaitOptions::early_reply_interval`].
    pub fn early_reply_interval(mut self, d: Duration) -> Self {
        self.early_reply_interval = d;
        self
    }

    /// Rejects settings that would spin or never poll; called before the first request.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("initial_interval", self.initial_interval),
            ("max_interval", self.max_interval),
            ("progress_interval", self.progress_interval),
            ("early_reply_interval", self.early_reply_interval),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(Error::validation(*field, "must be greater than zero"));
        }
        if self.initial_interval > self.max_interval {
            return Err(Error::validation(
                "initial_interval",
                format!(
                    "{:?} is longer than max_interval {:?}",
                    self.initial_interval, self.max_interval
                ),
            ));
        }
        if !(self.backoff_multiplier.is_finite() && self.backoff_multiplier >= 1.0) {
            return Err(Error::validation(
                "backoff_multiplier",
                format!("{} is not a number >= 1", self.backoff_multiplier),
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(Error::validation(
                "jitter",
                format!("{} is not a fraction between 0 and 1", self.jitter),
            ));
        }
        Ok(())
    }
}

/// What `run` and `run_follow_up` send, and how they wait.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Read-only ask mode for a new conversation; overrides the request's own `ask_mode` when
    /// set. A follow-up ignores it: a conversation keeps the mode it was started with.
    pub ask_mode: Option<bool>,
    /// Attachment ids to send with the prompt (at most 10 per message, checked before sending),
    /// added after any the request already carries.
    pub attachment_ids: Vec<String>,
    /// Polling and timing settings.
    pub wait: WaitOptions,
    /// Receives every event `watch` would yield (status changes, progress, messages, the end),
    /// as it happens; setting it makes the thread be listed at the progress cadence.
    pub on_event: Option<Arc<EventCallback>>,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("ask_mode", &self.ask_mode)
            .field("attachment_ids", &self.attachment_ids)
            .field("wait", &self.wait)
            .field("on_event", &self.on_event.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

impl RunOptions {
    /// Sets [`RunOptions::ask_mode`].
    pub fn ask_mode(mut self, ask: bool) -> Self {
        self.ask_mode = Some(ask);
        self
    }

    /// Sets [`RunOptions::attachment_ids`].
    pub fn attachment_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.attachment_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`RunOptions::wait`].
    pub fn wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// Sets [`RunOptions::on_event`].
    pub fn on_event(mut self, callback: impl Fn(&TurnEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_outlast_the_daemon_cap() {
        let o = WaitOptions::default();
        o.validate().unwrap();
        assert!(o.timeout.unwrap() > Duration::from_secs(3600));
    }

    #[test]
    fn nonsense_is_rejected_with_the_field_name() {
        let cases = [
            (
                WaitOptions::default().initial_interval(Duration::ZERO),
                "initial_interval",
            ),
            (
                WaitOptions::default().initial_interval(Duration::from_secs(10)),
                "initial_interval",
            ),
            (
                WaitOptions::default().backoff_multiplier(0.5),
                "backoff_multiplier",
            ),
            (
                WaitOptions::default().backoff_multiplier(f64::NAN),
                "backoff_multiplier",
            ),
            (WaitOptions::default().jitter(1.5), "jitter"),
            (
                WaitOptions::default().progress_interval(Duration::ZERO),
                "progress_interval",
            ),
        ];
        for (o, field) in cases {
            match o.validate() {
                Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        WaitOptions::default()
            .timeout(None)
            .settle(Duration::ZERO)
            .reply_grace(Duration::ZERO)
            .validate()
            .unwrap();
    }
}
