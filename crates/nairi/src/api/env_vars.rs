//! `client.agents().env_vars()`: an agent's plaintext environment variables.

use crate::client::Client;
use crate::error::Result;
use crate::path::segment;
use crate::transport::ApiRequest;
use crate::types::{CreateEnvVar, EnvVar, UpdateEnvVar, validate_env_key};

use super::agents::agent_path;

/// Environment variables of agents (changes need a redeploy).
#[derive(Debug, Clone, Copy)]
pub struct EnvVars<'c> {
    client: &'c Client,
}

impl<'c> EnvVars<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        EnvVars { client }
    }

    /// `GET /agents/{agent_id}/env-vars`.
    pub async fn list(&self, agent_id: &str) -> Result<Vec<EnvVar>> {
        self.client
            .call(ApiRequest::get(agent_path(agent_id, "/env-vars")?))
            .await
    }

    /// `POST /agents/{agent_id}/env-vars`.
    pub async fn create(&self, agent_id: &str, body: &CreateEnvVar) -> Result<EnvVar> {
        validate_env_key(&body.key)?;
        self.client
            .call(ApiRequest::post(agent_path(agent_id, "/env-vars")?).json(body)?)
            .await
    }

    /// `PATCH /agents/{agent_id}/env-vars/{env_var_id}`.
    pub async fn update(
        &self,
        agent_id: &str,
        env_var_id: &str,
        body: &UpdateEnvVar,
    ) -> Result<EnvVar> {
        if let Some(key) = &body.key {
            validate_env_key(key)?;
        }
        let suffix = format!("/env-vars/{}", segment(env_var_id, "env_var_id")?);
        self.client
            .call(ApiRequest::patch(agent_path(agent_id, &suffix)?).json(body)?)
            .await
    }

    /// `DELETE /agents/{agent_id}/env-vars/{env_var_id}`.
    pub async fn delete(&self, agent_id: &str, env_var_id: &str) -> Result<()> {
        let suffix = format!("/env-vars/{}", segment(env_var_id, "env_var_id")?);
        self.client
            .call_empty(ApiRequest::delete(agent_path(agent_id, &suffix)?))
            .await
    }
}
