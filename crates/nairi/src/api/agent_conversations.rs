//! `client.agents().conversations()`: an agent's conversation list, paged or streamed.

use futures::Stream;
use futures::stream::{self, TryStreamExt};

use crate::client::Client;
use crate::error::Result;
use crate::transport::ApiRequest;
use crate::types::{Conversation, ConversationPage, DEFAULT_PAGE_LIMIT, ListConversations};

use super::agents::agent_path;

/// An agent's conversations.
#[derive(Debug, Clone, Copy)]
pub struct AgentConversations<'c> {
    client: &'c Client,
}

impl<'c> AgentConversations<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        AgentConversations { client }
    }

    /// `GET /agents/{agent_id}/conversations`: one page, filters checked before sending.
    pub async fn list(
        &self,
        agent_id: &str,
        params: &ListConversations,
    ) -> Result<Vec<Conversation>> {
        fetch_page(self.client, agent_id, params).await
    }

    /// Every matching conversation, fetching pages as the stream is read; it stops after a
    /// page shorter than the limit. Filters are checked before the first request.
    pub fn list_all(
        &self,
        agent_id: &str,
        params: ListConversations,
    ) -> impl Stream<Item = Result<Conversation>> + Send + 'static {
        let client = self.client.clone();
        let agent_id = agent_id.to_owned();
        let limit = params.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        let start = params.offset.unwrap_or(0);
        let state = Some((client, agent_id, params, start));
        stream::try_unfold(state, move |state| async move {
            let Some((client, agent_id, mut params, offset)) = state else {
                return Ok::<_, crate::Error>(None);
            };
            params.limit = Some(limit);
            params.offset = Some(offset);
            let page = fetch_page(&client, &agent_id, &params).await?;
            let got = page.len() as i64;
            let next = (got >= limit).then(|| (client, agent_id, params, offset + got));
            Ok(Some((stream::iter(page.into_iter().map(Ok)), next)))
        })
        .try_flatten()
    }
}

async fn fetch_page(
    client: &Client,
    agent_id: &str,
    params: &ListConversations,
) -> Result<Vec<Conversation>> {
    params.validate()?;
    let mut req = ApiRequest::get(agent_path(agent_id, "/conversations")?);
    for (k, v) in params.query() {
        req = req.query(k, v);
    }
    let page: ConversationPage = client.call(req).await?;
    Ok(page.conversations)
}
