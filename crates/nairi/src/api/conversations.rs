//! `client.conversations()`: start and follow up (the raw calls); the wait/watch/run layer
//! lives in [`crate::conversation`].

use crate::client::Client;
use crate::error::Result;
use crate::path::segment;
use crate::transport::ApiRequest;
use crate::types::{
    ContinueAnswer, ContinueConversation, StartConversation, TurnHandle, validate_turn,
};

/// The conversations API group.
#[derive(Debug, Clone, Copy)]
pub struct Conversations<'c> {
    pub(crate) client: &'c Client,
}

impl<'c> Conversations<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Conversations { client }
    }

    /// `POST /conversations/start`: creates a job and sends its first prompt.
    ///
    /// Never retried on a 5xx or timeout: the server may have created the job.
    pub async fn start(&self, body: &StartConversation) -> Result<TurnHandle> {
        if body.agent_id.trim().is_empty() {
            return Err(crate::Error::validation("agent_id", "must not be empty"));
        }
        validate_turn(&body.prompt, &body.attachment_ids)?;
        self.client
            .call(ApiRequest::post("/conversations/start".into()).json(body)?)
            .await
    }

    /// `POST /conversations/{job_id}/continue`: sends a follow-up prompt on an API job.
    ///
    /// The returned handle adopts a `job_id` from the answer when present, else keeps `job_id`.
    pub async fn follow_up(&self, job_id: &str, body: &ContinueConversation) -> Result<TurnHandle> {
        validate_turn(&body.prompt, &body.attachment_ids)?;
        let path = format!("/conversations/{}/continue", segment(job_id, "job_id")?);
        let answer: ContinueAnswer = self.client.call(ApiRequest::post(path).json(body)?).await?;
        Ok(TurnHandle {
            job_id: answer
                .job_id
                .filter(|j| !j.trim().is_empty())
                .unwrap_or_else(|| job_id.to_owned()),
            message_id: answer.message_id,
        })
    }
}
