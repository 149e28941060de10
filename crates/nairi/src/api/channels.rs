//! `client.channels()`: Slack and Discord channels connected to the organisation.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::Channel;

/// The connected channels API group (read-only).
#[derive(Debug, Clone, Copy)]
pub struct Channels<'c> {
    client: &'c Client,
}

impl<'c> Channels<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Channels { client }
    }

    /// `GET /connected-channels`.
    pub async fn list(&self) -> Result<Vec<Channel>> {
        self.client.call(op::CHANNELS_LIST.request(&[])?).await
    }
}
