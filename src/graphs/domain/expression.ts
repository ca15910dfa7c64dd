/** A comparison with a number that an alert rule's expression ends in: `> 0.05`, `< 0.8`. */
export interface Threshold {
  op: '>' | '<' | '>=' | '<=' | '==' | '!=';
  value: number;
}

/** What a graph queries: the vector the rule compares, and the line it compares it with. */
export interface GraphExpression {
  /** The expression to query over a range: the rule's, less its threshold. */
  vector: string;
  threshold?: Threshold;
}

/**
 * The rule's expression from an alert's generatorURL: Prometheus links each alert to its
 * expression in the graph page, as `g0.expr`. Undefined when the URL has none (an alert
 * pushed by hand, or from a source that is not Prometheus).
 */
export function expressionOfGeneratorUrl(generatorUrl: string | undefined): string | undefined {
  if (!generatorUrl) return undefined;
  let url: URL;
  try {
    url = new URL(generatorUrl);
  } catch {
    return undefined;
  }
  const expr = url.searchParams.get('g0.expr')?.trim();
  return expr ? expr : undefined;
}

const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'] as const;
const SET_OPERATORS = new Set(['and', 'or', 'unless']);
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const WORD = /[A-Za-z0-9_:]/;
const FLIPPED: Record<Threshold['op'], Threshold['op']> = {
  '>': '<',
  '<': '>',
  '>=': '<=',
  '<=': '>=',
  '==': '==',
  '!=': '!=',
};

interface TopLevel {
  comparisons: Array<{ at: number; op: Threshold['op'] }>;
  /** `and`, `or`, `unless` outside any bracket: they bind looser than a comparison. */
  setOperator: boolean;
}

/**
 * The comparison operators and set operators outside brackets, strings and comments:
 * `{code=~"5.."}`, `"a>b"`, `[5m]` and `# > 1` hide theirs.
 */
function scanTopLevel(expr: string): TopLevel {
  const found: TopLevel = { comparisons: [], setOperator: false };
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      i = endOfString(expr, i);
      continue;
    }
    if (ch === '#') {
      const newline = expr.indexOf('\n', i);
      i = newline < 0 ? expr.length : newline;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth += 1;
    else if (ch === ')' || ch === ']' || ch === '}') depth -= 1;
    if (depth !== 0) continue;
    const op = COMPARISONS.find((candidate) => expr.startsWith(candidate, i));
    // `=~` and `!~` only occur inside braces; a lone `=` or `!` is not an operator here.
    if (op) {
      found.comparisons.push({ at: i, op });
      i += op.length - 1;
      continue;
    }
    if (/[a-z]/i.test(ch) && (i === 0 || !WORD.test(expr[i - 1]!))) {
      let end = i;
      while (end < expr.length && WORD.test(expr[end]!)) end += 1;
      if (SET_OPERATORS.has(expr.slice(i, end).toLowerCase())) found.setOperator = true;
      i = end - 1;
    }
  }
  return found;
}

function endOfString(expr: string, start: number): number {
  const quote = expr[start];
  for (let i = start + 1; i < expr.length; i++) {
    if (quote !== '`' && expr[i] === '\\') i += 1;
    else if (expr[i] === quote) return i;
  }
  return expr.length;
}

/** `(a > 1)` → `a > 1`, only when the outer parentheses enclose the whole expression. */
function unwrap(expr: string): string {
  let current = expr.trim();
  while (current.startsWith('(') && current.endsWith(')')) {
    const inner = current.slice(1, -1);
    // Balanced inside means the first `(` closes at the very end, not earlier as in `(a) > (b)`.
    if (!balanced(inner)) break;
    current = inner.trim();
  }
  return current;
}

function balanced(expr: string): boolean {
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'" || ch === '`') i = endOfString(expr, i);
    else if (ch === '(') depth += 1;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

const numberOf = (text: string): number | undefined => {
  const trimmed = unwrap(text);
  return NUMBER.test(trimmed) ? Number(trimmed) : undefined;
};

/**
 * Splits a rule's expression into the vector to draw and its threshold, when it ends in a
 * comparison with a number at the top level (`sum(rate(...)) / sum(rate(...)) > 0.05`, or
 * `0.8 > x`). A comparison with `bool`, with another vector, or under `and`/`or`/`unless`
 * keeps the expression whole: it is still drawn, without a threshold line.
 */
export function splitThreshold(expr: string): GraphExpression {
  const whole = unwrap(expr);
  const { comparisons, setOperator } = scanTopLevel(whole);
  const last = comparisons.at(-1);
  if (!last || setOperator) return { vector: whole };
  const left = whole.slice(0, last.at).trim();
  const right = whole.slice(last.at + last.op.length).trim();
  if (/^bool\b/i.test(right)) return { vector: whole };
  const rightValue = numberOf(right);
  if (rightValue !== undefined && left)
    return { vector: unwrap(left), threshold: { op: last.op, value: rightValue } };
  const leftValue = numberOf(left);
  if (leftValue !== undefined && right && comparisons.length === 1)
    return { vector: unwrap(right), threshold: { op: FLIPPED[last.op], value: leftValue } };
  return { vector: whole };
}
