/**
 * Secrets in log lines, replaced before a line reaches Slack or our own logs. Pure: no I/O.
 * The rules favour false positives (a hidden harmless value costs less than a leaked
 * credential) but keep the look-alikes that a log reader needs to see.
 *
 * Key = value pairs (`=`, `:` or `=>`, keys bare or quoted, values bare, quoted or escaped-quoted
 * in JSON inside a string). A key names a secret when one of its components — the key split on
 * `_ - .`, camelCase and letter/digit boundaries — is a secret word: pass, passwd, password,
 * passphrase, passcode, pwd, pw, secret, token, ticket, key, cred(s), credential, cookie, auth,
 * authorization, or a compound ending in one (apitoken, clientsecret, dbpassword, oauth, and
 * apikey/accesskey/privatekey… for `key`, which ends too many English words). So `DB_PASSWORD`,
 * `X-Api-Key`, `set-cookie`, `clientSecret` are secret keys and `monkey`, `keyboard`, `author`,
 * `tokenizer`, `passthrough` are not. The value stays when it cannot be the secret itself:
 * - a component after the secret word says the key describes the secret (`token_type`,
 *   `POSTGRES_PASSWORD_FILE`, `key_id`, `tokens_used`, `token_expires_at`, `auth_url`…);
 * - `key` is qualified as a non-secret kind of key (`public_key`, `cache_key`, `idempotency_key`…);
 * - the value is a plain number and the secret word is plural or follows a quantity
 *   (`tokens=42`, `prompt_tokens=12`, `maxTokens: 100`): a count of secrets is not a secret;
 * - the value is empty, a boolean or null, a `${VAR}` reference, masked (`***`) or redacted.
 * Otherwise the value becomes `[redacted]` and the key stays: `DB_PASSWORD=[redacted]`; a
 * quoted value is replaced whole (`password="[redacted]"`); an object or array value as a whole;
 * a `Cookie:`/`Set-Cookie:` header to the end of the line; an `Authorization` value keeps its
 * scheme (`Authorization: Bearer [redacted]`). A bare value ends at white space or a quote, and
 * at `,` `;` `&` only where the next pair starts (`?access_token=…&x=1`, `Pwd=…;Server=db`).
 *
 * Free-standing secrets become `[redacted-<kind>]`: private keys (PEM blocks, also across lines
 * with {@link redactLines} or {@link createRedactor}; certificates and public keys stay), JWTs,
 * Slack tokens (xoxb-, xoxp-, xoxe.…, xapp-) and webhook paths, GitHub tokens (ghp_ gho_ ghu_
 * ghs_ ghr_ github_pat_), Stripe secret and restricted keys and webhook secrets (sk_/rk_ live/test,
 * whsec_; publishable pk_ keys are public and stay), AWS access key ids (AKIA/ASIA), Google API
 * keys (AIza…) and card numbers; the credentials of a URL (`postgres://u:[redacted]@host`) and
 * of `Bearer …`/`Basic …` in running text, when what follows looks like a credential rather
 * than a word (`missing Bearer token` stays).
 *
 * Card numbers: 13–19 digits, bare or in groups separated by one space or dash, starting with
 * 2–6 (the major industry identifiers of the card networks) and passing the Luhn check. Order
 * ids, phone numbers and epoch time stamps (which start with 1) stay; a random id of that shape
 * passes Luhn one time in ten and is hidden, which the rule accepts.
 */

export type Redactor = (line: string) => string;

const REDACTED = '[redacted]';
const kind = (name: string) => `[redacted-${name}]`;
const PRIVATE_KEY = kind('private-key');

// ---------------------------------------------------------------------------------------------
// Key names

const SECRET_WORD = new RegExp(
  '^(?:pass|pwd|pw|creds?|keys?' +
    '|(?:api|access|secret|private|priv|auth|pass|master|signing|sign|encryption|enc|session|app|client|hmac|license|ssh|gpg|pgp|root|admin|service|webhook|bot)keys?' +
    '|[a-z0-9]*(?:passwords?|passwd|passphrases?|passcodes?|secrets?|tokens?|tickets?|cookies?|credentials?|auth|authorization))$',
);

/** After the secret word, these make the key a description of the secret, not the secret. */
const DESCRIPTORS = new Set([
  ...['file', 'files', 'path', 'paths', 'dir', 'name', 'names', 'type', 'types', 'kind', 'format'],
  ...['id', 'ids', 'ref', 'env', 'var', 'label', 'source', 'fingerprint', 'hint', 'field', 'param'],
  ...['length', 'len', 'size', 'bits', 'count', 'used', 'max', 'min', 'limit', 'total', 'remaining'],
  ...['ttl', 'age', 'expires', 'expiry', 'expiration', 'exp', 'at', 'ms', 'sec', 'secs', 'seconds'],
  ...['timeout', 'latency', 'duration', 'version', 'rotation', 'rotated', 'created', 'updated'],
  ...['changed', 'issued', 'reset', 'enabled', 'disabled', 'required', 'present', 'valid', 'missing'],
  ...['status', 'state', 'result', 'error', 'errors', 'failed', 'failures', 'attempts', 'retries'],
  ...['provider', 'method', 'mode', 'scheme', 'policy', 'algorithm', 'alg', 'strength', 'store'],
  ...['url', 'uri', 'endpoint', 'service', 'server', 'host', 'port', 'domain', 'samesite', 'secure'],
  ...['httponly', 'vault', 'user', 'username'],
]);

/** Before a secret word, these make a numeric value a count (`maxTokens: 100`). */
const QUANTITIES = new Set(['max', 'min', 'num', 'total', 'remaining', 'used']);

/** Kinds of "key" that are not secret: `public_key`, `cache_key`, `partition_key`… */
const KEY_QUALIFIERS = new Set([
  ...['public', 'pub', 'cache', 'lock', 'idempotency', 'dedup', 'dedupe', 'partition', 'primary'],
  ...['foreign', 'sort', 'hash', 'object', 's3', 'shard', 'lookup', 'group', 'index', 'map', 'row'],
  ...['redis', 'unique', 'composite', 'natural', 'surrogate', 'translation', 'i18n', 'hot'],
]);

/** `DB_PASSWORD` → db, password; `XApiKey` → x, api, key; `maxTokens` → max, tokens. */
export function keyComponents(key: string): string[] {
  return key
    .replace(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])/g, ' ')
    .toLowerCase()
    .split(/[\s_.-]+/)
    .filter((part) => part.length > 0);
}

type KeyClass =
  /** Not a secret key. */
  | { secret: false }
  /** A secret key; `counts`: a plain number as its value is a count, not a secret. */
  | { secret: true; word: string; counts: boolean };

export function classifyKey(key: string): KeyClass {
  const parts = keyComponents(key);
  // The last secret word decides: in `secret_key_file` it is "key", described by "file".
  let found = -1;
  for (let i = parts.length - 1; i >= 0 && found < 0; i -= 1) if (SECRET_WORD.test(parts[i]!)) found = i;
  if (found < 0) return { secret: false };
  const word = parts[found]!;
  if (parts.slice(found + 1).some((part) => DESCRIPTORS.has(part))) return { secret: false };
  if (/^keys?$/.test(word) && found > 0 && KEY_QUALIFIERS.has(parts[found - 1]!)) return { secret: false };
  const plural = /s$/.test(word) && !/(?:ss|creds)$/.test(word);
  const counts = plural || parts.slice(0, found).some((part) => QUANTITIES.has(part));
  return { secret: true, word, counts };
}

// ---------------------------------------------------------------------------------------------
// Key = value pairs

/** A key, an optional closing quote (escaped in JSON inside a string), and the separator. */
const KEY_SEPARATOR = /(?<![\w.-]|\/\/|@)([\w.-]+)(\\?["']?)([ \t]*(?:=>|[:=](?![:=]))[ \t]*)/g;

/** A bare value: `,` `;` `&` end it only where white space, a quote or the next `key=` follows. */
const BARE_VALUE = /(?:[^\s"',;&]|[,;&](?![\s"']|$|[\w.-]+=))+/y;

const HARMLESS_VALUE =
  /^(?:|true|false|yes|no|on|off|null|nil|none|undefined|enabled|disabled|redacted|\*+|<redacted>|\[redacted(?:-[a-z-]+)?\]|\$\{[A-Za-z_][\w.]*\})$/i;

const NUMBER = /^-?\d+(?:\.\d+)?[a-z%]{0,2}$/i;

/** Auth schemes kept in front of the redacted credential; a parameterised one hides the rest. */
const SINGLE_TOKEN_SCHEMES = /^(?:bearer|basic|token|negotiate|ntlm|apikey)$/i;
const PARAMETERISED_SCHEMES = /^(?:digest|aws4-hmac-sha256|hmac|signature)$/i;

interface Value {
  end: number;
  open: string;
  inner: string;
  close: string;
}

/** Index after the bracket closing the one at `start`, quotes respected; -1 if the line ends first. */
function closingBracket(text: string, start: number): number {
  let depth = 0;
  let quote = '';
  for (let i = start; i < text.length; i += 1) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    } else if (c === '\n') return -1;
  }
  return -1;
}

function lineEnd(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  return newline < 0 ? text.length : newline;
}

/** Sticky patterns read at a position of the line rather than on a copy of its rest. */
const at = (pattern: RegExp, text: string, index: number) => {
  pattern.lastIndex = index;
  return pattern.exec(text);
};
const OPENING_QUOTE = /\\?["']/y;
/** The rest of a quoted value and its closing quote, by opening quote; `\"` is JSON in a string. */
const QUOTED_REST: Record<string, RegExp> = {
  '"': /((?:[^"\\\n]|\\.)*)"/y,
  "'": /((?:[^'\\\n]|\\.)*)'/y,
  '\\"': /((?:(?!\\")[^\n])*)\\"/y,
  "\\'": /((?:(?!\\')[^\n])*)\\'/y,
};
const ALREADY_REDACTED = /\[redacted(?:-[a-z-]+)?\]/y;

function valueAt(text: string, start: number): Value | undefined {
  const quote = at(OPENING_QUOTE, text, start);
  if (quote) {
    const open = quote[0];
    const closed = at(QUOTED_REST[open]!, text, start + open.length);
    if (closed) return { end: closed.index + closed[0].length, open, inner: closed[1]!, close: open };
    // No closing quote on the line: everything after the opening one.
    const end = lineEnd(text, start);
    return { end, open, inner: text.slice(start + open.length, end), close: '' };
  }
  if (text[start] === '{' || (text[start] === '[' && !at(ALREADY_REDACTED, text, start))) {
    const close = closingBracket(text, start);
    const end = close < 0 ? lineEnd(text, start) : close;
    return { end, open: '', inner: text.slice(start, end), close: '' };
  }
  const bare = at(BARE_VALUE, text, start);
  return bare ? { end: start + bare[0].length, open: '', inner: bare[0], close: '' } : undefined;
}

/** The text replacing `key<separator>value` from the value on, or undefined to keep it. */
function redactValue(
  text: string,
  start: number,
  key: Extract<KeyClass, { secret: true }>,
  separator: string,
): { end: number; replacement: string } | undefined {
  const value = valueAt(text, start);
  if (!value) return undefined;
  if (HARMLESS_VALUE.test(value.inner.trim())) return undefined;
  if (key.counts && NUMBER.test(value.inner)) return undefined;
  // `auth:8080/health` is a host and its port (YAML and JSON put a space or a quote around ':').
  if (separator === ':' && /^\d{1,5}(?:$|[/?#:])/.test(value.inner)) return undefined;
  if (value.open === '' && !/^[{[]/.test(value.inner)) {
    // A header's value is everything up to the end of its line.
    if (/cookies?$/.test(key.word) && separator.includes(':')) {
      return { end: lineEnd(text, start), replacement: REDACTED };
    }
    if (/authorization$/.test(key.word) || (/auth$/.test(key.word) && separator.includes(':'))) {
      const space = at(/[ \t]+/y, text, value.end)?.[0] ?? '';
      const credential = space ? valueAt(text, value.end + space.length) : undefined;
      if (credential && SINGLE_TOKEN_SCHEMES.test(value.inner)) {
        if (HARMLESS_VALUE.test(credential.inner)) return undefined;
        const hidden = `${credential.open}${REDACTED}${credential.close}`;
        return { end: credential.end, replacement: `${value.inner}${space}${hidden}` };
      }
      if (credential && PARAMETERISED_SCHEMES.test(value.inner)) {
        return { end: lineEnd(text, start), replacement: `${value.inner} ${REDACTED}` };
      }
    }
  }
  // A quoted Authorization value keeps its scheme too: "Bearer [redacted]".
  const scheme = /authorization$/.test(key.word) && /^([\w-]+)(\s+)\S/.exec(value.inner);
  if (scheme && SINGLE_TOKEN_SCHEMES.test(scheme[1]!)) {
    const replacement = `${value.open}${scheme[1]}${scheme[2]}${REDACTED}${value.close}`;
    return { end: value.end, replacement };
  }
  return { end: value.end, replacement: `${value.open}${REDACTED}${value.close}` };
}

function redactKeyValues(text: string): string {
  let out = '';
  let copied = 0;
  KEY_SEPARATOR.lastIndex = 0;
  for (let match = KEY_SEPARATOR.exec(text); match; match = KEY_SEPARATOR.exec(text)) {
    const [whole, name = '', closing = '', separator = ''] = match;
    const key = classifyKey(name);
    const valueStart = match.index + whole.length;
    // `password= next=1`: logfmt's empty value, while `password = x` spaces out the separator.
    const empty = /^=[ \t]/.test(separator);
    const redaction =
      key.secret && !empty ? redactValue(text, valueStart, key, closing + separator) : undefined;
    if (!redaction) {
      // Not a secret: look for keys again right after this one, its value included (`url=/x?token=…`).
      KEY_SEPARATOR.lastIndex = match.index + name.length;
      continue;
    }
    out += text.slice(copied, valueStart) + redaction.replacement;
    copied = redaction.end;
    KEY_SEPARATOR.lastIndex = Math.max(redaction.end, valueStart + 1);
  }
  return out + text.slice(copied);
}

// ---------------------------------------------------------------------------------------------
// Free-standing secrets

/** Luhn's check digit test, as card numbers pass it. */
export function passesLuhn(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

const CARD = /(?<![\w.-])(?:\d{13,19}|\d{4}([ -])\d{4,6}(?:\1\d{3,7}){1,3})(?!\w)/g;

function redactCard(candidate: string): string {
  const digits = candidate.replace(/\D/g, '');
  return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && passesLuhn(digits)
    ? kind('card')
    : candidate;
}

/** What follows "Bearer"/"Basic" in running text is a credential, not a word of the sentence. */
function looksLikeCredential(text: string): boolean {
  return text.length >= 20 || (text.length >= 6 && /[0-9._~+/=-]|[a-z][A-Z]|[A-Z]{2}/.test(text));
}

const FREE_STANDING: ReadonlyArray<[RegExp, string | ((...match: string[]) => string)]> = [
  // Credentials in a URL's user info: redis://:pw@host, postgres://user:pw@host.
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@]*:)([^\s/?#]+)@/gi, `$1${REDACTED}@`],
  [
    /\b(bearer|basic)(\s+)([A-Za-z0-9_~+/-](?:[A-Za-z0-9._~+/-]*[A-Za-z0-9_~+/-])?=*)/gi,
    (whole, scheme, space, credential) =>
      looksLikeCredential(credential ?? '') ? `${scheme}${space}${REDACTED}` : (whole ?? ''),
  ],
  [
    /\bhooks\.slack\.com\/(services|workflows|triggers)\/[\w/-]+/g,
    `hooks.slack.com/$1/${kind('slack-webhook')}`,
  ],
  [/\bxox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]{8,}/g, kind('slack-token')],
  [/\bxapp-[A-Za-z0-9-]{8,}/g, kind('slack-token')],
  [/(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})/g, kind('github-token')],
  [
    /(?<![A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{16,})/g,
    kind('stripe-key'),
  ],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, kind('aws-key')],
  [/\bAIza[\w-]{35}(?![\w-])/g, kind('google-key')],
  [/\beyJ[\w-]{5,}\.[\w-]{4,}\.[\w-]*/g, kind('jwt')],
  [CARD, (candidate) => redactCard(candidate ?? '')],
];

function redactText(text: string): string {
  return FREE_STANDING.reduce(
    // Two overloads of replace; the union of their arguments is what TypeScript cannot pick from.
    (line, [pattern, replacement]) =>
      typeof replacement === 'string'
        ? line.replace(pattern, replacement)
        : line.replace(pattern, replacement),
    redactKeyValues(text),
  );
}

// ---------------------------------------------------------------------------------------------
// Private keys, across lines

const PEM_LABEL = String.raw`(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`;
const PEM_BEGIN = new RegExp(`-----BEGIN ${PEM_LABEL}`);
const PEM_END = new RegExp(`-----END ${PEM_LABEL}`);
const PEM_BLOCK = new RegExp(`-----BEGIN ${PEM_LABEL}[\\s\\S]*?-----END ${PEM_LABEL}`, 'g');

/**
 * A block that never ends (a truncated key) stops hiding lines after this many: a 16384-bit
 * RSA key takes about 200 lines of PEM.
 */
export const MAX_PEM_LINES = 250;

interface PemState {
  inside: boolean;
  hidden: number;
}

/** One line: `orphanEnd` when it closes a block whose beginning it was not told about. */
function step(line: string, state: PemState): { text: string; orphanEnd: boolean } {
  let out = '';
  let rest = line;
  let orphanEnd = false;
  if (state.inside) {
    const end = PEM_END.exec(rest);
    if (end) {
      out = PRIVATE_KEY;
      rest = rest.slice(end.index + end[0].length);
      state.inside = false;
    } else if (state.hidden < MAX_PEM_LINES) {
      state.hidden += 1;
      return { text: PRIVATE_KEY, orphanEnd };
    } else state.inside = false;
  } else {
    const end = PEM_END.exec(rest);
    const begin = PEM_BEGIN.exec(rest);
    if (end && (!begin || end.index < begin.index)) {
      orphanEnd = true;
      out = PRIVATE_KEY;
      rest = rest.slice(end.index + end[0].length);
    }
  }
  rest = rest.replace(PEM_BLOCK, PRIVATE_KEY);
  const begin = PEM_BEGIN.exec(rest);
  if (begin) {
    state.inside = true;
    state.hidden = 0;
    rest = rest.slice(0, begin.index) + PRIVATE_KEY;
  }
  return { text: out + redactText(rest), orphanEnd };
}

/** One line (or a message with line breaks in it): a PEM block in it is hidden to its end. */
export function redactSecrets(line: string): string {
  return step(line, { inside: false, hidden: 0 }).text;
}

/**
 * For a stream read line by line: the redactor remembers whether it is inside a PEM private
 * key, so the lines between `-----BEGIN … PRIVATE KEY-----` and `-----END …-----` are hidden
 * as they come. Each line gives one line, `[redacted-private-key]` for those of a key.
 */
export function createRedactor(): Redactor {
  const state: PemState = { inside: false, hidden: 0 };
  return (line) => step(line, state).text;
}

/** What a line of a PEM body looks like: base64, or an encrypted key's header lines. */
const PEM_BODY = /^\s*(?:[A-Za-z0-9+/]{16,}={0,2}|Proc-Type:.*|DEK-Info:.*|)\s*$/;

/**
 * A batch of lines, one out for each one in. As {@link createRedactor}, and as the whole batch
 * is at hand, a block whose BEGIN is not in it (a tail cut through a key) is hidden back from
 * its END marker over the lines that look like its body.
 */
export function redactLines(lines: string[]): string[] {
  const state: PemState = { inside: false, hidden: 0 };
  const out: string[] = [];
  lines.forEach((line, i) => {
    const { text, orphanEnd } = step(line, state);
    out.push(text);
    if (orphanEnd)
      for (let j = i - 1; j >= 0 && out[j] !== PRIVATE_KEY && PEM_BODY.test(lines[j]!); j -= 1)
        out[j] = PRIVATE_KEY;
  });
  return out;
}
