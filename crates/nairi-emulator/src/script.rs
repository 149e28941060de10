//! Scripted agent turns and timing configuration, shared by the control API and the Rust API.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiResult, EmulatorError};

/// The longest delay the control API accepts, in milliseconds (24 hours): a scripted turn's
/// `queue_ms`, `delay_ms`, `status_lag_ms` and `reply_lag_ms`, and a fault's `latency_ms`.
pub const MAX_DELAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Delays of the fake agent and of deploys, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Timings {
    /// Time a message stays `queued` after an instance is free, before it turns `pending`.
    pub pickup_ms: u64,
    /// Time between two progress events (and between the two messages of a double failure).
    pub step_ms: u64,
    /// Time from the last progress event to the reply.
    pub reply_ms: u64,
    /// Time from the reply to each trailing system message.
    pub system_after_ms: u64,
    /// Time a deploy takes before the agent picks up messages.
    pub deploy_ms: u64,
    /// Default lag between the reply appearing and the user message turning `completed`.
    pub status_lag_ms: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            pickup_ms: 300,
            step_ms: 250,
            reply_ms: 500,
            system_after_ms: 200,
            deploy_ms: 1500,
            status_lag_ms: 0,
        }
    }
}

impl Timings {
    /// Near-zero timings for tests.
    pub fn fast() -> Self {
        Self {
            pickup_ms: 2,
            step_ms: 1,
            reply_ms: 3,
            system_after_ms: 2,
            deploy_ms: 5,
            status_lag_ms: 0,
        }
    }
}

/// Usage figures reported on an assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Usage {
    /// Cost in USD.
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache read tokens.
    pub cache_read_tokens: u64,
    /// Cache write tokens.
    pub cache_write_tokens: u64,
    /// Model slug.
    pub model: String,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            cost_usd: 0.0123,
            input_tokens: 10,
            output_tokens: 20,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            model: "claude-opus-4-7".into(),
        }
    }
}

/// One progress event of a scripted turn; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProgressEvent {
    /// `text`, `tool_use`, `tool_heartbeat`, `step`, `subagent`, `thinking` or any other string (default `text`).
    pub progress_type: Option<String>,
    /// Tool name, e.g. `Bash`.
    pub tool_name: Option<String>,
    /// `running`, `completed`, `error`, …
    pub tool_status: Option<String>,
    /// Pairs a `running` event with its `completed` event.
    pub tool_use_id: Option<String>,
    /// Marks events coming from a subagent.
    pub parent_tool_use_id: Option<String>,
    /// Text block for `text` events.
    pub text_delta: Option<String>,
    /// One-line summary (heartbeats, subagents).
    pub summary: Option<String>,
    /// Tool input summary.
    pub tool_input: Option<String>,
    /// Tool output.
    pub tool_output: Option<String>,
    /// Replaces the JSON envelope in `content` verbatim (e.g. to send non-JSON content).
    pub raw_content: Option<String>,
}

/// A file the agent "produces" in a scripted turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OutboundAttachment {
    /// Stored filename.
    pub filename: String,
    /// MIME type (default `application/octet-stream`).
    pub content_type: Option<String>,
    /// The bytes, base64 (standard alphabet).
    pub data_base64: String,
}

/// How a scripted turn fails.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FailSpec {
    /// Error details; absent (`None`): the user message fails without any system message.
    pub detail: Option<String>,
    /// Daemon name in the message prefix (default `nairid`): `<prefix> encountered error: <detail>`.
    pub prefix: Option<String>,
    /// Also append the wrapped duplicate `… error continuing Claude session: <detail>`.
    pub double: bool,
}

/// One scripted turn of an agent; every field is optional and `Default` is the default turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ScriptedTurn {
    /// Assistant content; default derived from the prompt.
    pub reply: Option<String>,
    /// Absent (`None`): the default usage; null (`Some(None)`): no usage fields; an object:
    /// these figures.
    #[serde(
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub usage: Option<Option<Usage>>,
    /// Events before the reply; absent or null (`None`): the four default events, `[]`: none.
    pub progress: Option<Vec<ProgressEvent>>,
    /// Events emitted after the assistant message.
    pub late_progress: Vec<ProgressEvent>,
    /// Outbound files, stored as attachments and listed on the assistant message.
    pub attachments: Vec<OutboundAttachment>,
    /// System messages appended after the reply on success.
    pub system_messages: Vec<String>,
    /// Makes the turn fail.
    pub fail: Option<FailSpec>,
    /// The user message stays `pending` forever (the job and instance are released).
    pub stuck: bool,
    /// Minimum time the message stays `queued` once picked.
    pub queue_ms: u64,
    /// Extra processing time before the reply.
    pub delay_ms: u64,
    /// Reply listed first; the user status flips to `completed` this much later.
    pub status_lag_ms: Option<u64>,
    /// User status flips to `completed` first; the reply is listed this much later.
    pub reply_lag_ms: u64,
}

impl ScriptedTurn {
    /// Checks what the turn task relies on, so that a bad script is a 400 when it is posted
    /// rather than a surprise when it runs: delays of at most [`MAX_DELAY_MS`] and
    /// attachments in valid standard base64.
    pub(crate) fn validate(&self) -> ApiResult<()> {
        let delays = [
            ("queue_ms", Some(self.queue_ms)),
            ("delay_ms", Some(self.delay_ms)),
            ("status_lag_ms", self.status_lag_ms),
            ("reply_lag_ms", Some(self.reply_lag_ms)),
        ];
        for (name, v) in delays {
            if v.is_some_and(|v| v > MAX_DELAY_MS) {
                return Err(EmulatorError::bad_request(format!(
                    "{name} must be at most {MAX_DELAY_MS} (24 hours)"
                )));
            }
        }
        for a in &self.attachments {
            a.decode()?;
        }
        Ok(())
    }
}

impl OutboundAttachment {
    /// The attachment's bytes; a 400 naming the file when `data_base64` is not valid base64.
    pub(crate) fn decode(&self) -> ApiResult<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(self.data_base64.as_bytes())
            .map_err(|e| {
                EmulatorError::bad_request(format!(
                    "attachment {:?}: data_base64 is not valid base64: {e}",
                    self.filename
                ))
            })
    }
}

fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_absent_null_and_present_differ() {
        let a: ScriptedTurn = serde_json::from_str("{}").unwrap();
        assert_eq!(a.usage, None);
        let b: ScriptedTurn = serde_json::from_str(r#"{"usage":null}"#).unwrap();
        assert_eq!(b.usage, Some(None));
        let c: ScriptedTurn = serde_json::from_str(r#"{"usage":{"cost_usd":1.5}}"#).unwrap();
        assert_eq!(c.usage.unwrap().unwrap().cost_usd, 1.5);
    }
}
