//! Request and response models. Field names are the wire names; unknown fields are kept in
//! `extra`, unknown enum values in `Unknown(..)`.
//!
//! Decoding a response never fails because of one odd non-ID field:
//! - strings and lists that are `null` or missing decode as `""` and `[]`;
//! - required enums (`Message::role`, `Message::status`, `Conversation::status`) that are
//!   `null` or missing decode as `Unknown("")`; optional ones as `None`;
//! - timestamps that are `null`, missing, not a string or not RFC 3339 decode as `None`;
//! - counts and token usage accept integral floats (`12.0`) and numeric strings (`"12"`);
//!   any other value (`12.5`, `true`) decodes as `None`; prices and costs accept numbers and
//!   numeric strings, anything else is `None`.
//!
//! - in messages, a `content` that is not a string is kept as its JSON text, other strings of
//!   the wrong type decode as empty or `None`, and `attachment_ids` keeps its string entries.
//!
//! Only a missing or malformed `id` (and the ids of start/continue answers) fails decoding.
//! In the message and conversation lists, an entry without a usable `id` is left out (and
//! counted in the list's `skipped`) instead of failing the whole list.

mod agent_config;
mod agents;
mod artifacts;
mod attachments;
mod catalog;
pub(crate) mod common;
mod conversations;
mod scheduled_jobs;
mod vaults;

pub use agent_config::*;
pub use agents::*;
pub use artifacts::*;
pub use attachments::*;
pub use catalog::*;
pub use common::{Extra, Timestamp, parse_timestamp};
pub use conversations::*;
pub use scheduled_jobs::*;
pub use vaults::*;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::fmt::Debug;
    use std::hash::Hash;
    use std::str::FromStr;

    use super::*;

    /// Every variant of `E` (one per wire value in `E::KNOWN`) goes to its wire name and back
    /// the same way through `From<&str>`, `FromStr`, `Display`, `as_str` and serde.
    fn round_trips<E>(known: &[&str], as_str: fn(&E) -> &str, is_known: fn(&E) -> bool)
    where
        E: for<'a> From<&'a str>
            + FromStr<Err = std::convert::Infallible>
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Display
            + PartialEq
            + Eq
            + Hash
            + Debug,
    {
        let mut variants = HashSet::new();
        for &wire in known {
            let v = E::from(wire);
            assert!(is_known(&v), "{wire}");
            assert_eq!(as_str(&v), wire);
            assert_eq!(v.to_string(), wire);
            assert_eq!(wire.parse::<E>().unwrap(), v);
            assert_eq!(serde_json::to_value(&v).unwrap(), wire);
            assert_eq!(serde_json::from_value::<E>(wire.into()).unwrap(), v);
            assert!(
                variants.insert(v),
                "two wire names give one variant: {wire}"
            );
        }
        let new = E::from("surely-not-a-wire-value");
        assert!(!is_known(&new));
        assert_eq!(as_str(&new), "surely-not-a-wire-value");
        assert_eq!(
            serde_json::from_value::<E>("surely-not-a-wire-value".into()).unwrap(),
            new
        );
    }

    macro_rules! check {
        ($($e:ty),+) => {
            $( round_trips::<$e>(<$e>::KNOWN, <$e>::as_str, <$e>::is_known); )+
        };
    }

    #[test]
    fn every_open_enum_variant_round_trips_through_its_wire_name() {
        check!(
            MessageRole,
            MessageStatus,
            JobStatus,
            ConversationSort,
            ChannelType,
            ChannelMode,
            EntityType,
            ScheduledJobType
        );
        assert_eq!(MessageStatus::KNOWN.len(), 4);
        assert_eq!(EntityType::from("vault"), EntityType::Vault);
    }

    #[test]
    fn defaults_are_real_values_or_the_documented_missing_marker() {
        assert_eq!(ConversationSort::default(), ConversationSort::CreatedAtDesc);
        assert_eq!(MessageRole::default(), MessageRole::Unknown(String::new()));
        assert_eq!(
            MessageStatus::default(),
            MessageStatus::Unknown(String::new())
        );
    }
}
