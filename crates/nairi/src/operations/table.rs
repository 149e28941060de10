//! The 54 operations, each declared once: its descriptor and how the generic call reaches the
//! typed method.

use super::call::CallArgs;
use super::{BodyKind, Operation, RetryClass};
use crate::client::Client;
use crate::error::Result;
#[allow(unused_imports)] // the types are named in the table's call expressions
use crate::types::*;

/// `RetryClass` from the HTTP method: only POST creates something when sent twice.
macro_rules! retry_class {
    (POST) => {
        RetryClass::NotIdempotent
    };
    ($other:ident) => {
        RetryClass::Idempotent
    };
}

macro_rules! body_kind {
    (none) => {
        BodyKind::None
    };
    ((json $t:ty)) => {
        BodyKind::Json(stringify!($t))
    };
    ((multipart $field:literal)) => {
        BodyKind::Multipart($field)
    };
}

macro_rules! query_name {
    (none) => {
        None
    };
    (($t:ty)) => {
        Some(stringify!($t))
    };
}

#[cfg(feature = "schema")]
macro_rules! body_schema {
    ($g:ident, none) => {
        None
    };
    ($g:ident, (json $t:ty)) => {
        Some($g.subschema_for::<$t>())
    };
    ($g:ident, (multipart $field:literal)) => {
        Some($g.subschema_for::<FileUpload>())
    };
}

#[cfg(feature = "schema")]
macro_rules! query_schema {
    ($g:ident, none) => {
        None
    };
    ($g:ident, ($t:ty)) => {
        Some($g.subschema_for::<$t>())
    };
}

/// Declares the operations: a `pub const` descriptor each, [`OPERATIONS`], the generic
/// dispatch, and (with the `schema` feature) the schemas of their bodies, queries and results.
macro_rules! operations {
    ($(
        $konst:ident {
            group: $group:literal, name: $name:literal, operation_id: $oid:literal,
            $method:ident $path:literal,
            query: $query:tt, body: $body:tt, result: $result:ty,
            summary: $summary:literal,
            call: |$c:ident, $a:ident| $call:expr $(,)?
        }
    )+) => {
        $(
            #[doc = concat!("`", stringify!($method), " ", $path, "`: ", $summary)]
            pub const $konst: Operation = Operation {
                id: concat!($group, ".", $name),
                operation_id: $oid,
                group: $group,
                name: $name,
                method: stringify!($method),
                path: $path,
                query: query_name!($query),
                body: body_kind!($body),
                result: stringify!($result),
                retry: retry_class!($method),
                summary: $summary,
            };
        )+

        /// Every operation, in the order of the API reference.
        pub static OPERATIONS: &[Operation] = &[$($konst),+];

        /// Runs operation `id` through its typed method; `args` were checked against it.
        pub(crate) async fn dispatch<J: super::call::ResultForm>(
            client: &Client,
            id: &str,
            args: CallArgs,
        ) -> Result<J> {
            #[allow(unused_mut, unused_variables)]
            let mut args = args;
            $(
                if id == $konst.id {
                    let $c = client;
                    #[allow(unused_variables)]
                    let $a = &mut args;
                    // Boxed: inline, this future would be as large as the largest of all
                    // the operations' futures, for every call (a binding spawns one per call).
                    let out: $result = Box::pin($call).await?;
                    return super::call::to_json::<J, _>(&$konst, &out);
                }
            )+
            Err(super::call::unknown_operation(id))
        }

        /// The schemas of one operation's query, body and result.
        #[cfg(feature = "schema")]
        #[derive(Debug)]
        #[non_exhaustive]
        pub struct OperationSchemas {
            /// The operation.
            pub operation: &'static Operation,
            /// The query model, when it has query parameters.
            pub query: Option<schemars::Schema>,
            /// The body model, when it has a body.
            pub body: Option<schemars::Schema>,
            /// The result.
            pub result: schemars::Schema,
        }

        /// Registers every operation's models with `generator` and returns their schemas
        /// (references into the generator's definitions).
        #[cfg(feature = "schema")]
        pub fn operation_schemas(
            generator: &mut schemars::SchemaGenerator,
        ) -> Vec<OperationSchemas> {
            vec![$(
                OperationSchemas {
                    operation: &$konst,
                    query: query_schema!(generator, $query),
                    body: body_schema!(generator, $body),
                    result: generator.subschema_for::<$result>(),
                }
            ),+]
        }
    };
}

operations! {
    CONVERSATIONS_START {
        group: "conversations", name: "start", operation_id: "startConversation",
        POST "/conversations/start",
        query: none, body: (json StartConversation), result: TurnHandle,
        summary: "Start a conversation: create a job and send its first prompt.",
        call: |c, a| c.conversations().start(&a.body_model()?),
    }
    CONVERSATIONS_FOLLOW_UP {
        group: "conversations", name: "follow_up", operation_id: "continueConversation",
        POST "/conversations/{job_id}/continue",
        query: none, body: (json ContinueConversation), result: TurnHandle,
        summary: "Send a follow-up prompt on an API-started conversation (the API's `continue`).",
        call: |c, a| c.conversations().follow_up(&a.arg("job_id")?, &a.body_model()?),
    }
    MESSAGES_LIST {
        group: "messages", name: "list", operation_id: "listConversationMessages",
        GET "/conversations/{job_id}/messages",
        query: none, body: none, result: Vec<Message>,
        summary: "Every message of a conversation, oldest first (not paginated).",
        call: |c, a| c.messages().list(&a.arg("job_id")?),
    }
    MESSAGES_GET {
        group: "messages", name: "get", operation_id: "getMessage",
        GET "/messages/{message_id}",
        query: none, body: none, result: Message,
        summary: "One message (poll a prompt's status with it).",
        call: |c, a| c.messages().get(&a.arg("message_id")?),
    }
    AGENTS_CONVERSATIONS_LIST {
        group: "agents.conversations", name: "list", operation_id: "listAgentConversations",
        GET "/agents/{agent_id}/conversations",
        query: (ListConversations), body: none, result: Vec<Conversation>,
        summary: "One page of an agent's conversations, filtered by status and time.",
        call: |c, a| c.agents().conversations().list(&a.arg("agent_id")?, &a.query_model()?),
    }
    ATTACHMENTS_UPLOAD {
        group: "attachments", name: "upload", operation_id: "uploadAttachment",
        POST "/attachments",
        query: none, body: (multipart "file"), result: AttachmentUpload,
        summary: "Upload one file (1 byte to 50 MB) to reference in prompts.",
        call: |c, a| c.attachments().upload(a.take_file()?),
    }
    ATTACHMENTS_GET {
        group: "attachments", name: "get", operation_id: "getAttachment",
        GET "/attachments/{attachment_id}",
        query: none, body: none, result: Attachment,
        summary: "An attachment's metadata and its decoded bytes.",
        call: |c, a| c.attachments().get(&a.arg("attachment_id")?),
    }
    AGENTS_LIST {
        group: "agents", name: "list", operation_id: "listAgents",
        GET "/agents",
        query: none, body: none, result: Vec<Agent>,
        summary: "Every agent of the organisation.",
        call: |c, a| c.agents().list(),
    }
    AGENTS_CREATE {
        group: "agents", name: "create", operation_id: "createAgent",
        POST "/agents",
        query: none, body: (json CreateAgent), result: Agent,
        summary: "Create an agent (it is not deployed).",
        call: |c, a| c.agents().create(&a.body_model()?),
    }
    AGENTS_GET {
        group: "agents", name: "get", operation_id: "getAgent",
        GET "/agents/{agent_id}",
        query: none, body: none, result: Agent,
        summary: "One agent, by `cci_` id or slug.",
        call: |c, a| c.agents().get(&a.arg("agent_id")?),
    }
    AGENTS_UPDATE {
        group: "agents", name: "update", operation_id: "updateAgent",
        PATCH "/agents/{agent_id}",
        query: none, body: (json UpdateAgent), result: Agent,
        summary: "Change an agent's name, description or system prompt (only the fields set).",
        call: |c, a| c.agents().update(&a.arg("agent_id")?, &a.body_model()?),
    }
    AGENTS_DELETE {
        group: "agents", name: "delete", operation_id: "deleteAgent",
        DELETE "/agents/{agent_id}",
        query: none, body: none, result: (),
        summary: "Delete an agent.",
        call: |c, a| c.agents().delete(&a.arg("agent_id")?),
    }
    AGENTS_DEPLOY {
        group: "agents", name: "deploy", operation_id: "deployAgent",
        POST "/agents/{agent_id}/deploy",
        query: none, body: (json DeployAgent), result: DeployStatus,
        summary: "Start an asynchronous (re)deploy of the agent's container.",
        call: |c, a| c.agents().deploy(&a.arg("agent_id")?, &a.body_model()?),
    }
    AGENTS_RESOURCES_LIST {
        group: "agents.resources", name: "list", operation_id: "listAgentResources",
        GET "/agents/{agent_id}/resources",
        query: none, body: none, result: Vec<Resource>,
        summary: "The resources attached to an agent.",
        call: |c, a| c.agents().resources().list(&a.arg("agent_id")?),
    }
    AGENTS_RESOURCES_ASSIGN {
        group: "agents.resources", name: "assign", operation_id: "assignAgentResource",
        POST "/agents/{agent_id}/resources",
        query: none, body: (json AssignResource), result: Resource,
        summary: "Attach a rule, MCP config, skill, vault, integration or model to an agent.",
        call: |c, a| c.agents().resources().assign(&a.arg("agent_id")?, &a.body_model()?),
    }
    AGENTS_RESOURCES_UNASSIGN {
        group: "agents.resources", name: "unassign", operation_id: "unassignAgentResource",
        DELETE "/agents/{agent_id}/resources/{resource_id}",
        query: none, body: none, result: (),
        summary: "Detach a resource from an agent (the resource itself is kept).",
        call: |c, a| c.agents().resources().unassign(&a.arg("agent_id")?, &a.arg("resource_id")?),
    }
    AGENTS_ENV_VARS_LIST {
        group: "agents.env_vars", name: "list", operation_id: "listEnvVars",
        GET "/agents/{agent_id}/env-vars",
        query: none, body: none, result: Vec<EnvVar>,
        summary: "An agent's plaintext environment variables, values included.",
        call: |c, a| c.agents().env_vars().list(&a.arg("agent_id")?),
    }
    AGENTS_ENV_VARS_CREATE {
        group: "agents.env_vars", name: "create", operation_id: "createEnvVar",
        POST "/agents/{agent_id}/env-vars",
        query: none, body: (json CreateEnvVar), result: EnvVar,
        summary: "Create an environment variable on an agent (takes effect on redeploy).",
        call: |c, a| c.agents().env_vars().create(&a.arg("agent_id")?, &a.body_model()?),
    }
    AGENTS_ENV_VARS_UPDATE {
        group: "agents.env_vars", name: "update", operation_id: "updateEnvVar",
        PATCH "/agents/{agent_id}/env-vars/{env_var_id}",
        query: none, body: (json UpdateEnvVar), result: EnvVar,
        summary: "Change an environment variable's key or value.",
        call: |c, a| c.agents().env_vars().update(
            &a.arg("agent_id")?, &a.arg("env_var_id")?, &a.body_model()?),
    }
    AGENTS_ENV_VARS_DELETE {
        group: "agents.env_vars", name: "delete", operation_id: "deleteEnvVar",
        DELETE "/agents/{agent_id}/env-vars/{env_var_id}",
        query: none, body: none, result: (),
        summary: "Delete an environment variable.",
        call: |c, a| c.agents().env_vars().delete(&a.arg("agent_id")?, &a.arg("env_var_id")?),
    }
    RULES_LIST {
        group: "rules", name: "list", operation_id: "listRules",
        GET "/artifacts/rules",
        query: none, body: none, result: Vec<Rule>,
        summary: "Every rule of the organisation.",
        call: |c, a| c.rules().list(),
    }
    RULES_CREATE {
        group: "rules", name: "create", operation_id: "createRule",
        POST "/artifacts/rules",
        query: none, body: (json RuleInput), result: Rule,
        summary: "Create a rule.",
        call: |c, a| c.rules().create(&a.body_model()?),
    }
    RULES_GET {
        group: "rules", name: "get", operation_id: "getRule",
        GET "/artifacts/rules/{rule_id}",
        query: none, body: none, result: Rule,
        summary: "One rule with its content (no timestamps).",
        call: |c, a| c.rules().get(&a.arg("rule_id")?),
    }
    RULES_REPLACE {
        group: "rules", name: "replace", operation_id: "replaceRule",
        PUT "/artifacts/rules/{rule_id}",
        query: none, body: (json RuleInput), result: Rule,
        summary: "Replace every field of a rule; agents see it after a redeploy.",
        call: |c, a| c.rules().replace(&a.arg("rule_id")?, &a.body_model()?),
    }
    RULES_DELETE {
        group: "rules", name: "delete", operation_id: "deleteRule",
        DELETE "/artifacts/rules/{rule_id}",
        query: none, body: none, result: (),
        summary: "Delete a rule (refused while it is attached to an agent).",
        call: |c, a| c.rules().delete(&a.arg("rule_id")?),
    }
    MCP_CONFIGS_LIST {
        group: "mcp_configs", name: "list", operation_id: "listMcpConfigs",
        GET "/artifacts/mcp-configs",
        query: none, body: none, result: Vec<McpConfig>,
        summary: "Every MCP config (content omitted for sensitive ones).",
        call: |c, a| c.mcp_configs().list(),
    }
    MCP_CONFIGS_CREATE {
        group: "mcp_configs", name: "create", operation_id: "createMcpConfig",
        POST "/artifacts/mcp-configs",
        query: none, body: (json CreateMcpConfig), result: McpConfig,
        summary: "Create an MCP config; its content must hold at least one server.",
        call: |c, a| c.mcp_configs().create(&a.body_model()?),
    }
    MCP_CONFIGS_GET {
        group: "mcp_configs", name: "get", operation_id: "getMcpConfig",
        GET "/artifacts/mcp-configs/{config_id}",
        query: none, body: none, result: McpConfig,
        summary: "One MCP config (content omitted when sensitive).",
        call: |c, a| c.mcp_configs().get(&a.arg("config_id")?),
    }
    MCP_CONFIGS_REPLACE {
        group: "mcp_configs", name: "replace", operation_id: "replaceMcpConfig",
        PUT "/artifacts/mcp-configs/{config_id}",
        query: none, body: (json ReplaceMcpConfig), result: McpConfig,
        summary: "Replace an MCP config's title and description, and its content when given.",
        call: |c, a| c.mcp_configs().replace(&a.arg("config_id")?, &a.body_model()?),
    }
    MCP_CONFIGS_DELETE {
        group: "mcp_configs", name: "delete", operation_id: "deleteMcpConfig",
        DELETE "/artifacts/mcp-configs/{config_id}",
        query: none, body: none, result: (),
        summary: "Delete an MCP config (refused while it is attached to an agent).",
        call: |c, a| c.mcp_configs().delete(&a.arg("config_id")?),
    }
    SKILLS_LIST {
        group: "skills", name: "list", operation_id: "listSkills",
        GET "/artifacts/skills",
        query: none, body: none, result: Vec<Skill>,
        summary: "Every skill of the organisation.",
        call: |c, a| c.skills().list(),
    }
    SKILLS_CREATE {
        group: "skills", name: "create", operation_id: "createSkill",
        POST "/artifacts/skills",
        query: none, body: (multipart "file"), result: Skill,
        summary: "Upload a new skill archive (`.zip` or `.skill`, at most 32 MiB).",
        call: |c, a| c.skills().create(a.take_file()?),
    }
    SKILLS_GET {
        group: "skills", name: "get", operation_id: "getSkill",
        GET "/artifacts/skills/{skill_id}",
        query: none, body: none, result: Skill,
        summary: "One skill's metadata.",
        call: |c, a| c.skills().get(&a.arg("skill_id")?),
    }
    SKILLS_REPLACE {
        group: "skills", name: "replace", operation_id: "replaceSkill",
        PUT "/artifacts/skills/{skill_id}",
        query: none, body: (multipart "file"), result: Skill,
        summary: "Upload a new version of a skill's archive.",
        call: |c, a| c.skills().replace(&a.arg("skill_id")?, a.take_file()?),
    }
    SKILLS_DELETE {
        group: "skills", name: "delete", operation_id: "deleteSkill",
        DELETE "/artifacts/skills/{skill_id}",
        query: none, body: none, result: (),
        summary: "Delete a skill (refused while it is attached to an agent).",
        call: |c, a| c.skills().delete(&a.arg("skill_id")?),
    }
    VAULTS_LIST {
        group: "vaults", name: "list", operation_id: "listVaults",
        GET "/vaults",
        query: none, body: none, result: Vec<Vault>,
        summary: "Every vault with its secret count (never the values).",
        call: |c, a| c.vaults().list(),
    }
    VAULTS_CREATE {
        group: "vaults", name: "create", operation_id: "createVault",
        POST "/vaults",
        query: none, body: (json CreateVault), result: Vault,
        summary: "Create a vault.",
        call: |c, a| c.vaults().create(&a.body_model()?),
    }
    VAULTS_GET {
        group: "vaults", name: "get", operation_id: "getVault",
        GET "/vaults/{vault_id}",
        query: none, body: none, result: Vault,
        summary: "One vault.",
        call: |c, a| c.vaults().get(&a.arg("vault_id")?),
    }
    VAULTS_UPDATE {
        group: "vaults", name: "update", operation_id: "updateVault",
        PATCH "/vaults/{vault_id}",
        query: none, body: (json UpdateVault), result: Vault,
        summary: "Change a vault's name or description (only the fields set).",
        call: |c, a| c.vaults().update(&a.arg("vault_id")?, &a.body_model()?),
    }
    VAULTS_DELETE {
        group: "vaults", name: "delete", operation_id: "deleteVault",
        DELETE "/vaults/{vault_id}",
        query: none, body: none, result: (),
        summary: "Delete an empty vault that no agent uses.",
        call: |c, a| c.vaults().delete(&a.arg("vault_id")?),
    }
    VAULTS_SECRETS_LIST {
        group: "vaults.secrets", name: "list", operation_id: "listVaultSecrets",
        GET "/vaults/{vault_id}/secrets",
        query: none, body: none, result: Vec<VaultSecret>,
        summary: "A vault's secrets: metadata only, values are never returned.",
        call: |c, a| c.vaults().secrets().list(&a.arg("vault_id")?),
    }
    VAULTS_SECRETS_CREATE {
        group: "vaults.secrets", name: "create", operation_id: "createVaultSecret",
        POST "/vaults/{vault_id}/secrets",
        query: none, body: (json CreateSecret), result: VaultSecret,
        summary: "Add a secret to a vault (the answer never echoes the value).",
        call: |c, a| c.vaults().secrets().create(&a.arg("vault_id")?, &a.body_model()?),
    }
    VAULTS_SECRETS_UPDATE {
        group: "vaults.secrets", name: "update", operation_id: "updateVaultSecret",
        PATCH "/vaults/{vault_id}/secrets/{secret_id}",
        query: none, body: (json UpdateSecret), result: VaultSecret,
        summary: "Rotate a secret's value and/or change its allowed domains.",
        call: |c, a| c.vaults().secrets().update(
            &a.arg("vault_id")?, &a.arg("secret_id")?, &a.body_model()?),
    }
    VAULTS_SECRETS_DELETE {
        group: "vaults.secrets", name: "delete", operation_id: "deleteVaultSecret",
        DELETE "/vaults/{vault_id}/secrets/{secret_id}",
        query: none, body: none, result: (),
        summary: "Delete a secret.",
        call: |c, a| c.vaults().secrets().delete(&a.arg("vault_id")?, &a.arg("secret_id")?),
    }
    CHANNELS_LIST {
        group: "channels", name: "list", operation_id: "listConnectedChannels",
        GET "/connected-channels",
        query: none, body: none, result: Vec<Channel>,
        summary: "The Slack and Discord channels connected to the organisation.",
        call: |c, a| c.channels().list(),
    }
    SCHEDULED_JOBS_LIST {
        group: "scheduled_jobs", name: "list", operation_id: "listScheduledJobs",
        GET "/scheduled-jobs",
        query: none, body: none, result: Vec<ScheduledJob>,
        summary: "Every scheduled job.",
        call: |c, a| c.scheduled_jobs().list(),
    }
    SCHEDULED_JOBS_CREATE {
        group: "scheduled_jobs", name: "create", operation_id: "createScheduledJob",
        POST "/scheduled-jobs",
        query: none, body: (json CreateScheduledJob), result: ScheduledJob,
        summary: "Create a cron-driven prompt that posts to Slack/Discord or runs in the app.",
        call: |c, a| c.scheduled_jobs().create(&a.body_model()?),
    }
    SCHEDULED_JOBS_GET {
        group: "scheduled_jobs", name: "get", operation_id: "getScheduledJob",
        GET "/scheduled-jobs/{job_id}",
        query: none, body: none, result: ScheduledJob,
        summary: "One scheduled job.",
        call: |c, a| c.scheduled_jobs().get(&a.arg("job_id")?),
    }
    SCHEDULED_JOBS_UPDATE {
        group: "scheduled_jobs", name: "update", operation_id: "updateScheduledJob",
        PATCH "/scheduled-jobs/{job_id}",
        query: none, body: (json UpdateScheduledJob), result: ScheduledJob,
        summary: "Change a scheduled job (at least one field).",
        call: |c, a| c.scheduled_jobs().update(&a.arg("job_id")?, &a.body_model()?),
    }
    SCHEDULED_JOBS_DELETE {
        group: "scheduled_jobs", name: "delete", operation_id: "deleteScheduledJob",
        DELETE "/scheduled-jobs/{job_id}",
        query: none, body: none, result: (),
        summary: "Delete a scheduled job.",
        call: |c, a| c.scheduled_jobs().delete(&a.arg("job_id")?),
    }
    MODELS_LIST {
        group: "models", name: "list", operation_id: "listModels",
        GET "/models",
        query: (ListModels), body: none, result: Vec<Model>,
        summary: "The LLM models available to the organisation, optionally one provider's.",
        call: |c, a| c.models().list(a.query_model::<ListModels>()?.provider.as_deref()),
    }
    INTEGRATIONS_LIST_LLM {
        group: "integrations", name: "list_llm", operation_id: "listLlmIntegrations",
        GET "/integrations/llm",
        query: none, body: none, result: Vec<LlmIntegration>,
        summary: "The LLM provider integrations (credentials are never returned).",
        call: |c, a| c.integrations().list_llm(),
    }
    INTEGRATIONS_UPDATE_LLM {
        group: "integrations", name: "update_llm", operation_id: "renameLlmIntegration",
        PATCH "/integrations/llm/{integration_id}",
        query: none, body: (json UpdateLlmIntegration), result: LlmIntegration,
        summary: "Rename an LLM integration (its provider and key cannot change).",
        call: |c, a| c.integrations().update_llm(&a.arg("integration_id")?, &a.body_model()?),
    }
    INTEGRATIONS_LIST_GITHUB_REPOS {
        group: "integrations", name: "list_github_repos", operation_id: "listGithubRepos",
        GET "/integrations/github-repos",
        query: none, body: none, result: Vec<GithubRepo>,
        summary: "The connected GitHub repositories.",
        call: |c, a| c.integrations().list_github_repos(),
    }
}
