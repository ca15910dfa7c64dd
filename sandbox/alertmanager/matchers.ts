import { ApiError } from './http';

/** A label matcher as Alertmanager's API v2 has it: `=`, `!=`, `=~` and `!~`. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** false for `!=` and `!~`; silences made before Alertmanager 0.22 omit it, meaning true. */
  isEqual: boolean;
}

/** Prometheus regexes are anchored at both ends. */
export function toRegExp(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    throw new ApiError(400, `invalid silence: invalid regular expression "${pattern}"`);
  }
}

/** One matcher against one label's value; a label the set lacks has the empty value. */
export function matches(m: Matcher, value: string): boolean {
  const hit = m.isRegex ? toRegExp(m.value).test(value) : m.value === value;
  return hit === m.isEqual;
}

/** Whether a label set meets every matcher, as a silence holds an alert. */
export function matchesAll(matchers: readonly Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((m) => matches(m, labels[m.name] ?? ''));
}

/** A `filter` query parameter: one label matcher, `name="value"`, `name!="value"`, `=~` or `!~`. */
export function parseFilter(filter: string): Matcher {
  const match = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*$/.exec(
    filter,
  );
  if (!match) throw new ApiError(400, { code: 400, message: `bad matcher format: ${filter}` });
  const [, name, op, quoted, bare] = match;
  const value = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
  return { name: name!, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
}
