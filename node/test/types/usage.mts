// The ESM face has the same names and types as the CommonJS one.
import { Nairi, NotFoundError, type Agent, type RequestOverrides } from '../../dist/index.mjs';
import { startEmulator, type ScriptedTurn } from '../../dist/testing.mjs';

const client: Nairi = new Nairi({ api_key: 'nr_x', use_env: false });
const agent: Promise<Agent> = client.agents.get('x');
const overrides: RequestOverrides = { max_retries: 0 };
const quick: Nairi = client.withOptions(overrides);
void quick;
const isNotFound = (e: unknown): boolean => e instanceof NotFoundError;
void agent;
void isNotFound;
void startEmulator;
const turn: ScriptedTurn = { reply: 'Done.', usage: null };
void turn;
