// The hand-written adapter between the generated facade and the addon: JSON in and out,
// AbortSignal wiring, async iterators, files and errors. No behaviour lives here: validation,
// retries, status checks and parsing are the core's.
import * as native from '../native.js';
import { ERROR_CLASSES, NairiError } from './generated/errors';
import type { ErrorPayload, FileUpload, TurnEvent } from './generated/types';

/** Options every call takes. */
export interface RequestOptions {
  /**
   * Aborts the call: it rejects with an {@link AbortError} and the Rust work stops (the HTTP
   * request, the wait loop, the stream). An already-aborted signal rejects at once.
   */
  signal?: AbortSignal | undefined;
}

/**
 * Per-call overrides of a client's options, for {@link Nairi.withOptions}: snake_case like
 * `ClientOptions`, durations in seconds. An absent (or `undefined`) key keeps the client's
 * setting; an unknown key or a bad value is a `ValidationError` naming the key.
 */
export interface RequestOverrides {
  /** Retries after the first attempt of each HTTP request (a whole number, `0`: none). */
  max_retries?: number | undefined;
  /** Seconds one HTTP attempt may take (positive and finite); past it an `APITimeoutError`. */
  timeout?: number | undefined;
  /**
   * Whether an ambiguous `start` or `continue` (its answer lost) is looked for before it is
   * sent again; with `false` the loss is raised as it happened.
   */
  recover_prompts?: boolean | undefined;
}

/** The options of `run` and `runFollowUp` besides the core's `RunOptions`. */
export interface RunRequestOptions extends RequestOptions {
  /** Receives every event `watch` would yield (status changes, progress, messages, the end). */
  onEvent?: ((event: TurnEvent) => void) | undefined;
}

/**
 * A file to upload: a path (read by the addon), the bytes, or either with an explicit name and
 * MIME type (`content_type`, guessed from the name by the core when absent).
 */
export type FileInput =
  | string
  | Uint8Array
  | { data: Uint8Array; filename?: string; content_type?: string }
  | { path: string; filename?: string; content_type?: string };

/** The arguments of the generic call (the core's `CallArgs`, without the file). */
export interface CallArguments {
  /** Path parameters by name. */
  path?: { readonly [name: string]: string };
  /** The query model. */
  query?: object;
  /** The JSON body. */
  body?: unknown;
  /** The upload of a multipart operation in its serde form (`data` in standard base64). */
  file?: FileUpload;
}

/**
 * The rejection of an aborted call, like Node's own `AbortError` (`name` and `code`), with the
 * signal's reason as `cause`. Not a `NairiError`: the SDK did not fail, the caller stopped it.
 */
export class AbortError extends Error {
  /** `'ABORT_ERR'`, as Node's own abort errors have. */
  readonly code = 'ABORT_ERR';

  /** An abort error whose cause is the signal's reason. */
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

const ENVELOPE = '{"class":';

function abortError(signal: AbortSignal | undefined): AbortError {
  return new AbortError('The operation was aborted', { cause: signal?.reason });
}

/** An error payload of the addon (the core's, or its own envelope) as the SDK's error. */
function fromPayload(payload: ErrorPayload, signal: AbortSignal | undefined): Error {
  if (payload.class === 'AbortError') return abortError(signal);
  const Class = ERROR_CLASSES[payload.class] ?? NairiError;
  return new Class(payload.message, payload);
}

/** The addon's rejection rebuilt as the SDK's error class (or passed through untouched). */
export function toSdkError(err: unknown, signal?: AbortSignal): unknown {
  const message = err instanceof Error ? err.message : undefined;
  if (message === undefined || !message.startsWith(ENVELOPE)) return err;
  let payload: ErrorPayload;
  try {
    payload = JSON.parse(message) as ErrorPayload;
  } catch {
    return err;
  }
  return fromPayload(payload, signal);
}

// One abort listener per signal, however many calls share it, removed when the last call
// settles: a thousand calls on one signal add one listener, not a thousand.
interface SignalEntry {
  tokens: Set<native.CancelToken>;
  listener: () => void;
}
const signals = new WeakMap<AbortSignal, SignalEntry>();

function attach(signal: AbortSignal): native.CancelToken {
  const token = new native.CancelToken();
  let entry = signals.get(signal);
  if (!entry) {
    const tokens = new Set<native.CancelToken>();
    const listener = (): void => {
      for (const t of tokens) t.cancel();
    };
    entry = { tokens, listener };
    signals.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  entry.tokens.add(token);
  return token;
}

function detach(signal: AbortSignal, token: native.CancelToken): void {
  const entry = signals.get(signal);
  if (!entry) return;
  entry.tokens.delete(token);
  if (entry.tokens.size === 0) {
    signal.removeEventListener('abort', entry.listener);
    signals.delete(signal);
  }
}

function nativeFile(file: FileInput): native.NativeFile {
  if (typeof file === 'string') return { path: file };
  if (file instanceof Uint8Array) return { data: file };
  const out: native.NativeFile = 'path' in file ? { path: file.path } : { data: file.data };
  if (file.filename !== undefined) out.filename = file.filename;
  if (file.content_type !== undefined) out.contentType = file.content_type;
  return out;
}

/** What an iterator of a streaming call holds open: closed once, however it ends. */
interface OpenStream {
  signal: AbortSignal | undefined;
  stream?: native.NativeStream;
  token?: native.CancelToken | undefined;
  closed?: boolean;
}

function closeStream(open: OpenStream): void {
  if (open.closed) return;
  open.closed = true;
  try {
    open.stream?.close();
  } finally {
    if (open.signal && open.token) detach(open.signal, open.token);
  }
}

/** Iterators left unfinished (never returned): their stream and listener go when they do. */
const abandoned = new FinalizationRegistry<OpenStream>(closeStream);

/** A call submitted to the addon and not settled yet. */
interface Pending {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  token: native.CancelToken | undefined;
  onEvent: ((event: TurnEvent) => void) | undefined;
}

/** `kind` of a batch entry carrying the result. */
const KIND_VALUE = 0;
/** `kind` of a batch entry carrying an error payload. */
const KIND_ERROR = 1;

/** Hands `onEvent`'s exception to the process as uncaught, without stopping the batch. */
function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/**
 * The calls in flight of one completion queue, by id: the addon hands back every call finished
 * since its last batch in one callback (one event-loop wake-up and one JSON.parse for all of
 * them). A client and its `withOptions` copies share one queue, so they share this table and
 * its ids.
 */
class PendingCalls {
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  /** The next call id: unique among the calls in flight, all it needs to be (wraps within u32). */
  nextId(): number {
    return (this.#nextId = (this.#nextId + 1) >>> 0);
  }

  /** Registers a submitted call until its outcome's batch. */
  add(callId: number, call: Pending): void {
    this.#pending.set(callId, call);
  }

  /**
   * Settles the calls of one batch: `[callId, kind, value, ...]`, kind 0 a result, 1 an error
   * payload, 2 a turn event of a call still running (its outcome comes later in the queue).
   */
  settle(batchJson: string): void {
    const batch = JSON.parse(batchJson) as unknown[];
    for (let i = 0; i < batch.length; i += 3) {
      const callId = batch[i] as number;
      const kind = batch[i + 1];
      const call = this.#pending.get(callId);
      if (call === undefined) continue;
      if (kind !== KIND_VALUE && kind !== KIND_ERROR) {
        try {
          call.onEvent?.(batch[i + 2] as TurnEvent);
        } catch (err) {
          rethrowLater(err);
        }
        continue;
      }
      this.#pending.delete(callId);
      if (call.signal && call.token) detach(call.signal, call.token);
      if (kind === KIND_VALUE) call.resolve(batch[i + 2]);
      else call.reject(fromPayload(batch[i + 2] as ErrorPayload, call.signal));
    }
  }
}

/** @internal The one road from the facade to the addon. */
export class Transport {
  readonly #native: native.NativeClient;
  readonly #calls: PendingCalls;

  /** A native client built from the JSON of the core's `ClientOptions` (throws its envelope). */
  static create(optionsJson: string): Transport {
    const calls = new PendingCalls();
    return new Transport(new native.NativeClient(optionsJson, (batch) => calls.settle(batch)), calls);
  }

  private constructor(client: native.NativeClient, calls: PendingCalls) {
    this.#native = client;
    this.#calls = calls;
  }

  /**
   * A transport whose calls use `overrides` over this one's (the core merges them): the same
   * connection pool and completion queue. Throws the envelope of a `ValidationError`.
   */
  withOptions(overrides: RequestOverrides): Transport {
    return new Transport(this.#native.withOptions(overrides), this.#calls);
  }

  /**
   * Submits one entry of the completion queue under a fresh id (`start` hands it to the
   * addon) and resolves with what its batch carries. `token`, when given, is detached from
   * `signal` when the entry settles; a token shared by several entries is passed as undefined.
   */
  #submit<R>(
    start: (callId: number) => void,
    signal: AbortSignal | undefined,
    token: native.CancelToken | undefined,
    onEvent?: (event: TurnEvent) => void,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const callId = this.#calls.nextId();
      try {
        start(callId);
      } catch (err) {
        if (signal && token) detach(signal, token);
        reject(toSdkError(err, signal));
        return;
      }
      // Registered after the submit, which may throw: its batch cannot arrive before this
      // synchronous code ends (the callback runs on this thread).
      this.#calls.add(callId, { resolve: resolve as (value: unknown) => void, reject, signal, token, onEvent });
    });
  }

  /** Runs `id` with `args` through the core's generic call; resolves to the parsed result. */
  call<R>(id: string, args: CallArguments, options?: RunRequestOptions, file?: FileInput): Promise<R> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const onEvent = options?.onEvent;
    const token = signal ? attach(signal) : undefined;
    return this.#submit<R>(
      (callId) =>
        this.#native.call(
          callId,
          id,
          JSON.stringify(args),
          file === undefined ? undefined : nativeFile(file),
          token,
          onEvent !== undefined,
        ),
      signal,
      token,
      onEvent,
    );
  }

  /**
   * Iterates a streaming call; breaking out, returning or aborting drops the Rust stream, and
   * so does the iterator being garbage-collected unfinished (its abort listener goes with it).
   */
  stream<R>(id: string, args: CallArguments, options?: RequestOptions): AsyncIterableIterator<R> {
    const client = this.#native;
    const signal = options?.signal;
    const submit = <T>(start: (callId: number) => void): Promise<T> => this.#submit<T>(start, signal, undefined);
    const open: OpenStream = { signal };
    async function* items(): AsyncGenerator<R, void, undefined> {
      if (signal?.aborted) throw abortError(signal);
      let stream: native.NativeStream;
      try {
        stream = client.stream(id, JSON.stringify(args));
      } catch (err) {
        throw toSdkError(err, signal);
      }
      open.stream = stream;
      // One token for the whole stream, detached when it ends (not by each item).
      const token = signal ? attach(signal) : undefined;
      open.token = token;
      try {
        for (;;) {
          const item = await submit<R | null>((callId) => stream.next(callId, token));
          if (item === null) return;
          yield item;
        }
      } finally {
        closeStream(open);
      }
    }
    const iterator = items();
    abandoned.register(iterator, open);
    return iterator;
  }

  /** `attachments.get`, its base64 `data` decoded into a Buffer. */
  async download(attachmentId: string, options?: RequestOptions): Promise<Buffer> {
    const attachment = await this.call<{ data: string }>(
      'attachments.get',
      { path: { attachment_id: attachmentId } },
      options,
    );
    return Buffer.from(attachment.data, 'base64');
  }

  /** The core's `save_to_dir`: the sanitised file name inside `dir`; resolves to the path. */
  async saveToDir(attachmentId: string, dir: string, options?: RequestOptions): Promise<string> {
    const signal = options?.signal;
    if (signal?.aborted) throw abortError(signal);
    const token = signal ? attach(signal) : undefined;
    const saved = await this.#submit<{ path: string }>(
      (callId) => this.#native.saveAttachment(callId, attachmentId, dir, token),
      signal,
      token,
    );
    return saved.path;
  }
}
