// The client: options resolved by the core, the generated namespaces, the generic call.
import { inspect } from 'node:util';

import { Namespaces, type OperationId, type StreamId } from './generated/client';
import type { ClientOptions } from './generated/types';
import { configureFromEnv } from './logging';
import {
  type CallArguments,
  type FileInput,
  type RunRequestOptions,
  type RequestOptions,
  type RequestOverrides,
  Transport,
  toSdkError,
} from './transport';

// NAIRI_LOG applies from the moment the package loads, whichever entry point loads it.
configureFromEnv();

// The transport the constructor adopts instead of building one: set by `withOptions` around
// its own synchronous `new Nairi()`, so that the public constructor keeps its one argument.
let adopted: Transport | undefined;

/** This package's version, sent in the user agent (`nairi-node/x.y`). */
export const VERSION: string = '0.1.0';

/**
 * A client of the Nairi API.
 *
 * Options are the core's `ClientOptions` (snake_case, durations in seconds), each resolved
 * once in the core: the argument, then `NAIRI_API_KEY` / `NAIRI_BASE_URL` (unless
 * `use_env: false`), then the default. Unusable settings throw a `ConfigurationError`; an
 * unknown option a `ValidationError`. The key is kept in the addon only: it is never a
 * property of this object and never appears in `util.inspect`, errors or logs.
 *
 * ```ts
 * const client = new Nairi();               // NAIRI_API_KEY, NAIRI_BASE_URL
 * const agent = await client.agents.create({ name: 'Support bot' });
 * const turn = await client.conversations.run({ agent_id: agent.agent_id, prompt: 'Hi' });
 * ```
 */
export class Nairi extends Namespaces {
  readonly #transport: Transport;

  constructor(options: ClientOptions = {}) {
    const suffix = options.user_agent_suffix
      ? `nairi-node/${VERSION} ${options.user_agent_suffix}`
      : `nairi-node/${VERSION}`;
    let transport = adopted;
    adopted = undefined;
    if (transport === undefined) {
      try {
        transport = Transport.create(JSON.stringify({ ...options, user_agent_suffix: suffix }));
      } catch (err) {
        throw toSdkError(err);
      }
    }
    super(transport);
    this.#transport = transport;
  }

  /**
   * A copy of this client whose every call (typed methods, `callOperation`,
   * `streamOperation`, `run`/`wait`/`watch`, uploads and downloads) uses these overrides; it
   * shares this client's connection pool, and this client is unchanged. Overrides compose:
   * `client.withOptions({ timeout: 5 }).withOptions({ max_retries: 0 })` has both, the later
   * one winning for a key given twice. An unknown key or a bad value (a timeout that is not
   * a positive, finite number of seconds, a negative or fractional `max_retries`) throws a
   * `ValidationError` naming the key.
   *
   * ```ts
   * const quick = client.withOptions({ max_retries: 0, timeout: 5 });
   * const agents = await quick.agents.list();
   * ```
   */
  withOptions(overrides: RequestOverrides): Nairi {
    let transport: Transport;
    try {
      transport = this.#transport.withOptions(overrides);
    } catch (err) {
      throw toSdkError(err);
    }
    adopted = transport;
    try {
      return new Nairi();
    } finally {
      adopted = undefined;
    }
  }

  /**
   * Runs any operation by its id (`agents.env_vars.update`, `conversations.run`) with the
   * core's `CallArgs` (`path`, `query`, `body`), as every typed method does.
   */
  callOperation<R = unknown>(
    id: OperationId | (string & {}),
    args: CallArguments = {},
    options?: RunRequestOptions & { file?: FileInput },
  ): Promise<R> {
    return this.#transport.call<R>(id, args, options, options?.file);
  }

  /** Iterates a streaming call by id (`conversations.watch`, `agents.conversations.list_all`). */
  streamOperation<R = unknown>(
    id: StreamId | (string & {}),
    args: CallArguments = {},
    options?: RequestOptions,
  ): AsyncIterableIterator<R> {
    return this.#transport.stream<R>(id, args, options);
  }

  /** Shown by `util.inspect` and `console.log`: never the key. */
  [inspect.custom](): string {
    return 'Nairi {}';
  }
}
