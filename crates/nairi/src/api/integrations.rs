//! `client.integrations()`: LLM provider integrations and connected GitHub repositories.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{GithubRepo, LlmIntegration, UpdateLlmIntegration};

/// The integrations API group.
#[derive(Debug, Clone, Copy)]
pub struct Integrations<'c> {
    client: &'c Client,
}

impl<'c> Integrations<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Integrations { client }
    }

    /// `GET /integrations/llm`: LLM provider integrations (credentials never returned).
    pub async fn list_llm(&self) -> Result<Vec<LlmIntegration>> {
        self.client
            .call(op::INTEGRATIONS_LIST_LLM.request(&[])?)
            .await
    }

    /// `PATCH /integrations/llm/{id}`: renames an integration (nothing else can change).
    pub async fn update_llm(
        &self,
        integration_id: &str,
        body: &UpdateLlmIntegration,
    ) -> Result<LlmIntegration> {
        let req = op::INTEGRATIONS_UPDATE_LLM.request(&[integration_id])?;
        body.validate()?;
        self.client.call(req.json(body)?).await
    }

    /// `GET /integrations/github-repos`: connected GitHub repositories.
    pub async fn list_github_repos(&self) -> Result<Vec<GithubRepo>> {
        self.client
            .call(op::INTEGRATIONS_LIST_GITHUB_REPOS.request(&[])?)
            .await
    }
}
