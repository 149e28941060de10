//! `nairi-emulator`: run the Nairi API emulator as a standalone server.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use nairi_emulator::{Emulator, Timings};

/// A stateful local emulator of the Nairi public REST API.
#[derive(Parser, Debug)]
#[command(name = "nairi-emulator", version, about)]
struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// API key of the default organisation (default: a fresh nr_ key).
    #[arg(long, env = "NAIRI_EMULATOR_API_KEY")]
    api_key: Option<String>,
    /// Control-API token (default: a fresh emu_ token); needed in X-Emulator-Token unless
    /// bound to loopback.
    #[arg(long, env = "NAIRI_EMULATOR_CONTROL_TOKEN")]
    control_token: Option<String>,
    /// Require the control token even when bound to loopback.
    #[arg(long)]
    require_control_token: bool,
    /// Seconds a client has to send a whole request body.
    #[arg(long, default_value_t = 30)]
    body_timeout_secs: u64,
    /// Near-zero timings, for tests.
    #[arg(long)]
    fast: bool,
    /// Override: ms a message stays queued before it turns pending.
    #[arg(long)]
    pickup_ms: Option<u64>,
    /// Override: ms between progress events.
    #[arg(long)]
    step_ms: Option<u64>,
    /// Override: ms from the last progress event to the reply.
    #[arg(long)]
    reply_ms: Option<u64>,
    /// Override: ms from the reply to each trailing system message.
    #[arg(long)]
    system_after_ms: Option<u64>,
    /// Override: ms a deploy takes.
    #[arg(long)]
    deploy_ms: Option<u64>,
    /// Override: ms between the reply and the user message turning completed.
    #[arg(long)]
    status_lag_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut t = if args.fast {
        Timings::fast()
    } else {
        Timings::default()
    };
    t.pickup_ms = args.pickup_ms.unwrap_or(t.pickup_ms);
    t.step_ms = args.step_ms.unwrap_or(t.step_ms);
    t.reply_ms = args.reply_ms.unwrap_or(t.reply_ms);
    t.system_after_ms = args.system_after_ms.unwrap_or(t.system_after_ms);
    t.deploy_ms = args.deploy_ms.unwrap_or(t.deploy_ms);
    t.status_lag_ms = args.status_lag_ms.unwrap_or(t.status_lag_ms);
    let mut b = Emulator::builder()
        .timings(t)
        .bind(SocketAddr::new(args.host, args.port))
        .body_timeout(Duration::from_secs(args.body_timeout_secs.max(1)));
    if let Some(k) = args.api_key.filter(|k| !k.is_empty()) {
        b = b.api_key(k);
    }
    if let Some(k) = args.control_token.filter(|k| !k.is_empty()) {
        b = b.control_token(k);
    }
    if args.require_control_token {
        b = b.require_control_token(true);
    }
    let emu = b.start().await?;
    println!("Nairi emulator listening on {}", emu.base_url());
    println!("NAIRI_BASE_URL={}", emu.base_url());
    println!("NAIRI_API_KEY={}", emu.api_key());
    println!("NAIRI_EMULATOR_CONTROL_TOKEN={}", emu.control_token());
    let scope = if emu.control_token_required() {
        "needs X-Emulator-Token"
    } else {
        "open on loopback"
    };
    println!(
        "Control API: {}/_emulator, {scope} (Ctrl-C to stop)",
        emu.base_url()
    );
    wait_for_stop_signal().await;
    emu.shutdown().await;
    println!("Nairi emulator stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what scripts and process managers send) on Unix.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
