//! Building blocks shared by the models: open enums, null-tolerant fields, extra fields.

use serde::{Deserialize, Deserializer};

/// Fields the server sent that this SDK version does not model, kept for forward compatibility.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// RFC 3339 timestamps, parsed.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Decodes `null` as the type's default; with `#[serde(default)]` a missing field too.
///
/// Used for every non-ID string and list of the response models (`""`, `[]`).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Decodes an optional timestamp leniently: an RFC 3339 string gives `Some`, while `null`,
/// a string that does not parse (`"garbage"`), or a value of another type (a number, an
/// object) give `None` instead of failing the whole response. Used, with
/// `#[serde(default)]`, for every timestamp of the response models.
pub(crate) fn lenient_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Timestamp>, D::Error> {
    d.deserialize_any(Lenient(|v| match v {
        Scalar::Str(s) => parse_lenient_timestamp(s.trim()),
        _ => None,
    }))
}

/// What `s.parse::<Timestamp>().ok()` gives (chrono's relaxed RFC 3339: `t` or a space for
/// `T`, offsets without a colon, leap seconds...), with the form servers send
/// (`2026-04-12T18:45:12.123Z`, `+02:00`) decoded by [`strict_rfc3339`] first: chrono's general
/// parser costs about ten times as much, and every answer carries two or more timestamps.
fn parse_lenient_timestamp(s: &str) -> Option<Timestamp> {
    strict_rfc3339(s).or_else(|| s.parse::<Timestamp>().ok())
}

/// Exactly `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)` with a valid date and time, as
/// chrono reads it; `None` for anything else (including values chrono may still accept: a
/// leap second, ten or more fraction digits, another separator), which the caller hands to
/// chrono.
fn strict_rfc3339(s: &str) -> Option<Timestamp> {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};

    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digit = |i: usize| -> Option<u32> {
        let d = b.get(i)?.wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let mut i = 19;
    let mut nanos = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while let Some(d) = digit(i) {
            if i - start == 9 {
                return None;
            }
            nanos = nanos * 10 + d;
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        nanos *= 10u32.pow(9 - digits as u32);
    }
    let offset = match *b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (h, m) = (two(i + 1)?, two(i + 4)?);
            if h >= 24 || m >= 60 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    if second >= 60 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let utc = NaiveDateTime::new(date, time).checked_sub_signed(TimeDelta::seconds(offset))?;
    Some(Utc.from_utc_datetime(&utc))
}

/// Decodes an optional integer leniently: integers, integral floats (`12.0`) and integral
/// numeric strings (`"12"`) give `Some`; `null`, fractional or out-of-range numbers and
/// any other value give `None`. Used for counts and token usage of the response models.
pub(crate) fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    fn from_f64(f: f64) -> Option<i64> {
        // `i64::MAX as f64` rounds up to 2^63, which is out of range: compare with `<`.
        (f.is_finite() && f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64)
            .then_some(f as i64)
    }
    d.deserialize_any(Lenient(|v| match v {
        Scalar::I64(n) => Some(n),
        Scalar::U64(n) => i64::try_from(n).ok(),
        Scalar::F64(f) => from_f64(f),
        Scalar::Str(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(from_f64))
        }
        Scalar::Other => None,
    }))
}

/// Decodes an optional number leniently: numbers and numeric strings (`"0.25"`) give `Some`;
/// `null`, non-finite values and any other value give `None`. Used for prices and costs.
pub(crate) fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(Lenient(|v| match v {
        Scalar::I64(n) => Some(n as f64),
        Scalar::U64(n) => Some(n as f64),
        Scalar::F64(f) => f.is_finite().then_some(f),
        Scalar::Str(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        Scalar::Other => None,
    }))
}

/// Decodes a string leniently: a string gives itself; `null` and any other value (a number,
/// a boolean, an object, a list) give `""`. Used for non-ID strings such as `job_id`.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_opt_string(d)?.unwrap_or_default())
}

/// Decodes an optional string leniently: a string gives `Some`; `null` and any other value
/// (a number, a boolean, an object, a list) give `None`.
pub(crate) fn lenient_opt_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Lenient(|v| match v {
        Scalar::Str(s) => Some(s.to_owned()),
        _ => None,
    }))
}

/// Decodes free text leniently: a string gives itself, `null` gives `""`, and any other value
/// gives its compact JSON text (`{"a":1}`, `42`, `true`). Used for message content, which
/// must not lose what the server sent.
pub(crate) fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Decodes an open enum leniently: a string gives its variant (`Unknown(..)` when new), while
/// `null` and any other value give [`missing_enum`], `Unknown("")`.
pub(crate) fn lenient_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    Ok(lenient_opt_string(d)?.map_or_else(missing_enum, |s| T::from(s.as_str())))
}

/// `Unknown("")`: what a required open enum that is missing, `null` or not a string decodes
/// to (no wire value is empty). With `#[serde(default = "missing_enum")]`; deliberately not
/// the enum's `Default`, which would present "the server said nothing" as a value.
pub(crate) fn missing_enum<T: for<'a> From<&'a str>>() -> T {
    T::from("")
}

/// Decodes a list of strings leniently: only the string entries of a list are kept (`[null]`
/// and `[1]` give `[]`); a single string gives a one-element list; `null` and any other value
/// give `[]`. Used for lists of ids such as `attachment_ids`.
pub(crate) fn lenient_string_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Strings;

    /// One entry: `Some` for a string, `None` for anything else.
    struct Entry(Option<String>);

    impl<'de> Deserialize<'de> for Entry {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            lenient_opt_string(d).map(Entry)
        }
    }

    impl<'de> serde::de::Visitor<'de> for Strings {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any value")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_owned()])
        }

        fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Entry(entry)) = seq.next_element()? {
                out.extend(entry);
            }
            Ok(out)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Vec::new())
        }
    }

    d.deserialize_any(Strings)
}

/// A list of response items decoded one element at a time: an element that is not an object
/// with a non-empty string `id`, or that still fails to decode, is left out and counted in
/// `skipped` instead of failing the whole list. `null` (and, with `#[serde(default)]`, a
/// missing field) is an empty list; a value that is not a list at all still fails.
#[derive(Debug)]
pub(crate) struct LenientList<T> {
    pub(crate) items: Vec<T>,
    pub(crate) skipped: usize,
}

impl<T> Default for LenientList<T> {
    fn default() -> Self {
        LenientList {
            items: Vec::new(),
            skipped: 0,
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for LenientList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(values) = Option::<Vec<serde_json::Value>>::deserialize(d)? else {
            return Ok(LenientList::default());
        };
        let mut list = LenientList {
            items: Vec::with_capacity(values.len()),
            skipped: 0,
        };
        for value in values {
            let has_id = value
                .get("id")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|id| !id.trim().is_empty());
            match has_id.then(|| T::deserialize(value)) {
                Some(Ok(item)) => list.items.push(item),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "list element left out: it does not decode");
                    list.skipped += 1;
                }
                None => list.skipped += 1,
            }
        }
        Ok(list)
    }
}

/// What a lenient field was given; compound values and booleans are `Other`.
enum Scalar<'a> {
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
    Other,
}

/// A visitor that accepts any value: `null` gives `None`, everything else goes through the
/// mapping function (which may also answer `None`). Compound values are skipped whole.
struct Lenient<T>(fn(Scalar<'_>) -> Option<T>);

impl<'de, T> serde::de::Visitor<'de> for Lenient<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok((self.0)(Scalar::I64(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok((self.0)(Scalar::U64(v)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok((self.0)(Scalar::F64(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.0)(Scalar::Str(v)))
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok((self.0)(Scalar::Other))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok((self.0)(Scalar::Other))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok((self.0)(Scalar::Other))
    }
}

/// Parses an RFC 3339 timestamp given as text (bindings pass strings), as a validation error.
pub fn parse_timestamp(value: &str, field: &str) -> crate::Result<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            crate::Error::validation(
                field,
                format!("{value:?} is not an RFC 3339 timestamp ({e})"),
            )
        })
}

/// Declares a string enum whose unknown wire values decode into `Unknown(String)` instead of
/// failing, so a new server-side value never breaks an old client.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the SDK does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, as sent on the wire.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Whether this is a value this SDK version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        /// Known values or any string: a new server-side value is still valid.
        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "anyOf": [
                        { "type": "string", "enum": Self::KNOWN },
                        { "type": "string" }
                    ]
                })
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        /// Parses a wire value, as serde does: an unknown one gives `Unknown(..)`, so this
        /// never fails.
        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// A string decodes to its variant (`Unknown(..)` when new); `null` to `Unknown("")`.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(s.map_or_else(
                    || $name::Unknown(String::new()),
                    |s| $name::from(s.as_ref()),
                ))
            }
        }
    };
}
pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    use super::*;

    open_enum! {
        /// Test enum.
        pub enum Colour { Red => "red", Blue => "blue" }
    }

    #[test]
    fn unknown_values_are_kept() {
        let c: Colour = serde_json::from_str("\"green\"").unwrap();
        assert_eq!(c, Colour::Unknown("green".into()));
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"green\"");
        assert!(!c.is_known());
        let r: Colour = serde_json::from_str("\"red\"").unwrap();
        assert_eq!(r, Colour::Red);
        assert_eq!(Colour::KNOWN, &["red", "blue"]);
    }

    #[test]
    fn null_enum_is_unknown_empty() {
        let c: Colour = serde_json::from_str("null").unwrap();
        assert_eq!(c, Colour::Unknown(String::new()));
        assert_eq!(missing_enum::<Colour>(), Colour::Unknown(String::new()));
        let o: Option<Colour> = serde_json::from_str("null").unwrap();
        assert_eq!(o, None);
    }

    #[derive(Debug, Deserialize)]
    struct Lax {
        #[serde(default, deserialize_with = "lenient_timestamp")]
        at: Option<Timestamp>,
        #[serde(default, deserialize_with = "lenient_int")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "lenient_f64")]
        x: Option<f64>,
    }

    fn lax(json: &str) -> Lax {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn lenient_fields_never_fail() {
        let l = lax(r#"{"at":"2026-04-12T18:45:12.000Z","n":12,"x":0.5}"#);
        assert_eq!(l.at.unwrap().timestamp_millis(), 1_776_019_512_000);
        assert_eq!((l.n, l.x), (Some(12), Some(0.5)));
        let l = lax(r#"{"at":"2026-04-12T20:45:12+02:00","n":12.0,"x":3}"#);
        assert_eq!(l.at.unwrap().timestamp_millis(), 1_776_019_512_000);
        assert_eq!((l.n, l.x), (Some(12), Some(3.0)));
        assert_eq!(lax(r#"{"n":"7","x":"0.25"}"#).n, Some(7));
        assert_eq!(lax(r#"{"n":"7","x":"0.25"}"#).x, Some(0.25));
        for odd in [
            "{}",
            r#"{"at":null,"n":null,"x":null}"#,
            r#"{"at":"garbage","n":12.5,"x":"lots"}"#,
            r#"{"at":1776019512,"n":1e30,"x":true}"#,
            r#"{"at":{"s":1},"n":[1],"x":{"v":[1,2]}}"#,
            r#"{"at":"","n":"12.5","x":[]}"#,
            r#"{"n":18446744073709551615}"#,
            r#"{"n":9223372036854775808.0}"#,
        ] {
            let l = lax(odd);
            assert_eq!((l.at, l.n, l.x), (None, None, None), "{odd}");
        }
    }

    #[test]
    fn timestamps_decode_as_chrono_parses_them() {
        // The strict fast path and chrono's relaxed parser must agree on every input: forms
        // servers send, forms only chrono accepts, and invalid dates, times and offsets.
        let mut inputs: Vec<String> = ["2026-13-01", "2026-00-10", "2026-04-31", "2026-4-12"]
            .iter()
            .map(|bad_date| format!("{bad_date}T10:00:00Z"))
            .collect();
        for date in [
            "2026-04-12",
            "0000-01-01",
            "9999-12-31",
            "2024-02-29",
            "2026-02-29",
        ] {
            for time in [
                "18:45:12", "00:00:00", "23:59:59", "23:59:60", "24:00:00", "12:60:00",
            ] {
                for frac in [
                    "",
                    ".",
                    ".1",
                    ".123",
                    ".000001",
                    ".123456789",
                    ".1234567891",
                    ".x",
                ] {
                    for off in [
                        "Z",
                        "z",
                        "+00:00",
                        "-00:00",
                        "+02:00",
                        "-05:30",
                        "+23:59",
                        "-23:59",
                        "+24:00",
                        "+05:60",
                        "+0530",
                        "+05",
                        "",
                        "Z ",
                        "ZZ",
                        "+05:30:00",
                    ] {
                        for sep in ['T', 't', ' ', '_'] {
                            inputs.push(format!("{date}{sep}{time}{frac}{off}"));
                        }
                    }
                }
            }
        }
        inputs.extend(
            [
                "",
                "garbage",
                "2026-04-12",
                "2026-04-12T18:45:12",
                "٢٠٢٦-04-12T1",
            ]
            .map(String::from),
        );
        inputs.push("2026-04-12T18:45:12.é".into());
        let mut fast = 0;
        for input in &inputs {
            let want = input.parse::<Timestamp>().ok();
            assert_eq!(parse_lenient_timestamp(input), want, "{input:?}");
            if let Some(t) = strict_rfc3339(input) {
                assert_eq!(Some(t), want, "{input:?}");
                fast += 1;
            }
        }
        // 4 valid dates x 3 times without a leap second x 5 fractions of 0 to 9 digits x 7
        // offsets (`Z` or `±HH:MM` in range), all with `T`.
        assert_eq!(
            fast,
            4 * 3 * 5 * 7,
            "the fast path decodes the strict forms"
        );
    }

    #[derive(Debug, Deserialize)]
    struct LaxStrings {
        #[serde(default, deserialize_with = "lenient_string")]
        s: String,
        #[serde(default, deserialize_with = "lenient_opt_string")]
        o: Option<String>,
        #[serde(default, deserialize_with = "lenient_text")]
        t: String,
        #[serde(default, deserialize_with = "lenient_string_vec")]
        v: Vec<String>,
        #[serde(default = "missing_enum", deserialize_with = "lenient_enum")]
        c: Colour,
        #[serde(flatten)]
        extra: Extra,
    }

    fn lax_strings(json: &str) -> LaxStrings {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn lenient_strings_keep_strings() {
        let l = lax_strings(
            r#"{"s":"job_1","o":"opus","t":"hello","v":["att_1","att_2"],"c":"red","z":1}"#,
        );
        assert_eq!((l.s.as_str(), l.o.as_deref()), ("job_1", Some("opus")));
        assert_eq!(l.t, "hello");
        assert_eq!(l.v, ["att_1", "att_2"]);
        assert_eq!(l.c, Colour::Red);
        assert_eq!(
            l.extra["z"], 1,
            "flattened extras still work beside lenient fields"
        );
        assert_eq!(lax_strings(r#"{"c":"green"}"#).c, Colour::from("green"));
        assert_eq!(lax_strings(r#"{"v":"att_9"}"#).v, ["att_9"]);
        assert_eq!(
            lax_strings(r#"{"v":[null,"att_1",1,true,{"id":"x"},["y"],"att_2"]}"#).v,
            ["att_1", "att_2"]
        );
    }

    #[test]
    fn lenient_text_renders_other_values_as_json() {
        assert_eq!(lax_strings(r#"{"t":{"a":[1,"b"]}}"#).t, r#"{"a":[1,"b"]}"#);
        assert_eq!(lax_strings(r#"{"t":42}"#).t, "42");
        assert_eq!(lax_strings(r#"{"t":-1.5}"#).t, "-1.5");
        assert_eq!(lax_strings(r#"{"t":true}"#).t, "true");
        assert_eq!(lax_strings(r#"{"t":[1,2]}"#).t, "[1,2]");
        assert_eq!(lax_strings(r#"{"t":null}"#).t, "");
        assert_eq!(lax_strings("{}").t, "");
    }

    #[test]
    fn lenient_strings_never_fail() {
        for odd in [
            "{}",
            r#"{"s":null,"o":null,"v":null,"c":null}"#,
            r#"{"s":1,"o":2.5,"v":3,"c":4}"#,
            r#"{"s":true,"o":false,"v":true,"c":false}"#,
            r#"{"s":{"a":1},"o":{"b":[1]},"v":{"c":"d"},"c":{"e":null}}"#,
            r#"{"s":["x"],"o":["y"],"v":[null],"c":["red"]}"#,
            r#"{"s":-7,"o":18446744073709551615,"v":[1,2.5,false],"c":-1}"#,
        ] {
            let l = lax_strings(odd);
            assert_eq!(l.s, "", "{odd}");
            assert_eq!(l.o, None, "{odd}");
            assert!(l.v.is_empty(), "{odd}");
            assert_eq!(l.c, Colour::Unknown(String::new()), "{odd}");
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Item {
        id: String,
        #[serde(default)]
        n: i64,
    }

    fn items(json: &str) -> LenientList<Item> {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn lenient_lists_skip_bad_elements_only() {
        let l = items(
            r#"[{"id":"a","n":1},null,7,"b",[1],{"id":null},{"id":3},{"id":""},{"id":" "},
                {"n":2},{"id":"c","n":"not a number"},{"id":"d","n":4}]"#,
        );
        assert_eq!(
            l.items,
            [
                Item {
                    id: "a".into(),
                    n: 1
                },
                Item {
                    id: "d".into(),
                    n: 4
                }
            ]
        );
        assert_eq!(l.skipped, 10);
        let empty = items("null");
        assert!(empty.items.is_empty());
        assert_eq!(empty.skipped, 0);
        assert!(items("[]").items.is_empty());
        assert!(serde_json::from_str::<LenientList<Item>>(r#"{"id":"a"}"#).is_err());
    }

    #[test]
    fn timestamps_parse_or_fail_as_validation() {
        let t = parse_timestamp("2026-04-12T18:45:12.000Z", "updated_after").unwrap();
        assert_eq!(t.timestamp_millis(), 1_776_019_512_000);
        let e = parse_timestamp("yesterday", "updated_after").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Validation);
    }
}
