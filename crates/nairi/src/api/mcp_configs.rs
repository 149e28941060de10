//! `client.mcp_configs()`: MCP server configurations for agents.

use crate::client::Client;
use crate::error::Result;
use crate::path::segment;
use crate::transport::ApiRequest;
use crate::types::{CreateMcpConfig, McpConfig, ReplaceMcpConfig};

/// The MCP configs API group (`/artifacts/mcp-configs`).
#[derive(Debug, Clone, Copy)]
pub struct McpConfigs<'c> {
    client: &'c Client,
}

fn config_path(config_id: &str) -> Result<String> {
    Ok(format!(
        "/artifacts/mcp-configs/{}",
        segment(config_id, "config_id")?
    ))
}

impl<'c> McpConfigs<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        McpConfigs { client }
    }

    /// `GET /artifacts/mcp-configs`: every config (content omitted for sensitive ones).
    pub async fn list(&self) -> Result<Vec<McpConfig>> {
        self.client
            .call(ApiRequest::get("/artifacts/mcp-configs".into()))
            .await
    }

    /// `POST /artifacts/mcp-configs`: the content must hold at least one server.
    pub async fn create(&self, body: &CreateMcpConfig) -> Result<McpConfig> {
        body.validate()?;
        self.client
            .call(ApiRequest::post("/artifacts/mcp-configs".into()).json(body)?)
            .await
    }

    /// `GET /artifacts/mcp-configs/{config_id}`.
    pub async fn get(&self, config_id: &str) -> Result<McpConfig> {
        self.client
            .call(ApiRequest::get(config_path(config_id)?))
            .await
    }

    /// `PUT /artifacts/mcp-configs/{config_id}`: replaces title and description, and the
    /// content when given.
    pub async fn replace(&self, config_id: &str, body: &ReplaceMcpConfig) -> Result<McpConfig> {
        body.validate()?;
        self.client
            .call(ApiRequest::put(config_path(config_id)?).json(body)?)
            .await
    }

    /// `DELETE /artifacts/mcp-configs/{config_id}`: fails (400) while attached to an agent.
    pub async fn delete(&self, config_id: &str) -> Result<()> {
        self.client
            .call_empty(ApiRequest::delete(config_path(config_id)?))
            .await
    }
}
