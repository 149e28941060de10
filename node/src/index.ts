/**
 * The Nairi SDK for Node: `new Nairi(options?)`, resource namespaces with camelCase methods
 * (`client.agents.envVars.update(..)`), model fields with their wire names, and one `Error`
 * subclass per class of the core's error table. Everything with behaviour runs in the Rust core.
 *
 * @packageDocumentation
 */
export { Nairi, VERSION } from './client';
export * from './generated/errors';
export type * from './generated/types';
export * from './generated/client';
export { AbortError } from './transport';
export type { CallArguments, FileInput, RequestOptions, RequestOverrides, RunRequestOptions } from './transport';
export { consoleLogger, setLogLevel } from './logging';
export type { LogLevel, LogRecord, Logger } from './logging';
