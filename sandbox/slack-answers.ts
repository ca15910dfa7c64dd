import { randomBytes } from 'node:crypto';

/**
 * What the simulated Web API methods share: how arguments arrive (the Web API client sends a
 * form whose non-string fields are JSON, so `true` arrives as "true"; a JSON body keeps its
 * types) and how Slack words a failure.
 */

export type Args = Record<string, unknown>;
export type Answer = Record<string, unknown>;

export function fail(error: string, extra: Answer = {}): Answer {
  return { ok: false, error, ...extra };
}

/** Slack's answer to a call without a field it requires. */
export function missing(field: string): Answer {
  return invalid(`[ERROR] missing required field: ${field}`);
}

export function invalid(...messages: string[]): Answer {
  return { ok: false, error: 'invalid_arguments', response_metadata: { messages } };
}

/** A string argument as sent; numbers count (a JSON body may carry them); anything else is absent. */
export function text(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A boolean argument: `true` in a JSON body, "true" or "1" in a form. */
export function flag(value: unknown): boolean {
  return value === true || value === 1 || value === 'true' || value === '1';
}

/** A list argument: a JSON array, or Slack's comma-separated string. */
export function list(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : [];
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** A message timestamp as Slack writes them: seconds, a dot, a sequence. */
export const TS_PATTERN = /^\d+\.\d+$/;

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** An id shaped like Slack's: its letter (C channel, U user, F file…), then ten capitals and digits. */
export function slackId(prefix: string): string {
  return `${prefix}${[...randomBytes(10)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Characters, not UTF-16 units: what Slack counts in a name or a topic. */
export function lengthOf(value: string): number {
  return [...value].length;
}
