//! `nairi run` and `nairi watch` through the binary: stdout, stderr and exit codes.

mod common;

use common::{World, json, output};
use nairi_emulator::{FailSpec, ScriptedTurn};

fn reply(text: &str) -> ScriptedTurn {
    ScriptedTurn {
        reply: Some(text.into()),
        ..Default::default()
    }
}

#[test]
fn run_prints_the_reply_alone_and_follows_up() {
    let w = World::new();
    let agent = w.agent("helper");
    w.script(
        &agent,
        vec![reply("Refunded **cus_123**."), reply("Receipt sent.")],
    );
    let (code, out, err) = output(w.nairi().args(["run", &agent, "Refund cus_123"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Refunded **cus_123**.\n");
    assert_eq!(err, "", "no progress when stderr is not a terminal");

    let (code, out, _) = output(
        w.nairi()
            .args(["run", &agent, "-", "--json"])
            .write_stdin("Email it"),
    );
    assert_eq!(code, 0);
    let turn = json(&out);
    assert_eq!(turn["text"], "Receipt sent.");
    let job = turn["job_id"].as_str().unwrap().to_owned();
    let user = &turn["messages"].as_array().unwrap()[0];
    assert!(user.get("content").is_some());

    let (code, out, err) = output(w.nairi().args(["run", "--follow-up", &job, "And thanks"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("And thanks"), "{out}");
    let (_, out, _) = output(w.nairi().args(["messages", "list", &job]));
    let contents: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contents, ["Email it", "And thanks"]);
}

#[test]
fn attachments_and_no_wait_then_watch() {
    let w = World::new();
    let agent = w.agent("reader");
    w.script(&agent, vec![reply("Read it.")]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.txt");
    std::fs::write(&file, "total: 12").unwrap();
    let (code, out, err) = output(w.nairi().args([
        "run",
        &agent,
        "Summarise",
        "--attach",
        file.to_str().unwrap(),
        "--no-wait",
    ]));
    assert_eq!(code, 0, "{err}");
    let ids: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{out}");
    let (_, msg, _) = output(w.nairi().args(["messages", "get", ids[1]]));
    assert_eq!(json(&msg)["attachment_ids"].as_array().unwrap().len(), 1);

    let (code, out, err) = output(w.nairi().args(["watch", ids[0], ids[1]]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Read it.\n");
    let (code, out, _) = output(w.nairi().args(["watch", ids[0], ids[1], "--json"]));
    assert_eq!(code, 0);
    let events: Vec<serde_json::Value> = out.lines().map(json).collect();
    assert_eq!(events.last().unwrap()["type"], "completed");
    assert_eq!(events.last().unwrap()["text"], "Read it.");

    let (code, out, _) = output(
        w.nairi()
            .args(["run", &agent, "again", "--no-wait", "--json"]),
    );
    assert_eq!(code, 0);
    assert!(json(&out)["message_id"].is_string());
}

#[test]
fn exit_codes_tell_failures_apart() {
    let w = World::new();
    let agent = w.agent("flaky");
    w.script(
        &agent,
        vec![ScriptedTurn {
            fail: Some(FailSpec {
                detail: Some("disk full on the runner".into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
    );
    let (code, out, err) = output(w.nairi().args(["run", &agent, "build it"]));
    assert_eq!(code, 3, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("disk full on the runner"), "{err}");

    w.script(
        &agent,
        vec![ScriptedTurn {
            stuck: true,
            ..Default::default()
        }],
    );
    let (code, _, err) = output(
        w.nairi()
            .args(["run", &agent, "wait forever", "--timeout", "1s"]),
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("nairi watch"), "{err}");

    w.script(&agent, vec![reply("ok")]);
    let (code, out, _) = output(w.nairi().args(["run", &agent, "hi", "--json"]));
    assert_eq!(code, 0);
    let job = json(&out)["job_id"].as_str().unwrap().to_owned();
    w.emulator
        .set_job_status(
            w.key(),
            &job,
            "completed",
            Some("Job complete - Pull request was merged"),
        )
        .unwrap();
    let (code, _, err) = output(w.nairi().args(["run", "--follow-up", &job, "more"]));
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("ended"), "{err}");

    let (code, _, _) = output(w.nairi().args(["run", "no-such-agent", "hi"]));
    assert_eq!(code, 1);
    for args in [
        vec!["run", &agent],
        vec!["run", &agent, "hi", "--timeout", "0"],
        vec!["run", &agent, "   "],
        vec!["run", "--follow-up", &job, "--ask", "hi"],
        vec!["run", &agent, "hi", "--attach", "/no/such/file"],
        vec!["watch", &job],
    ] {
        let (code, out, err) = output(w.nairi().args(&args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "");
    }
}
