import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Every place a credential can appear in what we log: our own config, HTTP headers of
 * requests we receive or send, and Slack payload fields that carry tokens.
 */
const REDACT_PATHS = [
  'config.slackBotToken',
  'config.slackSigningSecret',
  'config.slackAppToken',
  'config.pagerdutyRoutingKey',
  'config.pagerdutyApiToken',
  'config.alertmanagerWebhookToken',
  'config.prometheus.bearerToken',
  'config.prometheus.password',
  'config.redisUrl',
  'config.redisAuth.password',
  'config.redisTls.key',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers["x-slack-signature"]',
  'token',
  '*.token',
  'body.token',
  'payload.token',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'azora-chatops' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
