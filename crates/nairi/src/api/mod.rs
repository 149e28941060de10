//! One module per API group; each exposes a borrowed handle returned by a `Client` accessor.

pub(crate) mod agent_conversations;
pub(crate) mod agents;
pub(crate) mod attachments;
pub(crate) mod channels;
pub(crate) mod conversations;
pub(crate) mod env_vars;
pub(crate) mod integrations;
pub(crate) mod mcp_configs;
pub(crate) mod messages;
pub(crate) mod models;
pub(crate) mod prompt_recovery;
pub(crate) mod resources;
pub(crate) mod rules;
pub(crate) mod scheduled_jobs;
pub(crate) mod secrets;
pub(crate) mod skills;
pub(crate) mod vaults;

pub use agent_conversations::{AgentConversations, ConversationStream};
pub use agents::Agents;
pub use attachments::Attachments;
pub use channels::Channels;
pub use conversations::Conversations;
pub use env_vars::EnvVars;
pub use integrations::Integrations;
pub use mcp_configs::McpConfigs;
pub use messages::Messages;
pub use models::Models;
pub(crate) use prompt_recovery::ClaimedPrompts;
pub use prompt_recovery::{OutcomeUnknown, SKEW_MARGIN, UNKNOWN_SKEW_ALLOWANCE};
pub use resources::Resources;
pub use rules::Rules;
pub use scheduled_jobs::ScheduledJobs;
pub use secrets::VaultSecrets;
pub use skills::Skills;
pub use vaults::Vaults;

use crate::client::Client;

impl Client {
    /// Agents, deploy, resources, env vars and an agent's conversations.
    pub fn agents(&self) -> Agents<'_> {
        Agents::new(self)
    }

    /// Start and follow up conversations; wait, watch and run turns.
    pub fn conversations(&self) -> Conversations<'_> {
        Conversations::new(self)
    }

    /// Get one message or list a conversation's messages.
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    /// Upload files for prompts and download the agent's outputs.
    pub fn attachments(&self) -> Attachments<'_> {
        Attachments::new(self)
    }

    /// Rules injected into agents' system prompts.
    pub fn rules(&self) -> Rules<'_> {
        Rules::new(self)
    }

    /// MCP server configurations.
    pub fn mcp_configs(&self) -> McpConfigs<'_> {
        McpConfigs::new(self)
    }

    /// Skill packages.
    pub fn skills(&self) -> Skills<'_> {
        Skills::new(self)
    }

    /// Vaults and, through [`Vaults::secrets`], their secrets.
    pub fn vaults(&self) -> Vaults<'_> {
        Vaults::new(self)
    }

    /// Connected Slack and Discord channels.
    pub fn channels(&self) -> Channels<'_> {
        Channels::new(self)
    }

    /// Cron-driven prompts.
    pub fn scheduled_jobs(&self) -> ScheduledJobs<'_> {
        ScheduledJobs::new(self)
    }

    /// The LLM catalogue.
    pub fn models(&self) -> Models<'_> {
        Models::new(self)
    }

    /// LLM provider integrations and GitHub repositories.
    pub fn integrations(&self) -> Integrations<'_> {
        Integrations::new(self)
    }
}
