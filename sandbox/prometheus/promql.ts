/**
 * The part of PromQL the sandbox's Prometheus answers: a selector with label matchers
 * (`=`, `!=`, `=~`, `!~`), optionally inside `sum`, `avg`, `min`, `max` or `count` with a
 * `by (…)` clause, optionally compared with a number (`> 0.05`), which keeps the samples
 * for which the comparison holds, as Prometheus does. Everything else is refused by name.
 */

export type MatchOp = '=' | '!=' | '=~' | '!~';
export type Aggregation = 'sum' | 'avg' | 'min' | 'max' | 'count';
export type Comparison = '==' | '!=' | '>' | '<' | '>=' | '<=';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export interface Selector {
  kind: 'selector';
  matchers: Matcher[];
}

export interface Aggregate {
  kind: 'aggregate';
  op: Aggregation;
  by: string[];
  inner: Selector;
}

export interface Query {
  vector: Selector | Aggregate;
  filter?: { op: Comparison; value: number };
}

/** What the sandbox's Prometheus tells a client whose query it cannot answer. */
export const UNDERSTOOD =
  "the sandbox's Prometheus understands only a selector with label matchers (=, !=, =~, !~), " +
  'optionally in sum, avg, min, max or count by (…), optionally compared with a number';

export class QueryError extends Error {
  override readonly name = 'QueryError';
}

const AGGREGATIONS = new Set<string>(['sum', 'avg', 'min', 'max', 'count']);
const COMPARISONS: Comparison[] = ['==', '!=', '>=', '<=', '>', '<'];
const IDENT = /[A-Za-z_:][A-Za-z0-9_:]*/y;
const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMBER = /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:Inf|NaN)\b/iy;

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  get position(): number {
    return this.at;
  }

  set position(at: number) {
    this.at = at;
  }

  /** What is left to read, from the next token on. */
  get rest(): string {
    this.skip();
    return this.text.slice(this.at);
  }

  skip(): void {
    for (;;) {
      while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at += 1;
      if (this.text[this.at] !== '#') return;
      const newline = this.text.indexOf('\n', this.at);
      this.at = newline < 0 ? this.text.length : newline;
    }
  }

  get done(): boolean {
    this.skip();
    return this.at >= this.text.length;
  }

  peek(literal: string): boolean {
    this.skip();
    return this.text.startsWith(literal, this.at);
  }

  take(literal: string): boolean {
    if (!this.peek(literal)) return false;
    this.at += literal.length;
    return true;
  }

  expect(literal: string, what: string): void {
    if (!this.take(literal)) this.fail(`expected ${what}`);
  }

  ident(): string | undefined {
    this.skip();
    IDENT.lastIndex = this.at;
    const match = IDENT.exec(this.text);
    if (!match) return undefined;
    this.at += match[0].length;
    return match[0];
  }

  number(): number | undefined {
    this.skip();
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) return undefined;
    this.at += match[0].length;
    const text = match[0].toLowerCase().replace(/^\+/, '');
    if (text === 'inf') return Infinity;
    if (text === '-inf') return -Infinity;
    if (text.endsWith('nan')) return NaN;
    return Number(text);
  }

  string(): string {
    this.skip();
    const quote = this.text[this.at];
    if (quote !== '"' && quote !== "'" && quote !== '`') this.fail('expected a quoted string');
    let out = '';
    for (let i = this.at + 1; i < this.text.length; i++) {
      const ch = this.text[i]!;
      if (ch === quote) {
        this.at = i + 1;
        return out;
      }
      if (ch === '\\' && quote !== '`') {
        const next = this.text[i + 1];
        out += next === 'n' ? '\n' : next === 't' ? '\t' : (next ?? '');
        i += 1;
      } else {
        out += ch;
      }
    }
    return this.fail('unterminated quoted string');
  }

  comparison(): Comparison | undefined {
    this.skip();
    const op = COMPARISONS.find((candidate) => this.text.startsWith(candidate, this.at));
    if (op) this.at += op.length;
    return op;
  }

  fail(what: string): never {
    const rest = this.text.slice(this.at).trim();
    const near = rest ? ` near "${rest.length > 30 ? `${rest.slice(0, 30)}…` : rest}"` : ' at the end';
    throw new QueryError(`${UNDERSTOOD}: ${what}${near}`);
  }
}

function labelList(reader: Reader): string[] {
  reader.expect('(', "'(' after by");
  const labels: string[] = [];
  while (!reader.take(')')) {
    const name = reader.ident();
    if (!name || !LABEL.test(name)) reader.fail('expected a label name');
    labels.push(name);
    if (!reader.peek(')')) reader.expect(',', "',' or ')'");
  }
  return labels;
}

function selector(reader: Reader): Selector {
  const matchers: Matcher[] = [];
  const name = reader.peek('{') ? undefined : reader.ident();
  if (name !== undefined) {
    if (AGGREGATIONS.has(name) || name === 'by' || name === 'without')
      reader.fail(`${name} is not a metric name`);
    matchers.push({ name: '__name__', op: '=', value: name });
  }
  if (reader.take('{')) {
    while (!reader.take('}')) {
      const label = reader.ident();
      if (!label || !LABEL.test(label)) reader.fail('expected a label name');
      const op = (['=~', '!~', '!=', '='] as const).find((candidate) => reader.take(candidate));
      if (!op) reader.fail('expected =, !=, =~ or !~');
      const value = reader.string();
      // A regular expression that does not compile is the query's fault, found before any series is read.
      if (op === '=~' || op === '!~') anchored(value);
      matchers.push({ name: label, op, value });
      if (!reader.peek('}')) reader.expect(',', "',' or '}'");
    }
  }
  if (matchers.length === 0) reader.fail('expected a metric name or {');
  // Prometheus' own rule: a selector must not match every series there is.
  if (matchers.every((m) => matches(m, ''))) {
    throw new QueryError('vector selector must contain at least one non-empty matcher');
  }
  if (reader.peek('[')) reader.fail('range vectors are not among them');
  if (reader.peek('(')) reader.fail('functions are not among them');
  return { kind: 'selector', matchers };
}

/** A query of the subset, or a QueryError saying what the subset is. */
export function parseQuery(text: string): Query {
  const reader: Reader = new Reader(text);
  if (reader.done) throw new QueryError('no expression found in input');
  const vector = aggregate(reader) ?? selector(reader);
  let filter: Query['filter'];
  if (!reader.done) {
    const op = reader.comparison();
    if (!op) reader.fail('expected a comparison with a number, or the end');
    if (reader.peek('bool')) reader.fail('bool comparisons are not among them');
    const value = reader.number();
    if (value === undefined) reader.fail('expected a number after the comparison');
    filter = { op, value };
  }
  if (!reader.done) reader.fail('expected the end of the expression');
  return { vector, ...(filter ? { filter } : {}) };
}

/** `sum by (a, b) (selector)` or `sum (selector) by (a, b)`; undefined (and nothing read) when it is no aggregation. */
function aggregate(reader: Reader): Aggregate | undefined {
  const mark = reader.position;
  const op = reader.ident();
  if (
    op === undefined ||
    !AGGREGATIONS.has(op) ||
    !(reader.peek('(') || /^(by|without)\b/.test(reader.rest))
  ) {
    reader.position = mark;
    return undefined;
  }
  const clause = (): string[] | undefined => {
    if (/^without\b/.test(reader.rest)) reader.fail('without is not among them');
    return reader.take('by') ? labelList(reader) : undefined;
  };
  let by = clause();
  reader.expect('(', "'('");
  const inner = selector(reader);
  reader.expect(')', "')'");
  by ??= clause();
  return { kind: 'aggregate', op: op as Aggregation, by: by ?? [], inner };
}

const regexCache = new Map<string, RegExp>();

/** Prometheus anchors its regular expressions at both ends. */
export function anchored(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(`^(?:${pattern})$`, 's');
    } catch (err) {
      throw new QueryError(
        `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      );
    }
    if (regexCache.size > 500) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** Whether a label's value (empty when the series lacks it) meets a matcher. */
export function matches(matcher: Matcher, value: string): boolean {
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return anchored(matcher.value).test(value);
    case '!~':
      return !anchored(matcher.value).test(value);
  }
}

export function compare(op: Comparison, left: number, right: number): boolean {
  switch (op) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
    case '>':
      return left > right;
    case '<':
      return left < right;
    case '>=':
      return left >= right;
    case '<=':
      return left <= right;
  }
}
