//! How long and how often to poll a turn, and what to send with `run`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::events::{EventCallback, TurnEvent};
use super::schedule::Backoff;
use crate::error::{Error, Result};

/// Default overall timeout: longer than the daemon's default 1 h turn cap (BEHAVIOUR 4.11), so
/// a turn that can still finish is never abandoned, yet a stuck one ends.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(70 * 60);

/// Default [`WaitOptions::queued_warning`].
pub const DEFAULT_QUEUED_WARNING: Duration = Duration::from_secs(60);

/// Polling and timing settings of `wait`, `watch` and `run`.
///
/// Every field is public; the setters allow chaining from `WaitOptions::default()`. Any
/// duration may be as long as `Duration::MAX`: one too long to represent counts as endless, and
/// every sleep still ends at the overall timeout when there is one.
///
/// The serde form (what the Python and Node packages pass) is an object with these field names,
/// every duration in seconds as a number (`0.2` = 200 ms) and `timeout` `null` for none; a
/// missing field takes its default and an unknown one is an error:
///
/// ```
/// let o: nairi::WaitOptions = serde_json::from_str(r#"{"timeout": 600, "settle": 0}"#).unwrap();
/// assert_eq!(o.timeout, Some(std::time::Duration::from_secs(600)));
/// assert!(serde_json::from_str::<nairi::WaitOptions>(r#"{"timout": 600}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct WaitOptions {
    /// First delay between two status polls, and the delay again after each status change.
    /// Default 1.2 s: turns take seconds, and a faster start costs more requests in every turn
    /// than it saves lag in the few that end within a second (the first poll is made at once,
    /// so a turn that is already over is returned without waiting).
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub initial_interval: Duration,
    /// Cap of the delay between two status polls. The cap is reached gradually: for the first
    /// minute the delay is at most 1.3 s (or `initial_interval` if longer), then at most a 48th
    /// of the time waited, up to this cap. Default 4 s: a turn of a few seconds to a minute is
    /// noticed about 0.65 s after its end on average, one of ten minutes about 2 s after, at one
    /// small request per 4 s from the fourth minute on.
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub max_interval: Duration,
    /// Growth of the delay after each poll that saw no change (>= 1), up to the ceiling of the
    /// moment (see `max_interval`). Default 1.5.
    pub backoff_multiplier: f64,
    /// Random spread of each delay, as a fraction in `0..=1` (0.1 = ±10%). Default 0.1, so
    /// that many waits started together do not poll in lockstep.
    pub jitter: f64,
    /// Overall limit of the wait, ending in a `WaitTimeout` error; `None` (or a duration too long
    /// to represent) waits forever (cancel by dropping the future); zero is refused. Default
    /// [`DEFAULT_WAIT_TIMEOUT`] (70 minutes), longer than the agent's own 1 h turn cap. A
    /// status this SDK does not know (neither `queued`, `pending`, `completed` nor `failed`) is
    /// taken as "still running": the wait keeps polling until a known terminal status, a listed
    /// reply, the conversation's end, or this timeout.
    #[serde(with = "crate::serde_secs::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<f64>"))]
    pub timeout: Option<Duration>,
    /// When the status says `completed` (or `failed`) but the reply (or the error notice) is not
    /// listed yet, how long to keep listing before returning without it (at most until the
    /// overall timeout), listing every 250 ms (or every `initial_interval` if shorter). Default
    /// 3 s: the reply is written before the status, so it normally is listed at once; the
    /// window covers a lagging list.
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub reply_grace: Duration,
    /// After the reply, how long to wait before the last listing so that trailing system
    /// messages (pull-request and commit notices, ~200 ms later) are part of the turn; 0 = none.
    /// Counted from when the reply was written (its `created_at`, put on this machine's clock
    /// by the timestamps of the answers, without trusting the two clocks to agree), so a turn noticed that long after its end is returned at once from the listing
    /// that found it; when that cannot be told, from when the reply was first listed. Cut
    /// short by the overall timeout. Default 300 ms, just over that ~200 ms.
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub settle: Duration,
    /// `watch`: the thread (with progress) is listed at most this often while the turn runs.
    /// Default 1 s: a live preview without downloading the whole thread more often.
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub progress_interval: Duration,
    /// `wait`: the thread is listed at most this often while the turn runs, to notice a reply
    /// whose user-message status lags behind and a notice that the conversation ended. Default
    /// 10 s: each listing downloads the whole thread (BEHAVIOUR 4.10).
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub early_reply_interval: Duration,
    /// How long the turn may stay `queued` before `watch` emits [`TurnEvent::StillQueued`]
    /// (once) and a warning is logged: the agent may not be deployed or has no free instance.
    /// Default 60 s: `queued` can normally last about a minute after an instance frees up
    /// (BEHAVIOUR 4.12).
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub queued_warning: Duration,
    /// The agent (id or slug) whose conversation list is checked for this job having ended
    /// (`completed` or `abandoned`) while the turn waits; `None` skips that check, leaving the
    /// notices in the thread as the only sign. `run` sets it from its request; the message API
    /// does not say which agent a job belongs to. Default `None`.
    pub agent_id: Option<String>,
    /// How often the agent's conversation list is checked (when [`WaitOptions::agent_id`] is
    /// set). Default 60 s: jobs end rarely (a merged pull request, 25 h idle), so noticing
    /// within a minute is prompt next to the 70-minute timeout at one small filtered request a
    /// minute.
    #[serde(with = "crate::serde_secs")]
    #[cfg_attr(feature = "schema", schemars(with = "f64"))]
    pub job_status_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            initial_interval: Duration::from_millis(1200),
            max_interval: Duration::from_secs(4),
            backoff_multiplier: 1.5,
            jitter: 0.1,
            timeout: Some(DEFAULT_WAIT_TIMEOUT),
            reply_grace: Duration::from_secs(3),
            settle: Duration::from_millis(300),
            progress_interval: Duration::from_secs(1),
            early_reply_interval: Duration::from_secs(10),
            queued_warning: DEFAULT_QUEUED_WARNING,
            agent_id: None,
            job_status_interval: Duration::from_secs(60),
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

    /// Sets [`WaitOptions::queued_warning`].
    pub fn queued_warning(mut self, d: Duration) -> Self {
        self.queued_warning = d;
        self
    }

    /// Sets [`WaitOptions::agent_id`].
    pub fn agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.agent_id = Some(agent_id.into());
        self
    }

    /// Sets [`WaitOptions::job_status_interval`].
    pub fn job_status_interval(mut self, d: Duration) -> Self {
        self.job_status_interval = d;
        self
    }

    /// When `wait` polls the status of a turn that stays the same, from the start of the wait
    /// until `until` (the first poll is at zero), without the jitter (which spreads each delay
    /// by up to ±`jitter`) and without a server's `Retry-After`: for working out the requests
    /// a turn of a given length costs. A tick that lists the thread instead (every
    /// `early_reply_interval`) takes the place of a poll, so the count of requests is the same;
    /// the end of the turn adds its listing. `watch` caps every delay at `progress_interval`.
    ///
    /// ```
    /// let times = nairi::WaitOptions::default().poll_times(std::time::Duration::from_secs(60));
    /// assert_eq!(times.len(), 47);
    /// ```
    pub fn poll_times(&self, until: Duration) -> Vec<Duration> {
        let mut backoff = Backoff::new(self, None, Duration::ZERO);
        let mut times = Vec::new();
        let mut at = Duration::ZERO;
        while at < until {
            times.push(at);
            let first = times.len() == 1;
            // The first poll's status is news (nothing was known); later ones are not.
            let delay = backoff.next(first, None, 0.5, at);
            if delay.is_zero() {
                break;
            }
            at = at.saturating_add(delay);
        }
        times
    }

    /// Rejects settings that would spin, never poll or never wait; `wait`, `watch` and `run`
    /// call it before their first request.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("initial_interval", self.initial_interval),
            ("max_interval", self.max_interval),
            ("progress_interval", self.progress_interval),
            ("early_reply_interval", self.early_reply_interval),
            ("job_status_interval", self.job_status_interval),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(Error::validation(*field, "must be greater than zero"));
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::validation(
                "timeout",
                "must be greater than zero (a zero timeout would give up before the first poll); \
                 use None to wait without a limit",
            ));
        }
        if self
            .agent_id
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(Error::validation(
                "agent_id",
                "must not be empty (use None to skip the job status check)",
            ));
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
///
/// The serde form is an object `{"ask_mode", "attachment_ids", "wait"}` (`wait` is the
/// [`WaitOptions`] form), missing fields taking their defaults and unknown ones refused; the
/// callback is not part of it.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
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
    #[serde(skip)]
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
            .queued_warning(Duration::ZERO)
            .validate()
            .unwrap();
    }

    #[test]
    fn a_zero_timeout_or_an_empty_agent_is_a_validation_error() {
        for (o, field) in [
            (
                WaitOptions::default().timeout(Some(Duration::ZERO)),
                "timeout",
            ),
            (
                WaitOptions::default().job_status_interval(Duration::ZERO),
                "job_status_interval",
            ),
            (WaitOptions::default().agent_id(" "), "agent_id"),
        ] {
            match o.validate() {
                Err(Error::Validation { field: f, message }) => {
                    assert_eq!(f, field);
                    assert!(!message.is_empty());
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        WaitOptions::default()
            .timeout(Some(Duration::from_nanos(1)))
            .validate()
            .unwrap();
    }

    #[test]
    fn the_json_form_round_trips_in_seconds() {
        let o = WaitOptions::default()
            .initial_interval(Duration::from_millis(250))
            .timeout(None)
            .queued_warning(Duration::from_secs(90))
            .agent_id("acme/web");
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["initial_interval"], 0.25);
        assert_eq!(v["max_interval"], 4.0);
        assert_eq!(v["timeout"], serde_json::Value::Null);
        assert_eq!(v["queued_warning"], 90.0);
        assert_eq!(v["agent_id"], "acme/web");
        assert_eq!(v["job_status_interval"], 60.0);
        let back: WaitOptions = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);

        let run = RunOptions::default()
            .ask_mode(true)
            .attachment_ids(["att_1"])
            .wait(o.clone())
            .on_event(|_| {});
        let v = serde_json::to_value(&run).unwrap();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["ask_mode", "attachment_ids", "wait"]
        );
        let back: RunOptions = serde_json::from_value(v).unwrap();
        assert_eq!(back.ask_mode, Some(true));
        assert_eq!(back.attachment_ids, ["att_1"]);
        assert_eq!(back.wait, o);
        assert!(back.on_event.is_none());
    }

    #[test]
    fn missing_fields_take_the_defaults() {
        let o: WaitOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(o, WaitOptions::default());
        let o: WaitOptions = serde_json::from_str(r#"{"timeout": 1.5}"#).unwrap();
        assert_eq!(o.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(o.settle, WaitOptions::default().settle);
        let r: RunOptions = serde_json::from_str(r#"{"wait": {"settle": 0}}"#).unwrap();
        assert_eq!(r.wait.settle, Duration::ZERO);
        assert_eq!(r.wait.timeout, Some(DEFAULT_WAIT_TIMEOUT));
        assert_eq!(r.ask_mode, None);
    }

    #[test]
    fn a_misspelt_option_is_named() {
        let err = serde_json::from_str::<WaitOptions>(r#"{"timout": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("timout"), "{err}");
        let err = serde_json::from_str::<RunOptions>(r#"{"wait": {"setle": 0}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("setle"), "{err}");
        let err = serde_json::from_str::<RunOptions>(r#"{"on_event": null}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("on_event"),
            "the callback has no serde form: {err}"
        );
    }

    #[test]
    fn a_negative_duration_is_refused() {
        for field in ["timeout", "initial_interval", "settle", "queued_warning"] {
            let json = format!(r#"{{"{field}": -1}}"#);
            let err = serde_json::from_str::<WaitOptions>(&json)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("-1") && err.contains("seconds"),
                "{field}: {err}"
            );
        }
    }
}
