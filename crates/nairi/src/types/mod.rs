//! Request and response models. Field names are the wire names; unknown fields are kept in
//! `extra`, unknown enum values in `Unknown(..)`.

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
