import type { Logger } from '../../src/kernel/log';
import { BuiltinAlertmanager } from './builtin';
import { findAlertmanager, startLocalAlertmanager } from './debian';
import type { WebhookReceiver } from './dispatcher';

export { BuiltinAlertmanager } from './builtin';
export type { WebhookReceiver } from './dispatcher';

/** Which Alertmanager the sandbox runs: Debian's when it is installed, else its own. */
export type AlertmanagerChoice = 'auto' | 'builtin';

export interface SandboxAlertmanagerOptions {
  /** Where a prometheus-alertmanager keeps its config, data and log. */
  dir: string;
  /** 'builtin' serves the API from this process even when the binary is there. */
  use?: AlertmanagerChoice;
  logger: Logger;
  searchPath?: string;
}

export interface SandboxAlertmanager {
  /** ALERTMANAGER_URL for the bot; the page pushes its alerts to `${url}/api/v2/alerts`. */
  url: string;
  port: number;
  kind: 'prometheus-alertmanager' | 'built-in';
  /** The prometheus-alertmanager process; absent for the built-in one. */
  pid?: number;
  /**
   * Sends notifications to this webhook (the bot's /alertmanager, once its port is known).
   * Calling it again with the same receiver waits for the first call and changes nothing.
   */
  deliverTo(receiver: WebhookReceiver): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The sandbox's Alertmanager, between the page's alerts and the bot's webhook, and where
 * "Silence 1h" and "Expire silence" go: Debian's prometheus-alertmanager on a loopback
 * port when it is on PATH, otherwise (or when it fails to start) the part of its API the
 * sandbox uses, served from this process.
 */
export async function startSandboxAlertmanager(
  options: SandboxAlertmanagerOptions,
): Promise<SandboxAlertmanager> {
  const binary = options.use === 'builtin' ? undefined : findAlertmanager(options.searchPath);
  if (binary) {
    try {
      const local = await startLocalAlertmanager(binary, options.dir);
      return {
        url: local.url,
        port: local.port,
        kind: 'prometheus-alertmanager',
        pid: local.pid,
        deliverTo: once((receiver) => local.deliverTo(receiver)),
        stop: local.stop,
      };
    } catch (err) {
      options.logger.warn(
        { err: (err as Error).message },
        'sandbox: prometheus-alertmanager did not start; serving its API itself',
      );
    }
  }
  const builtin = await new BuiltinAlertmanager({ logger: options.logger }).start();
  return {
    url: builtin.url,
    port: builtin.port,
    kind: 'built-in',
    deliverTo: once(async (receiver) => builtin.deliverTo(receiver)),
    stop: () => builtin.stop(),
  };
}

/** One change per receiver: the same receiver again shares the change already made (or being made). */
function once(apply: (receiver: WebhookReceiver) => Promise<void>): SandboxAlertmanager['deliverTo'] {
  let current: { key: string; done: Promise<void> } | undefined;
  return (receiver) => {
    const key = `${receiver.url} ${receiver.token}`;
    if (current?.key !== key) {
      const done = (current?.done ?? Promise.resolve()).catch(() => undefined).then(() => apply(receiver));
      current = { key, done };
      // A change that failed is tried again by the next call.
      done.catch(() => {
        if (current?.done === done) current = undefined;
      });
    }
    return current.done;
  };
}

/** `AZORA_SANDBOX_ALERTMANAGER=builtin` picks the built-in one; anything else, or nothing, 'auto'. */
export function alertmanagerChoice(env: NodeJS.ProcessEnv): AlertmanagerChoice {
  return env.AZORA_SANDBOX_ALERTMANAGER?.trim().toLowerCase() === 'builtin' ? 'builtin' : 'auto';
}
