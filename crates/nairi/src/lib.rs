// The front page is the README, so its Rust examples are compiled as doc tests and cannot
// drift from the API.
#![doc = include_str!("../../../README.md")]
#![warn(missing_docs)]

pub mod api;
mod client;
mod client_options;
pub mod config;
pub mod conversation;
mod error;
mod error_payload;
pub mod log_bridge;
pub mod operations;
mod path;
mod redact;
mod response_meta;
mod serde_secs;
mod transport;
pub mod types;

pub use api::OutcomeUnknown;
pub use client::{Client, RequestOptions};
pub use client_options::ClientOptions;
pub use config::{ClientBuilder, ClientConfig, RetryPolicy};
pub use conversation::{RunOptions, Turn, TurnEvent, WaitOptions};
pub use error::{ApiError, Error, ErrorKind, ROOT_CLASS_NAME, Result};
pub use error_payload::ErrorPayload;
pub use path::segment as encode_path_segment;
pub use path::{MAX_PATH_SEGMENT_BYTES, MAX_URL_BYTES};
pub use response_meta::{ResponseMeta, with_response_meta};
