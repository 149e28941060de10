//! `client.agents().conversations()`: an agent's conversation list, paged or streamed.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::operations as op;
use crate::types::{Conversation, ConversationPage, DEFAULT_PAGE_LIMIT, ListConversations};

/// The stream of [`AgentConversations::list_all`]: `Send`, `'static` and `Unpin`, so it can be
/// polled with `next().await` directly and moved across tasks.
pub type ConversationStream = BoxStream<'static, Result<Conversation>>;

/// An agent's conversations.
#[derive(Debug, Clone, Copy)]
pub struct AgentConversations<'c> {
    client: &'c Client,
}

/// Where the paging loop is.
struct Paging {
    client: Client,
    agent_id: String,
    params: ListConversations,
    offset: i64,
    /// Ids of the previous page, to notice a server that ignores `offset`.
    previous: Vec<String>,
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
        Ok(fetch_page(self.client, agent_id, params)
            .await?
            .conversations)
    }

    /// Every matching conversation, fetching pages as the stream is read; it stops after a
    /// page shorter than the limit. Filters are checked before the first request.
    ///
    /// A server that ignores `offset` would answer the same full page forever: when a page
    /// has exactly the ids of the previous one, the stream yields an
    /// [`Error::Decode`] (`APIResponseValidationError`) naming the offset, and ends.
    pub fn list_all(&self, agent_id: &str, params: ListConversations) -> ConversationStream {
        let limit = params.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        let state = Some(Paging {
            client: self.client.clone(),
            agent_id: agent_id.to_owned(),
            offset: params.offset.unwrap_or(0),
            params,
            previous: Vec::new(),
        });
        stream::try_unfold(state, move |state| async move {
            let Some(mut p) = state else {
                return Ok::<_, Error>(None);
            };
            p.params.limit = Some(limit);
            p.params.offset = Some(p.offset);
            let fetched = fetch_page(&p.client, &p.agent_id, &p.params).await?;
            // Entries left out as undecodable still occupied the page: count them for the
            // short-page test and the next offset, or one bad entry would end the stream early.
            let served = (fetched.conversations.len() + fetched.skipped) as i64;
            let page = fetched.conversations;
            let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
            if !ids.is_empty() && ids == p.previous {
                let req = op::AGENTS_CONVERSATIONS_LIST.request(&[&p.agent_id])?;
                let endpoint = format!("GET {}", req.path);
                return Err(Error::Decode {
                    endpoint,
                    message: format!(
                        "the page at offset {} repeats the previous page ({} conversations): \
                         the server seems to ignore `offset`; stopping instead of looping forever",
                        p.offset,
                        ids.len(),
                    ),
                    snippet: crate::error::truncate(&format!("ids {}", ids.join(", ")), 200),
                });
            }
            let next = (served >= limit).then(|| Paging {
                offset: p.offset + served,
                previous: ids,
                ..p
            });
            Ok(Some((stream::iter(page.into_iter().map(Ok)), next)))
        })
        .try_flatten()
        .boxed()
    }
}

async fn fetch_page(
    client: &Client,
    agent_id: &str,
    params: &ListConversations,
) -> Result<ConversationPage> {
    params.validate()?;
    let mut req = op::AGENTS_CONVERSATIONS_LIST.request(&[agent_id])?;
    for (k, v) in params.query() {
        req = req.query(k, v);
    }
    client.call(req).await
}
