// The completion queue (bindings/node/src/completions.rs) and where calls run
// (bindings/node/src/event_loop.rs): calls finished together arrive in one batch, an abort
// settles every call of a shared signal through it, and a pending call holds the process only
// until it is answered. `make test-node` runs this file on the event loop and on workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import * as nairi from '../dist/index.js';
import { startEmulator } from '../dist/testing.js';

const native = createRequire(import.meta.url)('../native.js');
// Hang guards, not timing assertions: they turn a lost answer into a failure.
const HANG_GUARD_MS = 60_000;

let emu;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.shutdown();
});

/** Blocks this thread (the event loop with it) until `done()` or the hang guard. */
function spinUntil(done, what) {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
}

const RUNTIME = process.env.NAIRI_NODE_IO === 'threads' || process.platform !== 'linux' ? 'threads' : 'event-loop';

function nativeClient(onBatch) {
  return new native.NativeClient(
    JSON.stringify({ api_key: emu.apiKey, base_url: emu.baseUrl, use_env: false }),
    (batch) => onBatch(JSON.parse(batch)),
  );
}

/** The entries of the batches in call-id order: `id → { kind, value }`, each id once. */
function entriesById(batches) {
  const byId = new Map();
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i += 3) {
      assert.ok(!byId.has(batch[i]), `call ${batch[i]} delivered twice`);
      byId.set(batch[i], { kind: batch[i + 1], value: batch[i + 2] });
    }
  }
  return byId;
}

test(`the calls run where NAIRI_NODE_IO says: ${RUNTIME}`, () => {
  assert.equal(nativeClient(() => {}).runtime, RUNTIME);
});

test('a bad NAIRI_NODE_IO is a ConfigurationError naming it', () => {
  const script = `const n = require(${JSON.stringify(fileURLToPath(new URL('../dist/index.js', import.meta.url)))});
try { new n.Nairi({ api_key: 'nr_x', base_url: 'http://127.0.0.1:9' }); console.log('built'); }
catch (e) { console.log(e.constructor.name + ': ' + e.message); }`;
  const out = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, NAIRI_NODE_IO: 'fibers', NAIRI_LOG: '' },
    encoding: 'utf8',
    timeout: HANG_GUARD_MS,
  });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /^ConfigurationError: configuration error: NAIRI_NODE_IO must be `event-loop` or `threads`, not "fibers"$/m);
});

test('calls finished together arrive in one batch, each once, with their outcomes', async () => {
  const batches = [];
  const client = nativeClient((b) => batches.push(b));
  const N = 50;
  // Calls that finish as soon as they run (the last one cancelled before it starts): all in
  // the first turn of the runtime, or on the workers while this thread is still submitting.
  for (let i = 1; i < N; i++) client.panicForTest(i, '');
  const cancelled = new native.CancelToken();
  cancelled.cancel();
  client.call(N, 'agents.list', '{}', undefined, cancelled);
  if (RUNTIME === 'threads') spinUntil(() => client.queued === N, `${N} finished calls (have ${client.queued})`);
  while (batches.length === 0) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(batches.length, 1);
  const byId = entriesById(batches);
  assert.deepEqual([...byId.keys()].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i + 1));
  for (let i = 1; i < N; i++) assert.deepEqual(byId.get(i), { kind: 0, value: '' });
  assert.equal(byId.get(N).kind, 1);
  assert.equal(byId.get(N).value.class, 'AbortError');
  assert.equal(client.queued, 0);
});

test('a chain of calls, each submitted from the last one\'s callback, leaves the event loop its turn', async () => {
  // Calls that finish at once, each callback submitting the next: without a limit on how
  // long one wake-up keeps the thread, timers and setImmediate would wait for the chain's end.
  const LIMIT = 200_000;
  let submitted = 0;
  let stop = false;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const client = nativeClient(() => {
    if (stop || submitted >= LIMIT) return done(submitted);
    client.panicForTest(++submitted, '');
  });
  client.panicForTest(++submitted, '');
  // Three ticks of the loop in a row, none seeing the chain at its end, the last further on.
  const seen = [];
  for (let i = 0; i < 3; i++) {
    seen.push(await new Promise((resolve) => (i === 1 ? setTimeout : setImmediate)(() => resolve(submitted))));
  }
  stop = true;
  const total = await finished;
  assert.ok(seen.every((n) => n < LIMIT), `the loop ran only at ${seen.join(', ')} of ${LIMIT} calls`);
  // On the event loop each iteration's idle phase turns the runtime: the chain moves on
  // between the first tick and the third (on workers it moves at the workers' pace).
  if (RUNTIME === 'event-loop') {
    assert.ok(seen[0] < seen[2], `the chain did not go on while the loop ticked: ${seen.join(', ')}`);
  }
  assert.ok(total < LIMIT, `the chain ran to its end (${total}) before the loop could stop it`);
});

test('an iterator left unfinished gives back its abort listener when it is collected', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const agent = emu.createAgent({ name: 'Abandoned', deployed: true });
  emu.script(agent.agent_id, [{ stuck: true }]);
  const handle = await emu.client.conversations.start({ agent_id: agent.agent_id, prompt: 'hold' });
  const controller = new AbortController();
  let it = emu.client.conversations.watch(handle, { initial_interval: 0.01, settle: 0, signal: controller.signal });
  assert.equal((await it.next()).done, false);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
  it = undefined;
  const deadline = Date.now() + HANG_GUARD_MS;
  while (getEventListeners(controller.signal, 'abort').length > 0) {
    if (Date.now() > deadline) throw new Error('the listener is still there');
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
});

test('fifty calls answered while the event loop is blocked are all delivered, once each', async () => {
  const agent = await emu.client.agents.create({ name: 'Batch' });
  const batches = [];
  const client = nativeClient((b) => batches.push(b));
  const N = 50;
  const before = emu.requests().length;
  for (let i = 1; i <= N; i++) {
    client.call(i, 'agents.get', JSON.stringify({ path: { agent_id: i === N ? 'missing' : agent.id } }));
  }
  // Until the emulator has answered every request; on the event loop they are sent first.
  const answered = () => emu.requests().slice(before).filter((r) => r.status !== 0).length;
  while (RUNTIME === 'event-loop' && emu.requests().length < before + N) {
    await new Promise((r) => setImmediate(r));
  }
  spinUntil(() => answered() >= N, `${N} answers (have ${answered()})`);
  if (RUNTIME === 'threads') spinUntil(() => client.queued === N, `${N} finished calls`);
  while (entriesById(batches).size < N) await new Promise((r) => setImmediate(r));
  const byId = entriesById(batches);
  for (let i = 1; i < N; i++) {
    assert.equal(byId.get(i).kind, 0);
    assert.equal(byId.get(i).value.id, agent.id);
  }
  assert.equal(byId.get(N).kind, 1);
  assert.equal(byId.get(N).value.class, 'NotFoundError');
  if (RUNTIME === 'threads') assert.equal(batches.length, 1);
  assert.equal(client.queued, 0);
});

test('a run\'s events come through the queue ahead of its outcome, the last one completed', async () => {
  const agent = emu.createAgent({ name: 'Events first', deployed: true });
  emu.script(agent.agent_id, [{ reply: 'Done.' }]);
  const entries = [];
  const client = nativeClient((items) => {
    for (let i = 0; i < items.length; i += 3) entries.push({ kind: items[i + 1], value: items[i + 2] });
  });
  const wait = { initial_interval: 0.01, max_interval: 0.05, settle: 0, progress_interval: 0.02 };
  const args = { body: { request: { agent_id: agent.agent_id, prompt: 'go' }, options: { wait } } };
  client.call(7, 'conversations.run', JSON.stringify(args), undefined, undefined, true);
  // On workers: the event loop blocked until the outcome is queued, so events and outcome
  // pile up together. On the event loop they come as the turns find them.
  if (RUNTIME === 'threads') spinUntil(() => client.queued === 1, 'the run');
  while (!entries.some((e) => e.kind !== 2)) await new Promise((r) => setImmediate(r));
  const outcome = entries.findIndex((e) => e.kind !== 2);
  assert.equal(outcome, entries.length - 1, 'the outcome is the last entry');
  assert.equal(entries[outcome].kind, 0, JSON.stringify(entries[outcome]));
  assert.equal(entries[outcome].value.text, 'Done.');
  const types = entries.slice(0, outcome).map((e) => e.value.type);
  assert.ok(types.includes('status_changed'), types.join());
  assert.equal(types.at(-1), 'completed');

  // Through the facade: every event has reached onEvent when the run resolves.
  emu.script(agent.agent_id, [{ reply: 'Again.' }]);
  const seen = [];
  const turn = await emu.client.conversations.run({ agent_id: agent.agent_id, prompt: 'again' }, { wait, onEvent: (e) => seen.push(e.type) });
  assert.equal(turn.text, 'Again.');
  assert.equal(seen.at(-1), 'completed', seen.join());
});

test('the facade settles calls answered together with their results and error classes', async () => {
  const agent = await emu.client.agents.create({ name: 'Facade batch' });
  const before = emu.requests().length;
  const calls = [];
  for (let i = 0; i < 30; i++) {
    calls.push(i % 3 === 2 ? emu.client.agents.get(`missing-${i}`).catch((e) => e) : emu.client.agents.get(agent.id));
  }
  // Blocked until the emulator has answered every request (on the event loop, once they
  // are sent): their outcomes pile up.
  while (emu.requests().length < before + 30) await new Promise((r) => setImmediate(r));
  const answered = () => emu.requests().slice(before).filter((r) => r.status !== 0).length;
  spinUntil(() => answered() >= 30, 'the answers');
  const results = await Promise.all(calls);
  results.forEach((r, i) => {
    if (i % 3 === 2) {
      assert.ok(r instanceof nairi.NotFoundError, String(r));
      assert.equal(r.status, 404);
    } else {
      assert.equal(r.id, agent.id);
    }
  });
});

test('aborting a signal shared by twenty pending waits rejects them all and stops their polling', async () => {
  const agent = emu.createAgent({ name: 'Stuck many', deployed: true, instances_count: 20 });
  emu.script(agent.agent_id, Array.from({ length: 20 }, () => ({ stuck: true })));
  const handles = [];
  for (let i = 0; i < 20; i++) {
    handles.push(await emu.client.conversations.start({ agent_id: agent.agent_id, prompt: `stuck ${i}` }));
  }
  const controller = new AbortController();
  const poll = { initial_interval: 0.01, max_interval: 0.01, jitter: 0, settle: 0 };
  const waits = handles.map((h) => emu.client.conversations.wait(h, { ...poll, signal: controller.signal }));
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
  const polled = (h) => emu.requests().filter((r) => r.path === `/api/public/v1/messages/${h.message_id}`).length;
  while (!handles.every((h) => polled(h) >= 2)) await new Promise((r) => setTimeout(r, 5));
  controller.abort('enough');
  const outcomes = await Promise.allSettled(waits);
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected');
    assert.ok(o.reason instanceof nairi.AbortError, String(o.reason));
    assert.equal(o.reason.cause, 'enough');
  }
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  const atAbort = handles.map(polled);
  // Polling every 10 ms: had a Rust loop gone on, dozens more polls would be logged.
  await new Promise((r) => setTimeout(r, 300));
  handles.forEach((h, i) => assert.ok(polled(h) <= atAbort[i] + 1, `wait ${i} went on polling`));
});

test('a pending call holds the process until it is answered, then the process exits by itself', () => {
  const out = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/pending.mjs', import.meta.url))], {
    env: { ...process.env, NAIRI_LOG: '' },
    encoding: 'utf8',
    timeout: HANG_GUARD_MS,
  });
  assert.equal(out.signal, null, `killed (still running after ${HANG_GUARD_MS} ms): ${out.stderr}`);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /^done completed late$/m);
});
