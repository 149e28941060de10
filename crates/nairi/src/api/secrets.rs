//! `client.vaults().secrets()`: secrets inside a vault (values are write-only).

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{CreateSecret, UpdateSecret, VaultSecret};

/// Secrets of vaults.
#[derive(Debug, Clone, Copy)]
pub struct VaultSecrets<'c> {
    client: &'c Client,
}

impl<'c> VaultSecrets<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        VaultSecrets { client }
    }

    /// `GET /vaults/{vault_id}/secrets`: metadata only.
    pub async fn list(&self, vault_id: &str) -> Result<Vec<VaultSecret>> {
        self.client
            .call(op::VAULTS_SECRETS_LIST.request(&[vault_id])?)
            .await
    }

    /// `POST /vaults/{vault_id}/secrets`: the answer never echoes the value.
    pub async fn create(&self, vault_id: &str, body: &CreateSecret) -> Result<VaultSecret> {
        body.validate()?;
        self.client
            .call(op::VAULTS_SECRETS_CREATE.request(&[vault_id])?.json(body)?)
            .await
    }

    /// `PATCH /vaults/{vault_id}/secrets/{secret_id}`: rotate the value and/or change the
    /// allowed domains.
    pub async fn update(
        &self,
        vault_id: &str,
        secret_id: &str,
        body: &UpdateSecret,
    ) -> Result<VaultSecret> {
        body.validate()?;
        self.client
            .call(
                op::VAULTS_SECRETS_UPDATE
                    .request(&[vault_id, secret_id])?
                    .json(body)?,
            )
            .await
    }

    /// `DELETE /vaults/{vault_id}/secrets/{secret_id}`.
    pub async fn delete(&self, vault_id: &str, secret_id: &str) -> Result<()> {
        self.client
            .call_empty(op::VAULTS_SECRETS_DELETE.request(&[vault_id, secret_id])?)
            .await
    }
}
