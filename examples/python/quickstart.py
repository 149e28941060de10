"""The Nairi quickstart in Python: what crates/nairi/examples/quickstart.rs does.

Creates an agent, a rule and a vault with a secret, attaches them, deploys, runs a
conversation while printing its progress events, follows up, prints the transcript and
cleans up. Uses NAIRI_API_KEY (and NAIRI_BASE_URL) when set, else the embedded emulator.

    python examples/python/quickstart.py
"""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack

import nairi
from nairi import models


def print_event(event: models.TurnEvent) -> None:
    if isinstance(event, models.TurnEventStatusChanged):
        print(f"  [status] {event.to}")
    elif isinstance(event, models.TurnEventStillQueued):
        print(f"  [still queued after {event.waited:.0f} s: is the agent deployed, with a free instance?]")
    elif isinstance(event, models.TurnEventProgress):
        kind = event.progress_type or "progress"
        if kind == "tool_use" and event.tool_name:
            detail = f"{event.tool_name} {event.tool_status or ''}"
        else:
            detail = event.summary or event.text_delta or ""
        print(f"  [{kind}] {detail}")


async def turn_with_events(client: nairi.AsyncClient, handle: models.TurnHandle) -> models.Turn:
    """Watches a turn, printing its events, and returns the finished turn."""
    async for event in client.conversations.watch(handle):
        print_event(event)
        if isinstance(event, models.TurnEventCompleted):
            return event
    raise RuntimeError("the turn's events ended without a result")


def reply(turn: models.Turn) -> str:
    return "(the reply never appeared)" if turn.reply_missing else turn.text


async def main(client: nairi.AsyncClient) -> None:
    agent = await client.agents.create(name="Billing support")
    print(f"created agent {agent.agent_id} ({agent.id})")
    rule = await client.rules.create(
        title="Refund policy",
        description="Apply when a customer asks for a refund",
        content="Refund failed charges in full; never refund successful ones without approval.",
    )
    vault = await client.vaults.create(name="Billing secrets")
    await client.vaults.secrets.create(vault.id, env_key="STRIPE_API_KEY", value="sk_test_123")
    for kind, entity in (("agent_artifact_rule", rule.id), ("vault", vault.id)):
        await client.agents.resources.assign(agent.id, entity_type=kind, entity_id=entity)
    print(f"attached rule {rule.id} and vault {vault.id}")

    deploy = await client.agents.deploy(agent.id)
    print(f"deploy: {deploy.status}")

    prompt = "Refund the failed charge for customer cus_123."
    print(f"\n> {prompt}")
    handle = await client.conversations.start(agent_id=agent.agent_id, prompt=prompt)
    first = await turn_with_events(client, handle)
    print(f"< {reply(first)}")

    follow_up = "And email them a receipt."
    print(f"\n> {follow_up}")
    handle = await client.conversations.follow_up(first.job_id, prompt=follow_up)
    second = await turn_with_events(client, handle)
    print(f"< {reply(second)}")
    if second.usage is not None:
        print(f"  (cost ${second.usage.cost_usd or 0.0:.4f}, model {second.usage.model or '?'})")

    print(f"\ntranscript of {second.job_id}:")
    for m in await client.messages.list(second.job_id):
        if m.role != "progress":
            print(f"  {m.role:<9} {m.status:<9} {m.content}")

    secrets = await client.vaults.secrets.list(vault.id)
    await client.agents.delete(agent.id)
    await client.rules.delete(rule.id)
    for s in secrets:
        await client.vaults.secrets.delete(vault.id, s.id)
    await client.vaults.delete(vault.id)
    print("\ncleaned up the agent, the rule and the vault")


def run() -> None:
    with ExitStack() as stack:
        if os.environ.get("NAIRI_API_KEY", "").strip():
            client = nairi.AsyncClient()
        else:
            from nairi.testing import Emulator

            emulator = stack.enter_context(Emulator(timings="default"))
            print(f"no NAIRI_API_KEY: using the embedded emulator at {emulator.base_url}")
            client = emulator.async_client()
        asyncio.run(main(client))


if __name__ == "__main__":
    run()
