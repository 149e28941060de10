//! Building blocks shared by the models: open enums, null-tolerant fields, extra fields.

use serde::{Deserialize, Deserializer};

/// Fields the server sent that this SDK version does not model, kept for forward compatibility.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// RFC 3339 timestamps, parsed.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Decodes `null` or a missing field as the type's default (strings that should never be null).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
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

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

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

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::from(s.as_ref()))
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
    fn timestamps_parse_or_fail_as_validation() {
        let t = parse_timestamp("2026-04-12T18:45:12.000Z", "updated_after").unwrap();
        assert_eq!(t.timestamp_millis(), 1_776_019_512_000);
        let e = parse_timestamp("yesterday", "updated_after").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Validation);
    }
}
