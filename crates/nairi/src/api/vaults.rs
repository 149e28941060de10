//! `client.vaults()`: vaults of secrets; `client.vaults().secrets()` for their contents.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{CreateVault, UpdateVault, Vault};

use super::secrets::VaultSecrets;

/// The vaults API group.
#[derive(Debug, Clone, Copy)]
pub struct Vaults<'c> {
    client: &'c Client,
}

impl<'c> Vaults<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Vaults { client }
    }

    /// `GET /vaults`: every vault with its secret count (never values).
    pub async fn list(&self) -> Result<Vec<Vault>> {
        self.client.call(op::VAULTS_LIST.request(&[])?).await
    }

    /// `POST /vaults`.
    pub async fn create(&self, body: &CreateVault) -> Result<Vault> {
        body.validate()?;
        self.client
            .call(op::VAULTS_CREATE.request(&[])?.json(body)?)
            .await
    }

    /// `GET /vaults/{vault_id}`.
    pub async fn get(&self, vault_id: &str) -> Result<Vault> {
        self.client.call(op::VAULTS_GET.request(&[vault_id])?).await
    }

    /// `PATCH /vaults/{vault_id}`: changes only the fields that are set.
    pub async fn update(&self, vault_id: &str, body: &UpdateVault) -> Result<Vault> {
        body.validate()?;
        self.client
            .call(op::VAULTS_UPDATE.request(&[vault_id])?.json(body)?)
            .await
    }

    /// `DELETE /vaults/{vault_id}`: fails (400) while attached or still holding secrets.
    pub async fn delete(&self, vault_id: &str) -> Result<()> {
        self.client
            .call_empty(op::VAULTS_DELETE.request(&[vault_id])?)
            .await
    }

    /// The secrets inside vaults.
    pub fn secrets(&self) -> VaultSecrets<'c> {
        VaultSecrets::new(self.client)
    }
}
