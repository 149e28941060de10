"""Checked by `mypy --strict` (make test-python), not run: the facade's result types."""

from __future__ import annotations

from pathlib import Path

from typing_extensions import assert_type

import nairi
from nairi import models


async def async_results(c: nairi.AsyncClient, h: models.TurnHandle) -> None:
    assert_type(await c.agents.create(name="x"), models.Agent)
    assert_type(await c.agents.list(), list[models.Agent])
    assert_type(await c.agents.delete("a"), None)
    assert_type(await c.agents.deploy("a"), models.DeployStatus)
    assert_type(await c.agents.resources.list("a"), list[models.Resource])
    assert_type(await c.agents.env_vars.create("a", key="K", value="v"), models.EnvVar)
    assert_type(await c.agents.conversations.list("a", limit=5), list[models.Conversation])
    assert_type(c.agents.conversations.list_all("a"), nairi.AsyncStream[models.Conversation])
    assert_type(await c.conversations.start(agent_id="a", prompt="p"), models.TurnHandle)
    assert_type(await c.conversations.follow_up("j", prompt="p"), models.TurnHandle)
    assert_type(await c.conversations.run("a", "p", timeout=None), models.Turn)
    assert_type(await c.conversations.run_follow_up("j", "p"), models.Turn)
    assert_type(await c.conversations.wait(h, settle=0), models.Turn)
    assert_type(c.conversations.watch(h), nairi.AsyncStream[models.TurnEvent])
    assert_type(await c.messages.list("j"), list[models.Message])
    assert_type(await c.messages.get("m"), models.Message)
    assert_type(await c.attachments.upload(b"x", filename="a.txt"), models.AttachmentUpload)
    assert_type(await c.attachments.get("att"), models.Attachment)
    assert_type(await c.attachments.download("att", Path(".")), bytes | Path)
    assert_type(await c.rules.get("r"), models.Rule)
    assert_type(await c.mcp_configs.list(), list[models.McpConfig])
    assert_type(await c.skills.create(Path("s.zip")), models.Skill)
    assert_type(await c.vaults.create(name="v"), models.Vault)
    assert_type(await c.vaults.secrets.list("v"), list[models.VaultSecret])
    assert_type(await c.channels.list(), list[models.Channel])
    assert_type(await c.scheduled_jobs.get("s"), models.ScheduledJob)
    assert_type(await c.models.list(), list[models.Model])
    assert_type(await c.integrations.list_llm(), list[models.LlmIntegration])
    assert_type(await c.integrations.list_github_repos(), list[models.GithubRepo])
    async for event in c.conversations.watch(h):
        if isinstance(event, models.TurnEventCompleted):
            assert_type(event.text, str)


def sync_results(c: nairi.Client, h: models.TurnHandle) -> None:
    assert_type(c.agents.get("a"), models.Agent)
    assert_type(c.conversations.run("a", "p"), models.Turn)
    assert_type(c.conversations.watch(h), nairi.Stream[models.TurnEvent])
    assert_type(c.with_options(max_retries=0), nairi.Client)
    for conv in c.agents.conversations.list_all("a"):
        assert_type(conv, models.Conversation)
    try:
        c.agents.get("a")
    except nairi.RateLimitError as e:
        assert_type(e.retry_after, float | None)
    except nairi.TurnFailedError as e:
        assert_type(e.system_messages, list[models.Message])
