//! `client.agents().resources()`: attach and detach entities.

use crate::client::Client;
use crate::error::Result;
use crate::path::segment;
use crate::transport::ApiRequest;
use crate::types::{AssignResource, Resource};

use super::agents::agent_path;

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
            .call(ApiRequest::get(agent_path(agent_id, "/resources")?))
            .await
    }

    /// `POST /agents/{agent_id}/resources`: takes effect on the next deploy.
    pub async fn assign(&self, agent_id: &str, body: &AssignResource) -> Result<Resource> {
        if !body.entity_type.is_known() {
            return Err(crate::Error::validation(
                "entity_type",
                format!(
                    "{:?} is not one of {}",
                    body.entity_type.as_str(),
                    crate::types::EntityType::KNOWN.join(", ")
                ),
            ));
        }
        if body.entity_id.trim().is_empty() {
            return Err(crate::Error::validation("entity_id", "must not be empty"));
        }
        self.client
            .call(ApiRequest::post(agent_path(agent_id, "/resources")?).json(body)?)
            .await
    }

    /// `DELETE /agents/{agent_id}/resources/{resource_id}`: `resource_id` is the `ccr_` id.
    pub async fn unassign(&self, agent_id: &str, resource_id: &str) -> Result<()> {
        let suffix = format!("/resources/{}", segment(resource_id, "resource_id")?);
        self.client
            .call_empty(ApiRequest::delete(agent_path(agent_id, &suffix)?))
            .await
    }
}
