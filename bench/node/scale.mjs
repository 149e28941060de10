// Scale (issue 11, item 3), Node: N concurrent turns with the `nairi` package in this process.
//
// `node scale.mjs VIA API_KEY MODE N AGENT_IDS` is one child of the harness
// `target/release/nairi-scale` (bench/rust/src/bin/nairi-scale.rs), which seeds the agents
// (AGENT_IDS, comma-separated), counts the connections through its relay at VIA, the requests
// in the emulator's log, and this process's peak RSS and CPU time; this script only makes the
// SDK calls and prints one JSON line: {"wall_s", "errors", "first_error"}.
//
// MODE `wait`: N `conversations.start` one after the other, then N concurrent
// `conversations.wait`; MODE `run`: N concurrent `conversations.run`. The client's defaults
// (including its connection bound) apart from an overall wait timeout of 600 s, as in the
// Rust child.
import { Nairi } from 'nairi';

const TIMEOUT_S = 600;
const args = process.argv.slice(2);
if (args.length !== 5) {
  console.error('usage: node scale.mjs VIA API_KEY MODE N AGENT_IDS');
  process.exit(2);
}
const [via, key, mode, count, agentList] = args;
const n = Number.parseInt(count, 10);
const agents = agentList.split(',');
// Each call drops its turn as soon as it settles (the Rust child maps it to `()`): the peak
// is the pending calls', not that of 10,000 turns the script would keep.
const drop = () => undefined;
const describe = (e) => `${e?.name ?? 'Error'}: ${e?.message ?? e}`;

const client = new Nairi({ api_key: key, base_url: via });
const t0 = process.hrtime.bigint();
let calls;
if (mode === 'wait') {
  const handles = [];
  for (let i = 0; i < n; i++) {
    try {
      handles.push(await client.conversations.start({ agent_id: agents[i % agents.length], prompt: 'scale' }));
    } catch (e) {
      handles.push(e); // counted like the waits' errors, shown as the first error
    }
  }
  calls = handles.map((h) =>
    h instanceof Error ? Promise.reject(h) : client.conversations.wait(h, { timeout: TIMEOUT_S }).then(drop),
  );
} else if (mode === 'run') {
  calls = Array.from({ length: n }, (_, i) =>
    client.conversations
      .run({ agent_id: agents[i % agents.length], prompt: 'scale' }, { wait: { timeout: TIMEOUT_S } })
      .then(drop),
  );
} else {
  console.error(`unknown mode ${mode} (wait or run)`);
  process.exit(2);
}
const results = await Promise.allSettled(calls);
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
console.log(JSON.stringify({ wall_s: wall, errors: errors.length, first_error: errors.length ? describe(errors[0]) : null }));
