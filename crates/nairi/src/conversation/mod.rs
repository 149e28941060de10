//! Driving conversations: wait for a turn, watch its events, run a prompt to its reply.

mod errors;

pub use errors::{TurnFailed, WaitTimeout};
