//! Test support: the emulator in the test process and the real `nairi` binary pointed at it.
#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;
use nairi_emulator::{AgentSeed, Emulator, ScriptedTurn, Timings};

/// An emulator on 127.0.0.1 (ephemeral port) with its own runtime, and an empty config home.
pub struct World {
    pub emulator: Emulator,
    pub runtime: tokio::runtime::Runtime,
    pub home: tempfile::TempDir,
}

impl World {
    pub fn new() -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime
            .block_on(Emulator::builder().timings(Timings::fast()).start())
            .unwrap();
        World {
            emulator,
            runtime,
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn key(&self) -> &str {
        self.emulator.api_key()
    }

    /// `nairi` with no inherited NAIRI_* settings, a private config home, and the emulator in
    /// the environment.
    pub fn nairi(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("NAIRI_BASE_URL", self.emulator.base_url())
            .env("NAIRI_API_KEY", self.key());
        cmd
    }

    /// `nairi` with no key nor base URL at all.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::cargo_bin("nairi").unwrap();
        for var in [
            "NAIRI_API_KEY",
            "NAIRI_BASE_URL",
            "NAIRI_PROFILE",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("XDG_CONFIG_HOME", self.home.path())
            .env("HOME", self.home.path());
        cmd
    }

    pub fn config_dir(&self) -> &Path {
        self.home.path()
    }

    /// A deployed agent with this slug.
    pub fn agent(&self, slug: &str) -> String {
        let agent = self
            .emulator
            .create_agent(
                self.key(),
                AgentSeed {
                    name: slug.into(),
                    slug: Some(slug.into()),
                    deployed: true,
                    instances_count: Some(2),
                },
            )
            .unwrap();
        agent["agent_id"].as_str().unwrap().to_owned()
    }

    pub fn script(&self, agent: &str, turns: Vec<ScriptedTurn>) {
        self.emulator.script(self.key(), agent, turns).unwrap();
    }
}

/// Runs and gives (exit code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Compares `actual` with `tests/snapshots/NAME` (ids and times replaced by placeholders);
/// `UPDATE_SNAPSHOTS=1` rewrites the file instead.
pub fn snapshot(name: &str, actual: &str) {
    let ids = regex::Regex::new(r"\b[a-z]{2,5}_[0-9A-Z]{26}\b").unwrap();
    let times = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").unwrap();
    let normal = ids.replace_all(actual, "<ID>");
    let normal = times.replace_all(&normal, "<TIME>").into_owned();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &normal).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}; run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(normal, expected, "snapshot {name} differs");
}
