//! `client.agents()`: agents, deploy, and the agent-scoped sub-resources.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{Agent, CreateAgent, DeployAgent, DeployStatus, UpdateAgent};

use super::agent_conversations::AgentConversations;
use super::env_vars::EnvVars;
use super::resources::Resources;

/// The agents API group.
#[derive(Debug, Clone, Copy)]
pub struct Agents<'c> {
    client: &'c Client,
}

impl<'c> Agents<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Agents { client }
    }

    /// `GET /agents`: every agent of the organisation.
    pub async fn list(&self) -> Result<Vec<Agent>> {
        self.client.call(op::AGENTS_LIST.request(&[])?).await
    }

    /// `POST /agents`: creates an agent (it is not deployed).
    pub async fn create(&self, body: &CreateAgent) -> Result<Agent> {
        body.validate()?;
        self.client
            .call(op::AGENTS_CREATE.request(&[])?.json(body)?)
            .await
    }

    /// `GET /agents/{agent_id}`: one agent by `cci_` id or slug.
    pub async fn get(&self, agent_id: &str) -> Result<Agent> {
        self.client.call(op::AGENTS_GET.request(&[agent_id])?).await
    }

    /// `PATCH /agents/{agent_id}`: changes only the fields that are set.
    pub async fn update(&self, agent_id: &str, body: &UpdateAgent) -> Result<Agent> {
        self.client
            .call(op::AGENTS_UPDATE.request(&[agent_id])?.json(body)?)
            .await
    }

    /// `DELETE /agents/{agent_id}`.
    pub async fn delete(&self, agent_id: &str) -> Result<()> {
        self.client
            .call_empty(op::AGENTS_DELETE.request(&[agent_id])?)
            .await
    }

    /// `POST /agents/{agent_id}/deploy`: starts an asynchronous (re)deploy.
    pub async fn deploy(&self, agent_id: &str, body: &DeployAgent) -> Result<DeployStatus> {
        self.client
            .call(op::AGENTS_DEPLOY.request(&[agent_id])?.json(body)?)
            .await
    }

    /// Resources (rules, MCP configs, skills, vaults, integrations, models) attached to agents.
    pub fn resources(&self) -> Resources<'c> {
        Resources::new(self.client)
    }

    /// Plaintext environment variables of agents.
    pub fn env_vars(&self) -> EnvVars<'c> {
        EnvVars::new(self.client)
    }

    /// An agent's conversations, filtered and paginated.
    pub fn conversations(&self) -> AgentConversations<'c> {
        AgentConversations::new(self.client)
    }
}
