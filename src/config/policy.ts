import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../kernel/domain/duration';
import { ConfigError, describeIssue } from './errors';
import { ENVIRONMENTS, type EnvironmentName } from '../kernel/domain/environment';
import { QUANTITY, quantityValue } from '../kernel/domain/quantity';

export type { EnvironmentName };

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration such as 90s, 15m, 2h or 7d, got '${text}'`,
    });
    return z.NEVER;
  }
  return ms;
});

const slackId = (prefixes: string) =>
  z
    .string()
    .regex(new RegExp(`^[${prefixes}][A-Z0-9]{2,}$`), `expected a Slack id starting with ${prefixes}`);

const bounds = z
  .object({ min: z.number().int().min(0), max: z.number().int().min(1).max(500) })
  .strict()
  .refine((b) => b.min <= b.max, { message: 'min must not exceed max' });

const channelPurpose = z.enum(['ops', 'incidents', 'alerts', 'announcements']);

/** Who: `everyone` in the workspace, or Slack user (U…, W…) and user-group (S…) ids. */
const audience = z.union([z.literal('everyone'), z.array(slackId('UWS'))]);

/**
 * Who may do what in one environment, and where its commands are accepted. Unset fields
 * take the environment's default: open (`everyone`, any channel) where no approval is
 * required, strict (the approvers only; the ops and incidents channels) where it is.
 */
const access = z
  .object({
    view: audience.optional(),
    request: audience.optional(),
    respond: audience.optional(),
    /** `any`, or channel purposes (ops, incidents, …) and channel ids (C…, G…). */
    channels: z.union([z.literal('any'), z.array(z.union([channelPurpose, slackId('CG')]))]).optional(),
  })
  .strict();

const environment = z
  .object({
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes namespace name'),
    strategy: z.enum(['rolling', 'blue-green']),
    approval: z.enum(['none', 'required']),
    approvers: z.array(slackId('UWS')).default([]),
    context: z.string().min(1).optional(),
    access: access.default({}),
  })
  .strict()
  .refine((e) => e.approval === 'none' || e.approvers.length > 0, {
    message: 'approval: required needs at least one approver',
    path: ['approvers'],
  });

const service = z
  .object({
    deployment: z.string().min(1).optional(),
    statefulset: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535),
    health: z.string().startsWith('/').optional(),
    replicas: bounds,
    environments: z.record(z.string(), z.object({ replicas: bounds }).strict()).default({}),
    /** The image repository a deploy takes versions from (no tag); no other is accepted. */
    image: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9._:-]*[a-z0-9])?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/,
        'expected an image repository without tag, e.g. registry.example/team/app',
      )
      .optional(),
    /** The container a deploy sets the image of; unset, the one running `image`. */
    container: z.string().min(1).optional(),
    /** Requests a deploy makes after the health check, each expecting its status. */
    smoke: z
      .array(
        z
          .object({
            path: z.string().startsWith('/').max(512),
            status: z.number().int().min(100).max(599).default(200),
          })
          .strict(),
      )
      .max(20)
      .default([]),
    /** A version goes to an environment that requires approval only after it succeeded in one that does not (unless an approver forces it). */
    stagingFirst: z.boolean().default(true),
  })
  .strict()
  .refine((s) => (s.deployment === undefined) !== (s.statefulset === undefined), {
    message: 'set exactly one of deployment or statefulset',
  });

const releases = z
  .object({
    /** Alerts that switch a baking service back on their own, without waiting for approval. */
    autoSwitchBack: z.array(z.string().min(1)).default([]),
    /** Release records kept per environment and service. */
    history: z.number().int().min(1).max(50).default(20),
    /** Environments where a deploy backs up the database first (the guide's pre-deployment step). */
    backupFirst: z.array(z.enum(ENVIRONMENTS)).default(['production']),
  })
  .strict();

const RELEASE_DEFAULTS = releases.parse({});

const k8sName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes object name')
  .max(63);

const quantity = z
  .string()
  .regex(QUANTITY, 'expected a Kubernetes quantity such as 250m, 0.5, 512Mi or 1Gi')
  .refine((text) => quantityValue(text)! > 0, 'expected more than nothing');
const cpuAndMemory = z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict();

/**
 * What a database Job's container asks for and may use; the guide's requests and limits by
 * default. A namespace with a ResourceQuota refuses pods that say none.
 */
const jobResources = z
  .object({ requests: cpuAndMemory.default({}), limits: cpuAndMemory.default({}) })
  .strict()
  .superRefine(({ requests, limits }, ctx) => {
    for (const name of ['cpu', 'memory'] as const) {
      const [asked, most] = [requests[name], limits[name]];
      if (asked && most && quantityValue(asked)! > quantityValue(most)!)
        ctx.addIssue({
          code: 'custom',
          path: ['requests', name],
          message: `the ${name} request (${asked}) is over its limit (${most}); the API server would refuse the Job`,
        });
    }
  })
  .default({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } });

/**
 * Database backups of one environment, as Kubernetes Jobs the bot creates from this
 * template: the image runs the shipped scripts (a ConfigMap), reads the password from a
 * Secret the bot itself never reads, and writes dumps to a PersistentVolumeClaim.
 */
const backupTemplate = z
  .object({
    image: z.string().min(1).max(300).default('postgres:15'),
    /**
     * The user the Job's pod runs as, non-root and locked down, so that a namespace that
     * enforces the `restricted` Pod Security standard takes it (999 is the postgres image's
     * own user). Unset: the image's own (root for postgres), as before; the dumps' volume
     * must be writable by the user named here, which a volume kept from root-run backups
     * (NFS, hostPath: no fsGroup) is not.
     */
    runAsUser: z.number().int().min(1).max(2_147_483_647).optional(),
    resources: jobResources,
    database: z
      .object({
        host: z.string().min(1).default('postgres'),
        port: z.number().int().min(1).max(65535).default(5432),
        name: z.string().min(1).default('azora'),
        user: z.string().min(1).default('azora'),
      })
      .strict()
      .default({ host: 'postgres', port: 5432, name: 'azora', user: 'azora' }),
    /** The Secret and key the Job's pod reads PGPASSWORD from. */
    passwordSecret: z
      .object({ name: k8sName, key: z.string().min(1).max(253) })
      .strict()
      .optional(),
    /** The PersistentVolumeClaim the dumps are written to (mounted at /backups). */
    claim: k8sName,
    /** The ConfigMap holding backup.sh and restore.sh (the chart ships it). */
    scripts: k8sName.default('azora-chatops-backup-scripts'),
    /** Daily at this time, UTC; unset: no scheduled backups. */
    schedule: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (UTC)')
      .optional(),
    /** Retention in days: a backup (its dump and its Job) goes once it is older and not among the newest `keep`. */
    keep: z.number().int().min(1).max(90).default(30),
    /** Run after a restore; its first figure is reported. */
    verify: z.string().min(1).max(500).default('SELECT COUNT(*) FROM users;'),
    /** How long one backup or restore Job may run. */
    deadline: duration.default(30 * 60_000),
  })
  .strict();

const MINUTE = 60_000;

export const RUNBOOK_ACTIONS = ['rollback', 'switch-back', 'scale-up', 'logs'] as const;
export type RunbookAction = (typeof RUNBOOK_ACTIONS)[number];

const alerts = z
  .object({
    /** Which channel (by purpose) an alert group goes to, by its severity label. */
    channels: z.record(z.string(), channelPurpose).default({ critical: 'incidents', warning: 'alerts' }),
    defaultChannel: channelPurpose.default('alerts'),
    /** Severities that page PagerDuty. */
    page: z.array(z.string()).default(['critical']),
    silence: duration.default(60 * MINUTE),
    /** More new groups than this in one channel within a minute: one digest instead of a thread each. */
    stormGroupsPerMinute: z.number().int().min(1).default(10),
    /** Slack takes about one message a second per channel; stay under it. */
    slackGap: duration.default(1_100),
    /** Between two chat.update calls anywhere in the workspace: Slack's tier 3 allows 50 a minute. */
    slackUpdateGap: duration.default(1_250),
    scaleUpStep: z.number().int().min(1).default(2),
    /** The runbook buttons an alert gets, by alertname. */
    runbooks: z
      .record(
        z.string(),
        // Two buttons of one action would share an action_id, and Slack refuses the whole alert message.
        z
          .array(z.enum(RUNBOOK_ACTIONS))
          .refine((a) => new Set(a).size === a.length, 'each runbook action at most once'),
      )
      .default({}),
    /** When set, a runbook_url becomes a link button only on these hosts (it must be https anyway). */
    // Host names compare lower-case, as URL parsing gives them (an upper-case entry matched nothing).
    runbookHosts: z
      .array(
        z
          .string()
          .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'expected a host name')
          .transform((host) => host.toLowerCase()),
      )
      .optional(),
  })
  .strict();

const ALERT_DEFAULTS = alerts.parse({});

const maintenance = z
  .object({
    /** Announcements ahead of a window, besides the ones at its start and end. */
    notices: z.array(duration).default([7 * 24 * 60 * MINUTE, 24 * 60 * MINUTE, 60 * MINUTE]),
    /**
     * The guide's notice: a window in an environment that requires approval, starting
     * sooner than this, is emergency maintenance and needs an approver.
     */
    minNotice: duration.default(7 * 24 * 60 * MINUTE),
    /** Silence the environment's alerts in Alertmanager while a window runs. */
    silence: z.boolean().default(true),
    /** PagerDuty service ids to put in a maintenance window while a window runs (needs the REST API token). */
    pagerdutyServices: z.array(z.string().min(1)).default([]),
    recurring: z
      .object({
        environment: z.enum(ENVIRONMENTS),
        /** First Sunday of each month at this time (UTC), as the guide schedules it. */
        time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM'),
        duration,
        reason: z.string().min(1),
      })
      .strict()
      .optional(),
  })
  .strict();

const MAINTENANCE_DEFAULTS = maintenance.parse({});

/** Per user, counted in Redis across every web process. */
const limits = z
  .object({
    commandsPerMinute: z.number().int().min(1).default(20),
    /** Change requests (typed or by runbook button) per minute. */
    changesPerMinute: z.number().int().min(1).default(5),
    /** `logs … follow` running at once. */
    followsAtOnce: z.number().int().min(1).default(2),
  })
  .strict();

const LIMIT_DEFAULTS = limits.parse({});

export const INCIDENT_SEVERITIES = ['sev1', 'sev2', 'sev3'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];
const incidentSeverity = z.enum(INCIDENT_SEVERITIES);

/**
 * The placeholders of an incident channel pattern: the UTC day of the declaration
 * (YYYYMMDD) and the title's slug. No severity: it changes during an incident, a channel
 * name should not.
 */
export function fillChannelPattern(pattern: string, date: string, slug: string): string {
  return pattern.replace(/\{date\}/g, date).replace(/\{slug\}/g, slug);
}

/** Slack's rule for channel names: lower-case letters, digits, `-` and `_`, at most 80. */
export const SLACK_CHANNEL_NAME = /^[a-z0-9_-]{1,80}$/;

/** What a pattern may take besides the slug, so that a title always keeps 20 characters. */
export const CHANNEL_PATTERN_FIXED_MAX = 60;

const channelPattern = z.string().superRefine((pattern, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (pattern.split('{slug}').length !== 2) return fail('must hold {slug} exactly once');
  if (/[{}]/.test(pattern.replace(/\{(date|slug)\}/g, ''))) {
    return fail('the only placeholders are {date} and {slug}');
  }
  const fixed = fillChannelPattern(pattern, '20261202', '');
  if (!/^[a-z0-9_-]*$/.test(fixed)) {
    return fail('Slack channel names take lower-case letters, digits, - and _ only');
  }
  if (fixed.length > CHANNEL_PATTERN_FIXED_MAX) {
    fail(
      `leaves too little room for the title: at most ${CHANNEL_PATTERN_FIXED_MAX} characters besides {slug}`,
    );
  }
});

const severityMeaning = z.object({ description: z.string().min(1).max(150) }).strict();

const INCIDENT_SEVERITY_DEFAULTS = {
  sev1: { description: 'Customers cannot pay, sign in or learn, or data is at risk' },
  sev2: { description: 'A service is degraded for many customers; a workaround may exist' },
  sev3: { description: 'Limited impact, nothing customers cannot work around' },
};

const incidents = z
  .object({
    /** The incident channel's name; `{date}` is the UTC day declared (YYYYMMDD), `{slug}` the title's. */
    channelPattern: channelPattern.default('inc-{date}-{slug}'),
    /** What each severity means, shown where a severity is chosen. */
    severities: z
      .object({ sev1: severityMeaning, sev2: severityMeaning, sev3: severityMeaning })
      .strict()
      .default(INCIDENT_SEVERITY_DEFAULTS),
    /** The severity an incident declared from an alert thread gets, by the alert's severity label. */
    fromAlertSeverity: z.record(z.string(), incidentSeverity).default({ critical: 'sev1', warning: 'sev3' }),
    /** Severities that get a PagerDuty incident (or attach to the one the alert triggered). */
    pagerduty: z.array(incidentSeverity).default(['sev1', 'sev2']),
    /** Invited to every incident channel besides the declarer and whoever is on call. */
    responders: z.array(slackId('UWS')).max(50).default([]),
    /** Per severity: nudge the commander after this long without a status update (once per interval). */
    statusNudge: z
      .partialRecord(
        incidentSeverity,
        duration.refine((ms) => ms >= MINUTE, { message: 'nudge at most once a minute' }),
      )
      .default({ sev1: 30 * MINUTE }),
    /** Per service: the PagerDuty escalation policy whose on-call is invited. */
    escalationPolicies: z
      .record(z.string(), z.string().regex(/^[A-Z0-9]{2,20}$/, 'expected a PagerDuty id such as PABC123'))
      .default({}),
  })
  .strict();

const INCIDENT_DEFAULTS = incidents.parse({});

/** How alert graphs are drawn, in milliseconds and counts. */
const graphs = z
  .object({
    /** How far back a graph looks. */
    window: duration.default(60 * MINUTE),
    /** A group firing for longer than the window widens it, up to this, so its start shows. */
    maxWindow: duration.default(6 * 60 * MINUTE),
    /** The finest step asked of Prometheus; widened so no series gets more than `maxPoints`. */
    step: duration.default(30_000),
    maxPoints: z.number().int().min(10).max(11_000).default(500),
    /** Lines drawn at most; the group's own series first, then the highest. */
    maxSeries: z.number().int().min(1).max(10).default(5),
    /** How long one query may take, Prometheus' own evaluation included. */
    deadline: duration.default(10_000),
    /** The Graph button draws again at most once per this, per group. */
    redrawGap: duration.default(MINUTE),
  })
  .strict()
  .refine((g) => g.maxWindow >= g.window, {
    message: 'maxWindow must not be shorter than window',
    path: ['maxWindow'],
  });

export const GRAPH_DEFAULTS = graphs.parse({});

/**
 * The shipped policy's channel ids, for a policy that names none (one written with only
 * the keys operators and tests rely on: environments and services): it still loads, and
 * the bot posts where the shipped policy would.
 */
const DEFAULT_CHANNELS = {
  ops: 'C0AZORAOPS',
  incidents: 'C0INCIDENTS',
  alerts: 'C0ALERTS',
  announcements: 'C0ANNOUNCE',
};

export const policySchema = z
  .object({
    environments: z.record(z.enum(ENVIRONMENTS), environment),
    channels: z
      .object({
        ops: slackId('CG').default(DEFAULT_CHANNELS.ops),
        incidents: slackId('CG').default(DEFAULT_CHANNELS.incidents),
        alerts: slackId('CG').default(DEFAULT_CHANNELS.alerts),
        announcements: slackId('CG').default(DEFAULT_CHANNELS.announcements),
      })
      .strict()
      .default(DEFAULT_CHANNELS),
    services: z.record(
      z.string().regex(/^[a-z0-9-]+$/, 'service names are lower-case words and dashes'),
      service,
    ),
    guards: z
      .object({
        approvalTtl: duration.default(15 * MINUTE),
        scaleCooldown: duration.default(3 * MINUTE),
        bakeWindow: duration.default(15 * MINUTE),
        lockLease: duration.default(10 * MINUTE),
      })
      .strict()
      .default({
        approvalTtl: 15 * MINUTE,
        scaleCooldown: 3 * MINUTE,
        bakeWindow: 15 * MINUTE,
        lockLease: 10 * MINUTE,
      }),
    alerts: alerts.default(ALERT_DEFAULTS),
    maintenance: maintenance.default(MAINTENANCE_DEFAULTS),
    limits: limits.default(LIMIT_DEFAULTS),
    releases: releases.default(RELEASE_DEFAULTS),
    /** Per environment: how its database is backed up and restored. */
    backups: z.partialRecord(z.enum(ENVIRONMENTS), backupTemplate).default({}),
    incidents: incidents.default(INCIDENT_DEFAULTS),
    graphs: graphs.default(GRAPH_DEFAULTS),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const [name, svc] of Object.entries(p.services)) {
      for (const env of Object.keys(svc.environments)) {
        if (!(env in p.environments)) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', name, 'environments', env],
            message: `unknown environment '${env}'`,
          });
        }
      }
    }
    for (const name of Object.keys(p.incidents.escalationPolicies)) {
      if (!(name in p.services)) {
        ctx.addIssue({
          code: 'custom',
          path: ['incidents', 'escalationPolicies', name],
          message: `unknown service '${name}'`,
        });
      }
    }
  });

export type Policy = z.infer<typeof policySchema>;
export type EnvironmentPolicy = Policy['environments'][EnvironmentName] & {};
export type ServicePolicy = Policy['services'][string] & {};
export type BackupPolicy = NonNullable<Policy['backups'][EnvironmentName]>;
export type IncidentPolicy = Policy['incidents'];
export type GraphSettings = Policy['graphs'];

/** Where the shipped policy lives, both when running from source and from dist/. */
export function defaultPolicyPath(): string {
  let dir = __dirname;
  while (dir !== path.dirname(dir)) {
    const candidate = path.join(dir, 'src', 'config', 'default-policy.yaml');
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw new ConfigError('the shipped default policy (src/config/default-policy.yaml) is missing');
}

/**
 * Parses and checks a policy. `warn` hears what loads but is likely a mistake: a file that
 * names no channel for a role, whose posts then go to the shipped policy's ids, which
 * another workspace does not have (Slack would answer `channel_not_found` at the first alert).
 */
export function parsePolicy(yamlText: string, source: string, warn?: (text: string) => void): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`policy ${source}: not valid YAML: ${reason}`);
  }
  const result = policySchema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ConfigError(`policy ${source}: ${first ? describeIssue(first) : 'invalid'}`);
  }
  const named = (raw as { channels?: Record<string, unknown> }).channels ?? {};
  const unnamed = Object.entries(DEFAULT_CHANNELS).filter(([role]) => named[role] === undefined);
  if (warn && unnamed.length > 0)
    warn(
      `policy ${source}: no channel named for ${unnamed.map(([role]) => role).join(', ')}; ` +
        `posting to the shipped policy's ${unnamed.map(([role, id]) => `${role} ${id}`).join(', ')}, ` +
        'which only the sandbox has: name your workspace’s channel ids under `channels`',
    );
  return result.data;
}

export function loadPolicy(file: string, warn?: (text: string) => void): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`policy ${file}: cannot read the file (${code})`);
  }
  return parsePolicy(text, file, warn);
}
