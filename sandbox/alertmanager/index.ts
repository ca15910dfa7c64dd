import type { Logger } from '../../src/kernel/log';
import { BuiltinAlertmanager } from './builtin';
import { findAlertmanager, startLocalAlertmanager } from './debian';

export { BuiltinAlertmanager } from './builtin';

/** Which Alertmanager the sandbox runs: Debian's when it is installed, else its own. */
export type AlertmanagerChoice = 'auto' | 'builtin';

export interface SandboxAlertmanagerOptions {
  /** Where a prometheus-alertmanager keeps its config, data and log. */
  dir: string;
  /** 'builtin' serves the silences API from this process even when the binary is there. */
  use?: AlertmanagerChoice;
  logger: Logger;
  searchPath?: string;
}

export interface SandboxAlertmanager {
  /** ALERTMANAGER_URL for the bot. */
  url: string;
  port: number;
  kind: 'prometheus-alertmanager' | 'built-in';
  /** The prometheus-alertmanager process; absent for the built-in one. */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * The sandbox's Alertmanager, for "Silence 1h" and "Expire silence": Debian's
 * prometheus-alertmanager on a loopback port when it is on PATH, otherwise (or when it
 * fails to start) the silences part of its API, served from this process.
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
        stop: local.stop,
      };
    } catch (err) {
      options.logger.warn(
        { err: (err as Error).message },
        'sandbox: prometheus-alertmanager did not start; serving the silences API itself',
      );
    }
  }
  const builtin = await new BuiltinAlertmanager().start();
  return { url: builtin.url, port: builtin.port, kind: 'built-in', stop: () => builtin.stop() };
}

/** `AZORA_SANDBOX_ALERTMANAGER=builtin` picks the built-in one; anything else, or nothing, 'auto'. */
export function alertmanagerChoice(env: NodeJS.ProcessEnv): AlertmanagerChoice {
  return env.AZORA_SANDBOX_ALERTMANAGER?.trim().toLowerCase() === 'builtin' ? 'builtin' : 'auto';
}
