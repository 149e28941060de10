// scratch: CPU per call of client and emulator, nairi vs undici
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
const require = createRequire(import.meta.url);
const N = require('../../node/dist/index.js');
const [base, key, emuPid, which = 'both', secs = '2', inflight = '10'] = process.argv.slice(2);
const api = `${base}/api/public/v1`;
const headers = { authorization: `Bearer ${key}`, 'user-agent': 'bench/1' };
const sdk = new N.Nairi({ api_key: key, base_url: base, max_retries: 0 });
const agent = await sdk.agents.create({ name: 'p' });
const emuCpu = () => { const f = readFileSync(`/proc/${emuPid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10000; };
const impl = {
  nairi: () => sdk.agents.get(agent.id),
  undici: async () => { const r = await request(`${api}/agents/${agent.id}`, { headers }); await r.body.json(); },
};
async function round(call, ms, k) {
  let n = 0; const end = performance.now() + ms;
  const r0 = process.resourceUsage(); const c0 = process.cpuUsage(), e0 = emuCpu(), t0 = performance.now();
  await Promise.all(Array.from({ length: k }, async () => { while (performance.now() < end) { await call(); n++; } }));
  const wall = performance.now() - t0, c = process.cpuUsage(c0), e = emuCpu() - e0; const r1 = process.resourceUsage(); const vcs = (r1.voluntaryContextSwitches - r0.voluntaryContextSwitches) / n, ics = (r1.involuntaryContextSwitches - r0.involuntaryContextSwitches) / n;
  return `${(n / wall * 1000).toFixed(0)}/s client ${((c.user + c.system) / n).toFixed(1)} µs (user ${(c.user/n).toFixed(1)} sys ${(c.system/n).toFixed(1)}) emu ${(e / n).toFixed(1)} µs, csw ${vcs.toFixed(2)}/${ics.toFixed(2)}`;
}
for (let i = 0; i < 3; i++) for (const [name, f] of Object.entries(impl)) {
  if (which !== 'both' && which !== name) continue;
  console.log(name, await round(f, Number(secs) * 1000, Number(inflight)));
}
