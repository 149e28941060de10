//! `client.messages()`: one message, and every message of a conversation.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
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
        self.client
            .call(op::MESSAGES_GET.request(&[message_id])?)
            .await
    }

    /// `GET /conversations/{job_id}/messages`: the whole thread, oldest first.
    pub async fn list(&self, job_id: &str) -> Result<Vec<Message>> {
        let list: MessageList = self
            .client
            .call(op::MESSAGES_LIST.request(&[job_id])?)
            .await?;
        Ok(list.messages)
    }
}
