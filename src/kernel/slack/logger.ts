import { LogLevel, type Logger as SlackLogger } from '@slack/logger';
import { redactSecrets } from '../domain/redact';
import type { Logger } from '../log';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * Bolt and the Web API client log through this, so their lines are pino JSON like ours, and
 * every line is redacted: Bolt's debug lines carry request bodies, tokens included.
 */
export function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack' });
  // Bolt logs every request at debug with its whole body: formatting it only when the level
  // is on keeps that garbage (and the GC pauses it causes) off the hot path.
  const at =
    (level: Level) =>
    (...parts: unknown[]) => {
      if (!child.isLevelEnabled(level)) return;
      child[level](
        redactSecrets(parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')),
      );
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel: () => undefined,
    getLevel: () => (child.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}
