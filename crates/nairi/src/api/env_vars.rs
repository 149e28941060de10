//! `client.agents().env_vars()`: an agent's plaintext environment variables.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{CreateEnvVar, EnvVar, UpdateEnvVar, validate_env_key};

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
            .call(op::AGENTS_ENV_VARS_LIST.request(&[agent_id])?)
            .await
    }

    /// `POST /agents/{agent_id}/env-vars`.
    pub async fn create(&self, agent_id: &str, body: &CreateEnvVar) -> Result<EnvVar> {
        validate_env_key(&body.key)?;
        self.client
            .call(
                op::AGENTS_ENV_VARS_CREATE
                    .request(&[agent_id])?
                    .json(body)?,
            )
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
        self.client
            .call(
                op::AGENTS_ENV_VARS_UPDATE
                    .request(&[agent_id, env_var_id])?
                    .json(body)?,
            )
            .await
    }

    /// `DELETE /agents/{agent_id}/env-vars/{env_var_id}`.
    pub async fn delete(&self, agent_id: &str, env_var_id: &str) -> Result<()> {
        self.client
            .call_empty(op::AGENTS_ENV_VARS_DELETE.request(&[agent_id, env_var_id])?)
            .await
    }
}
