import { randomBytes } from 'node:crypto';
import { checkBlocks, checkLength, checkText, isRecord } from './slack-blocks';
import { exchangeTriggerId } from './slack-triggers';

/**
 * Modals, as Slack keeps them: views.open exchanges a trigger id for a modal shown to the
 * person the id was issued to; views.push stacks another on it (three at most);
 * views.update replaces one, guarded by its hash. A view_submission's answer decides what
 * the person sees next: an empty 200 closes the view, `response_action` shows errors under
 * inputs, updates, pushes or clears the stack, and anything else leaves the modal open with
 * Slack's own complaint. The views are kept, closed ones too, for tests and for the page.
 */

export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
  verbatim?: boolean;
}

/** A block of a view, with the block_id Slack gives it when the app did not. */
export type ViewBlock = Record<string, unknown> & { type: string; block_id: string };

/** One input's state in a view_submission, as Slack sends it (`value` for the text inputs). */
export interface ViewStateValue {
  type: string;
  value?: string | null;
}

/** A view as Slack answers it (views.open, views.update) and sends it back in view_submission. */
export interface SlackView {
  id: string;
  team_id: string;
  type: 'modal';
  title: TextObject;
  submit: TextObject | null;
  close: TextObject | null;
  blocks: ViewBlock[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: Record<string, Record<string, ViewStateValue>> };
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  root_view_id: string;
  previous_view_id: string | null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
}

/** How a view stopped showing. */
export type ViewClosedBy =
  /** The app acknowledged its submission with an empty 200. */
  | 'submission'
  /** The person pressed Close (or ×, or Escape). */
  | 'user'
  /** `response_action: clear`, or a views.open that replaced the person's modal. */
  | 'cleared';

/** What the simulated Slack did with the app's answer to a view_submission. */
export type ViewOutcome =
  | { kind: 'closed' }
  | { kind: 'errors'; errors: Record<string, string> }
  | { kind: 'updated' }
  | { kind: 'pushed'; viewId: string }
  | { kind: 'cleared' }
  /** Slack could not use the answer: the modal stays open, with Slack's own error line. */
  | { kind: 'refused'; reason: string };

/** A modal the bot opened, for one person: what tests look at and the page shows. */
export interface SimulatedView {
  id: string;
  /** Who sees it: the person the trigger id was issued to. */
  user: string;
  view: SlackView;
  state: 'open' | 'closed';
  /** What the app's last `response_action: errors` said, by block_id; gone with the next update. */
  errors?: Record<string, string>;
  openedAt: number;
  updatedAt: number;
  closedAt?: number;
  closedBy?: ViewClosedBy;
  /** What became of each submission, oldest first. */
  submissions: ViewOutcome[];
}

export interface ViewIdentity {
  teamId: string;
  appId: string;
  botId: string;
}

type Args = Record<string, unknown>;
type Answer = Record<string, unknown>;

const MAX_STACK = 3;
const MAX_VIEW_BYTES = 250 * 1024;
/** Inputs whose state is a `value`. */
const VALUE_INPUTS = new Set(['plain_text_input', 'email_text_input', 'url_text_input', 'number_input']);

type Checked = { ok: true; view: Args } | { ok: false; answer: Answer };

export class SimulatedViews {
  /** Every view opened, in the order they were opened, closed ones included. */
  readonly list: SimulatedView[] = [];

  constructor(
    private readonly identity: ViewIdentity,
    private readonly changed: (view: SimulatedView) => void,
  ) {}

  /** The person's open views, the root first and the one they see last. */
  stackOf(user: string): SimulatedView[] {
    return this.list.filter((v) => v.user === user && v.state === 'open');
  }

  find(id: string): SimulatedView | undefined {
    return this.list.find((v) => v.id === id);
  }

  open(args: Args): Answer {
    if (typeof args.trigger_id !== 'string' || !args.trigger_id) return missing('trigger_id');
    const checked = checkView(args.view);
    if (!checked.ok) return checked.answer;
    const duplicate = this.duplicateExternalId(checked.view);
    if (duplicate) return duplicate;
    const trigger = exchangeTriggerId(args.trigger_id);
    if (!trigger.ok) return { ok: false, error: trigger.error };
    // A person sees one modal stack: a new one takes the place of what was open.
    for (const view of this.stackOf(trigger.user).reverse()) this.closeOne(view, 'cleared');
    const view = this.add(trigger.user, checked.view, null);
    return { ok: true, view: view.view };
  }

  push(args: Args): Answer {
    if (typeof args.trigger_id !== 'string' || !args.trigger_id) return missing('trigger_id');
    const checked = checkView(args.view);
    if (!checked.ok) return checked.answer;
    const duplicate = this.duplicateExternalId(checked.view);
    if (duplicate) return duplicate;
    const trigger = exchangeTriggerId(args.trigger_id);
    if (!trigger.ok) return { ok: false, error: trigger.error };
    const stack = this.stackOf(trigger.user);
    const top = stack[stack.length - 1];
    if (!top)
      return invalid('[ERROR] no modal is open to push onto (simulated Slack) [json-pointer:/trigger_id]');
    if (stack.length >= MAX_STACK) return { ok: false, error: 'push_limit_reached' };
    const view = this.add(trigger.user, checked.view, top);
    return { ok: true, view: view.view };
  }

  update(args: Args): Answer {
    const viewId = typeof args.view_id === 'string' && args.view_id ? args.view_id : undefined;
    const externalId =
      typeof args.external_id === 'string' && args.external_id ? args.external_id : undefined;
    if (!viewId && !externalId) return invalid('[ERROR] either view_id or external_id is required');
    const checked = checkView(args.view);
    if (!checked.ok) return checked.answer;
    const target = this.list.find((v) =>
      viewId ? v.id === viewId : v.view.external_id === externalId && v.state === 'open',
    );
    if (!target || target.state !== 'open') return { ok: false, error: 'not_found' };
    if (typeof args.hash === 'string' && args.hash && args.hash !== target.view.hash) {
      return { ok: false, error: 'hash_conflict' };
    }
    const duplicate = this.duplicateExternalId(checked.view, target);
    if (duplicate) return duplicate;
    this.replace(target, checked.view);
    return { ok: true, view: target.view };
  }

  /**
   * The app's answer to a view_submission of `viewId` (its HTTP status and body), applied as
   * Slack applies it.
   */
  settleSubmission(viewId: string, answer: { status: number; text: string }): ViewOutcome {
    const view = this.find(viewId);
    const outcome = view ? this.settle(view, answer) : refused(`no view ${viewId}`);
    view?.submissions.push(outcome);
    if (view) this.changed(view);
    return outcome;
  }

  /** The person closed the view they see (Close, × or Escape): it goes, the one under it shows again. */
  closeByUser(viewId: string): SimulatedView | undefined {
    const view = this.find(viewId);
    if (!view || view.state !== 'open') return undefined;
    this.closeOne(view, 'user');
    return view;
  }

  private settle(view: SimulatedView, answer: { status: number; text: string }): ViewOutcome {
    if (view.state !== 'open') return refused(`view ${view.id} is not open`);
    if (answer.status !== 200) return refused(`the app answered ${answer.status}`);
    if (!answer.text.trim()) {
      this.closeOne(view, 'submission');
      return { kind: 'closed' };
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return refused('the answer is neither empty nor JSON');
    }
    if (!isRecord(body)) return refused('the answer is not a JSON object');
    switch (body.response_action) {
      case undefined:
        this.closeOne(view, 'submission');
        return { kind: 'closed' };
      case 'errors': {
        const problem = checkErrors(body.errors, view.view);
        if (problem) return refused(problem);
        view.errors = { ...(body.errors as Record<string, string>) };
        view.updatedAt = Date.now();
        return { kind: 'errors', errors: view.errors };
      }
      case 'update': {
        const checked = checkView(body.view);
        if (!checked.ok) return refused(`response_action update: ${messagesOf(checked.answer)}`);
        this.replace(view, checked.view);
        return { kind: 'updated' };
      }
      case 'push': {
        const checked = checkView(body.view);
        if (!checked.ok) return refused(`response_action push: ${messagesOf(checked.answer)}`);
        if (this.stackOf(view.user).length >= MAX_STACK) return refused('push_limit_reached');
        return { kind: 'pushed', viewId: this.add(view.user, checked.view, view).id };
      }
      case 'clear':
        for (const open of this.stackOf(view.user).reverse()) this.closeOne(open, 'cleared');
        return { kind: 'cleared' };
      default:
        return refused(`unknown response_action ${JSON.stringify(body.response_action)}`);
    }
  }

  private add(user: string, input: Args, under: SimulatedView | null): SimulatedView {
    const id = viewId();
    const now = Date.now();
    const view: SimulatedView = {
      id,
      user,
      view: this.build(input, id, under ? under.view.root_view_id : id, under ? under.id : null),
      state: 'open',
      openedAt: now,
      updatedAt: now,
      submissions: [],
    };
    this.list.push(view);
    this.changed(view);
    return view;
  }

  private replace(target: SimulatedView, input: Args): void {
    target.view = this.build(input, target.id, target.view.root_view_id, target.view.previous_view_id);
    delete target.errors;
    target.updatedAt = Date.now();
    this.changed(target);
  }

  private closeOne(view: SimulatedView, by: ViewClosedBy): void {
    view.state = 'closed';
    view.closedBy = by;
    view.closedAt = Date.now();
    this.changed(view);
  }

  private build(input: Args, id: string, root: string, previous: string | null): SlackView {
    return {
      id,
      team_id: this.identity.teamId,
      type: 'modal',
      title: text(input.title)!,
      submit: text(input.submit) ?? null,
      close: text(input.close) ?? null,
      blocks: withIds(input.blocks as Args[]),
      private_metadata: typeof input.private_metadata === 'string' ? input.private_metadata : '',
      callback_id: typeof input.callback_id === 'string' ? input.callback_id : '',
      external_id: typeof input.external_id === 'string' ? input.external_id : '',
      state: { values: {} },
      hash: viewHash(),
      clear_on_close: input.clear_on_close === true,
      notify_on_close: input.notify_on_close === true,
      root_view_id: root,
      previous_view_id: previous,
      app_id: this.identity.appId,
      app_installed_team_id: this.identity.teamId,
      bot_id: this.identity.botId,
    };
  }

  private duplicateExternalId(input: Args, self?: SimulatedView): Answer | undefined {
    const external = input.external_id;
    if (typeof external !== 'string' || !external) return undefined;
    const taken = this.list.some((v) => v !== self && v.state === 'open' && v.view.external_id === external);
    return taken ? { ok: false, error: 'duplicate_external_id' } : undefined;
  }
}

/**
 * The checks Slack makes of a modal view before it shows it, answered as Slack answers them:
 * `invalid_arguments` with a line per problem in response_metadata.messages.
 */
export function checkView(raw: unknown): Checked {
  if (raw === undefined || raw === null || raw === '') return { ok: false, answer: missing('view') };
  let view: unknown = raw;
  if (typeof raw === 'string') {
    try {
      view = JSON.parse(raw) as unknown;
    } catch {
      return { ok: false, answer: invalid('[ERROR] view must be a JSON object [json-pointer:/view]') };
    }
  }
  if (!isRecord(view)) {
    return { ok: false, answer: invalid('[ERROR] view must be a JSON object [json-pointer:/view]') };
  }
  if (Buffer.byteLength(JSON.stringify(view)) > MAX_VIEW_BYTES) {
    return { ok: false, answer: { ok: false, error: 'view_too_large' } };
  }
  const errors: string[] = [];
  const fail = (pointer: string, message: string) =>
    errors.push(`[ERROR] ${message} [json-pointer:/view${pointer}]`);
  if (view.type !== 'modal') fail('/type', 'must be one of the following: modal');
  checkText(view.title, '/title', 24, true, fail);
  checkText(view.submit, '/submit', 24, false, fail);
  checkText(view.close, '/close', 24, false, fail);
  checkLength(view.callback_id, '/callback_id', 255, fail);
  checkLength(view.private_metadata, '/private_metadata', 3000, fail);
  checkLength(view.external_id, '/external_id', 255, fail);
  for (const flag of ['clear_on_close', 'notify_on_close', 'submit_disabled'] as const) {
    if (view[flag] !== undefined && typeof view[flag] !== 'boolean') fail(`/${flag}`, 'must be a boolean');
  }
  const blocks = view.blocks;
  if (!Array.isArray(blocks)) {
    fail('/blocks', blocks === undefined ? 'missing required field: blocks' : 'must be an array');
  } else {
    const inputs = checkBlocks(blocks, '/blocks', 100, fail);
    if (inputs > 0 && view.submit === undefined) {
      fail('', 'must provide a submit property when using input blocks');
    }
  }
  return errors.length > 0 ? { ok: false, answer: invalid(...errors) } : { ok: true, view };
}

/** Errors of a `response_action: errors` name input blocks of the view, each with a line of text. */
function checkErrors(errors: unknown, view: SlackView): string | undefined {
  if (!isRecord(errors) || Object.keys(errors).length === 0) return 'errors must be a non-empty object';
  const inputs = new Set(view.blocks.filter((b) => b.type === 'input').map((b) => b.block_id));
  for (const [blockId, message] of Object.entries(errors)) {
    if (typeof message !== 'string' || !message) return `errors.${blockId} must be a non-empty string`;
    if (!inputs.has(blockId))
      return `errors names ${JSON.stringify(blockId)}, which is no input block of the view`;
  }
  return undefined;
}

/** The input blocks of a view with the state Slack sends for `values` (typed text by block_id, then action_id). */
export function viewState(
  view: SlackView,
  values: Record<string, Record<string, string | null | undefined>> = {},
): SlackView['state'] {
  const state: SlackView['state'] = { values: {} };
  for (const block of view.blocks) {
    if (block.type !== 'input' || !isRecord(block.element)) continue;
    const element = block.element;
    const type = String(element.type);
    const actionId = String(element.action_id);
    const typed = values[block.block_id]?.[actionId];
    state.values[block.block_id] = {
      [actionId]: VALUE_INPUTS.has(type)
        ? { type, value: typed === undefined || typed === '' ? null : typed }
        : { type },
    };
  }
  return state;
}

/** Blocks as Slack keeps them: each with a block_id, each input element with an action_id. */
function withIds(blocks: Args[]): ViewBlock[] {
  return blocks.map((block) => {
    const copy = structuredClone(block) as ViewBlock;
    if (typeof copy.block_id !== 'string') copy.block_id = shortId();
    if (copy.type === 'input' && isRecord(copy.element) && typeof copy.element.action_id !== 'string') {
      copy.element.action_id = shortId();
    }
    return copy;
  });
}

function text(value: unknown): TextObject | undefined {
  if (!isRecord(value)) return undefined;
  return { emoji: true, ...(value as unknown as TextObject) };
}

function missing(field: string): Answer {
  return invalid(`[ERROR] missing required field: ${field}`);
}

function invalid(...messages: string[]): Answer {
  return { ok: false, error: 'invalid_arguments', response_metadata: { messages } };
}

function messagesOf(answer: Answer): string {
  const meta = answer.response_metadata;
  const messages = isRecord(meta) && Array.isArray(meta.messages) ? meta.messages : [answer.error];
  return messages.join('; ');
}

function refused(reason: string): ViewOutcome {
  return { kind: 'refused', reason };
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** V followed by 10 of Slack's id characters. */
function viewId(): string {
  return `V${[...randomBytes(10)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
}

function shortId(): string {
  return [...randomBytes(4)].map((b) => ALNUM[b % ALNUM.length]).join('');
}

/** `<seconds>.<hex>`, as Slack's view hashes read. */
function viewHash(): string {
  return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`;
}
