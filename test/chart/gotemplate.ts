import { createHash } from 'node:crypto';
import { parse, stringify, type Tags } from 'yaml';

/**
 * The part of Go's text/template, and of the Sprig and Helm functions, that the chart's
 * templates use, interpreted in TypeScript so the chart tests can render them without a
 * helm binary. It follows Go and Helm where the chart could notice a difference (whitespace
 * trimming, map ranges in key order, a missing map key being nil and printing as nothing,
 * float64 numbers from YAML against int literals, `eq` refusing to compare those two), and
 * anything it does not implement (a function, an action, a type) is an error, never a guess.
 * test/chart/gotemplate.test.ts pins the semantics it relies on.
 */

/** Go's int (and int64): Helm's int literals, `int`, `add` and `len`. YAML numbers are float64: JS numbers. */
export type GoInt = bigint;

/** A struct with methods, such as Helm's `.Files`: `.Files.Get "name"`. */
export class GoMethods {
  constructor(readonly methods: Record<string, (...args: unknown[]) => unknown>) {}
}

export class TemplateError extends Error {}

// ---------------------------------------------------------------------------------------
// YAML as Helm and Kubernetes read it: sigs.k8s.io/yaml over go-yaml v2, so YAML 1.1
// (yes/on are booleans, 0440 is octal) but timestamps and 1:20 sexagesimals stay strings.

const goYamlTags = (tags: Tags) =>
  tags.filter((t) =>
    typeof t === 'string'
      ? !['timestamp', 'intTime', 'floatTime'].includes(t)
      : t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME',
  );

export const parseGoYaml = (text: string): unknown =>
  parse(text, { version: '1.1', customTags: goYamlTags, maxAliasCount: -1 });

export function parseGoYamlDocuments(text: string): unknown[] {
  // Helm's own split of a rendered file into documents.
  return text
    .split(/(?:^|\n)---[ \t]*(?=\n|$)/)
    .map((doc) => parseGoYaml(doc))
    .filter((doc) => doc !== null && doc !== undefined);
}

/** sigs.k8s.io/yaml's Marshal: through JSON, so map keys come out sorted. */
function toGoYaml(value: unknown): string {
  return stringify(jsonLike(value), {
    version: '1.1',
    customTags: goYamlTags,
    indentSeq: false,
    lineWidth: 0,
    sortMapEntries: true,
  }).replace(/\n$/, '');
}

function jsonLike(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(jsonLike);
  if (value instanceof GoMethods) return {};
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonLike(v)]));
  return value ?? null;
}

// ---------------------------------------------------------------------------------------
// Values as Go sees them.

type GoMap = Record<string, unknown>;

const isMap = (v: unknown): v is GoMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoMethods);

/** text/template's truth: false, 0, nil, and empty strings, lists and maps are false. */
export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

const goType = (v: unknown): string =>
  v === null || v === undefined
    ? 'nil'
    : typeof v === 'string'
      ? 'string'
      : typeof v === 'number'
        ? 'float64'
        : typeof v === 'bigint'
          ? 'int'
          : typeof v === 'boolean'
            ? 'bool'
            : Array.isArray(v)
              ? '[]interface {}'
              : v instanceof GoMethods
                ? 'struct'
                : 'map[string]interface {}';

/** fmt's %v of a float64: the shortest form, with an exponent from 1e+06 (Helm's big-number surprise). */
function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(v);
}

/** fmt's %v. */
function printValue(v: unknown, nested = false): string {
  if (v === null || v === undefined) return nested ? '<nil>' : '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((e) => printValue(e, true)).join(' ')}]`;
  if (isMap(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k], true)}`)
      .join(' ')}]`;
  throw new TemplateError(`cannot print a ${goType(v)}`);
}

/** Sprig's strval: strings as they are, anything else as %v. */
const strval = (v: unknown): string => (typeof v === 'string' ? v : printValue(v, true));

/** strconv.Quote, for %q and `quote`. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

// Argument checks: Go converts arguments to a function's parameter types and fails otherwise.
function asString(v: unknown, fn: string): string {
  if (typeof v !== 'string') throw new TemplateError(`${fn}: expected string; got ${goType(v)}`);
  return v;
}
function asInt(v: unknown, fn: string): number {
  if (typeof v !== 'bigint') throw new TemplateError(`${fn}: expected int; got ${goType(v)}`);
  return Number(v);
}
function asMap(v: unknown, fn: string): GoMap {
  if (!isMap(v)) throw new TemplateError(`${fn}: expected map[string]interface {}; got ${goType(v)}`);
  return v;
}
function asList(v: unknown, fn: string): unknown[] {
  if (!Array.isArray(v)) throw new TemplateError(`${fn}: expected a list; got ${goType(v)}`);
  return v;
}

/** Sprig's toInt64 (spf13/cast): numbers and numeric strings. */
function toInt64(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string' && /^[-+]?\d+$/.test(v.trim())) return BigInt(v.trim());
  return 0n;
}

/** Sprig's empty. */
function empty(v: unknown): boolean {
  return !truth(v) && !(v instanceof GoMethods);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((e, i) => deepEqual(e, b[i]));
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** text/template's eq for one pair: basic kinds only, and only of the same kind (int vs float64 fails). */
function goEqual(a: unknown, b: unknown): boolean {
  const nil = (v: unknown) => v === null || v === undefined;
  if (nil(a) || nil(b)) return nil(a) && nil(b);
  const basic = (v: unknown) => ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
  if (!basic(a) || !basic(b)) throw new TemplateError(`eq: non-comparable types ${goType(a)}, ${goType(b)}`);
  if (typeof a !== typeof b)
    throw new TemplateError(`eq: incompatible types for comparison (${goType(a)} and ${goType(b)})`);
  return a === b;
}

/** fmt.Sprintf for the verbs the chart uses: %s, %d, %v, %q and %%. */
function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([%sdvq])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[i++];
    if (verb === 'v') return printValue(arg, true);
    if (verb === 'd') {
      if (typeof arg !== 'bigint') throw new TemplateError(`printf: %d of a ${goType(arg)}`);
      return String(arg);
    }
    if (typeof arg !== 'string') throw new TemplateError(`printf: %${verb} of a ${goType(arg)}`);
    return verb === 'q' ? goQuote(arg) : arg;
  });
}

const indent = (spaces: number, text: string) => {
  const pad = ' '.repeat(spaces);
  return pad + text.replaceAll('\n', `\n${pad}`);
};

// ---------------------------------------------------------------------------------------
// Lexing: text and actions, with Go's trim markers ("{{- " and " -}}") and comments.

type Item = { kind: 'text'; text: string } | { kind: 'action'; body: string; line: number };

function lex(source: string, name: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  const line = (at: number) => source.slice(0, at).split('\n').length;
  const pushText = (text: string) => items.push({ kind: 'text', text: trimNext ? text.trimStart() : text });
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    if (open < 0) {
      pushText(source.slice(pos));
      break;
    }
    let text = source.slice(pos, open);
    let start = open + 2;
    if (source[start] === '-' && /\s/.test(source[start + 1] ?? '')) {
      text = text.trimEnd();
      start += 2;
    }
    pushText(text);
    trimNext = false;
    // Find the closing delimiter outside strings and comments.
    let i = start;
    let body: string | undefined;
    while (i < source.length) {
      const ch = source[i]!;
      if (source.startsWith('/*', i)) {
        const close = source.indexOf('*/', i + 2);
        if (close < 0) throw new TemplateError(`${name}:${line(open)}: unclosed comment`);
        i = close + 2;
      } else if (ch === '"' || ch === '`') {
        let j = i + 1;
        while (j < source.length && source[j] !== ch) j += ch === '"' && source[j] === '\\' ? 2 : 1;
        if (j >= source.length) throw new TemplateError(`${name}:${line(open)}: unterminated string`);
        i = j + 1;
      } else if (source.startsWith('}}', i)) {
        body = source.slice(start, i);
        break;
      } else i++;
    }
    if (body === undefined) throw new TemplateError(`${name}:${line(open)}: unclosed action`);
    const end = start + body.length + 2;
    const rightTrim = /\s-$/.exec(body);
    if (rightTrim) {
      body = body.slice(0, -2);
      trimNext = true;
    }
    const trimmed = body.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/') || trimmed.indexOf('*/') !== trimmed.length - 2)
        throw new TemplateError(`${name}:${line(open)}: a comment must be the whole action`);
    } else {
      items.push({ kind: 'action', body: trimmed, line: line(open) });
    }
    pos = end;
  }
  return items;
}

// ---------------------------------------------------------------------------------------
// Parsing actions: pipelines of commands of terms.

type Term =
  | { k: 'lit'; v: unknown }
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'ident'; name: string }
  | { k: 'pipe'; pipe: Pipeline; path: string[] };

interface Command {
  terms: Term[];
}
interface Pipeline {
  decl?: { vars: string[]; assign: boolean };
  cmds: Command[];
}

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: Pipeline; where: string }
  | { k: 'if' | 'with'; pipe: Pipeline; then: Node[]; else: Node[]; where: string }
  | { k: 'range'; pipe: Pipeline; body: Node[]; else: Node[]; where: string }
  | { k: 'template'; name: string; pipe?: Pipeline; where: string };

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number | bigint }
  | { t: 'word'; v: string }
  | { t: 'field'; path: string[]; adjacent: boolean }
  | { t: 'var'; name: string; path: string[] }
  | { t: '(' | ')' | '|' | ',' | ':=' | '=' };

function tokenize(body: string, where: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fieldPath = (): string[] => {
    const path: string[] = [];
    while (body[i] === '.') {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)?/.exec(body.slice(i))!;
      i += m[0].length;
      if (m[1] === undefined) {
        if (path.length > 0) throw new TemplateError(`${where}: a lone '.' after a field`);
        return path;
      }
      path.push(m[1]);
    }
    return path;
  };
  while (i < body.length) {
    const ch = body[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const adjacent = i > 0 && !/\s/.test(body[i - 1]!);
    if (ch === '"') {
      let j = i + 1;
      let v = '';
      while (body[j] !== '"') {
        if (body[j] === '\\') {
          const esc = body[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
          if (esc === undefined || !(esc in map))
            throw new TemplateError(`${where}: unsupported escape \\${esc}`);
          v += map[esc];
          j += 2;
        } else v += body[j++];
      }
      tokens.push({ t: 'str', v });
      i = j + 1;
    } else if (ch === '`') {
      const j = body.indexOf('`', i + 1);
      tokens.push({ t: 'str', v: body.slice(i + 1, j) });
      i = j + 1;
    } else if (ch === '(' || ch === ')' || ch === '|' || ch === ',') {
      tokens.push({ t: ch });
      i++;
    } else if (body.startsWith(':=', i)) {
      tokens.push({ t: ':=' });
      i += 2;
    } else if (ch === '=') {
      tokens.push({ t: '=' });
      i++;
    } else if (ch === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(body.slice(i))!;
      i += m[0].length;
      tokens.push({ t: 'var', name: m[0], path: fieldPath() });
    } else if (ch === '.') {
      tokens.push({ t: 'field', path: fieldPath(), adjacent });
    } else if (/[-+0-9]/.test(ch)) {
      const m = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(body.slice(i));
      if (!m) throw new TemplateError(`${where}: bad number at '${body.slice(i)}'`);
      i += m[0].length;
      tokens.push({ t: 'num', v: m[1] || m[2] ? Number(m[0]) : BigInt(m[0]) });
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!;
      i += m[0].length;
      tokens.push({ t: 'word', v: m[0] });
    } else {
      throw new TemplateError(`${where}: unexpected '${ch}'`);
    }
  }
  return tokens;
}

function parsePipeline(tokens: Token[], where: string, allowDecl = true): Pipeline {
  let pos = 0;
  const peek = () => tokens[pos];
  const pipeline = (inParens: boolean): Pipeline => {
    const result: Pipeline = { cmds: [] };
    // A declaration: $x := …, $x = …, or (range) $i, $x := …
    const declEnd = tokens.findIndex((t, idx) => idx >= pos && (t.t === ':=' || t.t === '='));
    if (allowDecl && !inParens && declEnd > pos) {
      const head = tokens.slice(pos, declEnd);
      const isDecl = head.every((t, idx) =>
        idx % 2 === 0 ? t.t === 'var' && t.path.length === 0 : t.t === ',',
      );
      if (isDecl) {
        result.decl = {
          vars: head.filter((t): t is Extract<Token, { t: 'var' }> => t.t === 'var').map((t) => t.name),
          assign: tokens[declEnd]!.t === '=',
        };
        pos = declEnd + 1;
      }
    }
    for (;;) {
      const terms: Term[] = [];
      while (pos < tokens.length && peek()!.t !== '|' && peek()!.t !== ')') terms.push(term());
      if (terms.length === 0) throw new TemplateError(`${where}: missing command`);
      result.cmds.push({ terms });
      if (peek()?.t === '|') {
        pos++;
        continue;
      }
      return result;
    }
  };
  const term = (): Term => {
    const tok = tokens[pos++]!;
    switch (tok.t) {
      case 'str':
      case 'num':
        return { k: 'lit', v: tok.v };
      case 'word':
        if (tok.v === 'true' || tok.v === 'false') return { k: 'lit', v: tok.v === 'true' };
        if (tok.v === 'nil') return { k: 'lit', v: null };
        return { k: 'ident', name: tok.v };
      case 'field':
        return { k: 'field', path: tok.path };
      case 'var':
        return { k: 'var', name: tok.name, path: tok.path };
      case '(': {
        const inner = pipeline(true);
        if (tokens[pos++]?.t !== ')') throw new TemplateError(`${where}: unclosed '('`);
        const next = peek();
        let path: string[] = [];
        if (next?.t === 'field' && next.adjacent) {
          path = next.path;
          pos++;
        }
        return { k: 'pipe', pipe: inner, path };
      }
      default:
        throw new TemplateError(`${where}: unexpected '${tok.t}'`);
    }
  };
  const result = pipeline(false);
  if (pos !== tokens.length) throw new TemplateError(`${where}: unexpected '${tokens[pos]!.t}'`);
  return result;
}

interface Parsed {
  body: Node[];
  defines: Map<string, Node[]>;
}

function parseTemplate(source: string, name: string): Parsed {
  const defines = new Map<string, Node[]>();
  const items = lex(source, name);
  let pos = 0;

  /** Parses nodes until an end/else at this level; returns the nodes and what stopped them. */
  const list = (): { nodes: Node[]; stop?: { word: 'end' | 'else'; rest: string; where: string } } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const item = items[pos++]!;
      if (item.kind === 'text') {
        if (item.text) nodes.push({ k: 'text', text: item.text });
        continue;
      }
      const where = `${name}:${item.line}`;
      const m = /^([a-z]+)\b\s*([\s\S]*)$/.exec(item.body);
      const word = m?.[1];
      const rest = m?.[2] ?? '';
      if (word === 'end') {
        if (rest) throw new TemplateError(`${where}: unexpected '${rest}' after end`);
        return { nodes, stop: { word: 'end', rest, where } };
      }
      if (word === 'else') return { nodes, stop: { word: 'else', rest, where } };
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(block(word, rest, where));
      } else if (word === 'define') {
        const tokens = tokenize(rest, where);
        const defName = tokens[0];
        if (tokens.length !== 1 || defName?.t !== 'str')
          throw new TemplateError(`${where}: define takes a name`);
        const inner = list();
        if (inner.stop?.word !== 'end') throw new TemplateError(`${where}: define without end`);
        defines.set(defName.v, inner.nodes);
      } else if (word === 'template') {
        const tokens = tokenize(rest, where);
        const tplName = tokens[0];
        if (tplName?.t !== 'str') throw new TemplateError(`${where}: template takes a name`);
        nodes.push({
          k: 'template',
          name: tplName.v,
          ...(tokens.length > 1 ? { pipe: parsePipeline(tokens.slice(1), where, false) } : {}),
          where,
        });
      } else if (word === 'block' || word === 'break' || word === 'continue') {
        throw new TemplateError(`${where}: '${word}' is not implemented by this renderer`);
      } else {
        nodes.push({ k: 'action', pipe: parsePipeline(tokenize(item.body, where), where), where });
      }
    }
    return { nodes };
  };

  const block = (word: 'if' | 'with' | 'range', rest: string, where: string): Node => {
    const pipe = parsePipeline(tokenize(rest, where), where);
    const then = list();
    let elseNodes: Node[] = [];
    if (!then.stop) throw new TemplateError(`${where}: ${word} without end`);
    if (then.stop.word === 'else') {
      const chained = /^(if|with)\b\s*([\s\S]*)$/.exec(then.stop.rest);
      if (chained) {
        if (word === 'range') throw new TemplateError(`${then.stop.where}: else ${chained[1]} in a range`);
        // `else if` / `else with`: a nested block that shares this one's end.
        elseNodes = [block(chained[1] as 'if' | 'with', chained[2] ?? '', then.stop.where)];
      } else {
        if (then.stop.rest) throw new TemplateError(`${then.stop.where}: unexpected '${then.stop.rest}'`);
        const other = list();
        if (other.stop?.word !== 'end') throw new TemplateError(`${where}: ${word} without end`);
        elseNodes = other.nodes;
      }
    }
    return word === 'range'
      ? { k: 'range', pipe, body: then.nodes, else: elseNodes, where }
      : { k: word, pipe, then: then.nodes, else: elseNodes, where };
  };

  const top = list();
  if (top.stop) throw new TemplateError(`${top.stop.where}: unexpected ${top.stop.word}`);
  return { body: top.nodes, defines };
}

// ---------------------------------------------------------------------------------------
// Execution.

interface State {
  dot: unknown;
  vars: Array<[string, unknown]>;
}

export class TemplateSet {
  private readonly files = new Map<string, Node[]>();
  private readonly defines = new Map<string, Node[]>();
  private depth = 0;

  /** Parses every file first, as Helm does, so a define in any file is visible to all. */
  constructor(sources: Record<string, string>) {
    for (const [name, source] of Object.entries(sources)) {
      const parsed = parseTemplate(source, name);
      this.files.set(name, parsed.body);
      for (const [define, nodes] of parsed.defines) this.defines.set(define, nodes);
    }
  }

  /** One file's output, with Helm's removal of "<no value>" (what a nil prints as). */
  render(name: string, data: unknown): string {
    const nodes = this.files.get(name);
    if (!nodes) throw new TemplateError(`no template ${name}`);
    return this.run(nodes, data).replaceAll('<no value>', '');
  }

  include(name: string, data: unknown): string {
    const nodes = this.defines.get(name);
    if (!nodes) throw new TemplateError(`no template "${name}" associated with template`);
    if (++this.depth > 1000)
      throw new TemplateError(`rendering template has a nested reference name: ${name}`);
    try {
      return this.run(nodes, data);
    } finally {
      this.depth--;
    }
  }

  private run(nodes: Node[], data: unknown): string {
    const out: string[] = [];
    this.walk(nodes, { dot: data, vars: [['$', data]] }, out);
    return out.join('');
  }

  private walk(nodes: Node[], state: State, out: string[]): void {
    for (const node of nodes) {
      switch (node.k) {
        case 'text':
          out.push(node.text);
          break;
        case 'action': {
          const value = this.pipeline(node.pipe, state, node.where);
          if (!node.pipe.decl) out.push(printValue(value));
          break;
        }
        case 'if':
        case 'with': {
          const mark = state.vars.length;
          const value = this.pipeline(node.pipe, state, node.where);
          if (truth(value)) {
            this.walk(node.then, node.k === 'with' ? { ...state, dot: value } : state, out);
          } else {
            this.walk(node.else, state, out);
          }
          state.vars.length = mark;
          break;
        }
        case 'range':
          this.range(node, state, out);
          break;
        case 'template': {
          const data = node.pipe ? this.pipeline(node.pipe, state, node.where) : null;
          out.push(this.include(node.name, data));
          break;
        }
      }
    }
  }

  private range(node: Extract<Node, { k: 'range' }>, state: State, out: string[]): void {
    const mark = state.vars.length;
    const decl = node.pipe.decl;
    const value = this.pipeline({ cmds: node.pipe.cmds }, state, node.where);
    let entries: Array<[unknown, unknown]>;
    if (value === null || value === undefined) entries = [];
    else if (Array.isArray(value)) entries = value.map((v, i) => [BigInt(i), v]);
    else if (isMap(value))
      entries = Object.keys(value)
        .sort()
        .map((k) => [k, value[k]]);
    else throw new TemplateError(`${node.where}: range can't iterate over ${printValue(value)}`);
    if (decl && (decl.assign || decl.vars.length > 2))
      throw new TemplateError(`${node.where}: bad range declaration`);
    for (const [key, element] of entries) {
      const vars = state.vars.slice(0, mark);
      if (decl?.vars.length === 1) vars.push([decl.vars[0]!, element]);
      if (decl?.vars.length === 2) vars.push([decl.vars[0]!, key], [decl.vars[1]!, element]);
      const inner: State = { dot: element, vars };
      this.walk(node.body, inner, out);
      // Assignments to outer variables inside the body persist.
      for (let i = 0; i < mark; i++) state.vars[i] = inner.vars[i]!;
    }
    if (entries.length === 0) this.walk(node.else, state, out);
    state.vars.length = mark;
  }

  private pipeline(pipe: Pipeline, state: State, where: string): unknown {
    let value: unknown;
    let piped = false;
    for (const cmd of pipe.cmds) {
      value = this.command(cmd, state, where, piped ? { value } : undefined);
      piped = true;
    }
    if (pipe.decl) {
      const [name] = pipe.decl.vars;
      if (pipe.decl.vars.length !== 1 || name === undefined)
        throw new TemplateError(`${where}: too many declarations`);
      if (pipe.decl.assign) {
        let i = state.vars.length - 1;
        while (i >= 0 && state.vars[i]![0] !== name) i--;
        if (i < 0) throw new TemplateError(`${where}: undefined variable: ${name}`);
        state.vars[i] = [name, value];
      } else {
        state.vars.push([name, value]);
      }
    }
    return value;
  }

  private variable(name: string, state: State, where: string): unknown {
    for (let i = state.vars.length - 1; i >= 0; i--) if (state.vars[i]![0] === name) return state.vars[i]![1];
    throw new TemplateError(`${where}: undefined variable: ${name}`);
  }

  private command(cmd: Command, state: State, where: string, piped?: { value: unknown }): unknown {
    const [first, ...rest] = cmd.terms;
    if (!first) throw new TemplateError(`${where}: empty command`);
    if (first.k === 'ident') {
      const argTerms = rest;
      if (first.name === 'and' || first.name === 'or') {
        const thunks = [
          ...argTerms.map((t) => () => this.term(t, state, where)),
          ...(piped ? [() => piped.value] : []),
        ];
        if (thunks.length === 0) throw new TemplateError(`${where}: ${first.name} needs arguments`);
        let v: unknown;
        for (const thunk of thunks) {
          v = thunk();
          if (first.name === 'and' ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      const args = [...argTerms.map((t) => this.term(t, state, where)), ...(piped ? [piped.value] : [])];
      return this.call(first.name, args, where);
    }
    const args = [...rest.map((t) => this.term(t, state, where)), ...(piped ? [piped.value] : [])];
    if (first.k === 'field' || first.k === 'var' || first.k === 'pipe') {
      const base =
        first.k === 'field'
          ? state.dot
          : first.k === 'var'
            ? this.variable(first.name, state, where)
            : this.pipeline(first.pipe, state, where);
      return this.chain(base, first.path, args, where);
    }
    if (args.length > 0) throw new TemplateError(`${where}: can't give argument to non-function`);
    return this.term(first, state, where);
  }

  private term(term: Term, state: State, where: string): unknown {
    switch (term.k) {
      case 'lit':
        return term.v;
      case 'ident':
        // A function as an argument is called with no arguments.
        return this.call(term.name, [], where);
      case 'field':
        return this.chain(state.dot, term.path, [], where);
      case 'var':
        return this.chain(this.variable(term.name, state, where), term.path, [], where);
      case 'pipe':
        return this.chain(this.pipeline(term.pipe, state, where), term.path, [], where);
    }
  }

  /** .a.b.c on a value: map keys (missing: nil), struct methods; a field of nil is an error, as in Helm. */
  private chain(base: unknown, path: string[], args: unknown[], where: string): unknown {
    let value = base;
    for (const [i, key] of path.entries()) {
      const last = i === path.length - 1;
      if (value === null || value === undefined)
        throw new TemplateError(`${where}: nil pointer evaluating interface {}.${key}`);
      if (value instanceof GoMethods) {
        const method = value.methods[key];
        if (!method) throw new TemplateError(`${where}: can't evaluate field ${key}`);
        value = method(...(last ? args : []));
        if (last) return value;
        continue;
      }
      if (!isMap(value))
        throw new TemplateError(`${where}: can't evaluate field ${key} in type ${goType(value)}`);
      value = Object.hasOwn(value, key) ? value[key] : null;
    }
    if (args.length > 0) throw new TemplateError(`${where}: can't give argument to non-function`);
    return value;
  }

  private call(name: string, args: unknown[], where: string): unknown {
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!fn) throw new TemplateError(`${where}: function "${name}" not defined (or not implemented here)`);
    try {
      return fn.call(this, ...args);
    } catch (err) {
      if (err instanceof TemplateError && err.message.startsWith(`${where}:`)) throw err;
      throw new TemplateError(`${where}: error calling ${name}: ${(err as Error).message}`);
    }
  }
}

const arity = (name: string, args: unknown[], n: number) => {
  if (args.length !== n)
    throw new TemplateError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
};

/** The functions, with Go's, Sprig's and Helm's argument orders and results. */
const FUNCTIONS: Record<string, (this: TemplateSet, ...args: unknown[]) => unknown> = {
  // text/template built-ins
  eq: (...args) => {
    if (args.length < 2) throw new TemplateError('missing argument for comparison');
    const [first, ...others] = args;
    return others.some((o) => goEqual(first, o));
  },
  ne: (...args) => {
    arity('ne', args, 2);
    return !goEqual(args[0], args[1]);
  },
  not: (...args) => {
    arity('not', args, 1);
    return !truth(args[0]);
  },
  len: (...args) => {
    arity('len', args, 1);
    const v = args[0];
    if (typeof v === 'string' || Array.isArray(v)) return BigInt(v.length);
    if (isMap(v)) return BigInt(Object.keys(v).length);
    throw new TemplateError(`len of type ${goType(v)}`);
  },
  index: (item, ...keys) => {
    let v = item;
    for (const key of keys) {
      if (Array.isArray(v)) {
        const i = Number(asInt(key, 'index'));
        if (i < 0 || i >= v.length) throw new TemplateError(`index out of range: ${i}`);
        v = v[i];
      } else if (isMap(v)) {
        const k = asString(key, 'index');
        v = Object.hasOwn(v, k) ? v[k] : null;
      } else if (v === null || v === undefined) {
        throw new TemplateError('index of untyped nil');
      } else throw new TemplateError(`can't index item of type ${goType(v)}`);
    }
    return v;
  },
  printf: (format, ...args) => sprintf(asString(format, 'printf'), args),
  print: (...args) => args.map((a) => printValue(a, true)).join(''),

  // Helm
  include(name, data) {
    return this.include(asString(name, 'include'), data);
  },
  toYaml: (v) => toGoYaml(v),
  fromYaml: (s) => {
    try {
      const parsed = parseGoYaml(asString(s, 'fromYaml'));
      if (parsed === null || parsed === undefined) return {};
      if (!isMap(parsed)) return { Error: 'error unmarshaling JSON: cannot unmarshal into a map' };
      return parsed;
    } catch (err) {
      return { Error: (err as Error).message };
    }
  },
  required: (message, value) => {
    if (value === null || value === undefined || value === '')
      throw new TemplateError(asString(message, 'required'));
    return value;
  },
  fail: (message) => {
    throw new TemplateError(asString(message, 'fail'));
  },

  // Sprig: strings
  quote: (...args) =>
    args
      .filter((a) => a !== null && a !== undefined)
      .map((a) => goQuote(strval(a)))
      .join(' '),
  trunc: (n, s) => {
    const c = asInt(n, 'trunc');
    const str = asString(s, 'trunc');
    if (c < 0 && str.length + c > 0) return str.slice(str.length + c);
    if (c >= 0 && str.length > c) return str.slice(0, c);
    return str;
  },
  trimSuffix: (suffix, s) => {
    const a = asString(suffix, 'trimSuffix');
    const str = asString(s, 'trimSuffix');
    return a && str.endsWith(a) ? str.slice(0, -a.length) : str;
  },
  contains: (substr, s) => asString(s, 'contains').includes(asString(substr, 'contains')),
  replace: (from, to, s) =>
    asString(s, 'replace').replaceAll(asString(from, 'replace'), asString(to, 'replace')),
  indent: (n, s) => indent(asInt(n, 'indent'), asString(s, 'indent')),
  nindent: (n, s) => `\n${indent(asInt(n, 'nindent'), asString(s, 'nindent'))}`,
  join: (sep, list) =>
    asList(list, 'join')
      .filter((v) => v !== null && v !== undefined)
      .map(strval)
      .join(asString(sep, 'join')),
  sha256sum: (s) => createHash('sha256').update(asString(s, 'sha256sum')).digest('hex'),
  toString: (v: unknown) => strval(v),

  // Sprig: defaults and numbers
  default: (fallback, ...given) => (given.length === 0 || empty(given[0]) ? fallback : given[0]),
  empty: (v) => empty(v),
  add: (...args) => args.reduce<bigint>((sum, v) => sum + toInt64(v), 0n),
  int: (v) => toInt64(v),

  // Sprig: lists
  list: (...args) => args,
  first: (list) => asList(list, 'first')[0] ?? null,
  append: (list, v) => [...asList(list, 'append'), v],
  concat: (...lists) => lists.flatMap((l) => asList(l, 'concat')),
  has: (needle, haystack) => asList(haystack, 'has').some((v) => deepEqual(v, needle)),
  sortAlpha: (list) => asList(list, 'sortAlpha').map(strval).sort(),
  uniq: (list) => asList(list, 'uniq').filter((v, i, all) => all.findIndex((w) => deepEqual(v, w)) === i),

  // Sprig: dicts
  dict: (...args) => {
    const d: GoMap = {};
    for (let i = 0; i < args.length; i += 2) d[strval(args[i])] = i + 1 < args.length ? args[i + 1] : '';
    return d;
  },
  set: (d, key, value) => {
    asMap(d, 'set')[asString(key, 'set')] = value;
    return d;
  },
  hasKey: (d, key) => Object.hasOwn(asMap(d, 'hasKey'), asString(key, 'hasKey')),
  get: (d, key) => {
    const map = asMap(d, 'get');
    const k = asString(key, 'get');
    return Object.hasOwn(map, k) ? map[k] : '';
  },
  keys: (...dicts) => dicts.flatMap((d) => Object.keys(asMap(d, 'keys'))),
  omit: (d, ...keys) => {
    const drop = new Set(keys.map((k) => asString(k, 'omit')));
    return Object.fromEntries(Object.entries(asMap(d, 'omit')).filter(([k]) => !drop.has(k)));
  },
};
