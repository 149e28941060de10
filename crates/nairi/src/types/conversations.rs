//! Conversations (jobs), their messages, and the start/continue requests.

use serde::{Deserialize, Serialize};

use super::common::{
    Extra, LenientList, Timestamp, lenient_enum, lenient_f64, lenient_int, lenient_opt_string,
    lenient_string, lenient_string_vec, lenient_text, lenient_timestamp, missing_enum, open_enum,
};

open_enum! {
    /// Who wrote a message.
    pub enum MessageRole {
        /// A prompt sent through the API.
        User => "user",
        /// A reply from the agent.
        Assistant => "assistant",
        /// A platform notice (errors, pull requests, completion).
        System => "system",
        /// An intermediate streaming event; `content` is a JSON envelope.
        Progress => "progress",
    }
}

open_enum! {
    /// Processing state of a message; the user message carries the turn's state.
    pub enum MessageStatus {
        /// Waiting for a free agent instance.
        Queued => "queued",
        /// Handed to an agent.
        Pending => "pending",
        /// Processed.
        Completed => "completed",
        /// Processing failed; a system message says why.
        Failed => "failed",
    }
}

/// `Unknown("")`, what a message without a role decodes to; not a role of its own. Kept
/// for code that builds such a message (the conversation layer's tests).
impl Default for MessageRole {
    fn default() -> Self {
        MessageRole::Unknown(String::new())
    }
}

/// `Unknown("")`, what a message without a status decodes to; not a status of its own. Kept
/// for code that builds such a message (the conversation layer's tests).
impl Default for MessageStatus {
    fn default() -> Self {
        MessageStatus::Unknown(String::new())
    }
}

impl MessageStatus {
    /// Whether the turn is over (`completed` or `failed`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, MessageStatus::Completed | MessageStatus::Failed)
    }
}

open_enum! {
    /// State of a conversation (job).
    pub enum JobStatus {
        /// Running or waiting for more turns.
        Active => "active",
        /// Ended (pull request merged or closed, inactivity...).
        Completed => "completed",
        /// The last turn failed; continuing retries.
        Error => "error",
        /// Ended without completion.
        Abandoned => "abandoned",
    }
}

open_enum! {
    /// Ordering of the agent conversation list.
    pub enum ConversationSort {
        /// Oldest first.
        CreatedAtAsc => "created_at_asc",
        /// Newest first (the server default).
        CreatedAtDesc => "created_at_desc",
        /// Least recently updated first (for sync loops).
        UpdatedAtAsc => "updated_at_asc",
        /// Most recently updated first.
        UpdatedAtDesc => "updated_at_desc",
    }
}

/// `CreatedAtDesc`, newest first: the order the server uses when none is asked for.
impl Default for ConversationSort {
    fn default() -> Self {
        ConversationSort::CreatedAtDesc
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Message {
    /// The `cmsg_...` id.
    pub id: String,
    /// The conversation (`job_...` or legacy `j_...`); `""` when null, missing or not a string.
    #[serde(default, deserialize_with = "lenient_string")]
    pub job_id: String,
    /// Text; for progress messages a JSON-encoded envelope. `""` when null or missing; a
    /// value that is not a string (an object, a number) is kept as its JSON text.
    #[serde(default, deserialize_with = "lenient_text")]
    pub content: String,
    /// Author; `Unknown("")` when null, missing or not a string.
    #[serde(
        default = "missing_enum::<MessageRole>",
        deserialize_with = "lenient_enum"
    )]
    pub role: MessageRole,
    /// Processing state; `Unknown("")` when null, missing or not a string.
    #[serde(
        default = "missing_enum::<MessageStatus>",
        deserialize_with = "lenient_enum"
    )]
    pub status: MessageStatus,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub updated_at: Option<Timestamp>,
    /// Attachments sent with a user message or produced by the agent (omitted when none).
    /// Only string entries are kept; a single string is a one-element list.
    #[serde(default, deserialize_with = "lenient_string_vec")]
    pub attachment_ids: Vec<String>,
    /// Cost in USD (assistant messages, when the harness reports usage).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub cost_usd: Option<f64>,
    /// Input tokens.
    #[serde(default, deserialize_with = "lenient_int")]
    pub input_tokens: Option<i64>,
    /// Output tokens.
    #[serde(default, deserialize_with = "lenient_int")]
    pub output_tokens: Option<i64>,
    /// Cache read tokens.
    #[serde(default, deserialize_with = "lenient_int")]
    pub cache_read_tokens: Option<i64>,
    /// Cache write tokens.
    #[serde(default, deserialize_with = "lenient_int")]
    pub cache_write_tokens: Option<i64>,
    /// Model that produced the reply.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub model: Option<String>,
    /// Progress event type (`text`, `tool_use`, ...; open set).
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub progress_type: Option<String>,
    /// Tool call id of a progress event.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub tool_use_id: Option<String>,
    /// Parent tool call id (events from a subagent).
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub parent_tool_use_id: Option<String>,
    /// Tool name of a progress event.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub tool_name: Option<String>,
    /// Tool status of a progress event (`running`, `completed`, `error`...).
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub tool_status: Option<String>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Wrapper of `GET /conversations/{job_id}/messages`.
///
/// Decoded one message at a time: a message that is not an object or has no non-empty string
/// `id` is left out (and counted in `skipped`, with a warning) instead of failing the whole
/// list, so one odd message never makes every listing of its job fail.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct MessageList {
    /// Every message of the job, oldest first.
    pub messages: Vec<Message>,
    /// Messages left out because they had no usable id (never serialized).
    #[serde(skip)]
    pub skipped: usize,
}

impl<'de> Deserialize<'de> for MessageList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            messages: LenientList<Message>,
        }
        let LenientList { items, skipped } = Wire::deserialize(d)?.messages;
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "message list: messages without a usable id left out"
            );
        }
        Ok(MessageList {
            messages: items,
            skipped,
        })
    }
}

/// Answer of start and continue: the conversation and the user message to poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TurnHandle {
    /// The conversation.
    pub job_id: String,
    /// The user message of this turn.
    pub message_id: String,
    /// Whether the SDK found this turn after an ambiguous failure of `start` or `continue`
    /// (the prompt had reached the server; the answer had not reached the client) instead of
    /// reading it from the answer. The prompt was sent once either way.
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "super::common::null_as_default"
    )]
    pub recovered: bool,
}

impl TurnHandle {
    /// The handle of a turn: its conversation and its user message.
    pub fn new(job_id: impl Into<String>, message_id: impl Into<String>) -> Self {
        TurnHandle {
            job_id: job_id.into(),
            message_id: message_id.into(),
            recovered: false,
        }
    }
}

/// Answer of continue, where `job_id` may be absent (the old one is then kept).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ContinueAnswer {
    #[serde(default)]
    pub(crate) job_id: Option<String>,
    pub(crate) message_id: String,
}

/// Body of `POST /conversations/start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StartConversation {
    /// Agent id (`cci_...`) or slug.
    pub agent_id: String,
    /// The first prompt (non-empty).
    pub prompt: String,
    /// Read-only ask mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_mode: Option<bool>,
    /// Up to 10 attachment ids from this organisation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_ids: Vec<String>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl StartConversation {
    /// A start request with the server's defaults.
    pub fn new(agent_id: impl Into<String>, prompt: impl Into<String>) -> Self {
        StartConversation {
            agent_id: agent_id.into(),
            prompt: prompt.into(),
            ..Default::default()
        }
    }
}

/// Body of `POST /conversations/{job_id}/continue`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContinueConversation {
    /// The follow-up prompt (non-empty).
    pub prompt: String,
    /// Up to 10 attachment ids from this organisation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_ids: Vec<String>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl ContinueConversation {
    /// A follow-up with this prompt.
    pub fn new(prompt: impl Into<String>) -> Self {
        ContinueConversation {
            extra: Default::default(),
            prompt: prompt.into(),
            attachment_ids: Vec::new(),
        }
    }
}

/// One conversation of an agent, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Conversation {
    /// The job id.
    pub id: String,
    /// The agent (may be absent on older servers); `None` when not a string.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub agent_id: Option<String>,
    /// Job status; `Unknown("")` when null, missing or not a string.
    #[serde(
        default = "missing_enum::<JobStatus>",
        deserialize_with = "lenient_enum"
    )]
    pub status: JobStatus,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub updated_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Wrapper of `GET /agents/{agent_id}/conversations`.
///
/// Decoded one conversation at a time, like [`MessageList`]: an entry that is not an object
/// or has no non-empty string `id` is left out and counted in `skipped`, with a warning.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ConversationPage {
    /// This page's conversations.
    pub conversations: Vec<Conversation>,
    /// Conversations left out because they had no usable id (never serialized).
    #[serde(skip)]
    pub skipped: usize,
}

impl<'de> Deserialize<'de> for ConversationPage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            conversations: LenientList<Conversation>,
        }
        let LenientList { items, skipped } = Wire::deserialize(d)?.conversations;
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "conversation page: conversations without a usable id left out"
            );
        }
        Ok(ConversationPage {
            conversations: items,
            skipped,
        })
    }
}

/// Filters of the agent conversation list, validated before sending.
///
/// Its serde form (the generic call's `query`) has the same fields; `updated_after` is an
/// RFC 3339 string and `status` a list of statuses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListConversations {
    /// Only these statuses (sent as CSV); empty = all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<JobStatus>,
    /// Only conversations updated strictly after this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<Timestamp>,
    /// Ordering (server default `created_at_desc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<ConversationSort>,
    /// Page size, 1..=100 (server default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Items to skip, >= 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// Largest page the server accepts.
pub const MAX_PAGE_LIMIT: i64 = 100;
/// Page size the server uses when none is given.
pub const DEFAULT_PAGE_LIMIT: i64 = 50;
/// Attachments allowed on one message.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

impl ListConversations {
    /// Checks every filter; the error names the first bad one.
    pub fn validate(&self) -> crate::Result<()> {
        if let Some(bad) = self.status.iter().find(|s| !s.is_known()) {
            return Err(crate::Error::validation(
                "status",
                format!("{bad:?} is not one of {}", JobStatus::KNOWN.join(", ")),
            ));
        }
        if let Some(sort) = &self.sort
            && !sort.is_known()
        {
            return Err(crate::Error::validation(
                "sort",
                format!(
                    "{:?} is not one of {}",
                    sort.as_str(),
                    ConversationSort::KNOWN.join(", ")
                ),
            ));
        }
        if let Some(limit) = self.limit
            && !(1..=MAX_PAGE_LIMIT).contains(&limit)
        {
            return Err(crate::Error::validation(
                "limit",
                format!("{limit} is outside 1..={MAX_PAGE_LIMIT}"),
            ));
        }
        if let Some(offset) = self.offset
            && offset < 0
        {
            return Err(crate::Error::validation(
                "offset",
                format!("{offset} is negative"),
            ));
        }
        Ok(())
    }

    /// The query pairs to send.
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.status.is_empty() {
            let csv: Vec<&str> = self.status.iter().map(JobStatus::as_str).collect();
            q.push(("status", csv.join(",")));
        }
        if let Some(t) = self.updated_after {
            q.push((
                "updated_after",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ));
        }
        if let Some(sort) = &self.sort {
            q.push(("sort", sort.as_str().to_owned()));
        }
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            q.push(("offset", offset.to_string()));
        }
        q
    }
}

/// Checks a prompt and its attachment ids before a start or continue is sent.
pub(crate) fn validate_turn(prompt: &str, attachment_ids: &[String]) -> crate::Result<()> {
    if prompt.trim().is_empty() {
        return Err(crate::Error::validation("prompt", "must not be empty"));
    }
    if attachment_ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(crate::Error::validation(
            "attachment_ids",
            format!(
                "{} given, at most {MAX_ATTACHMENTS_PER_MESSAGE} per message",
                attachment_ids.len()
            ),
        ));
    }
    if let Some(bad) = attachment_ids.iter().find(|id| id.trim().is_empty()) {
        return Err(crate::Error::validation(
            "attachment_ids",
            format!("{bad:?} is not an attachment id"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_decodes_minimal_and_future_shapes() {
        let m: Message = serde_json::from_str(
            r#"{"id":"cmsg_1","job_id":"j_1","content":null,"role":"narrator","status":"thinking","sentiment":"calm"}"#,
        )
        .unwrap();
        assert_eq!(m.content, "");
        assert_eq!(m.role, MessageRole::Unknown("narrator".into()));
        assert_eq!(m.status, MessageStatus::Unknown("thinking".into()));
        assert!(m.attachment_ids.is_empty());
        assert_eq!(m.extra["sentiment"], "calm");
    }

    #[test]
    fn message_list_counts_left_out_elements() {
        let list: MessageList = serde_json::from_str(
            r#"{"messages":[{"id":"cmsg_1","content":{"a":1}},{"id":null},7,
                {"id":"cmsg_2","role":3,"attachment_ids":[null,"att_1"]}]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = list.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["cmsg_1", "cmsg_2"]);
        assert_eq!(list.skipped, 2);
        assert_eq!(list.messages[0].content, r#"{"a":1}"#);
        assert_eq!(list.messages[1].role, MessageRole::default());
        assert_eq!(list.messages[1].attachment_ids, ["att_1"]);
        let json = serde_json::to_value(&list).unwrap();
        assert!(json.get("skipped").is_none(), "skipped is never serialized");
        let back: MessageList = serde_json::from_value(json).unwrap();
        assert_eq!(back.messages, list.messages);
        assert_eq!(back.skipped, 0);
    }

    #[test]
    fn conversation_page_counts_left_out_elements() {
        let page: ConversationPage = serde_json::from_str(
            r#"{"conversations":[{"id":"job_1","status":"active","agent_id":"cci_1"},
                {"id":17},null,{"status":"active"},
                {"id":"job_2","status":{"v":1},"agent_id":5,"updated_at":"x"}]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = page.conversations.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["job_1", "job_2"]);
        assert_eq!(page.skipped, 3);
        assert_eq!(page.conversations[0].status, JobStatus::Active);
        assert_eq!(page.conversations[0].agent_id.as_deref(), Some("cci_1"));
        assert_eq!(
            page.conversations[1].status,
            JobStatus::Unknown(String::new())
        );
        assert_eq!(page.conversations[1].agent_id, None);
        let empty: ConversationPage = serde_json::from_str(r#"{"conversations":null}"#).unwrap();
        assert!(empty.conversations.is_empty());
        assert!(serde_json::from_str::<ConversationPage>(r#"{"conversations":{}}"#).is_err());
    }

    #[test]
    fn list_filters_are_validated() {
        let ok = ListConversations {
            status: vec![JobStatus::Active, JobStatus::Error],
            limit: Some(100),
            offset: Some(0),
            ..Default::default()
        };
        ok.validate().unwrap();
        assert_eq!(ok.query()[0], ("status", "active,error".to_owned()));
        for bad in [
            ListConversations {
                limit: Some(0),
                ..Default::default()
            },
            ListConversations {
                limit: Some(101),
                ..Default::default()
            },
            ListConversations {
                offset: Some(-1),
                ..Default::default()
            },
            ListConversations {
                status: vec![JobStatus::from("Active")],
                ..Default::default()
            },
            ListConversations {
                sort: Some(ConversationSort::from("newest")),
                ..Default::default()
            },
        ] {
            assert_eq!(
                bad.validate().unwrap_err().kind(),
                crate::ErrorKind::Validation,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn turn_validation() {
        assert!(validate_turn("hi", &[]).is_ok());
        assert!(validate_turn("  ", &[]).is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("att_{i}")).collect();
        assert!(validate_turn("hi", &eleven).is_err());
    }
}
