// The typed facade against the in-process emulator: every group, the error classes, the
// conversation layer, files, abort, parallel calls, panics, secrets and logging.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import * as nairi from '../dist/index.js';
import { startEmulator } from '../dist/testing.js';
import { rejects } from './helpers/support.mjs';

const surface = JSON.parse(readFileSync(new URL('../../spec/surface.json', import.meta.url), 'utf8'));
const { Nairi, NairiError, APIError, AbortError } = nairi;

const FAST = { initial_interval: 0.01, max_interval: 0.05, settle: 0, progress_interval: 0.05, early_reply_interval: 0.05 };
// A zip holding refunds/SKILL.md (the skill of tests/scenarios/artifacts.json).
const SKILL_ZIP = Buffer.from(
  'UEsDBBQAAAAAACtHgV0Am0h6XgAAAF4AAAAQAAAAcmVmdW5kcy9TS0lMTC5tZC0tLQpuYW1lOiByZWZ1bmRzCmRlc2NyaXB0aW9uOiBJc3N1ZSByZWZ1bmRzIHRocm91Z2ggU3RyaXBlCi0tLQojIFJlZnVuZHMKVXNlIHRoZSBTdHJpcGUgQVBJLgpQSwECFAMUAAAAAAArR4FdAJtIel4AAABeAAAAEAAAAAAAAAAAAAAAgAEAAAAAcmVmdW5kcy9TS0lMTC5tZFBLBQYAAAAAAQABAD4AAACMAAAAAAA=',
  'base64',
);

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
const warnings = [];
process.on('warning', (w) => warnings.push(w));

let emu;
let client;
before(async () => {
  emu = await startEmulator();
  client = emu.client;
});
after(async () => {
  await emu.shutdown();
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
  assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), []);
});

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
function method(c, id) {
  const parts = id.split('.');
  let target = c;
  for (const p of parts.slice(0, -1)) target = target[camel(p)];
  return target?.[camel(parts.at(-1))];
}

async function deployedAgent(name) {
  const agent = emu.createAgent({ name, deployed: true });
  return agent;
}

describe('the surface', () => {
  test('every operation and turn call has its camelCase method', () => {
    for (const op of [...surface.operations, ...surface.turn_calls]) {
      assert.equal(typeof method(client, op.id), 'function', op.id);
    }
  });

  test('one Error subclass per class of the core table, with its parent', () => {
    for (const { class: name, parent } of surface.errors.classes) {
      const Class = nairi[name];
      assert.equal(typeof Class, 'function', name);
      const err = new Class('m', { status: 418, request_id: 'req_1', retry_after: 2, job_id: 'j' });
      assert.ok(err instanceof Error && err instanceof NairiError && err instanceof nairi[parent], name);
      assert.equal(err.name, name);
      assert.equal(err.status, 418);
      assert.equal(err.requestId, 'req_1');
      assert.equal(err.retryAfter, 2);
      assert.equal(err.jobId, 'j');
      if (surface.errors.classes.find((c) => c.class === name && c.parent === 'APIError')) {
        assert.ok(err instanceof APIError);
      }
    }
    assert.ok(!(new nairi.ValidationError('m') instanceof APIError));
  });
});

describe('every group', () => {
  test('agents, env vars, resources, conversations of an agent', async () => {
    const agent = await client.agents.create({ name: 'Support bot' });
    assert.equal(agent.name, 'Support bot');
    assert.equal((await client.agents.get(agent.id)).id, agent.id);
    assert.ok((await client.agents.list()).some((a) => a.id === agent.id));
    const updated = await client.agents.update(agent.id, { description: 'Answers billing questions' });
    assert.equal(updated.description, 'Answers billing questions');
    const deploy = await client.agents.deploy(agent.id);
    assert.equal(typeof deploy.status, 'string');

    const env = await client.agents.envVars.create(agent.id, { key: 'REGION', value: 'eu' });
    assert.equal((await client.agents.envVars.update(agent.id, env.id, { value: 'us' })).value, 'us');
    assert.equal((await client.agents.envVars.list(agent.id)).length, 1);
    assert.equal(await client.agents.envVars.delete(agent.id, env.id), null);

    const rule = await client.rules.create({ title: 'R', description: 'when', content: 'do' });
    const res = await client.agents.resources.assign(agent.id, { entity_type: 'agent_artifact_rule', entity_id: rule.id });
    assert.ok((await client.agents.resources.list(agent.id)).some((r) => r.id === res.id));
    await client.agents.resources.unassign(agent.id, res.id);

    const turn = await client.conversations.run({ agent_id: agent.agent_id, prompt: 'hello' }, { wait: FAST });
    const convs = await client.agents.conversations.list(agent.id, { limit: 10 });
    assert.ok(convs.some((c) => c.id === turn.job_id));
    const all = [];
    for await (const c of client.agents.conversations.listAll(agent.id)) all.push(c.id);
    assert.ok(all.includes(turn.job_id));
    await client.agents.delete(agent.id);
    await rejects(client.agents.get(agent.id), nairi.NotFoundError, (e) => assert.equal(e.status, 404));
  });

  test('rules, MCP configs, skills, vaults and secrets', async () => {
    const rule = await client.rules.create({ title: 'Refunds', description: 'when refunding', content: 'Be nice.' });
    assert.equal((await client.rules.replace(rule.id, { title: 'Refunds', description: 'd', content: 'Be kind.' })).content, 'Be kind.');
    assert.equal((await client.rules.get(rule.id)).id, rule.id);
    assert.ok((await client.rules.list()).length >= 1);
    await client.rules.delete(rule.id);

    const mcp = await client.mcpConfigs.create({ title: 'github', description: 'GitHub tools', content: '{"mcpServers": {"github": {"command": "gh"}}}' });
    assert.equal((await client.mcpConfigs.get(mcp.id)).title, 'github');
    await client.mcpConfigs.replace(mcp.id, { title: 'github', description: 'GitHub tools v2' });
    assert.ok((await client.mcpConfigs.list()).some((m) => m.id === mcp.id));
    await client.mcpConfigs.delete(mcp.id);

    const skill = await client.skills.create({ data: SKILL_ZIP, filename: 'refunds.zip' });
    assert.equal(skill.name, 'refunds');
    const dir = mkdtempSync(join(tmpdir(), 'nairi-skill-'));
    writeFileSync(join(dir, 'refunds.zip'), SKILL_ZIP);
    assert.equal((await client.skills.replace(skill.id, join(dir, 'refunds.zip'))).id, skill.id);
    assert.equal((await client.skills.get(skill.id)).description, 'Issue refunds through Stripe');
    assert.ok((await client.skills.list()).length >= 1);
    await client.skills.delete(skill.id);

    const vault = await client.vaults.create({ name: 'Billing' });
    const secret = await client.vaults.secrets.create(vault.id, { env_key: 'STRIPE_KEY', value: 'sk_test_1' });
    await client.vaults.secrets.update(vault.id, secret.id, { value: 'sk_test_2' });
    assert.equal((await client.vaults.secrets.list(vault.id)).length, 1);
    await client.vaults.secrets.delete(vault.id, secret.id);
    assert.equal((await client.vaults.update(vault.id, { name: 'Billing 2' })).name, 'Billing 2');
    assert.equal((await client.vaults.get(vault.id)).id, vault.id);
    assert.ok((await client.vaults.list()).some((v) => v.id === vault.id));
    await client.vaults.delete(vault.id);
  });

  test('channels, scheduled jobs, models, integrations', async () => {
    assert.ok(Array.isArray(await client.channels.list()));
    const agent = await deployedAgent('Scheduler');
    const job = await client.scheduledJobs.create({
      agent_id: agent.id, prompt: 'Summarise', schedule: '0 9 * * *', timezone: 'UTC', job_type: 'app',
    });
    assert.equal((await client.scheduledJobs.get(job.id)).id, job.id);
    assert.equal((await client.scheduledJobs.update(job.id, { prompt: 'Summarise again' })).prompt, 'Summarise again');
    assert.ok((await client.scheduledJobs.list()).some((j) => j.id === job.id));
    await client.scheduledJobs.delete(job.id);
    const models = await client.models.list();
    assert.ok(models.length > 0);
    const llm = await client.integrations.listLlm();
    assert.ok(Array.isArray(llm));
    if (llm.length > 0) assert.equal((await client.integrations.updateLlm(llm[0].id, { name: 'Renamed' })).name, 'Renamed');
    assert.ok(Array.isArray(await client.integrations.listGithubRepos()));
  });

  test('attachments: from a Buffer or a path, to a Buffer or a directory', async () => {
    const up = await client.attachments.upload({ data: Buffer.from('invoice #42'), filename: 'invoice.txt' });
    assert.match(up.attachment_id, /^att_/);
    const got = await client.attachments.get(up.attachment_id);
    assert.equal(got.filename, 'invoice.txt');
    assert.equal(got.content_type, 'text/plain');
    assert.equal((await client.attachments.download(up.attachment_id)).toString(), 'invoice #42');
    const dir = mkdtempSync(join(tmpdir(), 'nairi-att-'));
    const src = join(dir, 'report.csv');
    writeFileSync(src, 'a,b\n1,2\n');
    const up2 = await client.attachments.upload(src);
    const out = mkdtempSync(join(tmpdir(), 'nairi-out-'));
    const saved = await client.attachments.saveToDir(up2.attachment_id, out);
    assert.equal(saved, join(out, 'report.csv'));
    assert.equal(readFileSync(saved, 'utf8'), 'a,b\n1,2\n');
    await rejects(client.attachments.upload(join(dir, 'missing.bin')), nairi.FileSystemError);
    await rejects(client.attachments.saveToDir(up2.attachment_id, src), nairi.FileSystemError);
  });
});

test('an attachment the agent named ../evil.txt is saved inside the directory', async () => {
  const agent = await deployedAgent('Attacher');
  emu.script(agent.agent_id, [{ reply: 'Here.', attachments: [{ filename: '../evil.txt', data_base64: Buffer.from('x').toString('base64') }] }]);
  const turn = await client.conversations.run({ agent_id: agent.agent_id, prompt: 'file please' }, { wait: FAST });
  assert.equal(turn.attachment_ids.length, 1);
  const out = mkdtempSync(join(tmpdir(), 'nairi-evil-'));
  const saved = await client.attachments.saveToDir(turn.attachment_ids[0], out);
  assert.ok(saved.startsWith(out + '/') && !saved.slice(out.length + 1).includes('/'), saved);
  assert.equal(readFileSync(saved, 'utf8'), 'x');
});

describe('conversations', () => {
  test('start, followUp, wait, messages', async () => {
    const agent = await deployedAgent('Billing');
    emu.script(agent.agent_id, [{ reply: 'Refunded.' }, { reply: 'Emailed.' }]);
    const handle = await client.conversations.start({ agent_id: agent.agent_id, prompt: 'Refund cus_123' });
    const turn = await client.conversations.wait(handle, FAST);
    assert.equal(turn.text, 'Refunded.');
    assert.equal(turn.message_id, handle.message_id);
    const next = await client.conversations.followUp(handle.job_id, { prompt: 'and email them' });
    assert.equal((await client.conversations.wait(next, FAST)).text, 'Emailed.');
    const messages = await client.messages.list(handle.job_id);
    assert.ok(messages.length >= 4);
    assert.equal((await client.messages.get(handle.message_id)).id, handle.message_id);
  });

  test('a seeded long thread, and a turn at its end', async () => {
    const agent = await deployedAgent('Historian');
    const ids = emu.seedJob({ agent: agent.agent_id, source: 'api', prompt: 'first', reply: 'done', earlier_turns: 3, progress_per_turn: 2 });
    emu.script(agent.agent_id, [{ reply: 'At the end.' }]);
    // Three earlier turns of a prompt, two progress messages and a reply; then the prompt and its reply.
    assert.equal((await client.messages.list(ids.job_id)).length, 3 * 4 + 2);
    assert.equal((await client.messages.get(ids.message_id)).content, 'first');
    const handle = await client.conversations.followUp(ids.job_id, { prompt: 'and now?' });
    const turn = await client.conversations.wait(handle, FAST);
    assert.equal(turn.text, 'At the end.');
    assert.equal(turn.job_id, ids.job_id);
  });

  test('run and runFollowUp, with events', async () => {
    const agent = await deployedAgent('Runner');
    emu.script(agent.agent_id, [{ reply: 'One.' }, { reply: 'Two.' }]);
    const events = [];
    const first = await client.conversations.run({ agent_id: agent.agent_id, prompt: 'first' }, { wait: FAST, onEvent: (e) => events.push(e.type) });
    assert.equal(first.text, 'One.');
    assert.ok(events.includes('status_changed') && events.includes('completed'), events.join());
    const second = await client.conversations.runFollowUp(first.job_id, 'second', { wait: FAST });
    assert.equal(second.text, 'Two.');
    assert.equal(second.job_id, first.job_id);
  });

  test('watch yields the events, the last one completed', async () => {
    const agent = await deployedAgent('Watcher');
    emu.script(agent.agent_id, [{ reply: 'Watched.' }]);
    const handle = await client.conversations.start({ agent_id: agent.agent_id, prompt: 'watch' });
    const types = [];
    let last;
    for await (const ev of client.conversations.watch(handle, FAST)) {
      types.push(ev.type);
      last = ev;
    }
    assert.equal(types.at(-1), 'completed');
    assert.equal(last.text, 'Watched.');
  });

  test('a failed turn, a timeout, an ended conversation', async () => {
    const agent = await deployedAgent('Failing');
    emu.script(agent.agent_id, [{ fail: { detail: 'card declined' } }, { stuck: true }]);
    await rejects(client.conversations.run({ agent_id: agent.agent_id, prompt: 'x' }, { wait: FAST }), nairi.TurnFailedError, (e) => {
      assert.match(e.detail, /card declined/);
      assert.ok(e.jobId && e.messageId);
      assert.ok(e.systemMessages.length >= 1);
    });
    await rejects(
      client.conversations.run({ agent_id: agent.agent_id, prompt: 'y' }, { wait: { ...FAST, timeout: 0.3 } }),
      nairi.WaitTimeoutError,
      (e) => assert.equal(typeof e.lastStatus, 'string'),
    );
    const done = await deployedAgent('Ended');
    const handle = await client.conversations.start({ agent_id: done.agent_id, prompt: 'z' });
    await client.conversations.wait(handle, FAST);
    emu.setJobStatus(handle.job_id, 'completed', 'Job complete - merged');
    await rejects(client.conversations.runFollowUp(handle.job_id, 'again', { wait: FAST }), nairi.ConversationEndedError, (e) => {
      assert.equal(e.jobId, handle.job_id);
    });
  });
});

test('the user agent names the Node package and its version', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(nairi.VERSION, pkg.version);
  const since = emu.requests().at(-1)?.seq ?? 0;
  await client.models.list();
  const [req] = emu.requests(since);
  assert.match(req.headers['user-agent'], new RegExp(`nairi-rust/\\S+ nairi-node/${pkg.version}`));
});

describe('errors', () => {
  test('API errors carry status, retryAfter and the core message', async () => {
    emu.injectFault({ path_prefix: '/api/public/v1/models', status: 429, retry_after: '120', times: 1 });
    await rejects(client.models.list(), nairi.RateLimitError, (e) => {
      assert.equal(e.status, 429);
      assert.equal(e.retryAfter, 120);
      assert.ok(e instanceof APIError);
    });
    const noRetry = emu.createClient({ max_retries: 0 });
    emu.injectFault({ path_prefix: '/api/public/v1/connected-channels', status: 503, times: 1 });
    await rejects(noRetry.channels.list(), nairi.InternalServerError, (e) => assert.equal(e.status, 503));
    emu.injectFault({ path_prefix: '/api/public/v1/connected-channels', drop_connection: true, times: 1 });
    await rejects(noRetry.channels.list(), nairi.APIConnectionError);
    emu.injectFault({ path_prefix: '/api/public/v1/connected-channels', malformed_json: true, times: 1 });
    await rejects(noRetry.channels.list(), nairi.APIResponseValidationError);
    const slow = emu.createClient({ max_retries: 0, timeout: 0.2 });
    emu.injectFault({ path_prefix: '/api/public/v1/connected-channels', latency_ms: 3000, times: 1 });
    await rejects(slow.channels.list(), nairi.APITimeoutError, (e) => {
      assert.ok(e instanceof nairi.APIConnectionError);
      assert.equal(e.timeout, 0.2);
    });
  });

  test('bad input is the core\'s ValidationError, naming the field; bad settings a ConfigurationError', async () => {
    await rejects(client.agents.create({ nmae: 'x' }), nairi.ValidationError, (e) => assert.equal(e.field, 'body.nmae'));
    await rejects(client.callOperation('agents.nope'), nairi.ValidationError, (e) => assert.equal(e.field, 'operation'));
    await rejects(client.conversations.wait({ job_id: 'j', message_id: 'm' }, { timeot: 1 }), nairi.ValidationError);
    assert.throws(() => new Nairi({ use_env: false }), nairi.ConfigurationError);
    assert.throws(() => new Nairi({ api_key: 'nr_x', base_url: 'http://example.com', use_env: false }), nairi.ConfigurationError);
    assert.throws(() => new Nairi({ api_kee: 'nr_x' }), nairi.ValidationError);
  });

  test('a wrong key is an AuthenticationError that shows no key', async () => {
    const key = 'nr_wrongwrongwrong1234567890';
    const bad = new Nairi({ api_key: key, base_url: emu.baseUrl, use_env: false });
    const err = await rejects(bad.agents.list(), nairi.AuthenticationError, (e) => assert.equal(e.status, 401));
    for (const text of [inspect(err), err.message, err.stack, JSON.stringify(err), inspect(bad)]) {
      assert.ok(!text.includes(key), text);
    }
  });
});

describe('abort, parallel calls, secrets', () => {
  test('an already-aborted signal rejects at once, sending nothing', async () => {
    const before = emu.requests().length;
    const signal = AbortSignal.abort('stop');
    await rejects(client.agents.list({ signal }), AbortError, (e) => {
      assert.equal(e.name, 'AbortError');
      assert.equal(e.cause, 'stop');
    });
    const it = client.conversations.watch({ job_id: 'j', message_id: 'm' }, { signal });
    await rejects(it.next(), AbortError);
    assert.equal(emu.requests().length, before);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  async function pollsOf(messageId, atLeast) {
    for (;;) {
      const n = emu.requests().filter((r) => r.path === `/api/public/v1/messages/${messageId}`).length;
      if (n >= atLeast) return n;
      await sleep(5);
    }
  }

  async function assertStopped(messageId) {
    const atAbort = await pollsOf(messageId, 0);
    // Polling every 10 ms: had the Rust loop gone on, dozens more polls would be logged.
    await sleep(300);
    const later = await pollsOf(messageId, 0);
    assert.ok(later <= atAbort + 1, `polls went on after the abort: ${atAbort} -> ${later}`);
  }

  const POLL = { initial_interval: 0.01, max_interval: 0.01, jitter: 0, settle: 0 };

  test('aborting wait, watch and run rejects with AbortError and stops the polling', async () => {
    const agent = await deployedAgent('Stuck');
    emu.script(agent.agent_id, [{ stuck: true }, { stuck: true }, { stuck: true }]);

    const h1 = await client.conversations.start({ agent_id: agent.agent_id, prompt: 'wait' });
    const c1 = new AbortController();
    const waiting = client.conversations.wait(h1, { ...POLL, signal: c1.signal });
    await pollsOf(h1.message_id, 3);
    c1.abort();
    await rejects(waiting, AbortError);
    await assertStopped(h1.message_id);
    assert.equal(getEventListeners(c1.signal, 'abort').length, 0);

    const h2 = await client.conversations.start({ agent_id: agent.agent_id, prompt: 'watch' });
    const c2 = new AbortController();
    const seen = [];
    const watching = (async () => {
      for await (const ev of client.conversations.watch(h2, { ...POLL, signal: c2.signal })) seen.push(ev.type);
    })();
    await pollsOf(h2.message_id, 3);
    c2.abort();
    await rejects(watching, AbortError);
    await assertStopped(h2.message_id);
    assert.equal(getEventListeners(c2.signal, 'abort').length, 0);

    const c3 = new AbortController();
    const before = emu.requests().length;
    const running = client.conversations.run({ agent_id: agent.agent_id, prompt: 'run' }, { wait: POLL, signal: c3.signal });
    let userMessage;
    while (!userMessage) {
      userMessage = emu.requests(0).slice(before).find((r) => /^\/api\/public\/v1\/messages\//.test(r.path));
      if (!userMessage) await sleep(5);
    }
    const id = userMessage.path.split('/').at(-1);
    await pollsOf(id, 3);
    c3.abort();
    await rejects(running, AbortError);
    await assertStopped(id);
  });

  test('breaking out of a watch stops the polling', async () => {
    const agent = await deployedAgent('Broken off');
    emu.script(agent.agent_id, [{ stuck: true }]);
    const handle = await client.conversations.start({ agent_id: agent.agent_id, prompt: 'stuck' });
    const seen = [];
    for await (const ev of client.conversations.watch(handle, POLL)) {
      seen.push(ev.type);
      break;
    }
    assert.deepEqual(seen, ['status_changed']);
    await assertStopped(handle.message_id);
  });

  test('run with onEvent still refuses a misspelt option with the core error', async () => {
    await rejects(
      client.conversations.run({ agent_id: 'x', prompt: 'y' }, { wait: { timeot: 1 }, onEvent: () => {} }),
      nairi.ValidationError,
      (e) => assert.match(e.field, /timeot/),
    );
  });

  test('a thousand parallel calls on one signal: one listener, no warning, none left', async () => {
    const agent = await client.agents.create({ name: 'Parallel' });
    const controller = new AbortController();
    const calls = Array.from({ length: 1000 }, () => client.agents.get(agent.id, { signal: controller.signal }));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    const results = await Promise.all(calls);
    assert.ok(results.every((a) => a.id === agent.id));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    assert.ok(!warnings.some((w) => w.name === 'MaxListenersExceededWarning'));
  });

  test('the key is in no inspected object and no log line', async () => {
    const lines = [];
    const record = (message, rec) => lines.push(JSON.stringify({ message, rec }));
    nairi.setLogLevel('debug', { debug: record, info: record, warn: record, error: record });
    try {
      await client.agents.list();
      await rejects(client.agents.get('missing'), nairi.NotFoundError);
      // The events come through a queue on the JavaScript thread: let it drain.
      while (!lines.some((l) => l.includes('response'))) await sleep(5);
    } finally {
      nairi.setLogLevel('off');
    }
    const key = emu.apiKey;
    assert.ok(lines.length > 0);
    assert.ok(lines.some((l) => l.includes('Bearer <redacted>') || l.includes('[redacted]')), lines.join('\n'));
    for (const text of [...lines, inspect(client), inspect(emu), inspect(client, { showHidden: true, depth: 10 })]) {
      assert.ok(!text.includes(key), text);
    }
  });
});
