//! An in-process emulator with fast timings, its default organisation's key and a client with
//! short retry backoffs: the set-up of the conversation tests against the emulator. Each test
//! file adds the helpers of its own cases in an `impl EmulatedOrg` block.

use std::time::Duration;

use nairi::{Client, RetryPolicy};
use nairi_emulator::{AgentSeed, Emulator, Timings};

/// The agent every [`EmulatedOrg::start`] deploys.
pub const SLUG: &str = "acme/web";

/// An emulator, the key of the organisation under test and a client for it.
pub struct EmulatedOrg {
    pub emu: Emulator,
    pub key: String,
    pub client: Client,
}

impl EmulatedOrg {
    /// An emulator with fast timings and a deployed agent [`SLUG`] in its default organisation.
    pub async fn start() -> EmulatedOrg {
        Self::start_with(false).await
    }

    /// The same, in a new organisation whose job ids have the legacy form when asked.
    pub async fn start_with(legacy_job_ids: bool) -> EmulatedOrg {
        let emu = Emulator::builder()
            .timings(Timings::fast())
            .start()
            .await
            .expect("emulator starts");
        let key = if legacy_job_ids {
            emu.new_org_legacy_job_ids()
        } else {
            emu.api_key().to_owned()
        };
        let client = client_for(&emu, &key);
        let org = EmulatedOrg { emu, key, client };
        org.agent(SLUG, true);
        org
    }

    /// Creates an agent with one instance; returns its id.
    pub fn agent(&self, slug: &str, deployed: bool) -> String {
        self.agent_with_instances(slug, deployed, 1)
    }

    /// Creates an agent with `instances` instances (turns of different jobs run at once);
    /// returns its id.
    pub fn agent_with_instances(&self, slug: &str, deployed: bool, instances: u32) -> String {
        let agent = self
            .emu
            .create_agent(
                &self.key,
                AgentSeed {
                    name: format!("Agent {slug}"),
                    slug: Some(slug.to_owned()),
                    deployed,
                    instances_count: Some(instances),
                },
            )
            .expect("agent created");
        agent["id"].as_str().expect("agent id").to_owned()
    }
}

/// A client for `key` on `emu`: two retries with millisecond backoffs, a 10 s request timeout.
pub fn client_for(emu: &Emulator, key: &str) -> Client {
    builder_for(emu, key).build().expect("client builds")
}

/// The builder of [`client_for`], for a test that changes more of it.
pub fn builder_for(emu: &Emulator, key: &str) -> nairi::ClientBuilder {
    nairi::ClientBuilder::without_env()
        .api_key(key)
        .base_url(emu.base_url())
        .retry_policy(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_millis(50),
        })
        .timeout(Duration::from_secs(10))
}
