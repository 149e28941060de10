"""The facade over every operation group, both clients, against the emulator."""

from __future__ import annotations

import datetime
import io
import json
import pickle
from pathlib import Path

import pytest

import nairi
from nairi import models


def test_the_installed_package_is_under_test() -> None:
    assert "site-packages" in nairi.__file__, nairi.__file__


def test_every_operation_is_a_method_of_both_clients(nairi_emulator) -> None:  # type: ignore[no-untyped-def]
    from nairi import _native

    sync, aio = nairi_emulator.client(), nairi_emulator.async_client()
    for op_id in _native.operation_ids():
        *groups, name = op_id.split(".")
        for client in (sync, aio):
            ns = client
            for g in groups:
                ns = getattr(ns, g)
            assert callable(getattr(ns, name)), op_id


async def test_agents_and_their_namespaces(emu) -> None:  # type: ignore[no-untyped-def]
    async with emu.async_client() as c:
        agent = await c.agents.create(name="Support bot", instances_count=2)
        assert isinstance(agent, models.Agent) and agent.name == "Support bot"
        assert isinstance(agent.created_at, datetime.datetime) and agent.created_at.tzinfo
        assert await c.agents.get(agent.id) == agent
        updated = await c.agents.update(agent.id, description="Answers billing", system_prompt=None)
        assert updated.description == "Answers billing"
        assert {a.id for a in await c.agents.list()} >= {agent.id}
        status = await c.agents.deploy(agent.id)
        assert isinstance(status, models.DeployStatus)
        env = await c.agents.env_vars.create(agent.id, key="REGION", value="eu")
        env = await c.agents.env_vars.update(agent.id, env.id, value="us")
        assert [e.key for e in await c.agents.env_vars.list(agent.id)] == ["REGION"]
        assert await c.agents.env_vars.delete(agent.id, env.id) is None
        rule = await c.rules.create(title="Tone", description="How to answer", content="Be brief")
        res = await c.agents.resources.assign(agent.id, entity_type="agent_artifact_rule", entity_id=rule.id)
        assert [r.entity_id for r in await c.agents.resources.list(agent.id)] == [rule.id]
        await c.agents.resources.unassign(agent.id, res.id)
        assert await c.agents.resources.list(agent.id) == []
        await c.agents.delete(agent.id)
        with pytest.raises(nairi.NotFoundError):
            await c.agents.get(agent.id)


def test_artifacts_vaults_catalog_sync(emu) -> None:  # type: ignore[no-untyped-def]
    with emu.client() as c:
        rule = c.rules.create(title="Tone", description="How to answer", content="Be brief")
        assert c.rules.replace(rule.id, title="Tone", description="How", content="Be briefer").content == "Be briefer"
        assert c.rules.get(rule.id).id == rule.id and len(c.rules.list()) == 1
        c.rules.delete(rule.id)
        cfg = c.mcp_configs.create(title="gh", description="GitHub", content='{"mcpServers": {"gh": {"command": "gh-mcp"}}}')
        assert c.mcp_configs.get(cfg.id).title == "gh"
        c.mcp_configs.replace(cfg.id, title="gh2", description="v2")
        assert [m.title for m in c.mcp_configs.list()] == ["gh2"]
        c.mcp_configs.delete(cfg.id)
        vault = c.vaults.create(name="prod")
        secret = c.vaults.secrets.create(vault.id, env_key="TOKEN", value="s3cret-value", allowed_domains=["api.example.com"])
        assert "s3cret-value" not in repr(secret)
        c.vaults.secrets.update(vault.id, secret.id, value="other")
        assert [s.env_key for s in c.vaults.secrets.list(vault.id)] == ["TOKEN"]
        c.vaults.secrets.delete(vault.id, secret.id)
        assert c.vaults.update(vault.id, name="prod2").name == "prod2"
        assert c.vaults.get(vault.id).name == "prod2" and len(c.vaults.list()) == 1
        c.vaults.delete(vault.id)
        assert isinstance(c.channels.list(), list)
        assert all(isinstance(m, models.Model) for m in c.models.list())
        llm = c.integrations.list_llm()
        if llm:
            assert c.integrations.update_llm(llm[0].id, name="prod").name == "prod"
        assert isinstance(c.integrations.list_github_repos(), list)
        agent = c.agents.get("billing")
        job = c.scheduled_jobs.create(schedule="0 3 * * *", timezone="UTC", prompt="report", job_type="app", agent_id=agent.id)
        assert c.scheduled_jobs.get(job.id).prompt == "report"
        assert c.scheduled_jobs.update(job.id, prompt="daily").prompt == "daily"
        assert len(c.scheduled_jobs.list()) == 1
        c.scheduled_jobs.delete(job.id)


def test_skills_from_bytes_and_path(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    archive = tmp_path / "tone.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("SKILL.md", "---\nname: tone\ndescription: Be brief\n---\nBe brief.\n")
    with emu.client() as c:
        skill = c.skills.create(archive)
        assert c.skills.get(skill.id).id == skill.id
        c.skills.replace(skill.id, archive.read_bytes(), filename="tone.zip")
        assert len(c.skills.list()) == 1
        c.skills.delete(skill.id)


async def test_attachments_bytes_path_file_and_downloads(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "notes.txt"
    src.write_bytes(b"hello")
    async with emu.async_client() as c:
        a = await c.attachments.upload(b"bytes!", filename="a.txt")
        b = await c.attachments.upload(src)
        f = await c.attachments.upload(io.BytesIO(b"file"), filename="f.bin", content_type="application/octet-stream")
        got = await c.attachments.get(b.attachment_id)
        assert got.data == b"hello" and got.filename == "notes.txt" and got.content_type == "text/plain"
        assert await c.attachments.download(a.attachment_id) == b"bytes!"
        out = tmp_path / "out"
        out.mkdir()
        saved = await c.attachments.download(f.attachment_id, out)
        assert isinstance(saved, Path) and saved.read_bytes() == b"file" and saved.parent == out
        with pytest.raises(nairi.FileSystemError, match="missing.txt"):
            await c.attachments.upload(tmp_path / "missing.txt")
        with pytest.raises(nairi.FileSystemError):
            await c.attachments.download(a.attachment_id, tmp_path / "no-such-dir")


def test_sync_attachment_download_to_dir(emu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with emu.client() as c:
        up = c.attachments.upload(b"x", filename="../../evil.txt")
        saved = c.attachments.download(up.attachment_id, tmp_path)
        assert isinstance(saved, Path) and saved.parent == tmp_path and saved.read_bytes() == b"x"


async def test_run_follow_up_wait_watch(emu) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"reply": "Refunded."}, {"reply": "Emailed."}, {"reply": "Watched."}])
    async with emu.async_client() as c:
        turn = await c.conversations.run("billing", "Refund cus_123", timeout=30)
        assert isinstance(turn, models.Turn) and turn.text == "Refunded." and turn.status == "completed"
        turn2 = await c.conversations.run_follow_up(turn.job_id, "and email them")
        assert turn2.text == "Emailed." and turn2.job_id == turn.job_id
        handle = await c.conversations.follow_up(turn.job_id, prompt="watch it")
        events = [e async for e in c.conversations.watch(handle, settle=0)]
        assert events[-1].type == "completed" and isinstance(events[-1], models.TurnEventCompleted)
        assert events[-1].text == "Watched."
        assert {"status_changed", "assistant"} <= {e.type for e in events}
        msgs = await c.messages.list(turn.job_id)
        assert await c.messages.get(msgs[0].id) == msgs[0]
        convs = await c.agents.conversations.list("billing", limit=10, status=["active"])
        assert [x.id for x in convs] == [turn.job_id]
        all_ = [x async for x in c.agents.conversations.list_all("billing", updated_after=datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc))]
        assert [x.id for x in all_] == [turn.job_id]


def test_sync_run_wait_watch_and_turn_errors(emu) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"reply": "One."}, {"fail": {"detail": "disk full"}}, {"stuck": True}])
    with emu.client() as c:
        h = c.conversations.start(agent_id="billing", prompt="one")
        assert c.conversations.wait(h).text == "One."
        with pytest.raises(nairi.TurnFailedError) as failed:
            c.conversations.run("billing", "two")
        assert failed.value.detail == "disk full" and failed.value.job_id and failed.value.message_id
        assert failed.value.system_messages and isinstance(failed.value.system_messages[0], models.Message)
        h = c.conversations.start(agent_id="billing", prompt="three")
        with pytest.raises(nairi.WaitTimeoutError) as timeout:
            c.conversations.wait(h, timeout=0.3)
        assert timeout.value.job_id == h.job_id and timeout.value.last_status
        with c.conversations.watch(h, timeout=0.3) as events:
            with pytest.raises(nairi.WaitTimeoutError):
                list(events)
        with pytest.raises(nairi.ValidationError):
            c.conversations.wait(h, timeout=0)


def test_turn_handle_is_plain_data(emu) -> None:  # type: ignore[no-untyped-def]
    emu.script("billing", [{"reply": "Resumed."}])
    with emu.client() as c:
        h = c.conversations.start(agent_id="billing", prompt="x")
        again = pickle.loads(pickle.dumps(h))
        assert again == h
        as_json = json.dumps(h.to_dict())
        assert c.conversations.wait(json.loads(as_json)).text == "Resumed."


def test_models_repr_equality_to_dict_and_unknown_fields() -> None:
    from nairi._model import decode

    raw = b'{"id":"cci_1","name":"A","agent_id":"a","created_at":"2026-01-02T03:04:05Z","brand_new":{"x":1}}'
    agent = decode(raw, models.Agent)
    assert agent.extra == {"brand_new": {"x": 1}}
    assert agent.to_dict()["brand_new"] == {"x": 1} and agent.to_dict()["created_at"].startswith("2026-01-02T03:04:05")
    assert "name='A'" in repr(agent) and agent == decode(raw, models.Agent)
    msg = decode(b'{"id":"m","role":"robot","status":"thinking"}', models.Message)
    assert msg.role == "robot" and msg.status == "thinking"  # open enums keep unknown values


def test_with_options_and_repr_hide_the_key(emu) -> None:  # type: ignore[no-untyped-def]
    c = emu.client()
    quick = c.with_options(max_retries=0, timeout=5)
    assert quick.agents.get("billing").agent_id == "billing"
    for text in (repr(c), str(c), repr(quick), repr(c._t.native), repr(emu)):
        assert emu.api_key not in text
    with pytest.raises(nairi.ValidationError):
        c.with_options(timeout=-1)


def test_configuration_errors() -> None:
    with pytest.raises(nairi.ConfigurationError):
        nairi.Client(use_env=False)
    with pytest.raises(nairi.ConfigurationError):
        nairi.Client(api_key="nr_x", base_url="http://example.com", use_env=False)
    with pytest.raises(nairi.ConfigurationError):
        nairi.AsyncClient(api_key="nr_x", timeout=-1, use_env=False)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, emu) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NAIRI_API_KEY", emu.api_key)
    monkeypatch.setenv("NAIRI_BASE_URL", emu.base_url)
    assert nairi.Client().agents.get("billing").agent_id == "billing"


def test_every_error_class_and_hierarchy() -> None:
    from nairi._errors import _CLASSES, _from_payload

    surface = json.loads((Path(__file__).resolve().parents[2] / "spec" / "surface.json").read_text())
    for c in surface["errors"]["classes"]:
        cls = getattr(nairi, c["class"])
        assert issubclass(cls, getattr(nairi, c["parent"])) and issubclass(cls, nairi.NairiError)
        err = _from_payload(json.dumps({"class": c["class"], "message": "m", "status": c["status"], "retry_after": 1.5}))
        assert type(err) is cls and err.status == c["status"] and err.retry_after == 1.5
        assert pickle.loads(pickle.dumps(err)).message == "m"
    assert set(_CLASSES) == {c["class"] for c in surface["errors"]["classes"]} | {"NairiError"}
    assert issubclass(nairi.NotFoundError, nairi.APIError) and issubclass(nairi.APITimeoutError, nairi.APIConnectionError)


def test_api_error_attributes(emu) -> None:  # type: ignore[no-untyped-def]
    emu.inject_fault({"path_prefix": "/api/public/v1/agents", "status": 429, "retry_after": "120", "times": 1})
    c = emu.client(max_retries=0)
    with pytest.raises(nairi.RateLimitError) as e:
        c.agents.list()
    assert e.value.status == 429 and e.value.retry_after == 120 and isinstance(e.value, nairi.APIError)
    with pytest.raises(nairi.ValidationError) as v:
        c.agents.create(name="")
    assert v.value.field


def test_unknown_keyword_is_a_type_error(emu) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        emu.client().agents.create(nmae="x")  # type: ignore[call-arg]


async def test_a_seeded_long_thread_and_a_turn_at_its_end(emu) -> None:  # type: ignore[no-untyped-def]
    agent = emu.create_agent("Historian")
    ids = emu.seed_job(agent["agent_id"], source="api", prompt="first", reply="done", earlier_turns=3, progress_per_turn=2)
    emu.script(agent["agent_id"], [{"reply": "At the end."}])
    async with emu.async_client() as c:
        # Three earlier turns of a prompt, two progress messages and a reply; then the prompt and its reply.
        thread = await c.messages.list(ids["job_id"])
        assert len(thread) == 3 * 4 + 2
        assert (await c.messages.get(ids["message_id"])).content == "first"
        handle = await c.conversations.follow_up(ids["job_id"], prompt="and now?")
        turn = await c.conversations.wait(handle, initial_interval=0.01, max_interval=0.05, settle=0)
        assert turn.text == "At the end." and turn.job_id == ids["job_id"]


def test_with_options_can_turn_prompt_recovery_off(emu) -> None:  # type: ignore[no-untyped-def]
    agent = emu.create_agent("Recoverer")["agent_id"]
    lost = {"method": "POST", "path_prefix": "/api/public/v1/conversations/start", "apply": True, "drop_connection": True}
    c = emu.client(max_retries=0)
    emu.inject_fault(lost)
    # On by default: the start is applied, its answer lost, and the turn found again.
    assert c.conversations.start(agent_id=agent, prompt="first").recovered
    emu.inject_fault(lost)
    # Off: the same loss is raised as it happened, and the prompt is not sent a second time.
    with pytest.raises(nairi.APIConnectionError):
        c.with_options(recover_prompts=False).conversations.start(agent_id=agent, prompt="second")
    prompts = sorted(m.content for j in c.agents.conversations.list(agent) for m in c.messages.list(j.id) if m.role == "user")
    assert prompts == ["first", "second"]
