//! One module per API group; each exposes a borrowed handle returned by a `Client` accessor.

pub(crate) mod agent_conversations;
pub(crate) mod agents;
pub(crate) mod conversations;
pub(crate) mod env_vars;
pub(crate) mod messages;
pub(crate) mod resources;

pub use agent_conversations::AgentConversations;
pub use agents::Agents;
pub use conversations::Conversations;
pub use env_vars::EnvVars;
pub use messages::Messages;
pub use resources::Resources;

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
}
