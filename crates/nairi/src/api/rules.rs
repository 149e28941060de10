//! `client.rules()`: rules injected into agents' system prompts.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{Rule, RuleInput};

/// The rules API group (`/artifacts/rules`).
#[derive(Debug, Clone, Copy)]
pub struct Rules<'c> {
    client: &'c Client,
}

impl<'c> Rules<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Rules { client }
    }

    /// `GET /artifacts/rules`: every rule of the organisation.
    pub async fn list(&self) -> Result<Vec<Rule>> {
        self.client.call(op::RULES_LIST.request(&[])?).await
    }

    /// `POST /artifacts/rules`: creates a rule.
    pub async fn create(&self, body: &RuleInput) -> Result<Rule> {
        body.validate()?;
        self.client
            .call(op::RULES_CREATE.request(&[])?.json(body)?)
            .await
    }

    /// `GET /artifacts/rules/{rule_id}`: one rule with its content (no timestamps).
    pub async fn get(&self, rule_id: &str) -> Result<Rule> {
        self.client.call(op::RULES_GET.request(&[rule_id])?).await
    }

    /// `PUT /artifacts/rules/{rule_id}`: replaces every field; agents see it after a redeploy.
    pub async fn replace(&self, rule_id: &str, body: &RuleInput) -> Result<Rule> {
        body.validate()?;
        self.client
            .call(op::RULES_REPLACE.request(&[rule_id])?.json(body)?)
            .await
    }

    /// `DELETE /artifacts/rules/{rule_id}`: fails (400) while attached to an agent.
    pub async fn delete(&self, rule_id: &str) -> Result<()> {
        self.client
            .call_empty(op::RULES_DELETE.request(&[rule_id])?)
            .await
    }
}
