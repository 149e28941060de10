//! Resource commands through the real binary against the in-process emulator.

mod common;

use common::{World, json, output, snapshot};

#[test]
fn agents_crud_with_json_quiet_and_errors() {
    let w = World::new();
    let (code, out, err) = output(
        w.nairi()
            .args(["agents", "create", "--name", "Support Bot"]),
    );
    assert_eq!(code, 0, "{err}");
    let agent = json(&out);
    let id = agent["id"].as_str().unwrap().to_owned();
    assert_eq!(agent["name"], "Support Bot");

    let (code, out, _) = output(w.nairi().args(["agents", "list", "--quiet"]));
    assert_eq!(code, 0);
    assert_eq!(out.lines().collect::<Vec<_>>(), [id.as_str()]);

    let (code, out, _) =
        output(
            w.nairi()
                .args(["agents", "update", &id, "--description", "Billing"]),
        );
    assert_eq!(code, 0);
    assert_eq!(json(&out)["description"], "Billing");

    let (code, out, err) = output(w.nairi().args(["agents", "delete", &id]));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));

    let (code, out, err) = output(w.nairi().args(["agents", "get", &id]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(err.starts_with("error: "), "{err}");
    let (code, _, err) = output(w.nairi().args(["agents", "get", &id, "--json"]));
    assert_eq!(code, 1);
    assert_eq!(json(&err)["class"], "NotFoundError");
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let w = World::new();
    let before = w.emulator.requests().len();
    let cases: &[&[&str]] = &[
        &["rules", "create", "--title", "T", "--description", "D"],
        &["agents", "create", "--name", "x", "--data", "[1]"],
        &["agents", "create", "--data", "{not json"],
        &[
            "agents",
            "create",
            "--instances-count",
            "many",
            "--name",
            "x",
        ],
        &["agents", "get"],
        &["agents", "frobnicate"],
        &[
            "rules",
            "create",
            "--title",
            "T",
            "--description",
            "D",
            "--content-file",
            "/no/such",
        ],
        &[
            "agents",
            "create",
            "--name",
            "x",
            "--data",
            r#"{"nmae": 1}"#,
        ],
    ];
    for args in cases {
        let (code, out, err) = output(w.nairi().args(*args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (_, _, err) = output(w.nairi().args(cases[0]));
    assert!(err.contains("missing --content"), "{err}");
    assert_eq!(w.emulator.requests().len(), before);

    let (code, _, err) = output(w.bare().args(["agents", "list"]));
    assert_eq!(code, 2);
    assert!(err.contains("nairi login"), "{err}");
}

#[test]
fn long_text_from_stdin_and_files_tables_and_help_snapshots() {
    let w = World::new();
    let (code, out, err) = output(
        w.nairi()
            .args([
                "rules",
                "create",
                "--title",
                "Tone",
                "--description",
                "Be kind",
                "--content-file",
                "-",
            ])
            .write_stdin("Always answer politely.\nNever shout."),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&out)["content"],
        "Always answer politely.\nNever shout."
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rule.md");
    std::fs::write(&file, "Cite sources.").unwrap();
    let (code, _, _) = output(w.nairi().args([
        "rules",
        "create",
        "--title",
        "Sources",
        "--description",
        "Cite",
        "--content-file",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0);
    let (code, out, _) = output(w.nairi().args(["rules", "list", "--table"]));
    assert_eq!(code, 0);
    snapshot("rules_list_table.txt", &out);
    let id = json(&output(w.nairi().args(["rules", "list"])).1)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, out, _) = output(w.nairi().args(["rules", "get", &id, "--table"]));
    snapshot("rules_get_table.txt", &out);

    let (code, out, _) = output(w.bare().arg("--help"));
    assert_eq!(code, 0);
    snapshot("help.txt", &out);
    let (_, out, _) = output(w.bare().args(["rules", "create", "--help"]));
    snapshot("rules_create_help.txt", &out);
    let (_, out, _) = output(w.bare().args(["run", "--help"]));
    snapshot("run_help.txt", &out);
}

#[test]
fn secrets_come_from_stdin_and_never_show() {
    let w = World::new();
    let secret = "s3cr3t-Value-9f8e7d";
    let (_, out, _) = output(w.nairi().args(["vaults", "create", "--name", "prod"]));
    let vault = json(&out)["id"].as_str().unwrap().to_owned();
    let (code, out, err) = output(
        w.nairi()
            .args([
                "vaults",
                "secrets",
                "create",
                &vault,
                "--env-key",
                "STRIPE_KEY",
            ])
            .write_stdin(format!("{secret}\n")),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["env_key"], "STRIPE_KEY");
    let secret_id = json(&out)["id"].as_str().unwrap().to_owned();
    let mut outputs = vec![out, err];
    for (args, stdin) in [
        (
            vec![
                "vaults",
                "secrets",
                "update",
                &vault,
                &secret_id,
                "--value-stdin",
            ],
            secret,
        ),
        (vec!["vaults", "secrets", "list", &vault, "--table"], ""),
        (
            vec![
                "vaults",
                "secrets",
                "create",
                "no-such-vault",
                "--env-key",
                "K",
                "--json",
            ],
            secret,
        ),
        (
            vec![
                "vaults",
                "secrets",
                "create",
                &vault,
                "--env-key",
                "bad key!",
            ],
            secret,
        ),
    ] {
        let (_, out, err) = output(w.nairi().args(&args).write_stdin(stdin));
        outputs.push(out);
        outputs.push(err);
    }
    for text in &outputs {
        assert!(!text.contains(secret), "the secret leaked: {text}");
    }
    assert!(outputs.iter().any(|o| o.contains("STRIPE_KEY")));
    // `set` creates, then rotates, by env key.
    for _ in 0..2 {
        let (code, out, err) = output(
            w.nairi()
                .args(["vaults", "secrets", "set", &vault, "OPENAI_KEY"])
                .write_stdin(secret),
        );
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains(secret) && !err.contains(secret));
    }
    let (_, out, _) = output(w.nairi().args(["vaults", "secrets", "list", &vault]));
    let keys: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["env_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys.iter().filter(|k| *k == "OPENAI_KEY").count(),
        1,
        "{keys:?}"
    );
    // No flag takes a secret value.
    let (code, _, err) = output(w.nairi().args([
        "vaults",
        "secrets",
        "create",
        &vault,
        "--env-key",
        "K",
        "--value",
        secret,
    ]));
    assert_eq!(code, 2);
    assert!(!err.contains("STRIPE"), "{err}");
    // An empty value is refused.
    let (code, _, _) = output(
        w.nairi()
            .args(["vaults", "secrets", "create", &vault, "--env-key", "K"])
            .write_stdin(""),
    );
    assert_eq!(code, 2);
}

#[test]
fn uploads_zip_directories_and_conversations_page() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let skill = dir.path().join("pdf-tools");
    std::fs::create_dir_all(skill.join("scripts")).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: pdf-tools\ndescription: Read PDFs\n---\nUse it.",
    )
    .unwrap();
    std::fs::write(skill.join("scripts/run.sh"), "echo hi").unwrap();
    let (code, out, err) = output(
        w.nairi()
            .args(["skills", "upload", skill.to_str().unwrap()]),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["name"], "pdf-tools");

    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    let (code, out, _) =
        output(
            w.nairi()
                .args(["attachments", "upload", file.to_str().unwrap(), "-q"]),
        );
    assert_eq!(code, 0);
    let att = out.trim().to_owned();
    assert!(att.starts_with("att_"), "{att}");
    let (_, out, _) = output(w.nairi().args(["attachments", "get", &att]));
    assert_eq!(json(&out)["filename"], "notes.txt");

    let agent = w.agent("pager");
    for i in 0..3 {
        let (code, _, err) =
            output(
                w.nairi()
                    .args(["run", &agent, &format!("prompt {i}"), "--no-wait"]),
            );
        assert_eq!(code, 0, "{err}");
    }
    let (_, out, _) =
        output(
            w.nairi()
                .args(["agents", "conversations", "list", &agent, "--limit", "1"]),
        );
    assert_eq!(json(&out).as_array().unwrap().len(), 3);
    let (_, out, _) = output(w.nairi().args([
        "agents",
        "conversations",
        "list",
        &agent,
        "--limit",
        "1",
        "--no-paginate",
    ]));
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
}

#[test]
fn api_escape_hatch() {
    let w = World::new();
    let (code, out, err) =
        output(
            w.nairi()
                .args(["api", "POST", "/vaults", "--data", r#"{"name": "ops"}"#]),
        );
    assert_eq!(code, 0, "{err}");
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    let (code, out, _) =
        output(
            w.nairi()
                .args(["api", "GET", &format!("/api/public/v1/vaults/{id}")]),
        );
    assert_eq!(code, 0);
    assert_eq!(json(&out)["name"], "ops");
    let (code, out, _) = output(w.nairi().args(["api", "get", "/models?provider=anthropic"]));
    assert_eq!(code, 0);
    assert!(json(&out).is_array());
    let (code, _, err) = output(w.nairi().args(["api", "GET", "/not/an/endpoint"]));
    assert_eq!(code, 2);
    assert!(err.contains("not an endpoint"), "{err}");
    let (code, _, _) = output(w.nairi().args(["api", "DELETE", &format!("/vaults/{id}")]));
    assert_eq!(code, 0);
    let (code, _, _) = output(w.nairi().args(["api", "GET", &format!("/vaults/{id}")]));
    assert_eq!(code, 1);
}
