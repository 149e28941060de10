//! Request and response models. Field names are the wire names; unknown fields are kept in
//! `extra`, unknown enum values in `Unknown(..)`.

mod agent_config;
mod agents;
pub(crate) mod common;
mod conversations;

pub use agent_config::*;
pub use agents::*;
pub use common::{Extra, Timestamp, parse_timestamp};
pub use conversations::*;
