//! The serde form of durations: seconds as a number (`1.5` = 1500 ms), the one unit of every
//! option that crosses a binding (see `spec/CHANGES.md`).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Seconds from a number; negative, non-finite and too large values are refused by name.
fn from_secs<E: serde::de::Error>(secs: f64) -> Result<Duration, E> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(E::custom(format!(
            "{secs} is not a duration: expected a number of seconds >= 0"
        )));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| E::custom(format!("{secs} seconds is too long a duration")))
}

/// `Duration` as seconds.
pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// `Duration` from seconds.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    from_secs(f64::deserialize(d)?)
}

/// `Option<Duration>` as seconds or `null`.
pub(crate) mod option {
    use super::*;

    /// `Some(d)` as seconds, `None` as `null`.
    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    /// Seconds or `null`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?.map(from_secs).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(with = "super")]
        d: Duration,
        #[serde(with = "super::option", default)]
        o: Option<Duration>,
    }

    #[test]
    fn seconds_round_trip_and_nonsense_is_refused() {
        let t: T = serde_json::from_str(r#"{"d":1.5,"o":null}"#).unwrap();
        assert_eq!(t.d, Duration::from_millis(1500));
        assert_eq!(t.o, None);
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"d":1.5,"o":null}"#);
        for bad in [r#"{"d":-1}"#, r#"{"d":1e300}"#, r#"{"d":"1"}"#] {
            let err = serde_json::from_str::<T>(bad).unwrap_err().to_string();
            assert!(err.contains("d") || err.contains("seconds"), "{bad}: {err}");
        }
    }
}
