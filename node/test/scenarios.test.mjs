// The cross-language scenarios of tests/scenarios/, through the package's own generic call
// (`callOperation`, `streamOperation`), each against a fresh emulator. Mirrors the Rust runner
// (crates/nairi/tests/scenarios.rs): same substitution, subset matching, request-log order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NairiError } from '../dist/index.js';
import { startEmulator } from '../dist/testing.js';

const dir = fileURLToPath(new URL('../../tests/scenarios/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const API_PREFIX = '/api/public/v1';
const ran = new Set();

const STEP_KEYS = new Set(['call', 'args', 'script', 'fault', 'job_status', 'stream', 'expect', 'save']);
const EXPECT_KEYS = new Set(['result', 'len', 'error', 'events']);
const SCENARIO_KEYS = new Set(['name', 'description', 'setup', 'steps', 'requests']);

function refuseUnknown(obj, known, where) {
  for (const k of Object.keys(obj ?? {})) assert.ok(known.has(k), `${where}: unknown key ${k}`);
}

/** `${name}` replaced by saved variables; a whole-string reference keeps the JSON type. */
function substitute(v, vars) {
  if (typeof v === 'string') {
    const whole = /^\$\{([^}]*)\}$/.exec(v);
    if (whole && !whole[1].includes('${')) {
      assert.ok(Object.hasOwn(vars, whole[1]), `unknown variable ${whole[1]}`);
      return vars[whole[1]];
    }
    let out = v;
    for (const [k, val] of Object.entries(vars)) {
      out = out.split('${' + k + '}').join(typeof val === 'string' ? val : JSON.stringify(val));
    }
    assert.ok(!out.includes('${'), `unknown variable in ${JSON.stringify(v)}`);
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars)]));
  return v;
}

/** Whether `actual` contains `expected`: objects by the keys given, lists element-wise. */
function contains(actual, expected, at) {
  if (expected && typeof expected === 'object' && !Array.isArray(expected) && actual && typeof actual === 'object' && !Array.isArray(actual)) {
    for (const [k, ev] of Object.entries(expected)) {
      if (!Object.hasOwn(actual, k)) return `${at}/${k}: missing in ${JSON.stringify(actual)}`;
      const e = contains(actual[k], ev, `${at}/${k}`);
      if (e) return e;
    }
    return null;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (actual.length !== expected.length) return `${at}: ${actual.length} items, expected ${expected.length}`;
    for (let i = 0; i < actual.length; i++) {
      const e = contains(actual[i], expected[i], `${at}/${i}`);
      if (e) return e;
    }
    return null;
  }
  // Scalars: JSON equality (serde_json compares 1 and 1.0 as different numbers only in form).
  if (JSON.stringify(actual) === JSON.stringify(expected)) return null;
  return `${at}: ${JSON.stringify(actual)} is not ${JSON.stringify(expected)}`;
}

const snake = (k) => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/** The error back in the core's serialised form (`Error::to_payload`): class and snake_case fields. */
function payloadOf(err) {
  assert.ok(err instanceof NairiError, `not a NairiError: ${err?.stack ?? err}`);
  const out = { class: err.name, message: err.message };
  for (const [k, v] of Object.entries(err)) {
    if (k === 'name' || ((k === 'causes' || k === 'systemMessages') && v.length === 0)) continue;
    out[snake(k)] = v;
  }
  return out;
}

function pointer(value, ptr) {
  if (ptr === '') return value;
  let cur = value;
  for (const raw of ptr.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function check(expect, outcome, vars) {
  if (outcome.ok && !expect.error) {
    if (expect.result !== undefined) {
      const e = contains(outcome.value, substitute(expect.result, vars), '');
      if (e) return e;
    }
    if (expect.len !== undefined && !(Array.isArray(outcome.value) && outcome.value.length === expect.len)) {
      return `expected ${expect.len} items, got ${JSON.stringify(outcome.value)}`;
    }
    return null;
  }
  if (outcome.ok) return `expected the error ${JSON.stringify(expect.error)}, got ${JSON.stringify(outcome.value)}`;
  if (!expect.error) return `unexpected error: ${outcome.error?.stack ?? outcome.error}`;
  return contains(payloadOf(outcome.error), substitute(expect.error, vars), 'error');
}

async function checkStream(client, id, args, expect, vars) {
  const items = [];
  try {
    for await (const item of client.streamOperation(id, args)) items.push(item);
  } catch (err) {
    return `the stream failed: ${err?.stack ?? err}`;
  }
  if (id !== 'conversations.watch') return check(expect, { ok: true, value: items }, vars);
  const types = items.map((e) => (typeof e.type === 'string' ? e.type : ''));
  if (!expect.events) return 'a watch step needs expect.events';
  let i = 0;
  for (const w of expect.events) {
    while (i < types.length && types[i] !== w) i++;
    if (i === types.length) return `events ${JSON.stringify(types)} do not contain ${JSON.stringify(expect.events)} in order`;
    i++;
  }
  if (types.at(-1) !== expect.events.at(-1)) return `the last event of ${JSON.stringify(types)} is not ${expect.events.at(-1)}`;
  if (expect.result !== undefined) return contains(items.at(-1) ?? null, expect.result, 'last event');
  return null;
}

async function runScenario(file, scenario) {
  refuseUnknown(scenario, SCENARIO_KEYS, file);
  assert.ok(scenario.name, `${file}: a scenario needs a name`);
  const setup = scenario.setup ?? {};
  const emulator = await startEmulator({ client: { ...(setup.client ?? {}) } });
  const failures = [];
  try {
    const key = emulator.apiKey;
    const vars = {};
    for (const seed of setup.agents ?? []) {
      const agent = emulator.createAgent(seed, key);
      vars[agent.agent_id] = agent;
    }
    const client = emulator.client;
    for (const [i, step] of scenario.steps.entries()) {
      const label = `${file} step ${i}`;
      refuseUnknown(step, STEP_KEYS, label);
      const expect = step.expect ?? {};
      refuseUnknown(expect, EXPECT_KEYS, `${label} expect`);
      if (step.script) emulator.script(step.script.agent, step.script.turns, key);
      if (step.fault) emulator.injectFault(step.fault);
      if (step.job_status) {
        const job = substitute(step.job_status.job, vars);
        assert.equal(typeof job, 'string', `${label}: job ${JSON.stringify(job)}`);
        emulator.setJobStatus(job, step.job_status.status, step.job_status.reason ?? undefined, key);
      }
      const args = step.args === undefined || step.args === null ? {} : substitute(step.args, vars);
      if (step.stream) {
        const e = await checkStream(client, step.stream, args, expect, vars);
        if (e) failures.push(`${label} (${step.stream}): ${e}`);
        continue;
      }
      if (!step.call) continue;
      let outcome;
      try {
        outcome = { ok: true, value: await client.callOperation(step.call, args) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      const e = check(expect, outcome, vars);
      if (e) {
        failures.push(`${label} (${step.call}): ${e}`);
        continue;
      }
      if (outcome.ok) {
        for (const [name, ptr] of Object.entries(step.save ?? {})) {
          const v = pointer(outcome.value, ptr);
          assert.ok(v !== undefined, `${label}: nothing at ${ptr} in ${JSON.stringify(outcome.value)}`);
          vars[name] = v;
        }
      }
    }
    const log = emulator.requests();
    let cursor = 0;
    for (const want of scenario.requests ?? []) {
      const path = API_PREFIX + substitute(want.path, vars);
      let found = false;
      while (cursor < log.length) {
        const r = log[cursor++];
        if (
          r.method === want.method &&
          r.path === path &&
          (want.status === undefined || want.status === r.status) &&
          (want.query === undefined || r.query === want.query)
        ) {
          found = true;
          break;
        }
      }
      if (!found) {
        failures.push(
          `${file}: request ${want.method} ${path} (status ${want.status}) not recorded in order; log: ${JSON.stringify(log.map((r) => `${r.method} ${r.path} ${r.status}`))}`,
        );
        break;
      }
    }
  } finally {
    await emulator.shutdown();
  }
  return failures;
}

test('there are scenarios to run', () => {
  assert.ok(files.length > 0, 'no scenario found');
});

for (const file of files) {
  test(`scenario ${file}`, { timeout: 60_000 }, async () => {
    const scenario = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const failures = await runScenario(file, scenario);
    ran.add(file);
    assert.deepEqual(failures, []);
  });
}

after(() => {
  // None may be skipped: every file ran to its end.
  const missing = files.filter((f) => !ran.has(f));
  if (missing.length) {
    process.exitCode = 1;
    console.error(`scenarios that did not run: ${missing.join(', ')}`);
  }
});
