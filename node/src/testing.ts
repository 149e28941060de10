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
import type { Agent, ClientOptions } from './generated/types';
import type { AgentSeed, Fault, JobSeed, LoggedRequest, ScriptedTurn, Timings } from './generated/emulator';

// The emulator's control types, generated from its Rust definitions (spec/emulator.json).
export type * from './generated/emulator';

/** How to start the emulator. */
export interface EmulatorOptions {
  /** `'fast'` (default: milliseconds, for tests), `'default'` (human-scale) or explicit. */
  timings?: 'fast' | 'default' | Timings;
  /** The default organisation's key (default: a fresh `nr_` key). */
  api_key?: string;
  /** Options of `emulator.client` besides its key and base URL (seconds). */
  client?: ClientOptions;
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
