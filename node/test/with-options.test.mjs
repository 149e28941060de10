// client.withOptions({ max_retries, timeout, recover_prompts }) against the in-process
// emulator: each override changes what a call does (an injected fault shows it), the original
// client is unchanged, overrides compose, and bad overrides are the core's ValidationError.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as nairi from '../dist/index.js';
import { startEmulator } from '../dist/testing.js';
import { rejects } from './helpers/support.mjs';

const FAST = { initial_interval: 0.01, max_interval: 0.05, settle: 0, progress_interval: 0.05, early_reply_interval: 0.05 };
const API = '/api/public/v1';

let emu;
// The default two retries, with short backoffs: a one-time fault is retried away.
let base;
before(async () => {
  emu = await startEmulator();
  base = emu.createClient({ initial_backoff: 0.01, max_backoff: 0.02 });
});
after(() => emu.shutdown());

/** The requests the emulator logged while `work` ran, with whether it succeeded. */
async function logged(work) {
  const since = emu.requests().at(-1)?.seq ?? 0;
  let outcome;
  try {
    outcome = { value: await work() };
  } catch (err) {
    outcome = { err };
  }
  return { ...outcome, requests: emu.requests(since) };
}

describe('withOptions', () => {
  test('max_retries: 0 fails at once on a 503 the original client retries away', async () => {
    const once = { path_prefix: `${API}/connected-channels`, status: 503, times: 1 };
    const quick = base.withOptions({ max_retries: 0 });
    assert.ok(quick instanceof nairi.Nairi && quick !== base);

    emu.injectFault(once);
    const copy = await logged(() => quick.channels.list());
    assert.ok(copy.err instanceof nairi.InternalServerError, String(copy.err));
    assert.equal(copy.err.status, 503);
    assert.deepEqual(copy.requests.map((r) => r.status), [503]);

    emu.injectFault(once);
    const original = await logged(() => base.channels.list());
    assert.ok(Array.isArray(original.value), String(original.err));
    assert.deepEqual(original.requests.map((r) => r.status), [503, 200]);
  });

  test('timeout makes a slow answer an APITimeoutError; the original waits for it', async () => {
    const single = emu.createClient({ max_retries: 0 });
    const slow = { path_prefix: `${API}/models`, latency_ms: 600, times: 1 };
    emu.injectFault(slow);
    await rejects(single.withOptions({ timeout: 0.1 }).models.list(), nairi.APITimeoutError, (e) => {
      assert.ok(e instanceof nairi.APIConnectionError);
      assert.equal(e.timeout, 0.1);
    });
    emu.injectFault(slow);
    assert.ok((await single.models.list()).length > 0);
  });

  test('recover_prompts: false surfaces a lost start instead of finding the turn', async () => {
    const agent = emu.createAgent({ name: 'Recoverer' }).agent_id;
    // The start is carried out, its answer lost: the client cannot tell whether it was taken.
    const lost = { method: 'POST', path_prefix: `${API}/conversations/start`, apply: true, drop_connection: true };
    const single = emu.createClient({ max_retries: 0 });
    emu.injectFault(lost);
    // On by default: the turn is looked for and found.
    const found = await single.conversations.start({ agent_id: agent, prompt: 'first' });
    assert.equal(found.recovered, true);
    emu.injectFault(lost);
    // Off: the loss is raised as it happened, and the prompt is not sent a second time.
    await rejects(
      single.withOptions({ recover_prompts: false }).conversations.start({ agent_id: agent, prompt: 'second' }),
      nairi.APIConnectionError,
    );
    const prompts = [];
    for (const job of await single.agents.conversations.list(agent)) {
      for (const m of await single.messages.list(job.id)) if (m.role === 'user') prompts.push(m.content);
    }
    assert.deepEqual(prompts.sort(), ['first', 'second']);
  });

  test('overrides compose, the later winning; each copy keeps its own', async () => {
    const slowOnce = { path_prefix: `${API}/models`, latency_ms: 1000, times: 1 };
    const short = base.withOptions({ timeout: 0.3 });
    const both = short.withOptions({ max_retries: 0 });
    // Both overrides: the first attempt times out (timeout) and is not retried (max_retries).
    emu.injectFault(slowOnce);
    const composed = await logged(() => both.models.list());
    assert.ok(composed.err instanceof nairi.APITimeoutError, String(composed.err));
    assert.equal(composed.err.timeout, 0.3);
    assert.equal(composed.requests.length, 1);
    // The intermediate copy still retries: its timed-out attempt is followed by one that answers.
    emu.injectFault(slowOnce);
    const retried = await logged(() => short.models.list());
    assert.ok(Array.isArray(retried.value), String(retried.err));
    assert.equal(retried.requests.length, 2);
    // A later timeout replaces the earlier one.
    emu.injectFault(slowOnce);
    assert.ok((await both.withOptions({ timeout: 30 }).models.list()).length > 0);
  });

  test('every road of a call uses max_retries: callOperation, streams, run, files', async () => {
    const quick = base.withOptions({ max_retries: 0 });
    const failOnce = (path_prefix, method, status = 503) =>
      emu.injectFault({ path_prefix, method, status, times: 1, retry_after: '0' });
    const agent = emu.createAgent({ name: 'Roads', deployed: true }).agent_id;

    failOnce(`${API}/models`, 'GET');
    await rejects(quick.callOperation('models.list'), nairi.InternalServerError);

    failOnce(`${API}/agents/${agent}/conversations`, 'GET');
    await rejects(
      (async () => {
        for await (const _ of quick.agents.conversations.listAll(agent)) void _;
      })(),
      nairi.InternalServerError,
    );

    // A 429 (not a 5xx): the start certainly was not taken, so no recovery muddles the test.
    failOnce(`${API}/conversations/start`, 'POST', 429);
    await rejects(quick.conversations.run({ agent_id: agent, prompt: 'refused' }, { wait: FAST }), nairi.RateLimitError);

    failOnce(`${API}/attachments`, 'POST');
    await rejects(quick.attachments.upload({ data: Buffer.from('x'), filename: 'x.txt' }), nairi.InternalServerError);
    const up = await base.attachments.upload({ data: Buffer.from('kept'), filename: 'kept.txt' });
    failOnce(`${API}/attachments/${up.attachment_id}`, 'GET');
    await rejects(quick.attachments.download(up.attachment_id), nairi.InternalServerError);
    failOnce(`${API}/attachments/${up.attachment_id}`, 'GET');
    const dir = mkdtempSync(join(tmpdir(), 'nairi-with-options-'));
    await rejects(quick.attachments.saveToDir(up.attachment_id, dir), nairi.InternalServerError);

    // The same faults, retried away by the original client.
    failOnce(`${API}/agents/${agent}/conversations`, 'GET');
    const listed = [];
    for await (const c of base.agents.conversations.listAll(agent)) listed.push(c);
    assert.deepEqual(listed, []);
    emu.script(agent, [{ reply: 'Taken.' }]);
    failOnce(`${API}/conversations/start`, 'POST', 429);
    assert.equal((await base.conversations.run({ agent_id: agent, prompt: 'taken' }, { wait: FAST })).text, 'Taken.');
    failOnce(`${API}/attachments/${up.attachment_id}`, 'GET');
    assert.equal(await base.attachments.saveToDir(up.attachment_id, dir), join(dir, 'kept.txt'));
  });

  test('wait and watch poll with the timeout of the copy', async (t) => {
    // wait and watch poll without retries and ride out failed polls until their own deadline:
    // a poll that times out is what the timeout override changes.
    const agent = emu.createAgent({ name: 'Poller', deployed: true }).agent_id;
    emu.script(agent, [{ reply: 'Slowly.' }]);
    const handle = await base.conversations.start({ agent_id: agent, prompt: 'poll me' });
    t.after(() => emu.clearFaults());
    for (const path_prefix of [`${API}/messages/`, `${API}/conversations/${handle.job_id}/messages`]) {
      emu.injectFault({ path_prefix, method: 'GET', latency_ms: 100, times: 10_000 });
    }
    const quick = base.withOptions({ timeout: 0.02 });
    const wait = { ...FAST, timeout: 1 };
    await rejects(quick.conversations.wait(handle, wait), nairi.WaitTimeoutError, (e) =>
      assert.match(e.lastError ?? '', /timed out|timeout/i),
    );
    await rejects(
      (async () => {
        for await (const _ of quick.conversations.watch(handle, wait)) void _;
      })(),
      nairi.WaitTimeoutError,
      (e) => assert.match(e.lastError ?? '', /timed out|timeout/i),
    );
    // The original's polls take their time and answer.
    assert.equal((await base.conversations.wait(handle, { ...FAST, timeout: 30 })).text, 'Slowly.');
  });

  test('a copy and its original share one completion queue: interleaved calls settle right', async () => {
    const copy = base.withOptions({ timeout: 30 });
    const agents = Array.from({ length: 8 }, (_, i) => emu.createAgent({ name: `Queue ${i}` }).agent_id);
    const calls = [];
    for (let i = 0; i < 64; i++) {
      const id = agents[i % agents.length];
      calls.push((i % 2 ? copy : base).agents.get(id).then((a) => [a.agent_id, id]));
    }
    for (const [got, asked] of await Promise.all(calls)) assert.equal(got, asked);
  });

  test('unknown keys and bad values are a ValidationError naming the key', () => {
    const cases = [
      [{ max_retry: 0 }, 'max_retry'],
      [{ timeout: 0 }, 'timeout'],
      [{ timeout: -1 }, 'timeout'],
      [{ timeout: Number.NaN }, 'timeout'],
      [{ timeout: Number.POSITIVE_INFINITY }, 'timeout'],
      [{ timeout: '5' }, 'timeout'],
      [{ max_retries: -1 }, 'max_retries'],
      [{ max_retries: 1.5 }, 'max_retries'],
      [{ max_retries: 2 ** 32 }, 'max_retries'],
      [{ recover_prompts: 'no' }, 'recover_prompts'],
      [null, 'overrides'],
      [5, 'overrides'],
    ];
    for (const [overrides, field] of cases) {
      assert.throws(
        () => base.withOptions(overrides),
        (e) => e instanceof nairi.ValidationError && e.field === field,
        JSON.stringify(overrides) ?? String(overrides),
      );
    }
    // An absent value is no override; the copy is a working client.
    assert.ok(base.withOptions({ timeout: undefined, max_retries: 1 }) instanceof nairi.Nairi);
  });
});
