//! `client.models()`: the LLM catalogue of the organisation.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::Model;

/// The models API group.
#[derive(Debug, Clone, Copy)]
pub struct Models<'c> {
    client: &'c Client,
}

impl<'c> Models<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Models { client }
    }

    /// `GET /models`: every model, or only one provider's (`anthropic`, `opencode`, `codex`...).
    pub async fn list(&self, provider: Option<&str>) -> Result<Vec<Model>> {
        let mut req = op::MODELS_LIST.request(&[])?;
        if let Some(p) = provider {
            if p.trim().is_empty() {
                return Err(crate::Error::validation(
                    "provider",
                    "must not be empty (pass None for every provider)",
                ));
            }
            req = req.query("provider", p);
        }
        self.client.call(req).await
    }
}
