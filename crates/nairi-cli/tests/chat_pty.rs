//! `nairi chat` in a real pseudo-terminal: prompt, progress and reply, follow-up, Ctrl+C during
//! a wait, leaving.
#![cfg(unix)]

mod common;

use common::World;
use nairi_emulator::ScriptedTurn;

fn reply(text: &str) -> ScriptedTurn {
    ScriptedTurn {
        reply: Some(text.into()),
        ..Default::default()
    }
}

#[test]
fn chat_in_a_terminal() {
    let w = World::new();
    let agent = w.agent("pty-bot");
    w.script(
        &agent,
        vec![
            reply("# Plan\n- **first** answer"),
            reply("Second answer"),
            ScriptedTurn {
                reply: Some("too late".into()),
                delay_ms: 600_000,
                ..Default::default()
            },
            reply("After the interrupt"),
        ],
    );
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("nairi"));
    cmd.args(["chat", &agent])
        .env("NAIRI_BASE_URL", w.emulator.base_url())
        .env("NAIRI_API_KEY", w.key())
        .env("XDG_CONFIG_HOME", w.config_dir())
        .env("TERM", "xterm")
        .env_remove("NAIRI_PROFILE");
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("Chatting with pty-bot").unwrap();
    p.exp_string("you> ").unwrap();
    p.send_line("hello there").unwrap();
    // Progress events as they arrive, then the rendered reply, its cost.
    p.exp_string("Working on: hello there").unwrap();
    p.exp_string("Plan").unwrap();
    p.exp_string("first\u{1b}[0m answer").unwrap();
    p.exp_string("cost:").unwrap();
    p.exp_string("you> ").unwrap();
    // The follow-up goes to the same conversation.
    p.send_line("and then?").unwrap();
    p.exp_string("Second answer").unwrap();
    p.exp_string("you> ").unwrap();
    // Ctrl+C while the agent works (the live status line says so) stops waiting and says how
    // to resume. (rexpect reads bytes as Latin-1, so only ASCII is expected.)
    p.send_line("take your time").unwrap();
    p.exp_string("working").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("Resume with:").unwrap();
    p.exp_string("nairi watch job_").unwrap();
    p.exp_string("you> ").unwrap();
    p.send_line("/help").unwrap();
    p.exp_string("/attach PATH").unwrap();
    p.exp_string("you> ").unwrap();
    p.send_line("/quit").unwrap();
    p.exp_string("Bye.").unwrap();
    p.exp_eof().unwrap();

    let jobs = w.emulator.requests();
    let starts = jobs
        .iter()
        .filter(|r| r.path.ends_with("/conversations/start"))
        .count();
    let follow_ups = jobs
        .iter()
        .filter(|r| r.path.ends_with("/continue"))
        .count();
    assert_eq!((starts, follow_ups), (1, 2));
}

#[test]
fn chat_refuses_a_pipe() {
    let w = World::new();
    let (code, _, err) = common::output(w.nairi().args(["chat", "x"]).write_stdin("hi\n"));
    assert_eq!(code, 2);
    assert!(err.contains("nairi run"), "{err}");
}
