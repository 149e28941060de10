// Compiled with `tsc --strict --noEmit` (npm run test:types): the declarations as a user sees
// them, with the result type of every group asserted. Never run.
import {
  AbortError,
  APIError,
  type Agent,
  type Attachment,
  type AttachmentUpload,
  type Channel,
  type Conversation,
  type DeployStatus,
  type EnvVar,
  type GithubRepo,
  type LlmIntegration,
  type McpConfig,
  type Message,
  type Model,
  Nairi,
  NairiError,
  NotFoundError,
  RateLimitError,
  type RequestOverrides,
  type Resource,
  type Rule,
  type ScheduledJob,
  type Skill,
  TurnFailedError,
  type Turn,
  type TurnEvent,
  type TurnHandle,
  type Vault,
  type VaultSecret,
  setLogLevel,
} from '../../dist/index.js';
import { startEmulator, type Emulator, type LoggedRequest, type ScriptedTurn, type Fault } from '../../dist/testing.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T>(_value: T): void {}
function exact<A, B>(_proof: Equal<A, B>): void {}
declare const signal: AbortSignal;

async function everyGroup(client: Nairi): Promise<void> {
  const agents = await client.agents.list();
  exact<typeof agents, Agent[]>(true);
  const agent = await client.agents.create({ name: 'Bot' });
  exact<typeof agent, Agent>(true);
  exact<Awaited<ReturnType<Nairi['agents']['get']>>, Agent>(true);
  exact<Awaited<ReturnType<Nairi['agents']['delete']>>, void>(true);
  exact<Awaited<ReturnType<Nairi['agents']['deploy']>>, DeployStatus>(true);
  exact<Awaited<ReturnType<Nairi['agents']['envVars']['update']>>, EnvVar>(true);
  exact<Awaited<ReturnType<Nairi['agents']['resources']['assign']>>, Resource>(true);
  exact<Awaited<ReturnType<Nairi['agents']['conversations']['list']>>, Conversation[]>(true);
  exact<ReturnType<Nairi['agents']['conversations']['listAll']>, AsyncIterableIterator<Conversation>>(true);
  exact<Awaited<ReturnType<Nairi['attachments']['upload']>>, AttachmentUpload>(true);
  exact<Awaited<ReturnType<Nairi['attachments']['get']>>, Attachment>(true);
  exact<Awaited<ReturnType<Nairi['attachments']['download']>>, Buffer>(true);
  exact<Awaited<ReturnType<Nairi['attachments']['saveToDir']>>, string>(true);
  exact<Awaited<ReturnType<Nairi['channels']['list']>>, Channel[]>(true);
  exact<Awaited<ReturnType<Nairi['conversations']['start']>>, TurnHandle>(true);
  exact<Awaited<ReturnType<Nairi['conversations']['followUp']>>, TurnHandle>(true);
  exact<Awaited<ReturnType<Nairi['conversations']['wait']>>, Turn>(true);
  exact<Awaited<ReturnType<Nairi['conversations']['run']>>, Turn>(true);
  exact<Awaited<ReturnType<Nairi['conversations']['runFollowUp']>>, Turn>(true);
  exact<ReturnType<Nairi['conversations']['watch']>, AsyncIterableIterator<TurnEvent>>(true);
  exact<Awaited<ReturnType<Nairi['integrations']['listLlm']>>, LlmIntegration[]>(true);
  exact<Awaited<ReturnType<Nairi['integrations']['listGithubRepos']>>, GithubRepo[]>(true);
  exact<Awaited<ReturnType<Nairi['mcpConfigs']['replace']>>, McpConfig>(true);
  exact<Awaited<ReturnType<Nairi['messages']['list']>>, Message[]>(true);
  exact<Awaited<ReturnType<Nairi['models']['list']>>, Model[]>(true);
  exact<Awaited<ReturnType<Nairi['rules']['get']>>, Rule>(true);
  exact<Awaited<ReturnType<Nairi['scheduledJobs']['update']>>, ScheduledJob>(true);
  exact<Awaited<ReturnType<Nairi['skills']['create']>>, Skill>(true);
  exact<Awaited<ReturnType<Nairi['vaults']['get']>>, Vault>(true);
  exact<Awaited<ReturnType<Nairi['vaults']['secrets']['create']>>, VaultSecret>(true);

  // Wire names, snake_case; open enums take known values and any string.
  const turn = await client.conversations.run({ agent_id: agent.agent_id, prompt: 'hi' }, { signal, wait: { timeout: 60 } });
  assertType<string>(turn.job_id);
  assertType<string>(turn.text);
  const status: Turn['status'] = 'a-status-from-the-future';
  void status;
  for await (const ev of client.conversations.watch(turn as TurnHandle, { signal, settle: 0 })) {
    if (ev.type === 'completed') assertType<string>(ev.text);
    if (ev.type === 'still_queued') assertType<number>(ev.waited);
  }
  // @ts-expect-error a misspelt field is refused by the types too
  await client.agents.create({ nmae: 'Bot' });
  // @ts-expect-error a path parameter is a string
  await client.agents.get(42);
  // @ts-expect-error durations are numbers of seconds
  new Nairi({ timeout: '30s' });
}

function overrides(client: Nairi): void {
  const quick = client.withOptions({ max_retries: 0, timeout: 5, recover_prompts: false });
  exact<typeof quick, Nairi>(true);
  exact<Parameters<Nairi['withOptions']>[0], RequestOverrides>(true);
  exact<RequestOverrides['timeout'], number | undefined>(true);
  const slow: RequestOverrides = { timeout: 120 };
  assertType<Nairi>(quick.withOptions(slow).withOptions({}));
  // @ts-expect-error an unknown override is refused by the types too
  client.withOptions({ max_retry: 0 });
  // @ts-expect-error durations are numbers of seconds
  client.withOptions({ timeout: '5s' });
  // @ts-expect-error recover_prompts is a boolean
  client.withOptions({ recover_prompts: 'no' });
}

function errors(err: unknown): void {
  if (err instanceof NotFoundError) {
    assertType<NairiError>(err);
    assertType<APIError>(err);
    assertType<number | undefined>(err.status);
    assertType<string | undefined>(err.requestId);
  }
  if (err instanceof RateLimitError) assertType<number | undefined>(err.retryAfter);
  if (err instanceof TurnFailedError) {
    assertType<string | undefined>(err.detail);
    assertType<Message[]>(err.systemMessages);
  }
  if (err instanceof AbortError) assertType<'ABORT_ERR'>(err.code);
}

async function testing(): Promise<void> {
  const emu: Emulator = await startEmulator({ timings: 'fast' });
  const agent = emu.createAgent({ name: 'Billing', deployed: true });
  emu.script(agent.agent_id, [{ reply: 'Refunded.' }]);
  emu.injectFault({ path_prefix: '/api/public/v1/agents', status: 503, times: 1 });
  // The control types are generated from the emulator's own (spec/emulator.json).
  const turn: ScriptedTurn = {
    reply: 'Done.',
    progress: [{ progress_type: 'tool_use', tool_name: 'Bash', tool_status: 'running' }],
    usage: null,
    fail: { detail: 'boom', double: true },
  };
  emu.script(agent.agent_id, [turn, { usage: { cost_usd: 0.5, model: 'm' } }]);
  // @ts-expect-error a misspelt key of a fault is refused
  const typo: Fault = { path_prefix: '/api/public/v1/agents', latency: 5 };
  void typo;
  const log: LoggedRequest[] = emu.requests();
  assertType<string>(log[0]!.path);
  assertType<string | null>(log[0]!.query);
  assertType<Nairi>(emu.client);
  setLogLevel('debug');
  await emu.shutdown();
}

void everyGroup;
void overrides;
void errors;
void testing;
