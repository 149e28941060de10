//! `client.messages()`: one message, and every message of a conversation.

use crate::client::Client;
use crate::error::Result;
use crate::path::segment;
use crate::transport::ApiRequest;
use crate::types::{Message, MessageList};

/// The messages API group.
#[derive(Debug, Clone, Copy)]
pub struct Messages<'c> {
    client: &'c Client,
}

impl<'c> Messages<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Messages { client }
    }

    /// `GET /messages/{message_id}`: one message (poll a prompt's status with it).
    pub async fn get(&self, message_id: &str) -> Result<Message> {
        let path = format!("/messages/{}", segment(message_id, "message_id")?);
        self.client.call(ApiRequest::get(path)).await
    }

    /// `GET /conversations/{job_id}/messages`: the whole thread, oldest first.
    pub async fn list(&self, job_id: &str) -> Result<Vec<Message>> {
        let path = format!("/conversations/{}/messages", segment(job_id, "job_id")?);
        let list: MessageList = self.client.call(ApiRequest::get(path)).await?;
        Ok(list.messages)
    }
}
