//! When to poll next: the backoff between status polls, its jitter, the ceiling that rises with
//! the time waited, and the cap on a server's `Retry-After`. Pure (the random draw and the time
//! waited are arguments), so it is tested without a client.

use std::time::Duration;

use tokio::time::Instant;

use super::options::WaitOptions;

/// Ceiling of the delay while the wait is young (at most `max_interval`, at least
/// `initial_interval`): a turn of a few seconds to a minute is noticed within about 0.65 s of
/// its end on average, at fewer requests than a 2-second poll of the message and the thread.
pub(crate) const YOUNG_CEILING: Duration = Duration::from_millis(1300);

/// Past the young phase the ceiling is this fraction of the time waited (1/48: 1.25 s after a
/// minute, 4 s after 3.2 minutes), up to `max_interval`, so that the expected lag stays about a
/// hundredth of the turn's length while the requests per minute fall.
pub(crate) const CEILING_PER_WAITED: f64 = 1.0 / 48.0;

/// The delay between two status polls: it starts at the initial interval, grows by the
/// multiplier after each poll that saw no change up to a ceiling, and goes back to the initial
/// interval after a change. The ceiling rises with the time waited (see [`Backoff::ceiling`]).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: f64,
    /// Upper bound of every delay: the progress cadence while watching (the listing that
    /// brings progress rides on the tick), none while just waiting.
    cap: Option<Duration>,
    /// The longest `Retry-After` waited out, like the client's own retries.
    max_retry_after: Duration,
    /// The current, unjittered step.
    interval: Duration,
}

impl Backoff {
    /// The backoff of `opts`; `cap` bounds every delay, `max_retry_after` every `Retry-After`.
    pub(crate) fn new(
        opts: &WaitOptions,
        cap: Option<Duration>,
        max_retry_after: Duration,
    ) -> Self {
        Backoff {
            initial: opts.initial_interval,
            max: opts.max_interval,
            multiplier: opts.backoff_multiplier,
            jitter: opts.jitter,
            cap,
            max_retry_after,
            interval: opts.initial_interval,
        }
    }

    /// The next delay after `waited` since the wait began: back to the initial interval after a
    /// change, else one step further up to the ceiling; spread by the jitter using `unit` (a
    /// draw in `0..1`; 0.5 = no spread), at most the cap, and at least a server's
    /// `Retry-After` (capped).
    pub(crate) fn next(
        &mut self,
        changed: bool,
        retry_after: Option<Duration>,
        unit: f64,
        waited: Duration,
    ) -> Duration {
        self.interval = if changed {
            self.initial
        } else {
            scale(self.interval, self.multiplier).min(self.ceiling(waited))
        };
        let spread = self.jitter * (2.0 * unit - 1.0);
        let mut delay = scale(self.interval, (1.0 + spread).max(0.0));
        if let Some(cap) = self.cap {
            delay = delay.min(cap);
        }
        if let Some(ra) = retry_after {
            delay = delay.max(self.cap_retry_after(ra));
        }
        delay
    }

    /// The longest unjittered delay after `waited`: [`YOUNG_CEILING`] (or the initial interval
    /// if longer) until [`CEILING_PER_WAITED`] of the time waited is more, never more than the
    /// maximum. A short turn is noticed soon after its end; a long one, whose lag matters less
    /// next to its length, costs fewer requests.
    pub(crate) fn ceiling(&self, waited: Duration) -> Duration {
        scale(waited, CEILING_PER_WAITED)
            .max(YOUNG_CEILING)
            .max(self.initial)
            .min(self.max)
    }

    /// A server's `Retry-After`, capped like the client's own retries: a longer one is not
    /// worth idling for when the wait has its own timeout.
    pub(crate) fn cap_retry_after(&self, ra: Duration) -> Duration {
        ra.min(self.max_retry_after)
    }
}

/// The longer of two optional delays.
pub(crate) fn longest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The earlier of two instants, `None` standing for "never".
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `d * factor` (factor >= 0, finite), saturating at `Duration::MAX` instead of panicking.
pub(crate) fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const NO_SPREAD: f64 = 0.5;

    /// Early in a wait (nothing waited yet).
    const YOUNG: Duration = Duration::ZERO;

    fn backoff(opts: WaitOptions, cap: Option<Duration>) -> Backoff {
        Backoff::new(&opts, cap, Duration::from_secs(60))
    }

    #[test]
    fn backoff_grows_to_the_cap_and_resets_on_a_change() {
        let opts = WaitOptions::default()
            .initial_interval(ms(100))
            .max_interval(ms(1000))
            .backoff_multiplier(2.0);
        let mut b = backoff(opts, None);
        assert_eq!(b.next(true, None, NO_SPREAD, YOUNG), ms(100));
        let seen: Vec<_> = (0..5)
            .map(|_| b.next(false, None, NO_SPREAD, YOUNG))
            .collect();
        assert_eq!(seen, [ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        assert_eq!(b.next(true, None, NO_SPREAD, YOUNG), ms(100));
    }

    /// The default schedule of `wait` while nothing changes (no jitter): the delays and the
    /// times of the polls they lead to. Pinned because the polling benchmark's figures and the
    /// README's trade-off depend on it.
    #[test]
    fn the_default_schedule_is_short_for_a_minute_then_grows_to_four_seconds() {
        let mut b = backoff(WaitOptions::default(), None);
        let mut waited = Duration::ZERO;
        let mut polls = vec![waited];
        let mut delays = vec![b.next(true, None, NO_SPREAD, waited)];
        waited += delays[0];
        while waited < Duration::from_secs(600) {
            polls.push(waited);
            let d = b.next(false, None, NO_SPREAD, waited);
            delays.push(d);
            waited += d;
        }
        assert_eq!(delays[..4], [ms(1200), ms(1300), ms(1300), ms(1300)]);
        // About one poll per 1.3 s for the first minute.
        let first_minute = polls
            .iter()
            .filter(|t| **t < Duration::from_secs(60))
            .count();
        assert_eq!(first_minute, 47);
        // After a minute the ceiling is a 48th of the time waited, then 4 s.
        let at = |secs: u64| {
            let i = polls
                .iter()
                .rposition(|t| *t <= Duration::from_secs(secs))
                .unwrap();
            delays[i]
        };
        assert!(at(120) > ms(2400) && at(120) <= ms(2500), "{:?}", at(120));
        assert_eq!(at(300), ms(4000));
        assert_eq!(at(599), ms(4000));
        // A 10-minute turn: about a third of the 2-second poll's 300 ticks (600 requests).
        assert_eq!(polls.len(), 205);
    }

    #[test]
    fn the_ceiling_respects_max_interval_and_a_long_initial_interval() {
        let opts = WaitOptions::default()
            .initial_interval(ms(100))
            .max_interval(ms(500));
        let b = backoff(opts, None);
        assert_eq!(
            b.ceiling(YOUNG),
            ms(500),
            "max_interval below the young ceiling"
        );
        let opts = WaitOptions::default()
            .initial_interval(ms(3000))
            .max_interval(ms(10_000));
        let mut b = backoff(opts, None);
        assert_eq!(b.ceiling(YOUNG), ms(3000), "never below initial_interval");
        assert_eq!(b.next(true, None, NO_SPREAD, YOUNG), ms(3000));
        assert_eq!(b.next(false, None, NO_SPREAD, YOUNG), ms(3000));
        assert_eq!(b.ceiling(Duration::from_secs(240)), ms(5000));
        assert_eq!(b.ceiling(Duration::MAX), ms(10_000), "saturates");
    }

    #[test]
    fn jitter_spreads_by_at_most_its_fraction() {
        let opts = WaitOptions::default()
            .initial_interval(ms(1000))
            .max_interval(ms(1000))
            .jitter(0.2);
        let mut b = backoff(opts, None);
        assert_eq!(b.next(true, None, 0.0, YOUNG), ms(800));
        assert_eq!(b.next(true, None, NO_SPREAD, YOUNG), ms(1000));
        let top = b.next(true, None, 1.0, YOUNG);
        assert!(top > ms(1199) && top <= ms(1200), "{top:?}");
        let mut b = backoff(WaitOptions::default().jitter(1.0), None);
        assert_eq!(
            b.next(true, None, 0.0, YOUNG),
            Duration::ZERO,
            "never negative"
        );
    }

    #[test]
    fn the_cap_bounds_the_delay_and_retry_after_raises_it_up_to_its_own_cap() {
        let opts = WaitOptions::default()
            .initial_interval(ms(100))
            .max_interval(ms(5000));
        let mut watching = backoff(opts.clone(), Some(ms(300)));
        for _ in 0..10 {
            watching.next(false, None, NO_SPREAD, YOUNG);
        }
        assert_eq!(watching.next(false, None, NO_SPREAD, YOUNG), ms(300));
        let mut waiting = Backoff::new(&opts, None, ms(2000));
        assert_eq!(waiting.next(true, Some(ms(700)), NO_SPREAD, YOUNG), ms(700));
        assert_eq!(
            waiting.next(true, Some(Duration::from_secs(3600)), NO_SPREAD, YOUNG),
            ms(2000)
        );
        assert_eq!(waiting.cap_retry_after(ms(10)), ms(10));
    }

    #[test]
    fn the_backoff_saturates_instead_of_overflowing() {
        let max = Duration::MAX;
        let opts = WaitOptions::default()
            .initial_interval(max)
            .max_interval(max)
            .backoff_multiplier(2.0)
            .jitter(1.0);
        let mut b = backoff(opts, None);
        for changed in [true, false, false, true] {
            assert_eq!(b.next(changed, None, 1.0, YOUNG), max);
        }
        assert_eq!(
            b.next(false, Some(max), 0.0, YOUNG),
            Duration::from_secs(60)
        );
        assert_eq!(scale(max, 1.5), max);
        assert_eq!(scale(ms(10), 1.5), ms(15));
    }

    #[test]
    fn earliest_and_longest_treat_none_as_absent() {
        let now = Instant::now();
        let later = now + ms(5);
        assert_eq!(earliest(None, None), None);
        assert_eq!(earliest(Some(later), None), Some(later));
        assert_eq!(earliest(Some(later), Some(now)), Some(now));
        assert_eq!(longest(None, Some(ms(3))), Some(ms(3)));
        assert_eq!(longest(Some(ms(4)), Some(ms(3))), Some(ms(4)));
        assert_eq!(longest(None, None), None);
    }
}
