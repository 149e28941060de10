//! `client.agents().resources()`: attach and detach entities.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{AssignResource, Resource};

/// Resources attached to agents.
#[derive(Debug, Clone, Copy)]
pub struct Resources<'c> {
    client: &'c Client,
}

impl<'c> Resources<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Resources { client }
    }

    /// `GET /agents/{agent_id}/resources`.
    pub async fn list(&self, agent_id: &str) -> Result<Vec<Resource>> {
        self.client
            .call(op::AGENTS_RESOURCES_LIST.request(&[agent_id])?)
            .await
    }

    /// `POST /agents/{agent_id}/resources`: takes effect on the next deploy.
    ///
    /// An entity type this SDK version does not know (`EntityType::Unknown`) is sent as is:
    /// the server may support it. Only an empty type or id is refused before sending.
    pub async fn assign(&self, agent_id: &str, body: &AssignResource) -> Result<Resource> {
        body.validate()?;
        self.client
            .call(
                op::AGENTS_RESOURCES_ASSIGN
                    .request(&[agent_id])?
                    .json(body)?,
            )
            .await
    }

    /// `DELETE /agents/{agent_id}/resources/{resource_id}`: `resource_id` is the `ccr_` id.
    pub async fn unassign(&self, agent_id: &str, resource_id: &str) -> Result<()> {
        self.client
            .call_empty(op::AGENTS_RESOURCES_UNASSIGN.request(&[agent_id, resource_id])?)
            .await
    }
}
