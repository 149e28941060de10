/**
 * `nairi/testing`: the Nairi API emulator, in-process on `127.0.0.1` with an ephemeral port,
 * for your own tests: a configured client plus the emulator's controls (script the agent's
 * turns, inject faults, read the request log).
 *
 * ```js
 * const { test } = require('node:test');
 * const assert = require('node:assert');
 * const { startEmulator } = require('nairi/testing');
 *
 * test('the bot answers', async (t) => {
 *   const emu = await startEmulator();
 *   t.after(() => emu.shutdown());
 *   const agent = emu.createAgent({ name: 'Billing', deployed: true });
 *   emu.script(agent.agent_id, [{ reply: 'Refunded.' }]);
 *   const turn = await emu.client.conversations.run({ agent_id: agent.agent_id, prompt: 'Refund' });
 *   assert.equal(turn.text, 'Refunded.');
 * });
 * ```
 *
 * @packageDocumentation
 */
import { inspect } from 'node:util';

import * as native from '../native.js';
import { Nairi } from './client';
import type { Agent, ClientOptions, ProgressEvent } from './generated/types';

/** Delays of the fake agent and of deploys, in milliseconds. */
export interface Timings {
  /** Time a message stays `queued` after an instance is free. */
  pickup_ms?: number;
  /** Time between two progress events. */
  step_ms?: number;
  /** Time from the last progress event to the reply. */
  reply_ms?: number;
  /** Time from the reply to a trailing system message. */
  system_after_ms?: number;
  /** Time a deploy takes. */
  deploy_ms?: number;
  /** How long the user message's status lags behind the reply. */
  status_lag_ms?: number;
}

/** How to start the emulator. */
export interface EmulatorOptions {
  /** `'fast'` (default: milliseconds, for tests), `'default'` (human-scale) or explicit. */
  timings?: 'fast' | 'default' | Timings;
  /** The default organisation's key (default: a fresh `nr_` key). */
  api_key?: string;
  /** Options of `emulator.client` besides its key and base URL (seconds). */
  client?: ClientOptions;
}

/** An agent created by the emulator's control API. */
export interface AgentSeed {
  /** Display name. */
  name: string;
  /** Explicit slug (may contain `/`); derived from the name when absent. */
  slug?: string;
  /** Already deployed: messages are picked up at once. */
  deployed?: boolean;
  /** Concurrent jobs (default 1). */
  instances_count?: number;
}

/** Cost and tokens a scripted turn reports. */
export interface ScriptedUsage {
  cost_usd?: number;
  input_tokens?: number;
  output_tokens?: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
  model?: string;
}

/** How a scripted turn fails. */
export interface FailSpec {
  /** The failure detail after the prefix. */
  detail?: string;
  /** The daemon prefix (`nairid`, `eksecd`, `ccagent`). */
  prefix?: string;
  /** Two system messages instead of one. */
  double?: boolean;
}

/** One scripted turn of the fake agent (the emulator's `ScriptedTurn`). */
export interface ScriptedTurn {
  /** The assistant reply. */
  reply?: string;
  /** Usage reported with the reply (`null`: none). */
  usage?: ScriptedUsage | null;
  /** Progress events before the reply. */
  progress?: Partial<ProgressEvent>[];
  /** Progress events after the reply. */
  late_progress?: Partial<ProgressEvent>[];
  /** Files the agent attaches to its reply (`data_base64`: the bytes, standard base64). */
  attachments?: { filename: string; content_type?: string; data_base64: string }[];
  /** System messages after the reply. */
  system_messages?: string[];
  /** Fail the turn. */
  fail?: FailSpec;
  /** Never finish. */
  stuck?: boolean;
  /** Extra time queued, in milliseconds. */
  queue_ms?: number;
  /** Extra time before the reply, in milliseconds. */
  delay_ms?: number;
  /** How long the status lags behind the reply, in milliseconds. */
  status_lag_ms?: number;
  /** How long the reply lags behind the status, in milliseconds. */
  reply_lag_ms?: number;
}

/** A fault injected into the public API (the emulator's `Fault`). */
export interface Fault {
  /** Requests whose path starts with this (under the host, e.g. `/api/public/v1/agents`). */
  path_prefix: string;
  /** Only this method. */
  method?: string;
  /** How many requests it hits (default 1). */
  times?: number;
  /** Delay before answering, in milliseconds. */
  latency_ms?: number;
  /** The status to answer with. */
  status?: number;
  /** The body to answer with. */
  body?: string;
  /** The body's content type. */
  content_type?: string;
  /** A `Retry-After` header. */
  retry_after?: string;
  /** Extra headers. */
  headers?: { [name: string]: string };
  /** Close the connection without answering. */
  drop_connection?: boolean;
  /** Answer 200 with a body that is not JSON. */
  malformed_json?: boolean;
  /** Answer with an HTML page. */
  html?: boolean;
  /**
   * Carry the request out first, then answer with the fault instead (with `drop_connection`,
   * `html` or `status` the client cannot tell whether its request was taken).
   */
  apply?: boolean;
}

/** One public-API request as the emulator recorded it. */
export interface LoggedRequest {
  /** 1-based sequence number, never reused. */
  seq: number;
  /** The HTTP method. */
  method: string;
  /** The path as sent (percent-encoded), `/api/public/v1/...`. */
  path: string;
  /** The query string, when there was one. */
  query: string | null;
  /** The status answered. */
  status: number;
  /** The headers (Authorization left out). */
  headers: { [name: string]: string };
  /** Bytes of body received. */
  body_len: number;
  /** When it arrived (RFC 3339). */
  at: string;
  /** The id of the fault that answered it, if one did. */
  fault: string | null;
}

/** A conversation seeded as if it came from another surface. */
export interface JobSeed {
  /** Agent `cci_` id or slug. */
  agent: string;
  /** `slack` (default), `discord`, `web` or `api`. */
  source?: string;
  /** `active` (default), `completed`, `error` or `abandoned`. */
  status?: string;
  /** The first user message (already `completed`). */
  prompt?: string;
  /** An assistant reply after the prompt. */
  reply?: string;
  /**
   * Earlier turns before the prompt, each a completed user message, `progress_per_turn`
   * progress messages and a reply: a long thread (at most 200,000 messages in all).
   */
  earlier_turns?: number;
  /** Progress messages in each of the `earlier_turns`. */
  progress_per_turn?: number;
}

/** A running emulator: its client and controls. Shut it down when done. */
export class Emulator {
  readonly #native: native.NativeEmulator;
  /** A client for the emulator's default organisation. */
  readonly client: Nairi;

  /** @internal */
  constructor(emulator: native.NativeEmulator, client: ClientOptions) {
    this.#native = emulator;
    this.client = this.createClient(client);
  }

  /** The default organisation's API key. */
  get apiKey(): string {
    return this.#native.apiKey;
  }

  /** The root URL, `http://127.0.0.1:PORT` (set it as `base_url` or `NAIRI_BASE_URL`). */
  get baseUrl(): string {
    return this.#native.baseUrl;
  }

  /** Another client of this emulator (another organisation's key, other options). */
  createClient(options: ClientOptions = {}): Nairi {
    return new Nairi({ api_key: this.apiKey, base_url: this.baseUrl, use_env: false, ...options });
  }

  /** A fresh, seeded organisation; returns its key. */
  newOrg(): string {
    return this.#native.newOrg();
  }

  /** Creates an agent (optionally deployed at once); returns it. */
  createAgent(seed: AgentSeed, key: string = this.apiKey): Agent {
    return JSON.parse(this.#native.createAgent(key, JSON.stringify(seed))) as Agent;
  }

  /** Appends scripted turns consumed, in order, by the agent's next turns. */
  script(agent: string, turns: ScriptedTurn[], key: string = this.apiKey): void {
    this.#native.script(key, agent, JSON.stringify(turns));
  }

  /** Seeds a conversation; returns its job and user-message ids. */
  seedJob(seed: JobSeed, key: string = this.apiKey): { job_id: string; message_id: string } {
    return JSON.parse(this.#native.seedJob(key, JSON.stringify(seed))) as { job_id: string; message_id: string };
  }

  /** Sets a job's status as the platform would, with `reason` as a system message. */
  setJobStatus(jobId: string, status: string, reason?: string, key: string = this.apiKey): void {
    this.#native.setJobStatus(key, jobId, status, reason);
  }

  /** Injects a fault; returns its id. An invalid fault throws. */
  injectFault(fault: Fault): string {
    return this.#native.injectFault(JSON.stringify(fault));
  }

  /** Removes every fault. */
  clearFaults(): void {
    this.#native.clearFaults();
  }

  /** The request log, oldest first (those after sequence number `since` when given). */
  requests(since?: number): LoggedRequest[] {
    return JSON.parse(this.#native.requests(since)) as LoggedRequest[];
  }

  /** Empties the request log. */
  clearRequests(): void {
    this.#native.clearRequests();
  }

  /** Clears all state, scripts, faults and the request log. */
  reset(): void {
    this.#native.reset();
  }

  /** Stops serving. */
  shutdown(): Promise<void> {
    return this.#native.shutdown();
  }

  /** `await using emu = await startEmulator()` shuts it down at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Shown by `util.inspect`: the address, never the key. */
  [inspect.custom](): string {
    return `Emulator { baseUrl: '${this.baseUrl}' }`;
  }
}

/** Starts an emulator in-process (fast timings unless told otherwise). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { client = {}, ...rest } = options;
  const emulator = await native.startEmulator(JSON.stringify(rest));
  return new Emulator(emulator, client);
}
