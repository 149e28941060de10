// Per-call throughput of the Node package against undici `request` and `fetch`.
//
// `node bench.mjs BASE_URL API_KEY [--quick]` prints a markdown section on stdout.
//
// The baselines are what a careful user writes: undici's `request` on its global dispatcher
// (one reused keep-alive pool), the global `fetch` (Node's bundled undici), the same headers
// as the SDK (Authorization, a User-Agent, Content-Type on the POST) and the body decoded into
// plain objects with `.json()`. Rounds alternate (the order rotates each round); each lasts
// about the same time, its number of calls sized from a calibration run.
import { request } from 'undici';
import { Nairi } from 'nairi';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const quick = process.argv.includes('--quick');
const base = args[0].replace(/\/$/, '');
const key = args[1];
const api = `${base}/api/public/v1`;
const headers = { authorization: `Bearer ${key}`, 'user-agent': 'bench/1' };
const rule = { title: 'bench', description: 'a rule', content: 'Be brief.' };
const ROUNDS = quick ? 3 : 7;
const ROUND_S = quick ? 0.25 : 1.0;

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const spread = (v) => ((Math.max(...v) - Math.min(...v)) / median(v)) * 100;
const verdict = (r, t) => `≥ ${t}x: **${r >= t ? 'met' : 'missed'}**`;

async function round(call, total, inFlight) {
  const per = Math.floor(total / inFlight);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = 0; i < per; i++) await call();
    }),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const n = per * inFlight;
  return [n / wall, (c.user + c.system) / n];
}

const sized = (rate, inFlight) =>
  Math.max(inFlight * 4, Math.floor((rate * ROUND_S) / inFlight) * inFlight);

const sdk = new Nairi({ api_key: key, base_url: base, max_retries: 0 });
const agent = await sdk.agents.create({ name: 'bench' });
const agentUrl = `${api}/agents/${agent.id}`;
const rulesUrl = `${api}/artifacts/rules`;
const postHeaders = { ...headers, 'content-type': 'application/json' };

async function check(status) {
  if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
}
const calls = {
  'GET /agents/{id}': {
    nairi: () => sdk.agents.get(agent.id),
    'undici request': async () => {
      const r = await request(agentUrl, { headers });
      await check(r.statusCode);
      await r.body.json();
    },
    fetch: async () => {
      const r = await fetch(agentUrl, { headers });
      await check(r.status);
      await r.json();
    },
  },
  'POST /artifacts/rules': {
    nairi: () => sdk.rules.create(rule),
    'undici request': async () => {
      const r = await request(rulesUrl, {
        method: 'POST',
        headers: postHeaders,
        body: JSON.stringify(rule),
      });
      await check(r.statusCode);
      await r.body.json();
    },
    fetch: async () => {
      const r = await fetch(rulesUrl, {
        method: 'POST',
        headers: postHeaders,
        body: JSON.stringify(rule),
      });
      await check(r.status);
      await r.json();
    },
  },
};

console.log('### Node: the `nairi` package against undici `request` and `fetch`\n');
console.log(
  `${ROUNDS} rounds of about ${ROUND_S} s per client (calls per round sized from a calibration ` +
    'run), the order of the clients rotating each round; async loops each making calls one ' +
    'after the other. Throughput = calls per second of wall time (median of the rounds); ' +
    "CPU = this process's CPU time per call (every thread, the addon's included); spread = " +
    `(max - min) / median of the rounds. Node ${process.version}, undici ` +
    `${(await import('undici/package.json', { with: { type: 'json' } })).default.version}. ` +
    'Targets (issue 11, at 10 in flight): nairi at least 1.3x undici `request` and 4x `fetch`.\n',
);
console.log(
  '| call | in flight | nairi calls/s | undici calls/s | fetch calls/s | nairi/undici ' +
    '| nairi/fetch | CPU µs/call nairi / undici / fetch | spread nairi / undici / fetch |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, impl] of Object.entries(calls)) {
  for (const inFlight of [1, 10]) {
    const names = Object.keys(impl);
    const n = {};
    for (const k of names) n[k] = sized((await round(impl[k], 100, inFlight))[0], inFlight);
    const thr = Object.fromEntries(names.map((k) => [k, []]));
    const cpu = Object.fromEntries(names.map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++) {
      const order = [...names.slice(i % 3), ...names.slice(0, i % 3)];
      for (const k of order) {
        const [t, c] = await round(impl[k], n[k], inFlight);
        thr[k].push(t);
        cpu[k].push(c);
      }
    }
    const m = Object.fromEntries(names.map((k) => [k, median(thr[k])]));
    const mc = Object.fromEntries(names.map((k) => [k, median(cpu[k])]));
    const rU = m.nairi / m['undici request'];
    const rF = m.nairi / m.fetch;
    const tU = inFlight === 10 ? ` (${verdict(rU, 1.3)})` : '';
    const tF = inFlight === 10 ? ` (${verdict(rF, 4)})` : '';
    console.log(
      `| \`${name}\` | ${inFlight} | ${m.nairi.toFixed(0)} | ${m['undici request'].toFixed(0)} | ` +
        `${m.fetch.toFixed(0)} | ${rU.toFixed(2)}x${tU} | ${rF.toFixed(1)}x${tF} | ` +
        `${mc.nairi.toFixed(0)} / ${mc['undici request'].toFixed(0)} / ${mc.fetch.toFixed(0)} | ` +
        `${spread(thr.nairi).toFixed(0)}% / ${spread(thr['undici request']).toFixed(0)}% / ` +
        `${spread(thr.fetch).toFixed(0)}% |`,
    );
  }
}
console.log();
