//! `login`, profiles, `doctor`, `emulator` and `completions` through the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{World, json, output};

#[test]
fn login_stores_a_private_profile_and_never_echoes_the_key() {
    let w = World::new();
    let key = w.key().to_owned();
    let base = w.emulator.base_url();
    let (code, out, err) = output(
        w.bare()
            .args(["login", "--profile", "work", "--base-url", &base])
            .write_stdin(format!("{key}\n")),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&key) && !err.contains(&key));
    let path = w.config_dir().join("nairi/config.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out, _) = output(w.bare().args(["agents", "list", "--profile", "work"]));
    assert_eq!(code, 0);
    assert!(json(&out).is_array());
    let (code, _, _) = output(
        w.bare()
            .env("NAIRI_PROFILE", "work")
            .args(["vaults", "list"]),
    );
    assert_eq!(code, 0);
    let (code, _, err) = output(w.bare().args(["agents", "list", "--profile", "home"]));
    assert_eq!(code, 2);
    assert!(err.contains("nairi login --profile home"), "{err}");

    let (code, _, err) = output(
        w.bare()
            .args(["login", "--profile", "bad", "--base-url", &base])
            .write_stdin("nr_wrong_key\n"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("nr_wrong_key"), "{err}");
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("nr_wrong_key")
    );
    let (code, _, _) = output(w.bare().args(["login", "--api-key", "nr_x"]));
    assert_eq!(code, 2);

    let (code, _, _) = output(w.bare().args(["logout", "--profile", "work"]));
    assert_eq!(code, 0);
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&key));
}

#[test]
fn doctor_checks_and_fixes() {
    let w = World::new();
    let (code, out, err) = output(w.nairi().arg("doctor"));
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        "✓ API key: set from $NAIRI_API_KEY",
        "✓ key type",
        "✓ reachable",
        "✓ authentication",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(!out.contains(w.key()));
    let (code, out, _) = output(
        w.nairi()
            .env("NAIRI_API_KEY", "ccagent_abc")
            .args(["doctor", "--json"]),
    );
    assert_eq!(code, 1);
    let checks = json(&out);
    let failed: Vec<&str> = checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["key type", "authentication"]);
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ok" || c["fix"].is_string())
    );
    let (code, out, _) = output(w.bare().arg("doctor"));
    assert_eq!(code, 1);
    assert!(out.contains("fix: run `nairi login`"), "{out}");
    let (code, out, _) = output(
        w.bare()
            .args(["doctor", "--base-url", "http://127.0.0.1:1"])
            .env("NAIRI_API_KEY", "nr_x"),
    );
    assert_eq!(code, 1);
    assert!(out.contains("✗ reachable"), "{out}");
}

#[test]
fn emulator_prints_exports_that_work() {
    let w = World::new();
    let bin = assert_cmd::cargo::cargo_bin("nairi");
    let mut child = std::process::Command::new(bin)
        .args(["emulator", "--port", "0", "--fast"])
        .env("XDG_CONFIG_HOME", w.config_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vars = Vec::new();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        let (name, value) = line
            .strip_prefix("export ")
            .unwrap()
            .split_once('=')
            .unwrap();
        vars.push((name.to_owned(), value.to_owned()));
    }
    assert_eq!(vars[0].0, "NAIRI_BASE_URL");
    assert_eq!(vars[1].0, "NAIRI_API_KEY");
    let (code, out, _) = output(
        w.bare()
            .envs(vars.clone())
            .args(["agents", "create", "--name", "x", "-q"]),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code, 0);
    assert!(out.starts_with("cci_"), "{out}");
}

#[test]
fn completions_for_each_shell() {
    let w = World::new();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = output(w.bare().args(["completions", shell]));
        assert_eq!(code, 0);
        assert!(out.contains("nairi") && out.contains("env-vars"), "{shell}");
    }
    let (code, _, _) = output(w.bare().args(["completions", "tcsh"]));
    assert_eq!(code, 2);
}
