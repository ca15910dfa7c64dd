import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { ConfigError, describeIssue } from './errors';
import { defaultPolicyPath } from './policy';
import { alertmanagerUrls } from '../kernel/alertmanager';

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });
const optionalUrl = optionalText.pipe(httpUrl.optional());

/** One http(s) URL, or several separated by commas (the peers of an Alertmanager cluster). */
const optionalUrls = optionalText.pipe(
  z
    .string()
    .refine((v) => {
      const urls = alertmanagerUrls(v);
      return urls.length > 0 && urls.every((url) => httpUrl.safeParse(url).success);
    }, 'expected an http(s) URL, or several separated by commas')
    .optional(),
);

const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65_535, 'a port is at most 65535');

/** A PEM file read at start-up, so a wrong path stops the bot there, naming the variable. */
function pemFile(label: string, what: RegExp) {
  return optionalText.transform((file, ctx) => {
    if (file === undefined) return undefined;
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      ctx.addIssue({ code: 'custom', message: `cannot read ${file} (${code ?? String(err)})` });
      return z.NEVER;
    }
    if (!what.test(pem)) {
      ctx.addIssue({ code: 'custom', message: `${file} holds no PEM ${label}` });
      return z.NEVER;
    }
    return pem;
  });
}

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
    REDIS_USERNAME: optionalText,
    // Only a line break is cut off (a secret written with `echo`): a password may hold spaces.
    REDIS_PASSWORD: z
      .string()
      .optional()
      .transform((v) => v?.replace(/[\r\n]+$/, '') || undefined),
    REDIS_TLS_CA_FILE: pemFile('certificate', /-----BEGIN CERTIFICATE-----/),
    REDIS_TLS_CERT_FILE: pemFile('certificate', /-----BEGIN CERTIFICATE-----/),
    REDIS_TLS_KEY_FILE: pemFile('private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
    PAGERDUTY_ROUTING_KEY: optionalText,
    PAGERDUTY_API_TOKEN: optionalText,
    PAGERDUTY_FROM_EMAIL: optionalText.pipe(z.email({ message: 'expected an e-mail address' }).optional()),
    PAGERDUTY_EVENTS_URL: optionalUrl,
    PAGERDUTY_API_URL: optionalUrl,
    PAGERDUTY_CA_FILE: optionalText,
    ALERTMANAGER_URL: optionalUrls,
    ALERTMANAGER_WEBHOOK_TOKEN: optionalText,
    PROMETHEUS_URL: optionalUrl,
    PROMETHEUS_BEARER_TOKEN: optionalText,
    PROMETHEUS_USERNAME: optionalText,
    PROMETHEUS_PASSWORD: optionalText,
    AZORA_POLICY: optionalText,
    KUBECONFIG: optionalText,
    KUBERNETES_SERVICE_HOST: optionalText,
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
    // Over HTTP, Slack's requests are verified with the signing secret; in Socket Mode
    // (SLACK_APP_TOKEN) they arrive on a connection the bot opened itself, and nothing is signed.
    if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'required with SLACK_BOT_TOKEN, unless SLACK_APP_TOKEN (xapp-…) is set for Socket Mode',
      });
    }
    if (!e.SLACK_BOT_TOKEN && (e.SLACK_SIGNING_SECRET || e.SLACK_APP_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_BOT_TOKEN'],
        message: 'required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set',
      });
    }
    // Every script touches several keys: on a cluster they must share one slot, which only
    // a hash tag in the prefix gives (else each alert is refused with CROSSSLOT, at run time).
    if (e.REDIS_CLUSTER_NODES && !/\{[^{}]+\}/.test(e.REDIS_PREFIX)) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_PREFIX'],
        message: `needs a hash tag on a Redis Cluster, e.g. {${e.REDIS_PREFIX.replace(/[{}]/g, '') || 'azora'}}, so that all its keys share one slot`,
      });
    }
    if (Boolean(e.REDIS_TLS_CERT_FILE) !== Boolean(e.REDIS_TLS_KEY_FILE)) {
      ctx.addIssue({
        code: 'custom',
        path: [e.REDIS_TLS_CERT_FILE ? 'REDIS_TLS_KEY_FILE' : 'REDIS_TLS_CERT_FILE'],
        message: 'REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together (a client certificate and its key)',
      });
    } else if (e.REDIS_TLS_CERT_FILE && e.REDIS_TLS_KEY_FILE) {
      // A key of another certificate fails every TLS handshake later, as a stack trace.
      try {
        createSecureContext({ cert: e.REDIS_TLS_CERT_FILE, key: e.REDIS_TLS_KEY_FILE });
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_TLS_KEY_FILE'],
          message: `not usable with REDIS_TLS_CERT_FILE's certificate (${(err as Error).message})`,
        });
      }
    }
    if (
      Boolean(e.PROMETHEUS_USERNAME) !== Boolean(e.PROMETHEUS_PASSWORD) ||
      (e.PROMETHEUS_USERNAME && e.PROMETHEUS_BEARER_TOKEN)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: [e.PROMETHEUS_USERNAME ? 'PROMETHEUS_PASSWORD' : 'PROMETHEUS_USERNAME'],
        message:
          'PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD go together (basic auth), and not with PROMETHEUS_BEARER_TOKEN',
      });
    }
    if (!URL.canParse(e.REDIS_URL)) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'not a valid URL' });
    }
  });

/**
 * The bot token, and how Slack reaches the bot: over HTTP (requests signed with the signing
 * secret) or, with an app-level token, over Socket Mode (a WebSocket the bot opens; a signing
 * secret given as well goes unused).
 */
export type SlackCredentials = { botToken: string } & (
  { signingSecret: string; appToken?: undefined } | { appToken: string; signingSecret?: string }
);

export interface RedisAuth {
  username?: string;
  password?: string;
}

/** PEM contents, read from their files at start-up. */
export interface RedisTls {
  /** The CAs to trust instead of Node's bundled ones (a private CA); absent: Node's. */
  ca?: string;
  /** A client certificate and its key, for a server that asks for one (`tls-auth-clients yes`). */
  cert?: string;
  key?: string;
}

export interface Config {
  /** Absent: sandbox mode, with a simulated workspace. */
  slack?: SlackCredentials;
  slackApiUrl?: string;
  redisUrl: string;
  redisClusterNodes?: string[];
  /**
   * ACL user and password, for a single node and for every cluster node alike:
   * REDIS_USERNAME and REDIS_PASSWORD, else the ones in REDIS_URL.
   */
  redisAuth?: RedisAuth;
  /** TLS to Redis: set for a `rediss://` REDIS_URL or any REDIS_TLS_* file, on cluster nodes too. */
  redisTls?: RedisTls;
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
  /** A cluster is named (KUBECONFIG) or this runs in one (its service account). */
  clusterConfigured: boolean;
  /** Where alert graphs are queried; absent: no graphs. */
  prometheus?: { url: string; bearerToken?: string; username?: string; password?: string };
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
    slack: e.SLACK_BOT_TOKEN ? slackCredentials(e.SLACK_BOT_TOKEN, e) : undefined,
    slackApiUrl: e.SLACK_API_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    ...redisSecurity(e),
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
    clusterConfigured: Boolean(e.KUBECONFIG ?? e.KUBERNETES_SERVICE_HOST),
    ...(e.PROMETHEUS_URL
      ? {
          prometheus: {
            url: e.PROMETHEUS_URL,
            ...(e.PROMETHEUS_BEARER_TOKEN ? { bearerToken: e.PROMETHEUS_BEARER_TOKEN } : {}),
            ...(e.PROMETHEUS_USERNAME ? { username: e.PROMETHEUS_USERNAME } : {}),
            ...(e.PROMETHEUS_PASSWORD ? { password: e.PROMETHEUS_PASSWORD } : {}),
          },
        }
      : {}),
    policyPath: e.AZORA_POLICY ?? defaultPolicyPath(),
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    jobStallMs: e.JOB_STALL_SECONDS * 1000,
  };
}

function slackCredentials(botToken: string, e: z.output<typeof envSchema>): SlackCredentials {
  const signing = e.SLACK_SIGNING_SECRET ? { signingSecret: e.SLACK_SIGNING_SECRET } : {};
  if (e.SLACK_APP_TOKEN) return { botToken, appToken: e.SLACK_APP_TOKEN, ...signing };
  // The schema refuses a bot token with neither.
  return { botToken, signingSecret: e.SLACK_SIGNING_SECRET ?? '' };
}

/**
 * Credentials and TLS from REDIS_URL, overridden by the REDIS_* variables. The URL's scheme
 * and credentials count for REDIS_CLUSTER_NODES as well: its host is the only part a cluster ignores.
 */
function redisSecurity(e: z.output<typeof envSchema>): Pick<Config, 'redisAuth' | 'redisTls'> {
  const url = new URL(e.REDIS_URL);
  const username = e.REDIS_USERNAME ?? (decoded(url.username) || undefined);
  const password = e.REDIS_PASSWORD ?? (decoded(url.password) || undefined);
  const files = { ca: e.REDIS_TLS_CA_FILE, cert: e.REDIS_TLS_CERT_FILE, key: e.REDIS_TLS_KEY_FILE };
  const tls = url.protocol === 'rediss:' || Object.values(files).some(Boolean);
  return {
    ...(username || password
      ? { redisAuth: { ...(username ? { username } : {}), ...(password ? { password } : {}) } }
      : {}),
    ...(tls
      ? {
          redisTls: Object.fromEntries(
            Object.entries(files).filter((entry): entry is [string, string] => Boolean(entry[1])),
          ),
        }
      : {}),
  };
}

/** A URL's user or password as written: percent-escapes decoded, a stray `%` left alone. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
