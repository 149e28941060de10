//! Progress messages, parsed leniently: the schema is open and best-effort (BEHAVIOUR 4.7, 4.8).

use serde::Serialize;
use serde_json::Value;

use crate::types::{Message, Timestamp};

/// One progress event of a turn, read from a `progress` message.
///
/// Fields come from the JSON envelope in `content`, with the message's top-level copies as a
/// fallback; content that is not a JSON object leaves them empty and stays in `raw_content`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ProgressEvent {
    /// The progress message's id.
    pub message_id: String,
    /// `text`, `tool_use`, `tool_heartbeat`, `step`, `subagent`, `thinking`, or anything newer.
    pub progress_type: Option<String>,
    /// Tool name of tool events.
    pub tool_name: Option<String>,
    /// `running`, `completed`, `error`, or a harness-specific state.
    pub tool_status: Option<String>,
    /// Pairs a tool's `running` event with its end.
    pub tool_use_id: Option<String>,
    /// Set on events from a subagent.
    pub parent_tool_use_id: Option<String>,
    /// A one-field summary of the tool input (path, command, pattern...).
    pub input: Option<String>,
    /// Tool output; may be very large (the daemon no longer truncates it).
    pub output: Option<String>,
    /// A whole text block of `text` events (not a token delta despite the name).
    pub text_delta: Option<String>,
    /// One-line summary of heartbeats, steps and subagents.
    pub summary: Option<String>,
    /// The message content exactly as received.
    pub raw_content: String,
    /// The parsed envelope when the content is a JSON object.
    pub data: Option<Value>,
    /// When the message was created.
    pub created_at: Option<Timestamp>,
}

impl ProgressEvent {
    /// Reads a progress message; never fails, whatever the content.
    pub fn from_message(message: &Message) -> Self {
        let data = match serde_json::from_str::<Value>(&message.content) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => None,
        };
        let field = |key: &str| data.as_ref().and_then(|d| text_field(d.get(key)));
        let or_top = |key: &str, top: &Option<String>| {
            field(key).or_else(|| top.clone().filter(|s| !s.is_empty()))
        };
        ProgressEvent {
            message_id: message.id.clone(),
            progress_type: or_top("progress_type", &message.progress_type),
            tool_name: or_top("tool_name", &message.tool_name),
            tool_status: or_top("tool_status", &message.tool_status),
            tool_use_id: or_top("tool_use_id", &message.tool_use_id),
            parent_tool_use_id: or_top("parent_tool_use_id", &message.parent_tool_use_id),
            input: field("tool_input"),
            output: field("tool_output"),
            text_delta: field("text_delta"),
            summary: field("summary"),
            raw_content: message.content.clone(),
            data,
            created_at: message.created_at,
        }
    }
}

/// A string field as text; other JSON values are rendered so that nothing is lost, and
/// `null` or empty strings count as absent.
fn text_field(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(content: &str, extra: serde_json::Value) -> Message {
        let mut v = serde_json::json!({
            "id": "cmsg_p", "job_id": "job_1", "content": content,
            "role": "progress", "status": "completed",
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn envelope_fields_are_read() {
        let m = progress(
            r#"{"job_id":"job_1","progress_type":"tool_use","tool_name":"Bash","tool_status":"running",
                "tool_use_id":"tu_1","parent_tool_use_id":"tu_0","tool_input":"ls -la","tool_output":"",
                "summary":"Running ls"}"#,
            serde_json::json!({}),
        );
        let p = ProgressEvent::from_message(&m);
        assert_eq!(p.message_id, "cmsg_p");
        assert_eq!(p.progress_type.as_deref(), Some("tool_use"));
        assert_eq!(p.tool_name.as_deref(), Some("Bash"));
        assert_eq!(p.tool_status.as_deref(), Some("running"));
        assert_eq!(p.tool_use_id.as_deref(), Some("tu_1"));
        assert_eq!(p.parent_tool_use_id.as_deref(), Some("tu_0"));
        assert_eq!(p.input.as_deref(), Some("ls -la"));
        assert_eq!(p.output, None, "empty strings count as absent");
        assert_eq!(p.summary.as_deref(), Some("Running ls"));
        assert!(p.data.is_some());
    }

    #[test]
    fn top_level_fields_fill_gaps_but_do_not_override() {
        let m = progress(
            r#"{"progress_type":"text","text_delta":"Hello"}"#,
            serde_json::json!({"progress_type": "step", "tool_name": "Read"}),
        );
        let p = ProgressEvent::from_message(&m);
        assert_eq!(p.progress_type.as_deref(), Some("text"));
        assert_eq!(p.tool_name.as_deref(), Some("Read"));
        assert_eq!(p.text_delta.as_deref(), Some("Hello"));
    }

    #[test]
    fn non_json_and_odd_json_pass_through() {
        for content in ["plain words", "", "[1,2]", "\"str\"", "{broken", "null"] {
            let p = ProgressEvent::from_message(&progress(content, serde_json::json!({})));
            assert_eq!(p.raw_content, content);
            assert_eq!(p.progress_type, None);
            assert_eq!(p.data, None);
        }
        let p = ProgressEvent::from_message(&progress(
            "not json",
            serde_json::json!({"progress_type": "thinking"}),
        ));
        assert_eq!(p.progress_type.as_deref(), Some("thinking"));
    }

    #[test]
    fn unknown_types_and_non_string_values_are_kept() {
        let p = ProgressEvent::from_message(&progress(
            r#"{"progress_type":"hologram","tool_input":{"path":"/a"},"tool_output":42,"summary":null}"#,
            serde_json::json!({}),
        ));
        assert_eq!(p.progress_type.as_deref(), Some("hologram"));
        assert_eq!(p.input.as_deref(), Some(r#"{"path":"/a"}"#));
        assert_eq!(p.output.as_deref(), Some("42"));
        assert_eq!(p.summary, None);
    }
}
