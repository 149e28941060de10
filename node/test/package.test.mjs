// `npm pack`, installed into an empty project: CommonJS require and ESM import both work, and
// they share one implementation (an error class is the same object either way). Also: the
// emitted declarations have no `any`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('the packed tarball installs into an empty project and works from CJS and ESM', () => {
  const work = mkdtempSync(join(tmpdir(), 'nairi-pack-'));
  try {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: pkg, encoding: 'utf8' });
    const [{ filename, files }] = JSON.parse(out);
    const names = files.map((f) => f.path);
    for (const want of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/testing.mjs', 'native.js', 'package.json']) {
      assert.ok(names.includes(want), `${want} not packed: ${names.join(', ')}`);
    }
    assert.ok(names.some((n) => n.endsWith('.node')), 'no addon packed');
    assert.ok(!names.some((n) => n.startsWith('src/') || n.startsWith('test/')), names.join(', '));
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--offline', join(work, filename)], { cwd: app, encoding: 'utf8' });
    writeFileSync(
      join(app, 'check.cjs'),
      `const { Nairi, NotFoundError, APIError } = require('nairi');
const { startEmulator } = require('nairi/testing');
(async () => {
  const esm = await import('nairi');
  if (esm.NotFoundError !== NotFoundError || esm.Nairi !== Nairi) throw new Error('two copies of the classes');
  const emu = await startEmulator();
  try {
    await emu.client.agents.get('missing');
    throw new Error('no error');
  } catch (e) {
    if (!(e instanceof NotFoundError) || !(e instanceof esm.NotFoundError) || !(e instanceof APIError)) throw e;
  }
  await emu.shutdown();
  console.log('cjs ok');
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    writeFileSync(
      join(app, 'check.mjs'),
      `import { Nairi, NotFoundError } from 'nairi';
import { startEmulator } from 'nairi/testing';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('nairi');
if (cjs.NotFoundError !== NotFoundError || cjs.Nairi !== Nairi) throw new Error('two copies of the classes');
const emu = await startEmulator();
const agent = await emu.client.agents.create({ name: 'Packed' });
const err = await emu.client.agents.get('missing').catch((e) => e);
if (!(err instanceof cjs.NotFoundError)) throw err;
await emu.shutdown();
console.log('esm ok', agent.agent_id);
`,
    );
    assert.match(execFileSync(process.execPath, ['check.cjs'], { cwd: app, encoding: 'utf8' }), /cjs ok/);
    assert.match(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }), /esm ok packed/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

function declarations(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? declarations(join(dir, e.name)) : /\.d\.m?ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

test('no `any` in the public declarations', () => {
  const files = [...declarations(join(pkg, 'dist')), join(pkg, 'native.d.ts')];
  assert.ok(files.length > 5);
  for (const file of files) {
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '')
      .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, '""');
    const hit = /\bany\b/.exec(code);
    assert.equal(hit, null, `${file}: ${code.slice(Math.max(0, (hit?.index ?? 0) - 80), (hit?.index ?? 0) + 40)}`);
  }
});
