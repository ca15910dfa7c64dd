import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { ACTION_PATTERN, parseActionId, type ActionKind } from '../kernel/slack/actions';
import type { CoreDeps } from '../deps';
import { slowDown } from '../access/views';
import { tellPresser, type ClickHandler } from './click';
import { withDeadline } from '../kernel/deadline';

/** Buttons that ask for a change: counted against the presser's change requests per minute. */
const CHANGE_KINDS: readonly ActionKind[] = [
  'switch-back',
  'runbook-rollback',
  'runbook-switch-back',
  'runbook-scale-up',
  // A production window's close is a cancel request, as a typed `maintenance cancel` is.
  'close-window',
];

/**
 * A click's ack does not wait for the gate, so the gate has no Slack deadline to meet; it
 * only must not wait for ever on a Redis that hangs rather than fails.
 */
const CLICK_GATE_DEADLINE_MS = 5_000;

const CLICK_FAILED = {
  response_type: 'ephemeral',
  replace_original: false,
  text: ':x: The bot could not handle that click (its Redis may be unreachable; its log names the fault). If nothing happened in the thread, press again shortly.',
} as const;

/**
 * Every button through one Bolt listener and a table with one handler per kind (assembled
 * by the composition root from the handlers' own tables). Bolt runs each registered
 * listener's matchers for every request it receives, so one listener instead of twelve
 * keeps a slash command's cost at the framework's own.
 */
export function registerActions(
  app: App,
  deps: CoreDeps,
  handlers: Readonly<Record<ActionKind, ClickHandler>>,
): void {
  app.action<BlockAction<ButtonAction>>(
    { action_id: ACTION_PATTERN },
    async ({ ack, action, body, respond }) => {
      const ref = parseActionId(action.action_id);
      if (!ref) return void (await ack());
      // Bolt gives no respond() to a click without a response_url (modals, App Home): say nothing then.
      const click = {
        ...ref,
        user: body.user.id,
        responseUrl: body.response_url,
        triggerId: body.trigger_id,
        ...(body.channel?.id ? { channel: body.channel.id } : {}),
        respond: respond ?? (async () => undefined),
      };
      // The replay check and the handler's reads leave before the ack is written, and share
      // one round trip to Redis; nothing acts before the gate has answered.
      const admitted = withDeadline(
        deps.gate.admit(
          `click:${click.user}:${action.action_id}:${action.action_ts}`,
          click.user,
          CHANGE_KINDS.includes(ref.kind)
            ? [{ name: 'changes', perMinute: deps.policy.limits.changesPerMinute }]
            : [],
        ),
        CLICK_GATE_DEADLINE_MS,
        'Redis',
      );
      admitted.catch(() => undefined);
      const handler = handlers[ref.kind];
      const act = typeof handler === 'function' ? () => handler(click) : handler.readAhead(click);
      await ack();
      deps.metrics.slackRequests.inc({ kind: `action:${ref.kind}`, outcome: 'received' });
      try {
        // The same signed click delivered again (a replay, a retry) changes nothing.
        const gate = await admitted;
        if (!gate.ok && gate.replay) {
          deps.metrics.replays.inc({ kind: 'click' });
          return;
        }
        if (!gate.ok) {
          deps.metrics.rateLimited.inc({ limit: gate.limit });
          await tellPresser(click, slowDown(gate.limit, gate.retryInMs));
          return;
        }
        await act();
      } catch (err) {
        deps.metrics.slackRequests.inc({ kind: `action:${ref.kind}`, outcome: 'failed' });
        deps.logger.error({ err: (err as Error).message, kind: ref.kind }, 'a click failed');
        await click
          .respond(CLICK_FAILED)
          .catch((e: unknown) => deps.logger.warn({ err: (e as Error).message }, 'could not say so'));
      }
    },
  );
}
