// Start-up of the Node package against undici, each in a fresh `node` process (cwd bench/node,
// where `nairi` and `undici` resolve from node_modules).
//
// `node startup.mjs BASE_URL API_KEY [--quick]` prints a markdown section. Best of N,
// the candidates alternating.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [base, key] = [args[0].replace(/\/$/, ''), args[1]];
const { Nairi } = await import('nairi');
const agentId = (await new Nairi({ api_key: key, base_url: base }).agents.create({ name: 'bench' })).id;
const N = process.argv.includes('--quick') ? 5 : 15;
const cwd = dirname(fileURLToPath(import.meta.url));

function run(flags, code) {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(process.execPath, [...flags, '-e', code], { cwd, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (p.status !== 0) throw new Error(`${code}: ${p.stderr}`);
  return [ms, p.stdout.trim()];
}

const load = {
  'node -e ""': [[], ''],
  'node --input-type=module -e ""': [['--input-type=module'], ''],
  "require('nairi')": [[], "require('nairi')"],
  "import('nairi')": [['--input-type=module'], "await import('nairi')"],
  "require('undici')": [[], "require('undici')"],
};
const url = `${base}/api/public/v1/agents/${agentId}`;
const auth = JSON.stringify({ authorization: `Bearer ${key}` });
// performance.now() counts from the process's time origin, so the figure includes Node's own
// start-up, the module load and the first call.
const first = {
  nairi: `const { Nairi } = require('nairi'); new Nairi({ api_key: ${JSON.stringify(key)}, base_url: ${JSON.stringify(base)} }).agents.get(${JSON.stringify(agentId)}).then(() => console.log(performance.now()))`,
  'undici request': `const { request } = require('undici'); request(${JSON.stringify(url)}, { headers: ${auth} }).then((r) => r.body.json()).then(() => console.log(performance.now()))`,
  fetch: `fetch(${JSON.stringify(url)}, { headers: ${auth} }).then((r) => r.json()).then(() => console.log(performance.now()))`,
};
const w = Object.fromEntries(Object.keys(load).map((k) => [k, []]));
const f = Object.fromEntries(Object.keys(first).map((k) => [k, []]));
for (let i = 0; i < N; i++) {
  for (const [k, [flags, code]] of Object.entries(load)) w[k].push(run(flags, code)[0]);
  for (const [k, code] of Object.entries(first)) f[k].push(Number(run([], code)[1]));
}
const best = (v) => Math.min(...v);
const bare = best(w['node -e ""']);
const und = best(w["require('undici')"]) - bare;
console.log("### Node start-up: `require('nairi')` and `import('nairi')` against `require('undici')`\n");
console.log(
  `Best of ${N} fresh \`node\` processes each (${process.version}). Wall = the whole process; ` +
    'net = minus a bare `node -e ""` (minus a bare ESM `--input-type=module` run for `import()`). First call = `performance.now()` when the first ' +
    '`GET /agents/{id}` has completed and its JSON is decoded (Node start-up included). The issue ' +
    'sets no numeric target here: the figures stand beside undici.\n',
);
console.log('| measure | wall ms | net ms | net ratio to `require(\'undici\')` |');
console.log('|---|---|---|---|');
for (const k of Object.keys(load)) {
  const b = best(w[k]);
  const esm = load[k][0].length > 0;
  const net = b - (esm ? best(w['node --input-type=module -e ""']) : bare);
  const ratio = load[k][1] === '' ? '' : (net / und).toFixed(2);
  console.log(`| \`${k}\` | ${b.toFixed(1)} | ${net.toFixed(1)} | ${ratio} |`);
}
console.log();
console.log('| first completed call | ms since process start | ratio to undici `request` |');
console.log('|---|---|---|');
const u = best(f['undici request']);
for (const k of Object.keys(first)) {
  console.log(`| ${k} | ${best(f[k]).toFixed(1)} | ${(best(f[k]) / u).toFixed(2)} |`);
}
console.log();
