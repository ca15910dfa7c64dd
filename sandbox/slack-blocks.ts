/**
 * The checks Slack makes of Block Kit blocks, in a message or a modal, with its own
 * wording and JSON pointers, so the bot's views meet Slack's limits in every test that
 * sends them and not first in a real workspace.
 */

type Args = Record<string, unknown>;
export type Fail = (pointer: string, message: string) => void;

/** Block types Slack knows. */
const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'video',
]);

/** Slack's limits on a message: 50 blocks, and `text` past 40,000 characters is refused. */
export const MESSAGE_MAX_BLOCKS = 50;
export const MESSAGE_MAX_TEXT = 40_000;

/**
 * What Slack says of a message's `text` and `blocks` (posted or edited): `invalid_blocks`
 * with a line per problem, `msg_too_long`, `no_text`; undefined when Slack takes it.
 */
export function checkMessage(args: Args): Args | undefined {
  let blocks: unknown = args.blocks;
  if (typeof blocks === 'string') {
    try {
      blocks = JSON.parse(blocks) as unknown;
    } catch {
      return invalidBlocks(['[ERROR] must be a JSON array [json-pointer:/blocks]']);
    }
  }
  const text = args.text;
  if (typeof text === 'string' && text.length > MESSAGE_MAX_TEXT) return { ok: false, error: 'msg_too_long' };
  const hasText = typeof text === 'string' && text.trim() !== '';
  if (blocks === undefined || blocks === '') return hasText ? undefined : { ok: false, error: 'no_text' };
  if (!Array.isArray(blocks)) return invalidBlocks(['[ERROR] must be an array [json-pointer:/blocks]']);
  if (blocks.length === 0 && !hasText) return { ok: false, error: 'no_text' };
  const errors: string[] = [];
  const fail: Fail = (pointer, message) => errors.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  checkBlocks(blocks, '/blocks', MESSAGE_MAX_BLOCKS, fail);
  if (errors.length > 0) return invalidBlocks(errors);
  // Real Slack refuses blocks holding more than about 12,000 characters of text in all,
  // whatever each one's size (undocumented; reported from 12,000 to 13,300): the low end.
  return blocksText(blocks) > MESSAGE_MAX_BLOCKS_TEXT
    ? { ok: false, error: 'msg_blocks_too_long' }
    : undefined;
}

const MESSAGE_MAX_BLOCKS_TEXT = 12_000;

/** Every `text` string inside the blocks, counted. */
function blocksText(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + blocksText(v), 0);
  if (typeof value !== 'object' || value === null) return 0;
  return Object.entries(value).reduce(
    (n: number, [key, v]) => n + (key === 'text' && typeof v === 'string' ? v.length : blocksText(v)),
    0,
  );
}

function invalidBlocks(messages: string[]): Args {
  return { ok: false, error: 'invalid_blocks', response_metadata: { messages } };
}

/** Checks a list of blocks at `root` (`/blocks`, `/view/blocks`); returns how many input blocks it holds. */
export function checkBlocks(blocks: unknown[], root: string, max: number, fail: Fail): number {
  if (blocks.length > max) fail(root, `must contain no more than ${max} items`);
  const ids = new Set<string>();
  let inputs = 0;
  blocks.forEach((block: unknown, i) => {
    const at = `${root}/${i}`;
    if (!isRecord(block)) return fail(at, 'must be an object');
    if (typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) {
      return fail(`${at}/type`, `unsupported block type ${JSON.stringify(block.type)}`);
    }
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || !block.block_id) fail(`${at}/block_id`, 'must be a string');
      else if (block.block_id.length > 255) fail(`${at}/block_id`, 'must be less than 256 characters');
      else if (ids.has(block.block_id)) fail(`${at}/block_id`, `duplicate block_id ${block.block_id}`);
      else ids.add(block.block_id);
    }
    switch (block.type) {
      case 'input':
        inputs += 1;
        return checkInput(block, at, fail);
      case 'section':
        return checkSection(block, at, fail);
      case 'header':
        return checkText(block.text, `${at}/text`, 150, true, fail);
      case 'context':
        return checkContext(block, at, fail);
      case 'actions':
        return checkActions(block, at, fail);
      case 'image':
        checkLength(block.image_url, `${at}/image_url`, 3000, fail);
        if (typeof block.alt_text !== 'string' || !block.alt_text) {
          return fail(`${at}/alt_text`, 'must be a non-empty string');
        }
        return checkLength(block.alt_text, `${at}/alt_text`, 2000, fail);
      default:
        return undefined;
    }
  });
  return inputs;
}

function checkSection(block: Args, at: string, fail: Fail): void {
  if (block.text === undefined && block.fields === undefined) fail(at, 'must provide either text or fields');
  checkText(block.text, `${at}/text`, 3000, false, fail, true);
  if (isRecord(block.accessory)) checkElement(block.accessory, `${at}/accessory`, fail);
  if (block.fields === undefined) return;
  if (!Array.isArray(block.fields) || block.fields.length > 10) {
    return fail(`${at}/fields`, 'must be an array of no more than 10 items');
  }
  block.fields.forEach((f: unknown, j) => checkText(f, `${at}/fields/${j}`, 2000, true, fail, true));
}

function checkContext(block: Args, at: string, fail: Fail): void {
  if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) {
    return fail(`${at}/elements`, 'must be an array of 1 to 10 items');
  }
  block.elements.forEach((element: unknown, j) => {
    if (isRecord(element) && element.type !== 'image') {
      checkText(element, `${at}/elements/${j}`, 3000, true, fail, true);
    }
  });
}

function checkActions(block: Args, at: string, fail: Fail): void {
  if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25) {
    return fail(`${at}/elements`, 'must be an array of 1 to 25 items');
  }
  const actionIds = new Set<string>();
  block.elements.forEach((element: unknown, j) => {
    const where = `${at}/elements/${j}`;
    if (!isRecord(element)) return fail(where, 'must be an object');
    checkElement(element, where, fail);
    const id = element.action_id;
    if (typeof id !== 'string') return;
    if (actionIds.has(id)) fail(`${where}/action_id`, `duplicate action_id ${id}`);
    actionIds.add(id);
  });
}

/** An interactive element: a button's text, action_id, value, url and confirmation dialog. */
function checkElement(element: Args, where: string, fail: Fail): void {
  if (typeof element.type !== 'string') return fail(`${where}/type`, 'missing required field: type');
  checkActionId(element.action_id, `${where}/action_id`, fail);
  if (element.type !== 'button') return;
  checkText(element.text, `${where}/text`, 75, true, fail);
  checkLength(element.value, `${where}/value`, 2000, fail);
  checkLength(element.url, `${where}/url`, 3000, fail);
  if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
    fail(`${where}/style`, 'must be one of the following: primary, danger');
  }
  const confirm = element.confirm;
  if (confirm === undefined) return;
  if (!isRecord(confirm)) return fail(`${where}/confirm`, 'must be an object');
  checkText(confirm.title, `${where}/confirm/title`, 100, true, fail);
  checkText(confirm.text, `${where}/confirm/text`, 300, true, fail, true);
  checkText(confirm.confirm, `${where}/confirm/confirm`, 30, true, fail);
  checkText(confirm.deny, `${where}/confirm/deny`, 30, true, fail);
}

function checkActionId(value: unknown, pointer: string, fail: Fail): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !value) fail(pointer, 'must be a string');
  else if (value.length > 255) fail(pointer, 'must be less than 256 characters');
}

function checkInput(block: Args, at: string, fail: Fail): void {
  checkText(block.label, `${at}/label`, 2000, true, fail);
  checkText(block.hint, `${at}/hint`, 2000, false, fail);
  if (block.optional !== undefined && typeof block.optional !== 'boolean') {
    fail(`${at}/optional`, 'must be a boolean');
  }
  const element = block.element;
  if (!isRecord(element)) return fail(`${at}/element`, 'missing required field: element');
  if (typeof element.type !== 'string') return fail(`${at}/element/type`, 'missing required field: type');
  checkActionId(element.action_id, `${at}/element/action_id`, fail);
  checkText(element.placeholder, `${at}/element/placeholder`, 150, false, fail);
  if (element.type === 'plain_text_input') {
    checkLength(element.initial_value, `${at}/element/initial_value`, 3000, fail);
    for (const key of ['min_length', 'max_length'] as const) {
      const n = element[key];
      if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 3000)) {
        fail(`${at}/element/${key}`, 'must be an integer from 0 to 3000');
      }
    }
  }
}

/** A text object: its type (plain_text, or mrkdwn where Slack takes it) and 1 to `max` characters. */
export function checkText(
  value: unknown,
  pointer: string,
  max: number,
  required: boolean,
  fail: Fail,
  mrkdwn = false,
): void {
  if (value === undefined) {
    if (required) fail(pointer, `missing required field: ${pointer.split('/').pop()}`);
    return;
  }
  if (!isRecord(value)) return fail(pointer, 'must be a text object');
  const types = mrkdwn ? ['plain_text', 'mrkdwn'] : ['plain_text'];
  if (!types.includes(value.type as string)) {
    fail(`${pointer}/type`, `must be one of the following: ${types.join(', ')}`);
  }
  if (typeof value.text !== 'string' || value.text.length === 0) {
    fail(`${pointer}/text`, 'must be a non-empty string');
  } else if (value.text.length > max) {
    fail(`${pointer}/text`, `must be less than ${max + 1} characters`);
  }
}

export function checkLength(value: unknown, pointer: string, max: number, fail: Fail): void {
  if (value === undefined) return;
  if (typeof value !== 'string') fail(pointer, 'must be a string');
  else if (value.length > max) fail(pointer, `must be less than ${max + 1} characters`);
}

export function isRecord(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
