// A/B: two builds of the Node package (directories given with --a= and --b=) against undici
// `request`, in one process, rounds alternating. For trying a change to the bridge: both
// builds run against the same emulator under the same load, so their ratio is what to read.
//
// `node ab.mjs BASE_URL API_KEY --a=DIR --b=DIR [--rounds=N] [--round-s=S] [--in-flight=1,10]`
import { createRequire } from 'node:module';
import { request } from 'undici';

const opt = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const [baseArg, key] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const base = baseArg.replace(/\/$/, '');
const require = createRequire(import.meta.url);
const A = require(`${opt('a')}/dist/index.js`);
const B = require(`${opt('b')}/dist/index.js`);
const ROUNDS = Number(opt('rounds', 7));
const ROUND_S = Number(opt('round-s', 0.5));
const IN_FLIGHT = opt('in-flight', '1,10').split(',').map(Number);

const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
async function round(call, total, inFlight) {
  const per = Math.floor(total / inFlight);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async () => { for (let i = 0; i < per; i++) await call(); }));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return [(per * inFlight) / wall, (c.user + c.system) / (per * inFlight)];
}
const a = new A.Nairi({ api_key: key, base_url: base, max_retries: 0 });
const b = new B.Nairi({ api_key: key, base_url: base, max_retries: 0 });
const agent = await a.agents.create({ name: 'bench' });
const api = `${base}/api/public/v1`;
const headers = { authorization: `Bearer ${key}`, 'user-agent': 'bench/1' };
const postHeaders = { ...headers, 'content-type': 'application/json' };
const rule = { title: 'bench', description: 'a rule', content: 'Be brief.' };
const calls = {
  'GET /agents/{id}': {
    a: () => a.agents.get(agent.id),
    b: () => b.agents.get(agent.id),
    undici: async () => { const r = await request(`${api}/agents/${agent.id}`, { headers }); await r.body.json(); },
  },
  'POST /artifacts/rules': {
    a: () => a.rules.create(rule),
    b: () => b.rules.create(rule),
    undici: async () => {
      const r = await request(`${api}/artifacts/rules`, { method: 'POST', headers: postHeaders, body: JSON.stringify(rule) });
      await r.body.json();
    },
  },
};
console.log(`| call | in flight | a calls/s | b calls/s | undici calls/s | b/a | a/undici | b/undici | CPU µs a / b / undici |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, impl] of Object.entries(calls)) {
  for (const inFlight of IN_FLIGHT) {
    const names = Object.keys(impl);
    const n = {};
    for (const k of names) n[k] = Math.max(inFlight * 4, Math.floor(((await round(impl[k], 200, inFlight))[0] * ROUND_S) / inFlight) * inFlight);
    const thr = Object.fromEntries(names.map((k) => [k, []]));
    const cpu = Object.fromEntries(names.map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const k of [...names.slice(i % 3), ...names.slice(0, i % 3)]) {
        const [t, c] = await round(impl[k], n[k], inFlight);
        thr[k].push(t);
        cpu[k].push(c);
      }
    }
    const m = Object.fromEntries(names.map((k) => [k, median(thr[k])]));
    const mc = Object.fromEntries(names.map((k) => [k, median(cpu[k])]));
    console.log(`| \`${name}\` | ${inFlight} | ${m.a.toFixed(0)} | ${m.b.toFixed(0)} | ${m.undici.toFixed(0)} | ${(m.b / m.a).toFixed(2)} | ${(m.a / m.undici).toFixed(2)} | ${(m.b / m.undici).toFixed(2)} | ${mc.a.toFixed(0)} / ${mc.b.toFixed(0)} / ${mc.undici.toFixed(0)} |`);
  }
}
