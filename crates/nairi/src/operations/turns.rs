//! The conversation layer's calls (`wait`, `run`, `run_follow_up`, `watch`) by id, so that a
//! binding drives a turn through the same generic entry points as the 54 operations.

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::call::{CallArgs, ResultForm, decode_arg};
use crate::client::Client;
use std::sync::Arc;

use crate::conversation::{EventCallback, RunOptions, WaitOptions};
use crate::error::{Error, Result};
use crate::types::{StartConversation, TurnHandle};

/// A call of the conversation layer: not one HTTP request but a loop of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnCall {
    /// Stable id (`conversations.run`).
    pub id: &'static str,
    /// The namespace of the method.
    pub group: &'static str,
    /// The method's name within its group.
    pub name: &'static str,
    /// Path parameters, taken from [`CallArgs::path`].
    pub path_params: &'static [&'static str],
    /// The body model, taken from [`CallArgs::body`].
    pub body: &'static str,
    /// What it gives: `Turn`, or a stream of `TurnEvent` for `watch`.
    pub result: &'static str,
    /// One-line description.
    pub summary: &'static str,
}

/// Body of `conversations.wait` and `conversations.watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WaitArgs {
    /// The turn: what `start` or `follow_up` returned.
    pub handle: TurnHandle,
    /// How to wait (defaults when absent).
    #[serde(default)]
    pub options: WaitOptions,
}

/// Body of `conversations.run`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunArgs {
    /// What to start.
    pub request: StartConversation,
    /// What to send with it and how to wait (defaults when absent).
    #[serde(default)]
    pub options: RunOptions,
}

/// Body of `conversations.run_follow_up`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunFollowUpArgs {
    /// The follow-up prompt.
    pub prompt: String,
    /// What to send with it and how to wait (defaults when absent).
    #[serde(default)]
    pub options: RunOptions,
}

/// The conversation layer's calls.
pub static TURN_CALLS: &[TurnCall] = &[
    TurnCall {
        id: "conversations.wait",
        group: "conversations",
        name: "wait",
        path_params: &[],
        body: "WaitArgs",
        result: "Turn",
        summary: "Wait for a turn to finish and return its reply.",
    },
    TurnCall {
        id: "conversations.run",
        group: "conversations",
        name: "run",
        path_params: &[],
        body: "RunArgs",
        result: "Turn",
        summary: "Start a conversation and wait for the reply.",
    },
    TurnCall {
        id: "conversations.run_follow_up",
        group: "conversations",
        name: "run_follow_up",
        path_params: &["job_id"],
        body: "RunFollowUpArgs",
        result: "Turn",
        summary: "Send a follow-up prompt and wait for the reply.",
    },
    TurnCall {
        id: "conversations.watch",
        group: "conversations",
        name: "watch",
        path_params: &[],
        body: "WaitArgs",
        result: "Stream<TurnEvent>",
        summary: "Stream a turn's events: status changes, progress, messages, then the end.",
    },
    TurnCall {
        id: "agents.conversations.list_all",
        group: "agents.conversations",
        name: "list_all",
        path_params: &["agent_id"],
        body: "ListConversations",
        result: "Stream<Conversation>",
        summary: "Every matching conversation of an agent, fetching pages as they are read.",
    },
];

impl TurnCall {
    /// Whether the call gives a stream ([`Client::stream_operation`]) rather than one value.
    pub fn is_stream(&self) -> bool {
        self.result.starts_with("Stream<")
    }
}

/// The turn call with this id, if there is one.
pub fn find_turn_call(id: &str) -> Option<&'static TurnCall> {
    TURN_CALLS.iter().find(|c| c.id == id)
}

fn check(call: &TurnCall, args: &CallArgs) -> Result<()> {
    if let Some(name) = args
        .path
        .keys()
        .find(|k| !call.path_params.contains(&k.as_str()))
    {
        return Err(Error::validation(
            name.as_str(),
            format!("{} has no path parameter {name:?}", call.id),
        ));
    }
    if let Some(name) = args.query.keys().next() {
        return Err(Error::validation(
            name.as_str(),
            format!("{} takes no query parameters", call.id),
        ));
    }
    if args.file.is_some() {
        return Err(Error::validation(
            "file",
            format!("{} takes no file", call.id),
        ));
    }
    Ok(())
}

/// Decodes the body, taking it out of `args`: the JSON tree would otherwise stay allocated
/// (about 2 KB per call) for the whole wait, which is most of a turn call's life.
fn body<T: serde::de::DeserializeOwned>(args: &mut CallArgs) -> Result<T> {
    let value = args
        .body
        .take()
        .ok_or_else(|| Error::validation("body", "is required"))?;
    decode_arg("body", value)
}

/// Runs `wait`, `run` or `run_follow_up`; `None` when `id` is none of them.
pub(crate) async fn dispatch<J: ResultForm>(
    client: &Client,
    id: &str,
    args: CallArgs,
    on_event: Option<Arc<EventCallback>>,
) -> Option<Result<J>> {
    let call = find_turn_call(id).filter(|c| !c.is_stream())?;
    // Boxed: a turn call's future is the largest of all the calls' (a few KB); inline, every
    // `call_operation` future (one per call a binding spawns) would be that large.
    Some(Box::pin(run_call(client, call, args, on_event)).await)
}

async fn run_call<J: ResultForm>(
    client: &Client,
    call: &TurnCall,
    mut args: CallArgs,
    on_event: Option<Arc<EventCallback>>,
) -> Result<J> {
    check(call, &args)?;
    let conversations = client.conversations();
    let turn = match call.name {
        "wait" => {
            let a: WaitArgs = body(&mut args)?;
            conversations.wait(&a.handle, &a.options).await?
        }
        "run" => {
            let mut a: RunArgs = body(&mut args)?;
            a.options.on_event = on_event;
            conversations.run(a.request, &a.options).await?
        }
        _ => {
            let job_id = args.arg("job_id")?;
            let mut a: RunFollowUpArgs = body(&mut args)?;
            a.options.on_event = on_event;
            conversations
                .run_follow_up(&job_id, &a.prompt, &a.options)
                .await?
        }
    };
    J::encode(&turn).map_err(|e| Error::Decode {
        endpoint: call.id.to_owned(),
        message: format!("the turn could not be encoded as JSON: {e}"),
        snippet: String::new(),
    })
}

fn json_items<J: ResultForm + 'static, T: Serialize + 'static>(
    id: &'static str,
    stream: BoxStream<'static, Result<T>>,
) -> BoxStream<'static, Result<J>> {
    stream
        .map(move |item| {
            item.and_then(|v| {
                J::encode(&v).map_err(|e| Error::Decode {
                    endpoint: id.into(),
                    message: format!("an item could not be encoded as JSON: {e}"),
                    snippet: String::new(),
                })
            })
        })
        .boxed()
}

impl Client {
    /// Runs a streaming call by id: `conversations.watch` (each [`crate::TurnEvent`] as its
    /// serde JSON, `{"type": "status_changed", ..}`, the last one `completed` or `failed`) or
    /// `agents.conversations.list_all` (each conversation, pages fetched as the stream is
    /// read; the body is the [`crate::types::ListConversations`] filter). An `Err` item ends
    /// the stream. Invalid arguments are refused before anything is sent.
    pub fn stream_operation(
        &self,
        id: &str,
        args: CallArgs,
    ) -> Result<BoxStream<'static, Result<Value>>> {
        self.stream_operation_as(id, args)
    }

    /// [`Client::stream_operation`] giving each item's JSON text, encoded straight from the
    /// typed item (keys in the models' field order, as [`Client::call_operation_text`]).
    pub fn stream_operation_text(
        &self,
        id: &str,
        args: CallArgs,
    ) -> Result<BoxStream<'static, Result<String>>> {
        self.stream_operation_as(id, args)
    }

    fn stream_operation_as<J: ResultForm + Send + 'static>(
        &self,
        id: &str,
        mut args: CallArgs,
    ) -> Result<BoxStream<'static, Result<J>>> {
        let call = find_turn_call(id)
            .filter(|c| c.is_stream())
            .ok_or_else(|| {
                Error::validation(
                    "operation",
                    format!("{id:?} is not a streaming call (see nairi::operations::TURN_CALLS)"),
                )
            })?;
        check(call, &args)?;
        match call.name {
            "watch" => {
                let a: WaitArgs = body(&mut args)?;
                a.options.validate()?;
                Ok(json_items(
                    call.id,
                    self.conversations().watch(&a.handle, &a.options),
                ))
            }
            _ => {
                let agent_id = args.arg("agent_id")?;
                let filter: crate::types::ListConversations = match &args.body {
                    Some(v) => decode_arg("body", v.clone())?,
                    None => Default::default(),
                };
                filter.validate()?;
                let stream = self.agents().conversations().list_all(&agent_id, filter);
                Ok(json_items(call.id, stream))
            }
        }
    }
}
