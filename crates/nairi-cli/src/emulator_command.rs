//! `nairi emulator`: the embedded emulator, with the `export` lines that point the SDKs and
//! the CLI at it.

use std::net::{Ipv4Addr, SocketAddr};

use clap::Args;
use nairi_emulator::{Emulator, Timings};

use crate::exit::CliError;

/// `nairi emulator`.
#[derive(Args, Debug, Clone)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Near-zero timings (replies in milliseconds), for tests.
    #[arg(long)]
    pub fast: bool,
}

/// Runs the emulator until Ctrl+C; the exports go to stdout (`eval "$(nairi emulator ...)"`
/// does not work since it keeps running: copy them, or read the first lines).
pub async fn run(args: EmulatorArgs) -> Result<(), CliError> {
    let timings = if args.fast {
        Timings::fast()
    } else {
        Timings::default()
    };
    let emulator = Emulator::builder()
        .timings(timings)
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .start()
        .await
        .map_err(|e| {
            CliError::local(format!(
                "the emulator could not start on port {}: {e}",
                args.port
            ))
        })?;
    crate::output::print(&format!(
        "export NAIRI_BASE_URL={}\nexport NAIRI_API_KEY={}\nexport NAIRI_EMULATOR_CONTROL_TOKEN={}",
        emulator.base_url(),
        emulator.api_key(),
        emulator.control_token()
    ));
    eprintln!(
        "Nairi emulator listening on {} (a local fake: keys and data are throwaway). Ctrl+C stops it.",
        emulator.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::local(format!("waiting for Ctrl+C: {e}")))?;
    emulator.shutdown().await;
    eprintln!("Emulator stopped.");
    Ok(())
}
