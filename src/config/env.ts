import { z } from 'zod';
import { ConfigError, describeIssue } from './errors';
import { defaultPolicyPath } from './policy';

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const optionalUrl = optionalText.pipe(z.url({ message: 'expected an http(s) URL' }).optional());

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');

const envSchema = z
  .object({
    SLACK_BOT_TOKEN: optionalText.pipe(
      z.string().startsWith('xoxb-', 'expected a bot token (xoxb-…)').optional(),
    ),
    SLACK_SIGNING_SECRET: optionalText,
    SLACK_APP_TOKEN: optionalText.pipe(
      z.string().startsWith('xapp-', 'expected an app token (xapp-…)').optional(),
    ),
    SLACK_API_URL: optionalUrl,
    REDIS_URL: optionalText.pipe(
      z
        .string()
        .regex(/^rediss?:\/\//, 'expected redis://host:port or rediss://…')
        .default('redis://127.0.0.1:6379'),
    ),
    REDIS_CLUSTER_NODES: optionalText.transform((v, ctx) => {
      if (v === undefined) return undefined;
      const nodes = v.split(',').map((n) => n.trim());
      for (const node of nodes) {
        if (!hostPort.safeParse(node).success) {
          ctx.addIssue({ code: 'custom', message: `expected host:port[,host:port…], got '${node}'` });
          return z.NEVER;
        }
      }
      return nodes;
    }),
    REDIS_PREFIX: optionalText.pipe(z.string().default('{azora}')),
    PAGERDUTY_ROUTING_KEY: optionalText,
    PAGERDUTY_API_TOKEN: optionalText,
    PAGERDUTY_FROM_EMAIL: optionalText.pipe(z.email({ message: 'expected an e-mail address' }).optional()),
    PAGERDUTY_EVENTS_URL: optionalUrl,
    PAGERDUTY_API_URL: optionalUrl,
    PAGERDUTY_CA_FILE: optionalText,
    ALERTMANAGER_URL: optionalUrl,
    ALERTMANAGER_WEBHOOK_TOKEN: optionalText,
    AZORA_POLICY: optionalText,
    PORT: optionalText.pipe(
      z.coerce
        .number<string | undefined>({ message: 'expected a port number' })
        .int('expected a port number')
        .min(0, 'expected a port number between 0 and 65535')
        .max(65535, 'expected a port number between 0 and 65535')
        .default(3000),
    ),
    LOG_LEVEL: optionalText.pipe(
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    JOB_STALL_SECONDS: optionalText.pipe(
      z.coerce
        .number<string | undefined>({ message: 'expected seconds' })
        .positive('expected seconds above 0')
        .default(30),
    ),
    SHUTDOWN_TIMEOUT: optionalText.pipe(
      z.coerce
        .number<string | undefined>({ message: 'expected seconds' })
        .positive('expected seconds above 0')
        .default(25),
    ),
  })
  .superRefine((e, ctx) => {
    // Socket Mode is not built yet: an app token alone would leave Slack nothing to verify.
    if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'required with SLACK_BOT_TOKEN (Socket Mode through SLACK_APP_TOKEN is not supported yet)',
      });
    }
    if (!e.SLACK_BOT_TOKEN && (e.SLACK_SIGNING_SECRET || e.SLACK_APP_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_BOT_TOKEN'],
        message: 'required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set',
      });
    }
  });

export interface SlackCredentials {
  botToken: string;
  signingSecret: string;
  appToken?: string;
}

export interface Config {
  /** Absent: sandbox mode, with a simulated workspace. */
  slack?: SlackCredentials;
  slackApiUrl?: string;
  redisUrl: string;
  redisClusterNodes?: string[];
  /** BullMQ key prefix; the braces make one hash slot on Redis Cluster. */
  redisPrefix: string;
  pagerduty: {
    routingKey?: string;
    apiToken?: string;
    fromEmail?: string;
    eventsUrl?: string;
    apiUrl?: string;
    /** PEM file of an extra CA to trust for the Events API (a private relay, or the test fake). */
    caFile?: string;
  };
  alertmanager: { url?: string; webhookToken?: string };
  policyPath: string;
  port: number;
  logLevel: string;
  shutdownTimeoutMs: number;
  /** How long a job may go without its worker's heartbeat before another worker takes it over. */
  jobStallMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ConfigError(`environment ${first ? describeIssue(first) : 'invalid'}`);
  }
  const e = result.data;
  return {
    slack: e.SLACK_BOT_TOKEN
      ? {
          botToken: e.SLACK_BOT_TOKEN,
          signingSecret: e.SLACK_SIGNING_SECRET ?? '',
          ...(e.SLACK_APP_TOKEN ? { appToken: e.SLACK_APP_TOKEN } : {}),
        }
      : undefined,
    slackApiUrl: e.SLACK_API_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisPrefix: e.REDIS_PREFIX,
    pagerduty: {
      routingKey: e.PAGERDUTY_ROUTING_KEY,
      apiToken: e.PAGERDUTY_API_TOKEN,
      fromEmail: e.PAGERDUTY_FROM_EMAIL,
      eventsUrl: e.PAGERDUTY_EVENTS_URL,
      apiUrl: e.PAGERDUTY_API_URL,
      caFile: e.PAGERDUTY_CA_FILE,
    },
    alertmanager: { url: e.ALERTMANAGER_URL, webhookToken: e.ALERTMANAGER_WEBHOOK_TOKEN },
    policyPath: e.AZORA_POLICY ?? defaultPolicyPath(),
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    jobStallMs: e.JOB_STALL_SECONDS * 1000,
  };
}
