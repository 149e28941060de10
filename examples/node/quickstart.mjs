// Quickstart: configure an agent, deploy it, and hold a two-turn conversation.
//
// With NAIRI_API_KEY set it talks to that server (NAIRI_BASE_URL, default
// https://api.nairi.ai); otherwise it starts the embedded emulator first, so it runs with no
// account and no network: `node examples/node/quickstart.mjs` (after `make node-build`).
import { Nairi } from 'nairi';
import { startEmulator } from 'nairi/testing';

// A client for the configured server, or for an emulator started here when no key is set.
async function connect() {
  if (process.env.NAIRI_API_KEY?.trim()) return { client: new Nairi(), emulator: null };
  const emulator = await startEmulator({ timings: 'default' });
  console.log(`no NAIRI_API_KEY: using the embedded emulator at ${emulator.baseUrl}`);
  return { client: emulator.client, emulator };
}

// Prints status changes and progress; the reply itself is printed from the turn.
function printEvent(event) {
  switch (event.type) {
    case 'status_changed':
      console.log(`  [status] ${event.to}`);
      break;
    case 'still_queued':
      console.log(`  [still queued after ${event.waited.toFixed(0)} s: is the agent deployed, with a free instance?]`);
      break;
    case 'progress': {
      const kind = event.progress_type ?? 'progress';
      const detail =
        kind === 'tool_use' && event.tool_name
          ? `${event.tool_name} ${event.tool_status ?? ''}`
          : event.summary ?? event.text_delta ?? '';
      console.log(`  [${kind}] ${detail}`);
      break;
    }
    default:
  }
}

const { client, emulator } = await connect();
try {
  // 1. Configure: an agent, a rule, and a vault holding one secret, attached to the agent.
  const agent = await client.agents.create({ name: 'Billing support' });
  console.log(`created agent ${agent.agent_id} (${agent.id})`);
  const rule = await client.rules.create({
    title: 'Refund policy',
    description: 'Apply when a customer asks for a refund',
    content: 'Refund failed charges in full; never refund successful ones without approval.',
  });
  const vault = await client.vaults.create({ name: 'Billing secrets' });
  await client.vaults.secrets.create(vault.id, { env_key: 'STRIPE_API_KEY', value: 'sk_test_123' });
  for (const [entity_type, entity_id] of [['agent_artifact_rule', rule.id], ['vault', vault.id]]) {
    await client.agents.resources.assign(agent.id, { entity_type, entity_id });
  }
  console.log(`attached rule ${rule.id} and vault ${vault.id}`);

  // 2. Deploy (asynchronous): prompts queue until the agent is up.
  const deploy = await client.agents.deploy(agent.id);
  console.log(`deploy: ${deploy.status}`);

  // 3. Run a conversation: `run` = start + wait; `onEvent` prints events as they arrive.
  const prompt = 'Refund the failed charge for customer cus_123.';
  console.log(`\n> ${prompt}`);
  const first = await client.conversations.run({ agent_id: agent.agent_id, prompt }, { onEvent: printEvent });
  console.log(`< ${first.reply_missing ? '(the reply never appeared)' : first.text}`);

  // 4. Follow up on the same conversation: `runFollowUp` = continue + wait.
  const followUp = 'And email them a receipt.';
  console.log(`\n> ${followUp}`);
  const second = await client.conversations.runFollowUp(first.job_id, followUp, { onEvent: printEvent });
  console.log(`< ${second.reply_missing ? '(the reply never appeared)' : second.text}`);
  if (second.usage) {
    console.log(`  (cost $${(second.usage.cost_usd ?? 0).toFixed(4)}, model ${second.usage.model ?? '?'})`);
  }

  // 5. The transcript, without the progress events.
  console.log(`\ntranscript of ${second.job_id}:`);
  for (const m of await client.messages.list(second.job_id)) {
    if (m.role !== 'progress') console.log(`  ${m.role.padEnd(9)} ${m.status.padEnd(9)} ${m.content}`);
  }

  // 6. Clean up, so a run against a real organisation leaves nothing behind. Deleting the
  //    agent detaches its resources; a vault must be empty before it can go.
  const secrets = await client.vaults.secrets.list(vault.id);
  await client.agents.delete(agent.id);
  await client.rules.delete(rule.id);
  for (const s of secrets) await client.vaults.secrets.delete(vault.id, s.id);
  await client.vaults.delete(vault.id);
  console.log('\ncleaned up the agent, the rule and the vault');
} finally {
  await emulator?.shutdown();
}
