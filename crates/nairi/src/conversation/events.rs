//! What `watch` yields while a turn runs.

use std::time::Duration;

use serde::Serialize;

use super::errors::TurnFailed;
use super::progress::ProgressEvent;
use super::turn::Turn;
use crate::types::{Message, MessageStatus};

/// Called with each event of a `run` whose options ask for them
/// ([`RunOptions::on_event`](super::RunOptions::on_event)).
pub type EventCallback = dyn Fn(&TurnEvent) + Send + Sync;

/// One event of a running turn. Each message is delivered once, however often the thread is
/// listed; the last event is `Completed` or `Failed`, right after the change to the terminal
/// status (when one was seen), which follows the turn's messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // events are moved once each; boxing would only add noise
#[non_exhaustive]
pub enum TurnEvent {
    /// The user message's status changed (`from` is `None` on the first poll).
    StatusChanged {
        /// The previous status.
        from: Option<MessageStatus>,
        /// The new status.
        to: MessageStatus,
    },
    /// The turn has been `queued` for [`WaitOptions::queued_warning`](super::WaitOptions) or
    /// longer (emitted once): the agent may not be deployed (a deploy is asynchronous and has
    /// no status endpoint) or has no free instance. The wait goes on.
    StillQueued {
        /// How long the wait has lasted so far, in seconds in the serde form.
        #[serde(serialize_with = "crate::serde_secs::serialize")]
        #[cfg_attr(feature = "schema", schemars(with = "f64"))]
        waited: Duration,
    },
    /// A progress message (a preview: best-effort, unordered, possibly after the reply).
    Progress(ProgressEvent),
    /// An assistant message of this turn.
    Assistant(Message),
    /// A system message of this turn (git notices, error notices, completion reasons).
    System(Message),
    /// The turn finished with a reply.
    Completed(Turn),
    /// The turn failed.
    Failed(TurnFailed),
}

impl TurnEvent {
    /// Whether this is the last event (`Completed` or `Failed`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, TurnEvent::Completed(_) | TurnEvent::Failed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_a_type_tag() {
        let message: Message = serde_json::from_value(serde_json::json!({
            "id": "cmsg_a", "job_id": "job_1", "content": "hi", "role": "assistant",
            "status": "completed", "future_field": 1
        }))
        .unwrap();
        let turn = Turn::from_turn_messages(
            "job_1",
            "cmsg_u",
            MessageStatus::Completed,
            vec![message.clone()],
        );
        let failed = TurnFailed::from_turn_messages("job_1", "cmsg_u", &[]);
        let progress = ProgressEvent::from_message(&message);
        let cases = [
            (
                TurnEvent::StatusChanged {
                    from: None,
                    to: MessageStatus::Queued,
                },
                "status_changed",
            ),
            (
                TurnEvent::StillQueued {
                    waited: Duration::from_millis(1500),
                },
                "still_queued",
            ),
            (TurnEvent::Progress(progress), "progress"),
            (TurnEvent::Assistant(message.clone()), "assistant"),
            (TurnEvent::System(message), "system"),
            (TurnEvent::Completed(turn), "completed"),
            (TurnEvent::Failed(failed), "failed"),
        ];
        for (event, tag) in cases {
            let v = serde_json::to_value(&event).unwrap();
            assert_eq!(v["type"], tag);
            assert_eq!(event.is_terminal(), matches!(tag, "completed" | "failed"));
            if tag == "still_queued" {
                assert_eq!(v["waited"], 1.5);
            }
        }
    }
}
