//! Client for the [Nairi](https://nairi.ai) public REST API.
//!
//! ```no_run
//! # async fn demo() -> nairi::Result<()> {
//! let client = nairi::Client::from_env()?; // NAIRI_API_KEY, NAIRI_BASE_URL
//! let agents = client.agents().list().await?;
//! println!("{} agents", agents.len());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod api;
mod client;
pub mod config;
pub mod conversation;
mod error;
mod path;
mod redact;
mod serde_secs;
mod transport;
pub mod types;

pub use client::{Client, RequestOptions};
pub use config::{ClientBuilder, ClientConfig, RetryPolicy};
pub use conversation::{RunOptions, Turn, TurnEvent, WaitOptions};
pub use error::{ApiError, Error, ErrorKind, Result};
pub use path::segment as encode_path_segment;
pub use path::{MAX_PATH_SEGMENT_BYTES, MAX_URL_BYTES};

/// Compiles the README's Rust examples as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
