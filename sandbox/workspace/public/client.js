// @ts-check
/**
 * The workspace page's script, plain browser JavaScript served as it is (no build step),
 * type-checked by `tsc -p sandbox` (allowJs, checkJs, lib DOM) against the types the
 * server sends (../wire.ts), and linted with browser globals. It keeps no state of its own
 * beyond the view: everything it shows comes from the server's event stream, and
 * everything a person does goes to the server, which signs it and sends it to the bot as
 * Slack would.
 *
 * @import { AlertState, ApiAnswer, Snapshot, WireChannel, WireMessage, WireView } from '../wire'
 */

/**
 * Block Kit as the page reads it: every field may be missing, and unknown types are shown as such.
 * @typedef {{ type?: string, text?: string, emoji?: boolean }} TextObject
 * @typedef {{ type?: string, action_id?: string, text?: TextObject | string, emoji?: boolean, value?: string,
 *   url?: string, style?: string, image_url?: string, alt_text?: string, placeholder?: TextObject,
 *   initial_value?: string, multiline?: boolean, max_length?: number }} BlockElement
 * @typedef {{ type?: string, block_id?: string, text?: TextObject, fields?: TextObject[],
 *   accessory?: BlockElement, elements?: BlockElement[], image_url?: string, alt_text?: string,
 *   label?: TextObject, hint?: TextObject, optional?: boolean, element?: BlockElement }} Block
 * @typedef {{ id: string, name: string, bot?: boolean, slackbot?: boolean, color?: string,
 *   title?: string }} Person
 */

const SLACKBOT = 'USLACKBOT';
const COMPACT_MS = 5 * 60 * 1000;
/** @type {Array<[command: string, description: string]>} */
const EXAMPLES = [
  ['/azora help', 'the grammar, with examples'],
  ['/azora status production', 'deployments, live colour, requests, audit'],
  ['/azora deploy staging payment v1.6.0', 'rolling: new image, rollout, health and smoke checks'],
  ['/azora deploy production payment v1.6.0', 'after staging: idle colour, checked on its pods, switched'],
  ['/azora deploy staging payment v1.6.0-bad', 'a bad release: passes its checks, fails ~10 s after'],
  ['/azora deploy production payment v1.6.0-bad', 'then production: alert in its thread, switch back'],
  ['/azora rollback production', 'back to the previous colour; needs an approver'],
  ['/azora switch production green', 'blue/green switch when green is ready'],
  ['/azora scale production api-gateway 5', 'replicas within the policy bounds'],
  ['/azora scale staging api-gateway 4', 'staging runs without approval'],
  ['/azora logs production payment 50', 'the last lines, posted in a thread'],
  ['/azora backup production', 'pg_dump as a Kubernetes Job; size and duration in a thread'],
  ['/azora backups production', 'the backups kept; copy an id for a restore'],
  ['/azora restore production ', 'a backup id: an approver confirms in a dialog by typing production'],
  ['/azora oncall', 'who is on call (PagerDuty)'],
  ['/azora incident declare sev2 ', 'a channel, the on-call invited, a pinned summary'],
  ['/azora incident note ', 'in an incident channel: a timeline entry'],
  ['/azora incident status identified', 'in an incident channel: the topic and summary follow'],
  ['/azora incident resolve ', 'in an incident channel: the postmortem draft as a file'],
  ['/azora incident list', 'open and recent incidents'],
];
/** What the page offers under each message; :pushpin: puts the message in an incident's timeline. */
const REACTIONS = ['pushpin', 'eyes', 'white_check_mark'];
const CHIPS = ['/azora help', '/azora status production', '/azora rollback production'];
/** Inputs whose state is the typed text (the others are shown, not simulated). */
const TEXT_INPUTS = ['plain_text_input', 'email_text_input', 'url_text_input', 'number_input'];

const S = {
  /** @type {Snapshot | null} */
  data: null,
  me: localStorage.getItem('azora-sandbox-user') || 'U0ENGINEER',
  channel: '',
  /** @type {string | null} the open thread's parent, by msgKey */
  thread: null,
  /** @type {Map<string, WireMessage>} */
  messages: new Map(),
  /** @type {WireMessage[]} what Slackbot told this person, made up by the page */
  notes: [],
  /** @type {Map<string, WireView>} modals, by view id, in the order they opened */
  views: new Map(),
  /** The modal on screen: which view and version, and what the page itself says on it. */
  modal: blankModal(),
  /** @type {Record<string, number>} */
  unread: {},
  /** @type {Record<string, number>} when an edited message last changed */
  flash: {},
  /** @type {Record<string, boolean>} buttons waiting for the server */
  pending: {},
  /** @type {string | null} the message whose reaction picker is open, by msgKey */
  picker: null,
  /** @type {Record<string, string>} shared files' text, by file id, once fetched */
  fileText: {},
  /** @type {Record<string, boolean>} files shown inline, by id */
  fileOpen: {},
  /** @type {string[]} */
  history: [],
  historyAt: -1,
  suggestion: 0,
  noteSeq: 0,
};

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error('the page has no #' + id);
  return el;
}
const composerInput = () => /** @type {HTMLInputElement} */ ($('composer-input'));
const userSwitcher = () => /** @type {HTMLSelectElement} */ ($('user-switcher'));

/** @type {Record<string, string>} */
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** @param {unknown} s */
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
/** @param {unknown} s */
function unesc(s) {
  return String(s).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// Drawn rather than taken from a font: the page must read the same where no colour-emoji font is installed.
const SVG = {
  /** @param {string} c */
  circle: (c) => '<svg viewBox="0 0 16 16"><circle cx="8" cy="8" r="6.5" fill="' + c + '"/></svg>',
  check:
    '<svg viewBox="0 0 16 16"><rect x="1" y="1" width="14" height="14" rx="3" fill="#2eb67d"/><path d="M4.5 8.3l2.3 2.3 4.7-5" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  x: '<svg viewBox="0 0 16 16"><path d="M3.5 3.5l9 9M12.5 3.5l-9 9" stroke="#dd2e44" stroke-width="2.6" stroke-linecap="round"/></svg>',
  noEntry:
    '<svg viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#dd2e44"/><rect x="3.5" y="6.6" width="9" height="2.8" rx="0.6" fill="#fff"/></svg>',
  noEntrySign:
    '<svg viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="none" stroke="#dd2e44" stroke-width="2.2"/><path d="M3.8 3.8l8.4 8.4" stroke="#dd2e44" stroke-width="2.2"/></svg>',
  warning:
    '<svg viewBox="0 0 16 16"><path d="M8 1.5L15 14H1z" fill="#ffcc4d" stroke="#c59000" stroke-width="0.8" stroke-linejoin="round"/><rect x="7.2" y="5.5" width="1.6" height="4.6" rx="0.8" fill="#3a2f00"/><circle cx="8" cy="12" r="0.9" fill="#3a2f00"/></svg>',
  hourglass:
    '<svg viewBox="0 0 16 16"><rect x="3" y="1" width="10" height="1.6" rx="0.6" fill="#8a6d3b"/><rect x="3" y="13.4" width="10" height="1.6" rx="0.6" fill="#8a6d3b"/><path d="M4.3 2.6h7.4c0 3-3 4-3 5.4s3 2.4 3 5.4H4.3c0-3 3-4 3-5.4s-3-2.4-3-5.4z" fill="#dff3ff" stroke="#8a6d3b" stroke-width="0.7"/><path d="M5.6 12.9c.4-1.6 1.6-2.1 2.4-2.4.8.3 2 .8 2.4 2.4z" fill="#f4b13d"/><path d="M6 4.2h4c-.5 1-1.4 1.5-2 2-.6-.5-1.5-1-2-2z" fill="#f4b13d"/></svg>',
  eyes: '<svg viewBox="0 0 16 16"><ellipse cx="4.8" cy="8" rx="3.3" ry="4.8" fill="#fff" stroke="#555" stroke-width="0.8"/><ellipse cx="11.2" cy="8" rx="3.3" ry="4.8" fill="#fff" stroke="#555" stroke-width="0.8"/><circle cx="5.6" cy="8.8" r="1.6" fill="#292f33"/><circle cx="12" cy="8.8" r="1.6" fill="#292f33"/></svg>',
  gear: '<svg viewBox="0 0 16 16"><path d="M8 1l1.2 1.9 2.2-.6.3 2.3 2.1.9-.9 2.1 1.3 1.8-2 1.2.1 2.3-2.3-.1-1.1 2L8 13.6 6.1 14.9 5 12.9l-2.3.1.1-2.3-2-1.2L2.1 7.7 1.2 5.6l2.1-.9.3-2.3 2.2.6z" fill="#8899a6"/><circle cx="8" cy="8" r="2.4" fill="#fff"/></svg>',
  hand: '<svg viewBox="0 0 16 16"><path d="M4 8V4.2a1 1 0 012 0V7V2.8a1 1 0 012 0V7V3.4a1 1 0 012 0V7.5V5a1 1 0 012 0v5c0 3-2 5-4.6 5C5 15 3.9 13.6 2.6 11.3l-1-1.8a1 1 0 011.6-1.1L4 9.5z" fill="#ffcc4d" stroke="#c59000" stroke-width="0.6" stroke-linejoin="round"/></svg>',
  /** @param {boolean} muted */
  speaker: (muted) =>
    '<svg viewBox="0 0 16 16"><path d="M2 6h3l4-3.5v11L5 10H2z" fill="#8899a6"/>' +
    (muted
      ? '<path d="M11 5.5l4 5M15 5.5l-4 5" stroke="#dd2e44" stroke-width="1.6" stroke-linecap="round"/>'
      : '<path d="M11 5.5c1 1.4 1 3.6 0 5M13 4c1.8 2.3 1.8 5.7 0 8" fill="none" stroke="#8899a6" stroke-width="1.3" stroke-linecap="round"/>') +
    '</svg>',
  calendar:
    '<svg viewBox="0 0 16 16"><rect x="1.5" y="2.5" width="13" height="12" rx="2" fill="#fff" stroke="#99aab5"/><path d="M1.5 4.5a2 2 0 012-2h9a2 2 0 012 2V6h-13z" fill="#dd2e44"/><text x="8" y="13" font-size="6.5" font-family="Arial" font-weight="700" text-anchor="middle" fill="#333">17</text></svg>',
  scroll:
    '<svg viewBox="0 0 16 16"><rect x="3" y="2" width="10" height="12" rx="1.5" fill="#f6e3b4" stroke="#b08a3e" stroke-width="0.7"/><path d="M5 5h6M5 7.5h6M5 10h4" stroke="#b08a3e" stroke-width="0.9"/></svg>',
  siren:
    '<svg viewBox="0 0 16 16"><path d="M4 11V8a4 4 0 018 0v3z" fill="#dd2e44"/><rect x="2.5" y="11" width="11" height="3" rx="1" fill="#66757f"/><path d="M1 4l2 1.3M15 4l-2 1.3M8 0.8v1.8" stroke="#ffac33" stroke-width="1.2" stroke-linecap="round"/></svg>',
  construction:
    '<svg viewBox="0 0 16 16"><rect x="1" y="4" width="14" height="5" rx="1" fill="#ffcc4d"/><path d="M3 4l-2 3M7 4L4 9M11 4l-3 5M15 4l-3 5" stroke="#292f33" stroke-width="1.5"/><path d="M3 9v5M13 9v5" stroke="#66757f" stroke-width="1.4"/></svg>',
  lock: '<svg viewBox="0 0 16 16"><path d="M5 7V5a3 3 0 016 0v2" fill="none" stroke="#99aab5" stroke-width="1.6"/><rect x="3" y="7" width="10" height="7.5" rx="1.5" fill="#ffac33"/></svg>',
  outbox:
    '<svg viewBox="0 0 16 16"><path d="M1.5 9h4l1 2h3l1-2h4v5h-13z" fill="#66757f"/><path d="M8 8V2M5.5 4.3L8 1.8l2.5 2.5" fill="none" stroke="#3b88c3" stroke-width="1.5" stroke-linecap="round"/></svg>',
  eye: '<svg viewBox="0 0 16 16" width="14" height="14"><path d="M1 8s2.6-4.5 7-4.5S15 8 15 8s-2.6 4.5-7 4.5S1 8 1 8z" fill="none" stroke="currentColor" stroke-width="1.3"/><circle cx="8" cy="8" r="2" fill="currentColor"/></svg>',
  external:
    '<svg viewBox="0 0 16 16" width="12" height="12"><path d="M9 2h5v5M14 2L7.5 8.5M12 9.5V14H2V4h4.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  search:
    '<svg viewBox="0 0 16 16" width="14" height="14"><circle cx="7" cy="7" r="4.5" fill="none" stroke="currentColor" stroke-width="1.5"/><path d="M10.5 10.5L14 14" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/></svg>',
  send: '<svg viewBox="0 0 16 16" width="16" height="16"><path d="M1.5 2l13 6-13 6 2-6zM3.5 8h6" fill="currentColor" stroke="currentColor" stroke-width="0.8" stroke-linejoin="round"/></svg>',
};
/** @type {Record<string, string>} */
const EMOJI = {
  red_circle: SVG.circle('#dd2e44'),
  large_green_circle: SVG.circle('#2eb67d'),
  large_yellow_circle: SVG.circle('#fdcb58'),
  large_blue_circle: SVG.circle('#3b88c3'),
  white_check_mark: SVG.check,
  heavy_check_mark: SVG.check,
  x: SVG.x,
  no_entry: SVG.noEntry,
  no_entry_sign: SVG.noEntrySign,
  warning: SVG.warning,
  hourglass: SVG.hourglass,
  hourglass_flowing_sand: SVG.hourglass,
  eyes: SVG.eyes,
  gear: SVG.gear,
  raised_hand: SVG.hand,
  mute: SVG.speaker(true),
  loud_sound: SVG.speaker(false),
  loudspeaker: SVG.speaker(false),
  calendar: SVG.calendar,
  scroll: SVG.scroll,
  rotating_light: SVG.siren,
  construction: SVG.construction,
  lock: SVG.lock,
  outbox: SVG.outbox,
  pushpin:
    '<svg viewBox="0 0 16 16"><path d="M9.5 1.5l5 5-1.5.5-2.5 2.5.5 3-1.5 1.5-2.5-3.5L3 14.5 1.5 13l4-4L2 6.5 3.5 5l3 .5L9 3z" fill="#dd2e44"/></svg>',
  floppy_disk:
    '<svg viewBox="0 0 16 16"><rect x="2" y="2" width="12" height="12" rx="1.5" fill="#3b88c3"/><rect x="4.5" y="2" width="7" height="4.5" fill="#e1e8ed"/><rect x="4" y="9" width="8" height="5" fill="#fff"/></svg>',
  package:
    '<svg viewBox="0 0 16 16"><path d="M8 1.5l6 3v7l-6 3-6-3v-7z" fill="#c1694f"/><path d="M2 4.5l6 3 6-3M8 7.5v7" fill="none" stroke="#8a4b38" stroke-width="1"/></svg>',
  rewind:
    '<svg viewBox="0 0 16 16"><rect x="1" y="1" width="14" height="14" rx="3" fill="#3b88c3"/><path d="M8 4.5L3.5 8 8 11.5zM12.5 4.5L8 8l4.5 3.5z" fill="#fff"/></svg>',
};

/**
 * @param {string} name
 * @returns {string | null}
 */
function emoji(name) {
  const svg = EMOJI[name];
  return svg ? '<span class="emo" title=":' + esc(name) + ':">' + svg + '</span>' : null;
}

/**
 * @param {string} id
 * @returns {Person | null}
 */
function user(id) {
  if (!S.data) return null;
  if (id === S.data.bot.id) return { id: id, name: S.data.bot.name, bot: true };
  if (id === SLACKBOT) return { id: id, name: 'Slackbot', slackbot: true };
  return S.data.users.find((u) => u.id === id) ?? null;
}
/** @param {string} id */
function userName(id) {
  const u = user(id);
  return u ? u.name : id;
}
/**
 * @param {string} id
 * @returns {WireChannel}
 */
function channel(id) {
  const list = S.data ? S.data.channels : [];
  return list.find((c) => c.id === id) ?? { id: id, name: id.toLowerCase(), topic: '' };
}

/**
 * @param {string} id
 * @param {string} [size]
 */
function avatar(id, size) {
  const u = user(id);
  const cls = 'avatar' + (size ? ' ' + size : '');
  if (u && u.bot) return '<div class="' + cls + ' bot">Az</div>';
  if (u && u.slackbot) return '<div class="' + cls + ' slackbot">S</div>';
  const name = u ? u.name : id;
  const initial = (name.split(' ').pop() ?? '').charAt(0).toUpperCase();
  return (
    '<div class="' +
    cls +
    '" style="background:' +
    esc(u && u.color ? u.color : '#888') +
    '">' +
    esc(initial) +
    '</div>'
  );
}

/**
 * What Slack shows for <!date^epoch^format|fallback>: the format's tokens in the reader's
 * own time zone. The fallback is for what cannot be rendered (and the tooltip).
 * @param {number} epoch
 * @param {string} format
 * @returns {string | null}
 */
function slackDate(epoch, format) {
  if (!isFinite(epoch) || !format) return null;
  const d = new Date(epoch * 1000);
  /** @param {Date} x */
  const day = (x) => {
    const c = new Date(x);
    c.setHours(0, 0, 0, 0);
    return c.getTime();
  };
  const offset = Math.round((day(d) - day(new Date())) / 86400000);
  /** @param {string} plain */
  const pretty = (plain) =>
    offset === 0 ? 'today' : offset === -1 ? 'yesterday' : offset === 1 ? 'tomorrow' : plain;
  /** @param {number} n */
  const pad = (n) => (n < 10 ? '0' : '') + n;
  const date = d.toLocaleDateString('en-US', { month: 'long', day: 'numeric', year: 'numeric' });
  const dateShort = d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
  const dateLong = d.toLocaleDateString('en-US', {
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    year: 'numeric',
  });
  /** @type {Record<string, string>} */
  const f = {
    date_num: d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()),
    date: date,
    date_short: dateShort,
    date_long: dateLong,
    time: d.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' }),
    time_secs: d.toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', second: '2-digit' }),
    date_pretty: pretty(date),
    date_short_pretty: pretty(dateShort),
    date_long_pretty: pretty(dateLong),
  };
  let unknown = false;
  const out = format.replace(/\{(\w+)\}/g, (m, /** @type {string} */ name) => {
    const value = f[name];
    if (value == null) {
      unknown = true;
      return m;
    }
    return value;
  });
  return unknown ? null : out;
}

// ---- mrkdwn: Slack's markup, already escaped by Slack for & < and >

/** @param {string} inner what is between < and > */
function token(inner) {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : '';
  const head = target.charAt(0);
  if (head === '@') {
    const id = target.slice(1);
    return (
      '<span class="mention' + (id === S.me ? ' me' : '') + '">@' + esc(label || userName(id)) + '</span>'
    );
  }
  if (head === '#') {
    return '<span class="mention">#' + esc(label || channel(target.slice(1)).name) + '</span>';
  }
  if (head === '!') {
    const cmd = target.slice(1);
    if (cmd.indexOf('subteam^') === 0) {
      const group = cmd.slice(8);
      const handle = label ? label.replace(/^@/, '') : (S.data && S.data.userGroups[group]) || group;
      return '<span class="mention">@' + esc(handle) + '</span>';
    }
    if (cmd.indexOf('date^') === 0) {
      const parts = cmd.split('^');
      const shown = slackDate(Number(parts[1]), unesc(parts[2] || ''));
      const fallback = unesc(label || cmd);
      return '<span class="date" title="' + esc(fallback) + '">' + esc(shown || fallback) + '</span>';
    }
    if (cmd === 'here' || cmd === 'channel' || cmd === 'everyone') {
      return '<span class="mention me">@' + esc(cmd) + '</span>';
    }
    return esc(unesc(label || cmd));
  }
  const url = unesc(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    return (
      '<a href="' +
      esc(url) +
      '" target="_blank" rel="noopener noreferrer">' +
      esc(unesc(label || url)) +
      '</a>'
    );
  }
  return esc('<' + unesc(inner) + '>');
}

/**
 * @param {unknown} src
 * @returns {string}
 */
function mrkdwn(src) {
  /** @type {string[]} */
  const slots = [];
  /** @param {string} html */
  const slot = (html) => {
    slots.push(html);
    return '\u0000' + (slots.length - 1) + '\u0000';
  };
  let s = String(src == null ? '' : src);
  s = s.replace(/```([\s\S]*?)```/g, (_, /** @type {string} */ code) =>
    slot('<pre>' + esc(unesc(code.replace(/^\n/, ''))) + '</pre>'),
  );
  s = s.replace(/`([^`\n]+)`/g, (_, /** @type {string} */ code) =>
    slot('<code>' + esc(unesc(code)) + '</code>'),
  );
  s = s.replace(/<([^<>\n]+)>/g, (_, /** @type {string} */ inner) => slot(token(inner)));
  s = esc(unesc(s));
  s = s.replace(
    /(^|[^\w*])\*(?=\S)([^*\n]*?\S)?\*(?![\w*])/g,
    (m, /** @type {string} */ pre, /** @type {string | undefined} */ body) =>
      body === undefined ? m : pre + '<b>' + body + '</b>',
  );
  s = s.replace(
    /(^|[^\w])_(?=\S)([^_\n]*?\S)?_(?!\w)/g,
    (m, /** @type {string} */ pre, /** @type {string | undefined} */ body) =>
      body === undefined ? m : pre + '<i>' + body + '</i>',
  );
  s = s.replace(
    /(^|[^\w~])~(?=\S)([^~\n]*?\S)?~(?![\w~])/g,
    (m, /** @type {string} */ pre, /** @type {string | undefined} */ body) =>
      body === undefined ? m : pre + '<s>' + body + '</s>',
  );
  s = s.replace(/:([a-z0-9_+-]+):/g, (m, /** @type {string} */ name) => emoji(name) || m);
  s = s
    .split('\n')
    .map((line) => (line.indexOf('&gt; ') === 0 ? '<blockquote>' + line.slice(5) + '</blockquote>' : line))
    .join('\n')
    .replace(/\n/g, '<br>')
    .replace(/<\/blockquote><br>/g, '</blockquote>');
  // eslint-disable-next-line no-control-regex -- NUL marks the slots: it cannot be in Slack text
  return s.replace(/\u0000(\d+)\u0000/g, (_, /** @type {string} */ i) => slots[Number(i)] ?? '');
}

/** @param {TextObject | undefined} t */
function plainText(t) {
  return esc(t && t.text != null ? t.text : '').replace(
    /:([a-z0-9_+-]+):/g,
    (m, /** @type {string} */ name) => (t && t.emoji === false ? m : emoji(name) || m),
  );
}
/** @param {TextObject | undefined} t */
function textObject(t) {
  if (!t) return '';
  return t.type === 'plain_text' ? plainText(t) : mrkdwn(t.text);
}

// ---- Block Kit

/**
 * @param {BlockElement} el
 * @param {Block} block
 * @param {WireMessage | null} msg null in a modal, where buttons are shown but not simulated
 */
function button(el, block, msg) {
  if (!msg) {
    return (
      '<button type="button" class="btn" disabled title="Buttons in modals are not simulated">' +
      plainText(typeof el.text === 'object' ? el.text : undefined) +
      '</button>'
    );
  }
  const key = msgKey(msg) + ' ' + el.action_id;
  const busy = S.pending[key];
  const style = el.style === 'primary' || el.style === 'danger' ? ' ' + el.style : '';
  return (
    '<button class="btn' +
    style +
    (el.url ? ' link' : '') +
    '"' +
    ' data-msg="' +
    esc(msgKey(msg)) +
    '" data-action="' +
    esc(el.action_id || '') +
    '"' +
    ' data-block="' +
    esc(block.block_id || '') +
    '"' +
    (el.value != null ? ' data-value="' + esc(el.value) + '"' : '') +
    (el.url ? ' data-url="' + esc(el.url) + '"' : '') +
    (busy ? ' disabled' : '') +
    '>' +
    (busy ? '<span class="spinner"></span>' : '') +
    plainText(typeof el.text === 'object' ? el.text : undefined) +
    (el.url ? SVG.external : '') +
    '</button>'
  );
}

/**
 * @param {BlockElement | undefined} el
 * @param {Block} block
 * @param {WireMessage | null} msg
 */
function element(el, block, msg) {
  if (!el) return '';
  if (el.type === 'button') return button(el, block, msg);
  if (el.type === 'image')
    return '<img src="' + esc(el.image_url) + '" alt="' + esc(el.alt_text || '') + '">';
  if (el.type === 'mrkdwn' || el.type === 'plain_text') {
    const text = typeof el.text === 'string' ? el.text : undefined;
    return '<span class="mrkdwn">' + textObject({ type: el.type, text: text, emoji: el.emoji }) + '</span>';
  }
  return '<span class="block-unknown">[' + esc(el.type) + ']</span>';
}

/** @param {WireMessage} msg */
function blocks(msg) {
  const list = /** @type {Block[]} */ (Array.isArray(msg.blocks) ? msg.blocks : []);
  const edited = msg.edited ? '<span class="edited">(edited)</span>' : '';
  const last = list[list.length - 1];
  if (!last) return '<div class="mrkdwn">' + mrkdwn(msg.text) + edited + '</div>';
  // Slack puts (edited) after the message's text; with no text at the end, after the blocks.
  const inline =
    edited &&
    ((last.type === 'section' && last.text && !last.fields && !last.accessory) || last.type === 'context');
  return (
    list.map((b) => block(b, msg, inline && b === last ? edited : '')).join('') +
    (edited && !inline ? '<div>' + edited + '</div>' : '')
  );
}

/**
 * One block of a message, or of a modal (`msg` null).
 * @param {Block} b
 * @param {WireMessage | null} msg
 * @param {string} tail what follows the block's text inline: the (edited) mark
 */
function block(b, msg, tail) {
  switch (b.type) {
    case 'section': {
      let body = '';
      if (b.text) body += '<div class="mrkdwn">' + textObject(b.text) + tail + '</div>';
      if (Array.isArray(b.fields)) {
        body +=
          '<div class="block-fields">' +
          b.fields.map((f) => '<div class="mrkdwn">' + textObject(f) + '</div>').join('') +
          '</div>';
      }
      const accessory = b.accessory ? '<div>' + element(b.accessory, b, msg) + '</div>' : '';
      return (
        '<div class="block block-section"><div class="section-body">' + body + '</div>' + accessory + '</div>'
      );
    }
    case 'context':
      return (
        '<div class="block block-context">' +
        (b.elements || []).map((e) => element(e, b, msg)).join('') +
        tail +
        '</div>'
      );
    case 'divider':
      return '<hr class="block-divider">';
    case 'header':
      return '<div class="block block-header">' + plainText(b.text) + '</div>';
    case 'image':
      return (
        '<div class="block block-image"><img src="' +
        esc(b.image_url) +
        '" alt="' +
        esc(b.alt_text || '') +
        '"></div>'
      );
    case 'actions':
      return (
        '<div class="block block-actions">' +
        (b.elements || []).map((e) => element(e, b, msg)).join('') +
        '</div>'
      );
    case 'input':
      return msg ? '<div class="block block-unknown">[input block]</div>' : inputBlock(b);
    default:
      return '<div class="block block-unknown">[' + esc(b.type) + ' block]</div>';
  }
}

/**
 * A modal's input: its label, the field (text inputs only; others are named, not simulated),
 * its hint, and room for an error under it.
 * @param {Block} b
 */
function inputBlock(b) {
  const el = b.element || {};
  const blockId = b.block_id || '';
  const id = 'modal-input-' + blockId;
  let field;
  if (TEXT_INPUTS.indexOf(el.type || '') >= 0) {
    const attrs =
      ' id="' +
      esc(id) +
      '" class="modal-input" data-input-block="' +
      esc(blockId) +
      '" data-input-action="' +
      esc(el.action_id || '') +
      '"' +
      (el.placeholder ? ' placeholder="' + esc(el.placeholder.text || '') + '"' : '') +
      (el.max_length ? ' maxlength="' + esc(el.max_length) + '"' : '') +
      ' spellcheck="false"';
    field = el.multiline
      ? '<textarea' + attrs + ' rows="4">' + esc(el.initial_value || '') + '</textarea>'
      : '<input' + attrs + ' value="' + esc(el.initial_value || '') + '">';
  } else {
    field = '<div class="block-unknown">[' + esc(el.type) + ': not simulated]</div>';
  }
  return (
    '<div class="block block-input" data-block-id="' +
    esc(blockId) +
    '"><label class="input-label" for="' +
    esc(id) +
    '">' +
    plainText(b.label) +
    (b.optional ? ' <span class="input-optional">(optional)</span>' : '') +
    '</label>' +
    field +
    (b.hint ? '<div class="input-hint">' + plainText(b.hint) + '</div>' : '') +
    '<div class="input-error" role="alert" data-error-for="' +
    esc(blockId) +
    '" hidden></div></div>'
  );
}

// ---- messages

/** @param {WireMessage} m */
function msgKey(m) {
  return m.channel + '/' + m.ts;
}
/** @param {WireMessage} m */
function visible(m) {
  return !m.visibleTo || m.visibleTo === S.me;
}
/**
 * @param {WireMessage} a
 * @param {WireMessage} b
 */
function byTime(a, b) {
  return a.postedAt - b.postedAt || Number(a.ts) - Number(b.ts);
}
/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

function all() {
  return [...S.messages.values(), ...S.notes];
}
/** @param {WireMessage} parent */
function repliesOf(parent) {
  return all()
    .filter(
      (m) => m.channel === parent.channel && m.threadTs === parent.ts && m.ts !== parent.ts && visible(m),
    )
    .sort(byTime);
}

/** @param {WireMessage} m */
function threadSummary(m) {
  const replies = repliesOf(m);
  const last = replies[replies.length - 1];
  if (!last) return '';
  /** @type {string[]} */
  const people = [];
  replies.forEach((r) => {
    if (people.indexOf(r.user) < 0) people.push(r.user);
  });
  return (
    '<div class="thread-summary" data-thread="' +
    esc(msgKey(m)) +
    '">' +
    '<span class="avatars">' +
    people
      .slice(0, 4)
      .map((p) => avatar(p, 'xs'))
      .join('') +
    '</span>' +
    '<span class="count">' +
    replies.length +
    (replies.length === 1 ? ' reply' : ' replies') +
    '</span>' +
    '<span class="last">Last reply today at ' +
    clock(last.postedAt) +
    '</span></div>'
  );
}

/**
 * @param {WireMessage} m
 * @param {WireMessage | null} prev
 * @param {boolean} inThread
 */
function renderMessage(m, prev, inThread) {
  const compact =
    prev &&
    prev.user === m.user &&
    !prev.visibleTo &&
    !m.visibleTo &&
    m.postedAt - prev.postedAt < COMPACT_MS;
  const u = user(m.user);
  let cls = 'msg' + (compact ? ' compact' : '') + (m.visibleTo ? ' ephemeral' : '');
  const flashAt = S.flash[msgKey(m)];
  let style = '';
  if (flashAt && Date.now() - flashAt < 1600) {
    cls += ' flash';
    style = ' style="animation-delay:-' + (Date.now() - flashAt) + 'ms"';
  }
  if (!inThread && S.thread && S.thread === msgKey(m)) cls += ' open-thread';
  const head = compact
    ? ''
    : '<div class="msg-head"><span class="msg-name">' +
      esc(u ? u.name : m.user) +
      '</span>' +
      (u && u.bot ? '<span class="app-badge">APP</span>' : '') +
      '<span class="msg-time">' +
      clock(m.postedAt) +
      '</span></div>';
  const label =
    (m.visibleTo ? '<div class="ephemeral-label">' + SVG.eye + ' Only visible to you</div>' : '') +
    (m.pinned ? '<div class="pinned-label">' + (emoji('pushpin') ?? '') + ' Pinned</div>' : '');
  return (
    '<div class="' +
    cls +
    '"' +
    style +
    ' data-ts="' +
    esc(m.ts) +
    '" data-key="' +
    esc(msgKey(m)) +
    '">' +
    (compact ? '<div class="gutter-time">' + clock(m.postedAt) + '</div>' : avatar(m.user)) +
    '<div class="msg-body">' +
    label +
    head +
    blocks(m) +
    fileCards(m) +
    reactions(m) +
    (inThread ? '' : threadSummary(m)) +
    '</div></div>'
  );
}

/** @param {number} n */
function fileSize(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

/** Pictures shown in the message itself, as Slack shows them (never SVG, which can carry script). */
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp)$/;

/**
 * A shared picture, at its own proportions from the first frame (Slack's original_w and
 * original_h), so the thread does not jump when it arrives; a click opens it full size.
 * @param {Record<string, unknown>} f
 * @param {string} id
 * @param {string} title
 */
function fileImage(f, id, title) {
  const w = typeof f.original_w === 'number' ? f.original_w : 0;
  const h = typeof f.original_h === 'number' ? f.original_h : 0;
  const alt = typeof f.alt_txt === 'string' && f.alt_txt ? f.alt_txt : title;
  return (
    '<img class="file-image" src="/sandbox/files/' +
    encodeURIComponent(id) +
    '" alt="' +
    esc(alt) +
    '"' +
    (w > 0 && h > 0 ? ' width="' + w + '" height="' + h + '"' : '') +
    '>'
  );
}

/**
 * The files a message shares: a card each (title, name, size); a text file opens inline, a
 * picture shows in it.
 * @param {WireMessage} m
 */
function fileCards(m) {
  if (!m.files || m.files.length === 0) return '';
  return m.files
    .map((f) => {
      const id = String(f.id ?? '');
      const name = String(f.name ?? id);
      const title = String(f.title ?? name);
      const size = typeof f.size === 'number' ? fileSize(f.size) : '';
      const kind = String(f.pretty_type ?? f.filetype ?? '');
      const image = IMAGE_TYPES.test(String(f.mimetype ?? ''));
      const open = S.fileOpen[id];
      const content = S.fileText[id];
      return (
        '<div class="file-card' +
        (image ? ' image' : '') +
        (open ? ' open' : '') +
        '" data-file="' +
        esc(id) +
        '" data-mimetype="' +
        esc(f.mimetype ?? '') +
        '" role="button" tabindex="0" title="Open ' +
        esc(name) +
        '">' +
        '<div class="file-head"><span class="file-icon">' +
        SVG.scroll +
        '</span><span class="file-meta"><span class="file-title">' +
        esc(title) +
        '</span><span class="file-sub"><span class="file-name">' +
        esc(name) +
        '</span> · ' +
        esc(kind ? kind + ' · ' : '') +
        '<span class="file-size">' +
        esc(size) +
        '</span></span></span></div>' +
        (image ? fileImage(f, id, title) : '') +
        (open
          ? '<pre class="file-content">' + (content === undefined ? 'Loading…' : esc(content)) + '</pre>'
          : '') +
        '</div>'
      );
    })
    .join('');
}

/**
 * Reactions under a message, with counts, and the control that adds one.
 * @param {WireMessage} m
 */
function reactions(m) {
  if (m.visibleTo || m.ts.indexOf('note-') === 0) return '';
  const key = msgKey(m);
  const pills = (m.reactions ?? [])
    .map(
      (r) =>
        '<button type="button" class="reaction' +
        (r.users.indexOf(S.me) >= 0 ? ' mine' : '') +
        '" data-react="' +
        esc(r.name) +
        '" data-msg-key="' +
        esc(key) +
        '" title="' +
        esc(r.users.map(userName).join(', ') + ' reacted with :' + r.name + ':') +
        '">' +
        (emoji(r.name) ?? ':' + esc(r.name) + ':') +
        '<span class="reaction-count">' +
        r.count +
        '</span></button>',
    )
    .join('');
  const picker =
    S.picker === key
      ? '<div class="reaction-picker" role="menu">' +
        REACTIONS.map(
          (name) =>
            '<button type="button" class="pick" role="menuitem" data-react="' +
            esc(name) +
            '" data-msg-key="' +
            esc(key) +
            '" title=":' +
            esc(name) +
            ':">' +
            (emoji(name) ?? ':' + esc(name) + ':') +
            '</button>',
        ).join('') +
        '</div>'
      : '';
  return (
    '<div class="reactions">' +
    pills +
    '<button type="button" class="add-reaction" data-add-reaction="' +
    esc(key) +
    '" aria-label="Add reaction" title="Add reaction">☺+</button>' +
    picker +
    '</div>'
  );
}

/**
 * @param {WireMessage[]} list
 * @param {boolean} inThread
 */
function renderList(list, inThread) {
  let html = '';
  /** @type {WireMessage | null} */
  let prev = null;
  list.forEach((m) => {
    html += renderMessage(m, prev, inThread);
    prev = m;
  });
  return html;
}

/**
 * Replaces only the children whose markup changed. Swapping a whole list on every live
 * message would replace the element under the pointer between mousedown and mouseup, and
 * the browser then drops the click: a channel or an Approve button would ignore the user.
 * @param {HTMLElement} box
 * @param {string} html
 */
function patch(box, html) {
  const next = document.createElement('template');
  next.innerHTML = html;
  const fresh = Array.from(next.content.childNodes);
  fresh.forEach((node, i) => {
    const current = box.childNodes[i];
    if (!current) box.appendChild(node);
    else if (!current.isEqualNode(node)) box.replaceChild(node, current);
  });
  while (box.childNodes.length > fresh.length && box.lastChild) box.removeChild(box.lastChild);
}

/**
 * @param {HTMLElement} box
 * @param {() => void} render
 */
function keepScroll(box, render) {
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const top = box.scrollTop;
  render();
  box.scrollTop = atBottom ? box.scrollHeight : top;
}

/** @param {WireChannel} c */
function seenBy(c) {
  return !c.isPrivate || !c.members || c.members.indexOf(S.me) >= 0;
}

function renderChannel() {
  const ch = channel(S.channel);
  $('channel-name').textContent = '# ' + ch.name;
  $('channel-topic').textContent = ch.topic || '';
  const pins = all().filter((m) => m.channel === S.channel && m.pinned && visible(m)).length;
  patch(
    $('channel-meta'),
    (ch.members
      ? '<span class="member-count" title="' +
        esc(ch.members.map(userName).join(', ')) +
        '">' +
        ch.members.length +
        (ch.members.length === 1 ? ' member' : ' members') +
        '</span>'
      : '') +
      (pins ? '<span class="pin-count">' + (emoji('pushpin') ?? '') + ' ' + pins + ' pinned</span>' : ''),
  );
  composerInput().placeholder = 'Message #' + ch.name + ' (slash commands go to the bot, e.g. /azora help)';
  const list = all()
    .filter((m) => m.channel === S.channel && (!m.threadTs || m.threadTs === m.ts) && visible(m))
    .sort(byTime);
  const box = $('messages');
  keepScroll(box, () => {
    const intro =
      '<div class="empty"><div class="intro-name"># ' +
      esc(ch.name) +
      '</div>' +
      (ch.topic ? esc(ch.topic) + '. ' : '') +
      'You are <b>' +
      esc(userName(S.me)) +
      '</b>; switch people at the top right.</div>';
    patch(
      box,
      intro + (list.length ? '<div class="day"><span>Today</span></div>' : '') + renderList(list, false),
    );
  });
}

function renderThread() {
  const pane = $('thread');
  const parent = S.thread ? S.messages.get(S.thread) : undefined;
  if (!parent || !visible(parent)) {
    pane.hidden = true;
    return;
  }
  pane.hidden = false;
  $('thread-channel').textContent = '# ' + channel(parent.channel).name;
  const replies = repliesOf(parent);
  const box = $('thread-body');
  keepScroll(box, () => {
    patch(
      box,
      renderMessage(parent, null, true) +
        (replies.length
          ? '<div class="replies-divider">' +
            replies.length +
            (replies.length === 1 ? ' reply' : ' replies') +
            '</div>'
          : '') +
        renderList(replies, true),
    );
  });
}

function renderSidebar() {
  if (!S.data) return;
  const channels = S.data.channels.filter((c) => seenBy(c) || c.id === S.channel);
  S.messages.forEach((m) => {
    if (!channels.some((c) => c.id === m.channel)) channels.push(channel(m.channel));
  });
  patch(
    $('channel-list'),
    channels
      .map((c) => {
        const n = S.unread[c.id] || 0;
        return (
          '<li class="side-item' +
          (c.id === S.channel ? ' active' : '') +
          (n ? ' unread' : '') +
          '"' +
          ' data-channel="' +
          esc(c.id) +
          '" data-channel-name="' +
          esc(c.name) +
          '">' +
          '<span class="hash">#</span><span class="name">' +
          esc(c.name) +
          '</span>' +
          (n ? '<span class="badge">' + n + '</span>' : '') +
          '</li>'
        );
      })
      .join(''),
  );
  patch(
    $('people-list'),
    S.data.users
      .map(
        (u) =>
          '<li class="side-item' +
          (u.id === S.me ? ' unread' : '') +
          '" data-user="' +
          esc(u.id) +
          '" title="' +
          esc(u.title) +
          '">' +
          avatar(u.id, 'xs') +
          '<span class="presence"></span><span class="name">' +
          esc(u.name) +
          '</span>' +
          (u.id === S.me ? '<span class="you">you</span>' : '') +
          '</li>',
      )
      .join(''),
  );
  const select = userSwitcher();
  if (select.options.length !== S.data.users.length) {
    select.innerHTML = S.data.users
      .map((u) => '<option value="' + esc(u.id) + '">' + esc(u.name) + '</option>')
      .join('');
  }
  select.value = S.me;
  const me = $('me-avatar');
  if (me.getAttribute('data-me') !== S.me) {
    me.outerHTML = avatar(S.me, 'sm').replace(
      '<div class="',
      '<div id="me-avatar" data-me="' + esc(S.me) + '" class="',
    );
  }
}

function renderAlerts() {
  if (!S.data) return;
  const firing = S.data.alerts.filter((a) => a.firing).length;
  $('alerts-count').hidden = firing === 0;
  $('alerts-count').textContent = String(firing);
  patch($('alerts-list'), S.data.alerts.map(alertRow).join(''));
}

/** @param {AlertState} a */
function alertRow(a) {
  const busy = S.pending['alert ' + a.alertname];
  return (
    '<div class="alert-row' +
    (a.firing ? ' firing' : '') +
    '" data-alert="' +
    esc(a.alertname) +
    '">' +
    '<span class="dot"></span>' +
    '<div><div class="a-name">' +
    esc(a.alertname) +
    '<span class="sev ' +
    esc(a.severity) +
    '">' +
    esc(a.severity) +
    '</span></div>' +
    '<div class="a-meta">' +
    esc(a.service) +
    ' · ' +
    esc(a.summary) +
    ' → #' +
    esc(channel(a.channel).name) +
    '</div>' +
    (a.delivery?.via === 'silenced'
      ? '<div class="a-held">Held back by Alertmanager: ' + esc(silencedText(a.delivery)) + '</div>'
      : '') +
    '</div>' +
    '<button class="btn sm ' +
    (a.firing ? 'primary' : 'danger') +
    '" data-alert-action="' +
    (a.firing ? 'resolve' : 'fire') +
    '"' +
    ' data-alertname="' +
    esc(a.alertname) +
    '"' +
    (busy ? ' disabled' : '') +
    '>' +
    (busy ? '<span class="spinner"></span>' : '') +
    (a.firing ? 'Resolve' : 'Fire') +
    '</button></div>'
  );
}

// ---- modals

/** @returns {{ id: string, hash: string, busy: boolean, banner: string, local: Record<string, string> }} */
function blankModal() {
  return { id: '', hash: '', busy: false, banner: '', local: {} };
}

/** The modal the person acting sees: the last of their open views (a pushed one covers its parent). */
function shownView() {
  /** @type {WireView | null} */
  let top = null;
  for (const v of S.views.values()) if (v.state === 'open' && v.user === S.me) top = v;
  return top;
}

/** What is typed in the modal's inputs, by block_id then action_id, as Slack's state.values holds it. */
function typedValues() {
  /** @type {Record<string, Record<string, string>>} */
  const values = {};
  $('modal-form')
    .querySelectorAll('[data-input-block]')
    .forEach((node) => {
      const input = /** @type {HTMLInputElement} */ (node);
      const blockId = input.getAttribute('data-input-block') ?? '';
      const actionId = input.getAttribute('data-input-action') ?? '';
      values[blockId] = { ...values[blockId], [actionId]: input.value };
    });
  return values;
}

/**
 * Shows the acting person's modal, or none. Its blocks are drawn again only when the view
 * changes (another view, or a new hash after an update), keeping what was typed in the inputs
 * that are still there, as Slack does; errors, the banner and the busy state every time.
 */
function renderModal() {
  const layer = $('modal-layer');
  const shown = shownView();
  if (!shown) {
    if (!layer.hidden) layer.hidden = true;
    S.modal = blankModal();
    return;
  }
  const view = shown.view;
  const form = $('modal-form');
  if (S.modal.id !== shown.id || S.modal.hash !== view.hash) {
    const kept = S.modal.id === shown.id ? typedValues() : {};
    S.modal = {
      ...blankModal(),
      id: shown.id,
      hash: view.hash,
      busy: S.modal.id === shown.id && S.modal.busy,
    };
    $('modal-title').innerHTML = plainText(view.title);
    form.innerHTML = /** @type {Block[]} */ (/** @type {unknown} */ (view.blocks))
      .map((b) => block(b, null, ''))
      .join('');
    form.querySelectorAll('[data-input-block]').forEach((node) => {
      const input = /** @type {HTMLInputElement} */ (node);
      const typed =
        kept[input.getAttribute('data-input-block') ?? '']?.[input.getAttribute('data-input-action') ?? ''];
      if (typed !== undefined) input.value = typed;
    });
    $('modal-close').textContent = view.close ? view.close.text : 'Cancel';
    const submit = $('modal-submit');
    submit.hidden = !view.submit;
    submit.setAttribute('data-label', view.submit ? view.submit.text : 'Submit');
    const opening = layer.hidden;
    layer.hidden = false;
    const first = /** @type {HTMLInputElement | null} */ (form.querySelector('[data-input-block]'));
    if (opening && first) first.focus();
  }
  form.querySelectorAll('[data-error-for]').forEach((node) => {
    const box = /** @type {HTMLElement} */ (node);
    const blockId = box.getAttribute('data-error-for') ?? '';
    const text = S.modal.local[blockId] || (shown.errors && shown.errors[blockId]) || '';
    box.textContent = text;
    box.hidden = !text;
    const wrapper = box.closest('.block-input');
    if (wrapper) wrapper.classList.toggle('has-error', Boolean(text));
  });
  const banner = $('modal-banner');
  banner.textContent = S.modal.banner;
  banner.hidden = !S.modal.banner;
  const submit = /** @type {HTMLButtonElement} */ ($('modal-submit'));
  submit.disabled = S.modal.busy;
  submit.innerHTML =
    (S.modal.busy ? '<span class="spinner"></span>' : '') +
    esc(submit.getAttribute('data-label') || 'Submit');
}

/**
 * Submit: what Slack checks itself (a required input left empty never reaches the app),
 * then the view_submission through the server, whose answer the modal follows: closed, or
 * the app's errors under the inputs, or Slack's own complaint when the app failed.
 */
function submitModal() {
  const shown = shownView();
  if (!shown || S.modal.busy) return;
  const values = typedValues();
  /** @type {Record<string, string>} */
  const local = {};
  /** @type {Block[]} */ (/** @type {unknown} */ (shown.view.blocks)).forEach((b) => {
    const el = b.element;
    if (b.type !== 'input' || b.optional || !el || TEXT_INPUTS.indexOf(el.type || '') < 0) return;
    const typed = values[b.block_id || '']?.[el.action_id || ''] ?? '';
    if (!typed.trim()) local[b.block_id || ''] = 'Please complete this required field.';
  });
  S.modal.local = local;
  S.modal.banner = '';
  if (Object.keys(local).length > 0) {
    renderModal();
    return;
  }
  S.modal.busy = true;
  renderModal();
  const id = shown.id;
  api('/sandbox/api/view', { user: S.me, viewId: id, action: 'submit', values: values })
    .then(
      (res) => {
        const outcome = res.outcome;
        if (outcome && outcome.kind === 'refused' && S.modal.id === id) {
          S.modal.banner = 'We had some trouble connecting. Try again? (' + outcome.reason + ')';
        }
      },
      (err) => {
        if (S.modal.id === id)
          S.modal.banner = 'We had some trouble connecting. Try again? (' + errorText(err) + ')';
      },
    )
    .then(() => {
      if (S.modal.id === id) S.modal.busy = false;
      renderModal();
    });
}

/** Close, × or Escape: the modal goes at once; the server tells the bot if the view asked to know. */
function closeModal() {
  const shown = shownView();
  if (!shown) return;
  S.views.set(shown.id, { ...shown, state: 'closed' });
  renderModal();
  api('/sandbox/api/view', { user: S.me, viewId: shown.id, action: 'close' }).catch((err) => {
    toast('Closing the modal: ' + errorText(err));
  });
}

function render() {
  if (!S.data) return;
  renderSidebar();
  // The thread pane first: opening it narrows the channel, whose scroll position depends on its width.
  renderThread();
  renderChannel();
  renderAlerts();
  renderModal();
}

// ---- talking to the sandbox

/**
 * @param {string} path
 * @param {Record<string, unknown>} body
 * @returns {Promise<ApiAnswer>}
 */
async function api(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  /** @type {Partial<ApiAnswer>} */
  const json = await res.json().catch(() => ({}));
  if (!res.ok || json.ok === false) throw new Error(json.error || 'the sandbox answered ' + res.status);
  return { ok: true, ...json };
}

/**
 * What Slack itself says to one person: an ephemeral note from Slackbot.
 * @param {string} text
 * @param {{ channel?: string, threadTs?: string }} [where]
 */
function note(text, where) {
  S.noteSeq += 1;
  S.notes.push({
    channel: (where && where.channel) || S.channel,
    ts: 'note-' + S.noteSeq,
    threadTs: where && where.threadTs,
    user: SLACKBOT,
    visibleTo: S.me,
    text: text,
    blocks: [],
    postedAt: Date.now(),
  });
  render();
}

/** @type {number | undefined} */
let toastTimer;
/** @param {string} text */
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => {
    t.hidden = true;
  }, 2600);
}

/** @param {string} text */
function sendCommand(text) {
  const line = text.trim();
  if (!line) return;
  if (line.charAt(0) !== '/') {
    // A plain message: written in the channel as the person acting (the bot is not told).
    api('/sandbox/api/say', { user: S.me, channel: S.channel, text: line }).catch((err) => {
      note(':warning: The message was not posted: ' + errorText(err));
    });
    return;
  }
  S.history.unshift(line);
  S.historyAt = -1;
  api('/sandbox/api/command', { user: S.me, channel: S.channel, text: line }).catch((err) => {
    note(':warning: `' + line.split(/\s+/)[0] + '` failed: ' + errorText(err));
  });
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {HTMLButtonElement} btn */
function click(btn) {
  const msg = S.messages.get(btn.getAttribute('data-msg') ?? '');
  if (!msg) return;
  const url = btn.getAttribute('data-url');
  if (url) window.open(url, '_blank', 'noopener');
  const key = msgKey(msg) + ' ' + btn.getAttribute('data-action');
  S.pending[key] = true;
  render();
  api('/sandbox/api/click', {
    user: S.me,
    channel: msg.channel,
    messageTs: msg.ts,
    actionId: btn.getAttribute('data-action'),
    blockId: btn.getAttribute('data-block'),
    value: btn.getAttribute('data-value') || undefined,
    text: btn.textContent,
  })
    .catch((err) => {
      note(':warning: The click did not reach the bot: ' + errorText(err), {
        channel: msg.channel,
        threadTs: msg.threadTs,
      });
    })
    .then(() => {
      delete S.pending[key];
      render();
    });
}

/**
 * A reaction chosen under a message: recorded by the simulated Slack, its reaction_added sent to the bot.
 * @param {string} key the message, by msgKey
 * @param {string} name
 */
function react(key, name) {
  const msg = S.messages.get(key);
  S.picker = null;
  render();
  if (!msg) return;
  const mine = (msg.reactions ?? []).some((r) => r.name === name && r.users.indexOf(S.me) >= 0);
  if (mine) return;
  api('/sandbox/api/react', { user: S.me, channel: msg.channel, messageTs: msg.ts, name: name }).catch(
    (err) => {
      note(':warning: The reaction did not reach the bot: ' + errorText(err), {
        channel: msg.channel,
        threadTs: msg.threadTs,
      });
    },
  );
}

/**
 * A file card clicked: its text shown inline (fetched once from the simulated Slack), or hidden again;
 * a file that is not text (a picture full size) opens in a tab.
 * @param {Element} card
 */
function openFile(card) {
  const id = card.getAttribute('data-file') ?? '';
  const url = '/sandbox/files/' + encodeURIComponent(id);
  if (!/^(text\/|application\/json)/.test(card.getAttribute('data-mimetype') ?? '')) {
    window.open(url, '_blank', 'noopener');
    return;
  }
  S.fileOpen[id] = !S.fileOpen[id];
  render();
  if (!S.fileOpen[id] || S.fileText[id] !== undefined) return;
  fetch(url)
    .then((res) => (res.ok ? res.text() : Promise.reject(new Error('the sandbox answered ' + res.status))))
    .then(
      (text) => {
        S.fileText[id] = text;
      },
      (err) => {
        S.fileOpen[id] = false;
        toast('The file did not open: ' + errorText(err));
      },
    )
    .then(render);
}

/**
 * @param {string} name
 * @param {string} action 'fire' or 'resolve'
 */
function fireAlert(name, action) {
  S.pending['alert ' + name] = true;
  renderAlerts();
  api('/sandbox/api/alert', { alertname: name, action: action })
    .then(
      (res) => {
        toast(alertOutcome(name, action, res));
      },
      (err) => {
        toast(errorText(err));
      },
    )
    .then(() => {
      delete S.pending['alert ' + name];
      renderAlerts();
    });
}

/**
 * What the menu says once an alert is fired or resolved.
 * @param {string} name
 * @param {string} action 'fire' or 'resolve'
 * @param {ApiAnswer} res
 */
function alertOutcome(name, action, res) {
  const done = action === 'fire' ? 'fired' : 'resolved';
  const d = res.delivery;
  if (d?.via === 'silenced') return name + ' ' + done + ', held back by Alertmanager: ' + silencedText(d);
  const to = ' → #' + channel(res.channel ?? '').name;
  if (d?.via === 'webhook') return name + ' ' + done + ", sent to the bot's webhook" + to;
  return 'Alertmanager ' + done + ' ' + name + to;
}

/** @param {{ silence: string, until: string }} d */
function silencedText(d) {
  return 'silenced by ' + d.silence + ' until ' + clock(Date.parse(d.until));
}

/** @param {string} id */
function setUser(id) {
  if (!user(id) || id === S.me) return;
  S.me = id;
  localStorage.setItem('azora-sandbox-user', id);
  render();
  toast('You are now ' + userName(id));
}

/** @param {string} id */
function openChannel(id) {
  if (id !== S.channel) S.thread = null;
  S.channel = id;
  S.unread[id] = 0;
  render();
  const box = $('messages');
  box.scrollTop = box.scrollHeight;
}

function connect() {
  const events = new EventSource('/sandbox/api/events');
  const live = $('live');
  events.addEventListener('snapshot', (e) => {
    /** @type {Snapshot} */
    const data = JSON.parse(e.data);
    S.data = data;
    S.messages = new Map();
    data.messages.forEach((m) => S.messages.set(msgKey(m), m));
    S.views = new Map();
    data.views.forEach((v) => S.views.set(v.id, v));
    const firstChannel = data.channels[0];
    if (firstChannel && !data.channels.some((c) => c.id === S.channel)) S.channel = firstChannel.id;
    const firstUser = data.users[0];
    if (firstUser && !user(S.me)) S.me = firstUser.id;
    live.className = 'live on';
    live.textContent = 'live';
    render();
    const box = $('messages');
    box.scrollTop = box.scrollHeight;
  });
  events.addEventListener('message', (e) => {
    /** @type {WireMessage} */
    const m = JSON.parse(e.data);
    const key = msgKey(m);
    const isNew = !S.messages.has(key);
    S.messages.set(key, m);
    if (!isNew) S.flash[key] = Date.now();
    else if (m.channel !== S.channel && !m.threadTs && visible(m))
      S.unread[m.channel] = (S.unread[m.channel] || 0) + 1;
    render();
  });
  events.addEventListener('channel', (e) => {
    if (!S.data) return;
    /** @type {WireChannel} */
    const c = JSON.parse(e.data);
    const at = S.data.channels.findIndex((x) => x.id === c.id);
    if (at >= 0) S.data.channels[at] = c;
    else S.data.channels.push(c);
    render();
  });
  events.addEventListener('view', (e) => {
    /** @type {WireView} */
    const v = JSON.parse(e.data);
    S.views.set(v.id, v);
    renderModal();
  });
  events.addEventListener('alerts', (e) => {
    if (!S.data) return;
    S.data.alerts = JSON.parse(e.data);
    renderAlerts();
  });
  events.onerror = () => {
    live.className = 'live';
    live.textContent = 'reconnecting…';
    // A closed stream (the bot stopped) is not retried by the browser; the page keeps trying.
    if (events.readyState === EventSource.CLOSED) window.setTimeout(connect, 3000);
  };
}

// ---- composer suggestions

/** @returns {Array<[string, string]>} the examples the typed text starts */
function suggestions() {
  const input = composerInput();
  const box = $('suggestions');
  const typed = input.value.replace(/^\s+/, '');
  if (typed.charAt(0) !== '/' || typed.indexOf('  ') >= 0) {
    box.hidden = true;
    return [];
  }
  const matches = EXAMPLES.filter((e) => e[0].indexOf(typed) === 0 && e[0] !== typed);
  if (matches.length === 0) {
    box.hidden = true;
    return [];
  }
  S.suggestion = Math.min(S.suggestion, matches.length - 1);
  box.innerHTML =
    '<div class="s-title">Commands matching <b>' +
    esc(typed) +
    '</b></div>' +
    matches
      .map(
        (e, i) =>
          '<div class="suggestion' +
          (i === S.suggestion ? ' active' : '') +
          '" data-example="' +
          esc(e[0]) +
          '">' +
          '<span class="cmd">' +
          esc(e[0]) +
          '</span><span class="desc">' +
          esc(e[1]) +
          '</span></div>',
      )
      .join('');
  box.hidden = false;
  return matches;
}

/** @param {string} text */
function fill(text) {
  const input = composerInput();
  input.value = text;
  input.focus();
  $('suggestions').hidden = true;
  updateSend();
}

function updateSend() {
  $('send').className = 'send' + (composerInput().value.trim() ? ' ready' : '');
}

// ---- wiring

/**
 * The closest element matching `selector` from `t` up, and its attribute `name`.
 * @param {Element} t
 * @param {string} selector
 * @param {string} name
 * @returns {string | null}
 */
function closestAttribute(t, selector, name) {
  const el = t.closest(selector);
  return el ? (el.getAttribute(name) ?? '') : null;
}

document.addEventListener('click', (e) => {
  const t = e.target;
  if (!(t instanceof Element)) return;
  if (!t.closest('.menu-wrap')) closeMenu();
  const btn = t.closest('button[data-action]');
  if (btn instanceof HTMLButtonElement) {
    e.preventDefault();
    if (!btn.disabled) click(btn);
    return;
  }
  const reactBtn = t.closest('button[data-react]');
  if (reactBtn) {
    react(reactBtn.getAttribute('data-msg-key') ?? '', reactBtn.getAttribute('data-react') ?? '');
    return;
  }
  const addReaction = closestAttribute(t, '[data-add-reaction]', 'data-add-reaction');
  if (addReaction !== null) {
    S.picker = S.picker === addReaction ? null : addReaction;
    render();
    return;
  }
  if (S.picker !== null) {
    S.picker = null;
    render();
  }
  const card = t.closest('[data-file]');
  if (card && !t.closest('.file-content')) {
    openFile(card);
    return;
  }
  const alertBtn = t.closest('button[data-alert-action]');
  if (alertBtn) {
    fireAlert(
      alertBtn.getAttribute('data-alertname') ?? '',
      alertBtn.getAttribute('data-alert-action') ?? '',
    );
    return;
  }
  const thread = closestAttribute(t, '[data-thread]', 'data-thread');
  if (thread !== null) {
    S.thread = thread;
    render();
    return;
  }
  const ch = closestAttribute(t, '[data-channel]', 'data-channel');
  if (ch !== null) {
    openChannel(ch);
    return;
  }
  const person = closestAttribute(t, '[data-user]', 'data-user');
  if (person !== null) {
    setUser(person);
    return;
  }
  const example = closestAttribute(t, '[data-example]', 'data-example');
  if (example !== null) fill(example);
});

function closeMenu() {
  $('alerts-menu').hidden = true;
  $('alerts-button').setAttribute('aria-expanded', 'false');
}
$('alerts-button').addEventListener('click', () => {
  const menu = $('alerts-menu');
  menu.hidden = !menu.hidden;
  $('alerts-button').setAttribute('aria-expanded', String(!menu.hidden));
});
$('thread-close').addEventListener('click', () => {
  S.thread = null;
  render();
});
userSwitcher().addEventListener('change', () => setUser(userSwitcher().value));
$('modal-form').addEventListener('submit', (e) => {
  e.preventDefault();
  submitModal();
});
$('modal-close').addEventListener('click', closeModal);
$('modal-x').addEventListener('click', closeModal);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('modal-layer').hidden) {
    e.preventDefault();
    closeModal();
  }
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = composerInput();
  const text = input.value;
  input.value = '';
  $('suggestions').hidden = true;
  updateSend();
  sendCommand(text);
});
composerInput().addEventListener('input', () => {
  S.suggestion = 0;
  suggestions();
  updateSend();
});
composerInput().addEventListener('keydown', (e) => {
  const input = composerInput();
  const open = !$('suggestions').hidden;
  const matches = open ? suggestions() : [];
  if (open && matches.length && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
    e.preventDefault();
    S.suggestion = (S.suggestion + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
    suggestions();
    return;
  }
  const chosen = matches[S.suggestion];
  if (open && chosen && e.key === 'Tab') {
    e.preventDefault();
    fill(chosen[0]);
    return;
  }
  if (e.key === 'Escape') {
    $('suggestions').hidden = true;
    return;
  }
  if (!open && e.key === 'ArrowUp' && S.history.length && (input.value === '' || S.historyAt >= 0)) {
    e.preventDefault();
    S.historyAt = Math.min(S.historyAt + 1, S.history.length - 1);
    input.value = S.history[S.historyAt] ?? '';
    updateSend();
  }
});
$('chips').innerHTML =
  'Try ' +
  CHIPS.map((c) => '<span class="chip" data-example="' + esc(c) + '">' + esc(c) + '</span>').join('');
$('search-icon').innerHTML = SVG.search;
$('send').innerHTML = SVG.send;

connect();

// A module: its names stay its own, for the browser (type="module") and for tsc alike.
export {};
