//! Quickstart: configure an agent, deploy it, and hold a two-turn conversation.
//!
//! With `NAIRI_API_KEY` set it talks to that server (`NAIRI_BASE_URL`, default
//! `https://api.nairi.ai`); otherwise it starts the embedded emulator first, so it runs with no
//! account and no network: `cargo run -p nairi --example quickstart`.

use nairi::conversation::{RunOptions, TurnEvent};
use nairi::types::{
    AssignResource, CreateAgent, CreateSecret, CreateVault, DeployAgent, EntityType, MessageRole,
    RuleInput,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the emulator alive for the whole run; `None` when a real server is configured.
    let (client, _emulator) = connect().await?;

    // 1. Configure: an agent, a rule, and a vault holding one secret, attached to the agent.
    let agent = client
        .agents()
        .create(&CreateAgent::new("Billing support"))
        .await?;
    println!("created agent {} ({})", agent.agent_id, agent.id);
    let rule = client
        .rules()
        .create(&RuleInput::new(
            "Refund policy",
            "Apply when a customer asks for a refund",
            "Refund failed charges in full; never refund successful ones without approval.",
        ))
        .await?;
    let vault = client
        .vaults()
        .create(&CreateVault::new("Billing secrets"))
        .await?;
    client
        .vaults()
        .secrets()
        .create(
            &vault.id,
            &CreateSecret::new("STRIPE_API_KEY", "sk_test_123"),
        )
        .await?;
    for (kind, id) in [(EntityType::Rule, &rule.id), (EntityType::Vault, &vault.id)] {
        client
            .agents()
            .resources()
            .assign(&agent.id, &AssignResource::new(kind, id.as_str()))
            .await?;
    }
    println!("attached rule {} and vault {}", rule.id, vault.id);

    // 2. Deploy (asynchronous): prompts queue until the agent is up.
    let deploy = client
        .agents()
        .deploy(&agent.id, &DeployAgent::default())
        .await?;
    println!("deploy: {}", deploy.status);

    // 3. Run a conversation: `run` = start + wait; the callback prints events as they arrive.
    let options = RunOptions::default().on_event(print_event);
    let prompt = "Refund the failed charge for customer cus_123.";
    println!("\n> {prompt}");
    let first = client
        .conversations()
        .run((agent.agent_id.as_str(), prompt), &options)
        .await?;
    println!(
        "< {}",
        first.reply().unwrap_or("(the reply never appeared)")
    );

    // 4. Follow up on the same conversation: `run_follow_up` = continue + wait.
    let follow_up = "And email them a receipt.";
    println!("\n> {follow_up}");
    let second = client
        .conversations()
        .run_follow_up(&first.job_id, follow_up, &options)
        .await?;
    println!(
        "< {}",
        second.reply().unwrap_or("(the reply never appeared)")
    );
    if let Some(usage) = &second.usage {
        println!(
            "  (cost ${:.4}, model {})",
            usage.cost_usd.unwrap_or(0.0),
            usage.model.as_deref().unwrap_or("?")
        );
    }

    // 5. The transcript, without the progress events.
    println!("\ntranscript of {}:", second.job_id);
    for m in client.messages().list(&second.job_id).await? {
        if m.role != MessageRole::Progress {
            println!(
                "  {:<9} {:<9} {}",
                m.role.as_str(),
                m.status.as_str(),
                m.content
            );
        }
    }

    // 6. Clean up, so a run against a real organisation leaves nothing behind. Deleting the
    //    agent detaches its resources; a vault must be empty before it can go.
    let secret_ids: Vec<String> = client
        .vaults()
        .secrets()
        .list(&vault.id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    client.agents().delete(&agent.id).await?;
    client.rules().delete(&rule.id).await?;
    for id in &secret_ids {
        client.vaults().secrets().delete(&vault.id, id).await?;
    }
    client.vaults().delete(&vault.id).await?;
    println!("\ncleaned up the agent, the rule and the vault");
    Ok(())
}

/// Prints status changes and progress; the reply itself is printed from the turn.
fn print_event(event: &TurnEvent) {
    match event {
        TurnEvent::StatusChanged { to, .. } => println!("  [status] {to}"),
        TurnEvent::StillQueued { waited } => println!(
            "  [still queued after {:.0} s: is the agent deployed, with a free instance?]",
            waited.as_secs_f64()
        ),
        TurnEvent::Progress(p) => {
            let kind = p.progress_type.as_deref().unwrap_or("progress");
            let detail = match (kind, &p.tool_name) {
                ("tool_use", Some(tool)) => {
                    format!("{tool} {}", p.tool_status.as_deref().unwrap_or(""))
                }
                _ => p
                    .summary
                    .clone()
                    .or(p.text_delta.clone())
                    .unwrap_or_default(),
            };
            println!("  [{kind}] {detail}");
        }
        _ => {}
    }
}

/// A client for the configured server, or for an emulator started here when no key is set.
async fn connect()
-> Result<(nairi::Client, Option<nairi_emulator::Emulator>), Box<dyn std::error::Error>> {
    if std::env::var("NAIRI_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        return Ok((nairi::Client::from_env()?, None));
    }
    let emulator = nairi_emulator::Emulator::builder().start().await?;
    println!(
        "no NAIRI_API_KEY: using the embedded emulator at {}",
        emulator.base_url()
    );
    let client = nairi::Client::builder()
        .api_key(emulator.api_key())
        .base_url(emulator.base_url())
        .build()?;
    Ok((client, Some(emulator)))
}
