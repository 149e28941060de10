//! The generic call: an operation id and JSON arguments in, JSON out.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{BodyKind, Operation, find};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::FileUpload;

/// The arguments of [`Client::call_operation`], in the form every binding sends.
///
/// Path parameters are strings by name (`{"agent_id": "support-bot"}`); `query` and `body`
/// are the serde forms of the operation's query and body models (unknown keys are refused by
/// name, [`crate::types::Extra`] fields carry what this SDK version does not model); `file`
/// is the upload of a multipart operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CallArgs {
    /// Path parameters by name; every value a string.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub path: Map<String, Value>,
    /// Query parameters: the operation's query model.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub query: Map<String, Value>,
    /// The JSON body: the operation's body model (absent = `{}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// The file of an upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileUpload>,
}

impl CallArgs {
    /// No arguments.
    pub fn new() -> Self {
        CallArgs::default()
    }

    /// Adds a path parameter.
    pub fn path_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.path.insert(name.into(), Value::String(value.into()));
        self
    }

    /// Adds a query parameter.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }

    /// Sets the JSON body.
    pub fn body(mut self, body: impl Into<Value>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the file of an upload.
    pub fn file(mut self, file: FileUpload) -> Self {
        self.file = Some(file);
        self
    }

    /// Refuses arguments the operation does not take, by name, before anything is sent.
    fn check(&self, op: &Operation) -> Result<()> {
        if let Some(name) = self
            .path
            .keys()
            .find(|k| !op.path_params().any(|p| p == *k))
        {
            let known: Vec<_> = op.path_params().collect();
            return Err(Error::validation(
                name.as_str(),
                format!(
                    "{} has no path parameter {name:?} (it takes: {})",
                    op.id,
                    list_or_none(&known)
                ),
            ));
        }
        if op.query.is_none()
            && let Some(name) = self.query.keys().next()
        {
            return Err(Error::validation(
                name.as_str(),
                format!("{} takes no query parameters", op.id),
            ));
        }
        if !matches!(op.body, BodyKind::Json(_)) && self.body.is_some() {
            return Err(Error::validation(
                "body",
                format!("{} takes no JSON body", op.id),
            ));
        }
        if !matches!(op.body, BodyKind::Multipart(_)) && self.file.is_some() {
            return Err(Error::validation(
                "file",
                format!("{} takes no file", op.id),
            ));
        }
        Ok(())
    }

    /// A path parameter, which must be a string.
    pub(crate) fn arg(&self, name: &str) -> Result<String> {
        match self.path.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(Error::validation(
                name,
                format!("must be a string, not {}", json_type(other)),
            )),
            None => Err(Error::validation(name, "is required")),
        }
    }

    /// The query model.
    pub(crate) fn query_model<T: DeserializeOwned>(&self) -> Result<T> {
        decode_arg("query", Value::Object(self.query.clone()))
    }

    /// The body model; an absent body is `{}`, so required fields are named as missing.
    pub(crate) fn body_model<T: DeserializeOwned>(&self) -> Result<T> {
        let body = self.body.clone().unwrap_or(Value::Object(Map::new()));
        decode_arg("body", body)
    }

    /// The upload's file.
    pub(crate) fn take_file(&mut self) -> Result<FileUpload> {
        self.file
            .take()
            .ok_or_else(|| Error::validation("file", "is required"))
    }
}

/// Decodes one argument, naming the offending field (`body.instances_count`, `body.nmae`).
pub(super) fn decode_arg<T: DeserializeOwned>(what: &str, value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.inner().to_string();
        // The path names an unknown key too (`body.nmae`).
        let field = match e.path().to_string().as_str() {
            "." => what.to_owned(),
            path => format!("{what}.{path}"),
        };
        Error::validation(field, inner)
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// What a generic call's result comes back as: a [`Value`] ([`Client::call_operation`]), or
/// the same JSON as text ([`Client::call_operation_text`]), encoded straight from the typed
/// result without building the `Value` first.
pub(crate) trait ResultForm: Sized {
    /// The typed result in this form.
    fn encode<T: Serialize>(out: &T) -> serde_json::Result<Self>;
}

impl ResultForm for Value {
    fn encode<T: Serialize>(out: &T) -> serde_json::Result<Self> {
        serde_json::to_value(out)
    }
}

impl ResultForm for String {
    fn encode<T: Serialize>(out: &T) -> serde_json::Result<Self> {
        serde_json::to_string(out)
    }
}

/// The JSON form `J` of a typed result.
pub(super) fn to_json<J: ResultForm, T: Serialize>(op: &Operation, out: &T) -> Result<J> {
    J::encode(out).map_err(|e| Error::Decode {
        endpoint: format!("{} {}", op.method, op.path),
        message: format!("the result could not be encoded as JSON: {e}"),
        snippet: String::new(),
    })
}

pub(super) fn unknown_operation(id: &str) -> Error {
    Error::validation(
        "operation",
        format!("{id:?} is not an operation id (see nairi::operations::OPERATIONS)"),
    )
}

impl Client {
    /// Runs an operation by id with JSON arguments and returns its result as JSON: exactly
    /// what the typed method does (validation, path encoding, retries, error mapping), since
    /// it calls it. Lists come back as arrays, `()` as `null`. The conversation layer's
    /// `conversations.wait`, `conversations.run` and `conversations.run_follow_up`
    /// ([`super::TURN_CALLS`]) run here too and give the `Turn`; the streams (`watch`,
    /// `agents.conversations.list_all`) are [`Client::stream_operation`].
    ///
    /// Arguments the operation does not take are refused by name before anything is sent.
    ///
    /// ```no_run
    /// # async fn demo(client: nairi::Client) -> nairi::Result<()> {
    /// use nairi::operations::CallArgs;
    /// let args = CallArgs::new()
    ///     .path_param("agent_id", "support-bot")
    ///     .body(serde_json::json!({ "description": "Answers billing questions" }));
    /// let agent = client.call_operation("agents.update", args).await?;
    /// # let _ = agent; Ok(()) }
    /// ```
    pub async fn call_operation(&self, id: &str, args: CallArgs) -> Result<Value> {
        self.call_operation_with_events(id, args, None).await
    }

    /// [`Client::call_operation`] whose `conversations.run` or `conversations.run_follow_up`
    /// hands every event of the turn to `on_event` as it happens (the core's
    /// [`crate::RunOptions::on_event`], which a JSON body cannot carry); for every other id
    /// the callback is never called.
    pub async fn call_operation_with_events(
        &self,
        id: &str,
        args: CallArgs,
        on_event: Option<std::sync::Arc<crate::conversation::EventCallback>>,
    ) -> Result<Value> {
        self.call_operation_as(id, args, on_event).await
    }

    /// [`Client::call_operation_with_events`] giving the result's JSON text, encoded straight
    /// from the typed result: it parses to the same [`Value`], but its object keys come in the
    /// models' field order (a `Value`'s map sorts them). For the bindings, which hand JSON text
    /// to another language: building the `Value` first and then its text costs a tree of
    /// allocations per call.
    ///
    /// ```no_run
    /// # async fn demo(client: nairi::Client) -> nairi::Result<()> {
    /// use nairi::operations::CallArgs;
    /// let args = CallArgs::new().path_param("agent_id", "support-bot");
    /// let json: String = client.call_operation_text("agents.get", args, None).await?;
    /// # let _ = json; Ok(()) }
    /// ```
    pub async fn call_operation_text(
        &self,
        id: &str,
        args: CallArgs,
        on_event: Option<std::sync::Arc<crate::conversation::EventCallback>>,
    ) -> Result<String> {
        self.call_operation_as(id, args, on_event).await
    }

    async fn call_operation_as<J: ResultForm>(
        &self,
        id: &str,
        args: CallArgs,
        on_event: Option<std::sync::Arc<crate::conversation::EventCallback>>,
    ) -> Result<J> {
        let Some(op) = find(id) else {
            return super::turns::dispatch(self, id, args, on_event)
                .await
                .unwrap_or_else(|| Err(unknown_operation(id)));
        };
        args.check(op)?;
        super::table::dispatch(self, op.id, args).await
    }
}
