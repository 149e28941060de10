//! How old a message is, on the server's clock, without trusting this machine's wall clock.
//!
//! The settle window (BEHAVIOUR 4.2) is meant to start when the reply was written, not when
//! this client first saw it: a poll that notices a completed turn a second late has already
//! waited out the ~200 ms in which trailing system messages arrive. To tell, the reply's
//! `created_at` (server clock) has to be put on this client's clock, and the two clocks may
//! disagree by any amount. Every answer gives a bound that needs no agreement: a timestamp `S`
//! in an answer received at client time `R` was written before `R`, so the clock offset
//! (client minus server) is at most `R - S`. The smallest such bound comes from the freshest
//! timestamp seen; the user message's `created_at` in the first poll right after `start` is a
//! few milliseconds old, so the bound is then within milliseconds of the true offset. With that
//! bound, a lower bound of the server's time at any client instant follows, hence a lower
//! bound of a message's age. Pure (instants and timestamps are arguments), so it is tested
//! without a client.
//!
//! Client times are measured on the monotonic clock from one wall-clock reading taken at the
//! start, so a step of this machine's clock during the wait changes nothing. What the bound
//! cannot see is allowed for explicitly: timestamps cut to whole seconds or milliseconds (the
//! precision is read from each timestamp), drift between the two clocks over a long wait, and
//! a few milliseconds of disagreement between the server's own machines.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Disagreement allowed between the clocks of the server's machines (one stamps the user
/// message, another the reply): well above what NTP keeps them to.
const SERVER_SKEW_MARGIN: Duration = Duration::from_millis(25);

/// Rate at which the two clocks may drift apart, per unit of time since the bound was taken
/// (100 ppm, several times an unsynchronised quartz clock's).
const DRIFT_PER_SECOND: f64 = 1e-4;

/// The clock offset bound learned from the answers of one wait.
#[derive(Debug, Clone)]
pub(crate) struct ServerClock {
    /// Client instant and wall-clock reading taken together at the start.
    base: Instant,
    base_wall: DateTime<Utc>,
    /// The smallest `R - S` seen (client wall time minus server time, in ms as `f64` for
    /// signed arithmetic) and the instant of that answer.
    offset_bound: Option<(f64, Instant)>,
}

impl ServerClock {
    /// A clock with no bound yet; `base` and `base_wall` are one reading of both clocks.
    pub(crate) fn new(base: Instant, base_wall: DateTime<Utc>) -> Self {
        ServerClock {
            base,
            base_wall,
            offset_bound: None,
        }
    }

    /// Records that an answer received at `received` carried the server timestamp `stamp`
    /// (anything the server wrote before answering: a message's `created_at`, `updated_at`).
    pub(crate) fn observe(&mut self, received: Instant, stamp: DateTime<Utc>) {
        // A timestamp rounded to its precision may read up to that much later than the event.
        let stamp_ms = ms_of(stamp) - precision(stamp).as_secs_f64() * 1e3;
        let bound = self.wall_ms(received) - stamp_ms;
        let tighter = self
            .offset_bound
            .is_none_or(|(best, at)| bound < best + drift_ms(at, received));
        if tighter {
            self.offset_bound = Some((bound, received));
        }
    }

    /// A lower bound of how long before client instant `at` the server wrote `stamp`
    /// (zero when nothing is known or the bound says "not yet").
    pub(crate) fn age_at_least(&self, stamp: DateTime<Utc>, at: Instant) -> Duration {
        match self.signed_age_ms(stamp, at) {
            Some(age_ms) if age_ms > 0.0 => {
                Duration::try_from_secs_f64(age_ms / 1e3).unwrap_or(Duration::MAX)
            }
            _ => Duration::ZERO,
        }
    }

    /// The first client instant, not before `not_before`, at which `stamp` is surely at least
    /// `age` old; `None` when nothing bounds the offset yet.
    pub(crate) fn instant_when_aged(
        &self,
        stamp: DateTime<Utc>,
        age: Duration,
        not_before: Instant,
    ) -> Option<Instant> {
        let now_ms = self.signed_age_ms(stamp, not_before)?;
        let missing_ms = age.as_secs_f64() * 1e3 - now_ms;
        if missing_ms <= 0.0 {
            return Some(not_before);
        }
        // The bound grows a little slower than time (the drift allowance), plus 1 ms so that
        // the age is reached, not approached, at that instant.
        let wait = Duration::try_from_secs_f64((missing_ms / (1.0 - DRIFT_PER_SECOND) + 1.0) / 1e3)
            .ok()?;
        not_before.checked_add(wait)
    }

    /// The lower bound of the age in ms, negative when the bound cannot yet tell that the
    /// stamp is in the past; `None` without a bound.
    fn signed_age_ms(&self, stamp: DateTime<Utc>, at: Instant) -> Option<f64> {
        let (offset, taken) = self.offset_bound?;
        // The server's time at `at` is at least our wall time minus the largest offset.
        let server_now = self.wall_ms(at) - offset - drift_ms(taken, at);
        let written_by = ms_of(stamp) + (precision(stamp) + SERVER_SKEW_MARGIN).as_secs_f64() * 1e3;
        Some(server_now - written_by)
    }

    /// Client wall time at `at`, in ms since the epoch, as the monotonic clock measures it.
    fn wall_ms(&self, at: Instant) -> f64 {
        let since = at.saturating_duration_since(self.base).as_secs_f64()
            - self.base.saturating_duration_since(at).as_secs_f64();
        ms_of(self.base_wall) + since * 1e3
    }
}

/// How much the two clocks may have drifted apart between two instants, in ms.
fn drift_ms(a: Instant, b: Instant) -> f64 {
    let apart = if a > b { a - b } else { b - a };
    apart.as_secs_f64() * DRIFT_PER_SECOND * 1e3
}

fn ms_of(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 + f64::from(t.timestamp_subsec_nanos() % 1_000_000) / 1e6
}

/// The precision a timestamp was evidently written with: a whole second when it has no
/// fraction, else the coarsest of ms / µs / ns that its fraction fits. A timestamp with ms
/// precision that happens to fall on a whole second is taken as coarser: only more cautious.
pub(crate) fn precision(t: DateTime<Utc>) -> Duration {
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        Duration::from_secs(1)
    } else if nanos.is_multiple_of(1_000_000) {
        Duration::from_millis(1)
    } else if nanos.is_multiple_of(1_000) {
        Duration::from_micros(1)
    } else {
        Duration::from_nanos(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn precision_is_read_from_the_fraction() {
        assert_eq!(precision(ts("2026-12-01T10:00:00Z")), ms(1000));
        assert_eq!(precision(ts("2026-12-01T10:00:00.120Z")), ms(1));
        assert_eq!(
            precision(ts("2026-12-01T10:00:00.000120Z")),
            Duration::from_micros(1)
        );
        assert_eq!(
            precision(ts("2026-12-01T10:00:00.000000123Z")),
            Duration::from_nanos(1)
        );
    }

    #[test]
    fn nothing_seen_means_no_age() {
        let base = Instant::now();
        let clock = ServerClock::new(base, ts("2026-12-01T10:00:00.500Z"));
        assert_eq!(
            clock.age_at_least(ts("2026-12-01T09:00:00.001Z"), base + ms(10)),
            Duration::ZERO
        );
    }

    // The server's clock is 7 s ahead of ours: the bound holds whatever the offset is.
    #[test]
    fn a_fresh_timestamp_bounds_the_offset_whatever_the_clocks_say() {
        let base = Instant::now();
        for server_ahead_ms in [-7_000i64, 0, 7_000, 86_400_000] {
            let ours = ts("2026-12-01T10:00:00.500Z");
            let server =
                |client_ms: i64| ours + chrono::Duration::milliseconds(client_ms + server_ahead_ms);
            let mut clock = ServerClock::new(base, ours);
            // The user message, written 3 ms before our first answer arrived (at +10 ms).
            clock.observe(base + ms(10), server(7));
            // The reply, written at +1000 ms on the server's clock.
            let reply = server(1000);
            let age = |at_ms: u64| clock.age_at_least(reply, base + ms(at_ms));
            assert_eq!(age(1000), Duration::ZERO, "{server_ahead_ms}");
            let later = age(1400);
            // True age 400 ms; less the 3 ms staleness, 1 ms precision, 25 ms margin, drift.
            assert!(
                later <= ms(400) && later >= ms(365),
                "{server_ahead_ms}: {later:?}"
            );
        }
    }

    #[test]
    fn the_freshest_timestamp_wins_and_stale_ones_do_not_loosen_it() {
        let base = Instant::now();
        let ours = ts("2026-12-01T10:00:00.100Z");
        let at = |client_ms: i64| ours + chrono::Duration::milliseconds(client_ms);
        let mut clock = ServerClock::new(base, ours);
        clock.observe(base + ms(500), at(100)); // 400 ms stale
        let reply = at(1000);
        let loose = clock.age_at_least(reply, base + ms(1500));
        clock.observe(base + ms(600), at(598)); // 2 ms stale
        clock.observe(base + ms(700), at(0)); // old: ignored
        let tight = clock.age_at_least(reply, base + ms(1500));
        assert!(loose < ms(100), "{loose:?}");
        assert!(tight > ms(440) && tight <= ms(500), "{tight:?}");
    }

    // Whole-second timestamps: the bound is a second more cautious, never wrong.
    #[test]
    fn coarse_timestamps_only_make_it_more_cautious() {
        let base = Instant::now();
        let ours = ts("2026-12-01T10:00:00.250Z");
        let mut clock = ServerClock::new(base, ours);
        // Written at 10:00:00.255 (client and server agree), shown as 10:00:00.
        clock.observe(base + ms(10), ts("2026-12-01T10:00:00Z"));
        // The reply, written at 10:00:01.900, shown as 10:00:01; true age at +2000 ms: 350 ms.
        let age = clock.age_at_least(ts("2026-12-01T10:00:01Z"), base + ms(2000));
        assert!(age < ms(350), "{age:?}");
    }

    #[test]
    fn the_instant_when_a_stamp_has_aged_is_when_its_bound_says_so() {
        let base = Instant::now();
        let ours = ts("2026-12-01T10:00:00.100Z");
        let at = |client_ms: i64| ours + chrono::Duration::milliseconds(client_ms);
        let mut clock = ServerClock::new(base, ours);
        assert_eq!(clock.instant_when_aged(at(0), ms(300), base), None);
        clock.observe(base + ms(4), at(2));
        let reply = at(1000);
        let wake = clock
            .instant_when_aged(reply, ms(300), base + ms(1100))
            .unwrap();
        assert!(clock.age_at_least(reply, wake) >= ms(300));
        assert!(clock.age_at_least(reply, wake - ms(2)) < ms(300));
        // Already old enough: at once.
        let later = base + ms(2000);
        assert_eq!(clock.instant_when_aged(reply, ms(300), later), Some(later));
    }

    #[test]
    fn drift_is_allowed_for_over_a_long_wait() {
        let base = Instant::now();
        let ours = ts("2026-12-01T10:00:00.100Z");
        let mut clock = ServerClock::new(base, ours);
        clock.observe(base + ms(5), ours);
        let hour = 3_600_000;
        let reply = ours + chrono::Duration::milliseconds(hour);
        // An hour later, with the clocks in step, the 100 ppm allowance is 360 ms.
        let age = clock.age_at_least(reply, base + ms(hour as u64 + 1000));
        assert!(age < ms(1000 - 360) && age > ms(500), "{age:?}");
    }
}
