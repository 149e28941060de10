//! `client.mcp_configs()`: MCP server configurations for agents.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{CreateMcpConfig, McpConfig, ReplaceMcpConfig};

/// The MCP configs API group (`/artifacts/mcp-configs`).
#[derive(Debug, Clone, Copy)]
pub struct McpConfigs<'c> {
    client: &'c Client,
}

impl<'c> McpConfigs<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        McpConfigs { client }
    }

    /// `GET /artifacts/mcp-configs`: every config (content omitted for sensitive ones).
    pub async fn list(&self) -> Result<Vec<McpConfig>> {
        self.client.call(op::MCP_CONFIGS_LIST.request(&[])?).await
    }

    /// `POST /artifacts/mcp-configs`: the content must hold at least one server.
    pub async fn create(&self, body: &CreateMcpConfig) -> Result<McpConfig> {
        body.validate()?;
        self.client
            .call(op::MCP_CONFIGS_CREATE.request(&[])?.json(body)?)
            .await
    }

    /// `GET /artifacts/mcp-configs/{config_id}`.
    pub async fn get(&self, config_id: &str) -> Result<McpConfig> {
        self.client
            .call(op::MCP_CONFIGS_GET.request(&[config_id])?)
            .await
    }

    /// `PUT /artifacts/mcp-configs/{config_id}`: replaces title and description, and the
    /// content when given.
    pub async fn replace(&self, config_id: &str, body: &ReplaceMcpConfig) -> Result<McpConfig> {
        body.validate()?;
        self.client
            .call(op::MCP_CONFIGS_REPLACE.request(&[config_id])?.json(body)?)
            .await
    }

    /// `DELETE /artifacts/mcp-configs/{config_id}`: fails (400) while attached to an agent.
    pub async fn delete(&self, config_id: &str) -> Result<()> {
        self.client
            .call_empty(op::MCP_CONFIGS_DELETE.request(&[config_id])?)
            .await
    }
}
