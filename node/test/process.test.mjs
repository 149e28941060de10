// Whole-process behaviour, in child processes: exiting by itself, worker threads, NAIRI_LOG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
// A hang guard, not a timing assertion: a process kept alive by a handle would never end.
const HANG_GUARD_MS = 60_000;

function run(name, env = {}) {
  const out = spawnSync(process.execPath, [fixture(name)], {
    env: { ...process.env, NAIRI_LOG: '', ...env },
    encoding: 'utf8',
    timeout: HANG_GUARD_MS,
  });
  assert.equal(out.signal, null, `killed (still running after ${HANG_GUARD_MS} ms): ${out.stderr}`);
  assert.equal(out.status, 0, out.stderr);
  return out;
}

test('the process exits by itself once the client is no longer used', () => {
  const out = run('exits.mjs');
  assert.match(out.stdout, /^done exit/m);
});

test('clients in worker threads work, a thread terminated mid-call goes away, and the process exits by itself', () => {
  const out = run('workers.mjs');
  const { results, terminated, main } = JSON.parse(out.stdout.trim().split('\n').at(-1));
  const runtime = process.env.NAIRI_NODE_IO === 'threads' || process.platform !== 'linux' ? 'threads' : 'event-loop';
  assert.deepEqual(results, [1, 2, 3].map(() => ({ ok: true, missing: 'NotFoundError', runtime })));
  assert.equal(terminated, 1);
  assert.equal(main, true);
});

test('NAIRI_LOG=debug sends the core events to the console, the key redacted', () => {
  const out = run('logs.mjs', { NAIRI_LOG: 'debug' });
  const { key } = JSON.parse(out.stdout.trim().split('\n').at(-1));
  assert.match(out.stderr, /nairi DEBUG nairi::transport: response .*status=200/);
  assert.match(out.stderr, /status=404/);
  assert.match(out.stderr, /authorization=\[redacted\]/);
  assert.ok(!out.stderr.includes(key), out.stderr);
});

test('NAIRI_LOG=warn leaves out the debug events; unset, nothing is logged', () => {
  assert.doesNotMatch(run('logs.mjs', { NAIRI_LOG: 'warn' }).stderr, /DEBUG/);
  assert.equal(run('logs.mjs').stderr, '');
});

test('a Rust panic is a rejection (the core\'s root class), through the completion queue, and the process goes on', () => {
  const out = run('panics.mjs', { RUST_BACKTRACE: '0' });
  const [q1, q2, qEmpty, after] = JSON.parse(out.stdout.trim().split('\n').at(-1));
  for (const [payload, what] of [[q1, 'boom'], [q2, 'boom again']]) {
    assert.equal(payload.class, 'NairiError');
    assert.match(payload.message, new RegExp(`internal error in the native addon .*: ${what}$`));
  }
  assert.deepEqual(qEmpty, { kind: 0, value: '' });
  assert.equal(after, true);
  assert.match(out.stderr, /panicked at [\s\S]*boom/);
});

test('a second copy of the addon (another library bundling mimalloc) loads beside it and works', async () => {
  const { copyFileSync, mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const first = require('../native.js');
  const dir = mkdtempSync(join(tmpdir(), 'nairi-addon-'));
  try {
    const copy = join(dir, 'copy.node');
    const pkg = fileURLToPath(new URL('..', import.meta.url));
    const built = readdirSync(pkg).filter((f) => f.endsWith('.node'));
    assert.equal(built.length, 1, `one built addon in ${pkg}: ${built}`);
    copyFileSync(join(pkg, built[0]), copy);
    // With mimalloc's default initial-exec TLS the second load fails with "cannot allocate
    // memory in static TLS block".
    const second = { exports: {} };
    process.dlopen(second, copy);
    assert.equal(second.exports.coreVersion(), first.coreVersion());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
