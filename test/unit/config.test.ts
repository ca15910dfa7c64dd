import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/env';
import { ConfigError } from '../../src/config/errors';
import { defaultPolicyPath, loadPolicy, parsePolicy } from '../../src/config/policy';
import { safeRunbookUrl } from '../../src/alerts/notify';
import { formatDuration, parseDuration } from '../../src/kernel/domain/duration';
import { makeTestCertificates } from '../kit/redis-server';

const shipped = readFileSync(defaultPolicyPath(), 'utf8');
const configError = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('environment', () => {
  it('defaults to sandbox mode, local Redis and port 3000', () => {
    const config = loadConfig({});
    expect(config.slack).toBeUndefined();
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.redisPrefix).toBe('{azora}');
    expect(config.port).toBe(3000);
    expect(config.policyPath).toBe(defaultPolicyPath());
  });

  it('reads Slack credentials and Redis Cluster nodes', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000',
    });
    expect(config.slack).toEqual({ botToken: 'xoxb-1', signingSecret: 's' });
    expect(config.redisClusterNodes).toEqual(['10.0.0.1:7000', '10.0.0.2:7000']);
  });

  it('reads Socket Mode credentials: an app token and no signing secret', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: ' xapp-1-A0-1-x ' }).slack).toEqual({
      botToken: 'xoxb-1',
      appToken: 'xapp-1-A0-1-x',
    });
    // With both, the app token decides (Socket Mode); the secret is kept, unused.
    expect(
      loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_SIGNING_SECRET: 's' }).slack,
    ).toEqual({ botToken: 'xoxb-1', appToken: 'xapp-1', signingSecret: 's' });
    // An empty app token is no app token.
    expect(
      loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: ' ' }).slack,
    ).toEqual({ botToken: 'xoxb-1', signingSecret: 's' });
  });

  it.each([
    [{ PORT: 'http' }, 'environment PORT: expected a port number'],
    [{ SLACK_BOT_TOKEN: 'xoxp-user' }, 'environment SLACK_BOT_TOKEN: expected a bot token (xoxb-…)'],
    [
      { SLACK_BOT_TOKEN: 'xoxb-1' },
      'environment SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN, unless SLACK_APP_TOKEN (xapp-…) is set for Socket Mode',
    ],
    [
      { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xoxb-2' },
      'environment SLACK_APP_TOKEN: expected an app token (xapp-…)',
    ],
    [
      { SLACK_APP_TOKEN: 'xapp-1' },
      'environment SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set',
    ],
    [
      { SLACK_SIGNING_SECRET: 's' },
      'environment SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set',
    ],
    [{ REDIS_URL: 'localhost:6379' }, 'environment REDIS_URL: expected redis://host:port or rediss://…'],
    [
      { REDIS_CLUSTER_NODES: 'a:1,b' },
      "environment REDIS_CLUSTER_NODES: expected host:port[,host:port…], got 'b'",
    ],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_PREFIX: 'azora' },
      'environment REDIS_PREFIX: needs a hash tag on a Redis Cluster, e.g. {azora}, so that all its keys share one slot',
    ],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:99999' },
      "environment REDIS_CLUSTER_NODES: expected host:port[,host:port…], got '127.0.0.1:99999'",
    ],
    [
      { LOG_LEVEL: 'loud' },
      'environment LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    ],
    [{ SLACK_API_URL: 'not a url' }, 'environment SLACK_API_URL: expected an http(s) URL'],
    [
      { ALERTMANAGER_URL: 'ftp://alertmanager:9093' },
      'environment ALERTMANAGER_URL: expected an http(s) URL, or several separated by commas',
    ],
    [
      { ALERTMANAGER_URL: 'http://alertmanager-0:9093,alertmanager-1:9093' },
      'environment ALERTMANAGER_URL: expected an http(s) URL, or several separated by commas',
    ],
    [{ PAGERDUTY_API_URL: 'file:///etc/passwd' }, 'environment PAGERDUTY_API_URL: expected an http(s) URL'],
  ])('refuses %j', (env, message) => {
    expect(configError(() => loadConfig(env))).toBe(message);
  });
});

describe('Redis credentials and TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'azora-config-'));
  const ca = path.join(dir, 'ca.pem');
  const cert = path.join(dir, 'client.pem');
  const key = path.join(dir, 'client.key');
  const notPem = path.join(dir, 'notes.txt');
  const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const KEY = '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n';
  beforeAll(() => {
    writeFileSync(ca, CERT);
    writeFileSync(cert, CERT);
    writeFileSync(key, KEY);
    writeFileSync(notPem, 'hello');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has neither by default', () => {
    const config = loadConfig({});
    expect(config.redisAuth).toBeUndefined();
    expect(config.redisTls).toBeUndefined();
  });

  it('takes credentials from REDIS_URL, decoded', () => {
    const config = loadConfig({ REDIS_URL: 'redis://azora:s%40cret%3A1@redis:6379' });
    expect(config.redisAuth).toEqual({ username: 'azora', password: 's@cret:1' });
    expect(config.redisUrl).toBe('redis://azora:s%40cret%3A1@redis:6379');
  });

  it('lets REDIS_USERNAME and REDIS_PASSWORD override the URL’s, one at a time', () => {
    const url = 'redis://azora:old@redis:6379';
    expect(loadConfig({ REDIS_URL: url, REDIS_PASSWORD: 'new' }).redisAuth).toEqual({
      username: 'azora',
      password: 'new',
    });
    expect(loadConfig({ REDIS_URL: url, REDIS_USERNAME: 'bot' }).redisAuth).toEqual({
      username: 'bot',
      password: 'old',
    });
    expect(loadConfig({ REDIS_PASSWORD: ' spaced ' }).redisAuth).toEqual({ password: ' spaced ' });
    expect(loadConfig({ REDIS_PASSWORD: 'from-echo\n' }).redisAuth).toEqual({ password: 'from-echo' });
    expect(loadConfig({ REDIS_PASSWORD: '' }).redisAuth).toBeUndefined();
  });

  it('turns TLS on for rediss:// and for any REDIS_TLS_* file, reading the files', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://redis:6380' }).redisTls).toEqual({});
    expect(loadConfig({ REDIS_TLS_CA_FILE: ca }).redisTls).toEqual({ ca: CERT });
    const pair = makeTestCertificates(mkdtempSync(path.join(dir, 'pair-')));
    const read = (file: string) => readFileSync(file, 'utf8');
    expect(
      loadConfig({
        REDIS_CLUSTER_NODES: '10.0.0.1:7000',
        REDIS_TLS_CA_FILE: pair.ca,
        REDIS_TLS_CERT_FILE: pair.clientCert,
        REDIS_TLS_KEY_FILE: pair.clientKey,
      }).redisTls,
    ).toEqual({ ca: read(pair.ca), cert: read(pair.clientCert), key: read(pair.clientKey) });
    // Another certificate's key fails at start, naming it, not at every handshake later.
    expect(
      configError(() =>
        loadConfig({ REDIS_TLS_CERT_FILE: pair.clientCert, REDIS_TLS_KEY_FILE: pair.serverKey }),
      ),
    ).toMatch(
      /^environment REDIS_TLS_KEY_FILE: not usable with REDIS_TLS_CERT_FILE's certificate \(.*key values mismatch/,
    );
  });

  it.each([
    [
      'a CA file that is not there',
      { REDIS_TLS_CA_FILE: '/no/such/ca.pem' },
      'REDIS_TLS_CA_FILE: cannot read /no/such/ca.pem (ENOENT)',
    ],
    ['a directory for the CA file', { REDIS_TLS_CA_FILE: '/' }, 'REDIS_TLS_CA_FILE: cannot read / (EISDIR)'],
    [
      'a CA file with no certificate',
      { REDIS_TLS_CA_FILE: notPem },
      `REDIS_TLS_CA_FILE: ${notPem} holds no PEM certificate`,
    ],
    [
      'a certificate for a key',
      { REDIS_TLS_CERT_FILE: cert, REDIS_TLS_KEY_FILE: cert },
      `REDIS_TLS_KEY_FILE: ${cert} holds no PEM private key`,
    ],
    [
      'a client certificate without its key',
      { REDIS_TLS_CERT_FILE: cert },
      'REDIS_TLS_KEY_FILE: REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together (a client certificate and its key)',
    ],
    ['a REDIS_URL that is no URL', { REDIS_URL: 'redis://[::1' }, 'REDIS_URL: not a valid URL'],
  ])('refuses %s in one line naming the variable', (_what, env, message) => {
    expect(configError(() => loadConfig(env))).toBe(`environment ${message}`);
  });
});

describe('policy', () => {
  it('ships a policy describing the guide’s platform', () => {
    const policy = loadPolicy(defaultPolicyPath());
    expect(policy.environments.production).toMatchObject({
      namespace: 'azora-production',
      strategy: 'blue-green',
      approval: 'required',
    });
    expect(policy.environments.staging).toMatchObject({
      namespace: 'azora-staging',
      strategy: 'rolling',
      approval: 'none',
    });
    expect(policy.services['api-gateway']).toMatchObject({
      deployment: 'azora-api-gateway',
      port: 3000,
      health: '/api/health',
      replicas: { min: 3, max: 10 },
    });
    expect(policy.services.payment?.health).toBe('/api/pay/health');
    expect(policy.services['postgres-replica']?.statefulset).toBe('postgres-replica');
    expect(policy.guards).toEqual({
      approvalTtl: 900_000,
      scaleCooldown: 180_000,
      bakeWindow: 900_000,
      lockLease: 600_000,
    });
  });

  it.each([
    [
      'approvers: [U0APPROVER1, U0APPROVER2, S0SREGROUP]',
      'approvers: []',
      'environments.production.approvers: approval: required needs at least one approver',
    ],
    [
      'strategy: blue-green',
      'strategy: canary',
      'environments.production.strategy: Invalid option: expected one of "rolling"|"blue-green"',
    ],
    [
      'health: /api/pay/health',
      'health: api/pay/health',
      'services.payment.health: Invalid string: must start with "/"',
    ],
    ['    deployment: azora-auth\n', '', 'services.auth: set exactly one of deployment or statefulset'],
    [
      'scaleCooldown: 3m',
      'scaleCooldown: soon',
      "guards.scaleCooldown: expected a duration such as 90s, 15m, 2h or 7d, got 'soon'",
    ],
    ['ops: C0AZORAOPS', 'ops: ops-channel', 'channels.ops: expected a Slack id starting with CG'],
    // Two buttons of one action would share an action_id, and Slack refuses the alert's message.
    [
      'AzoraHighErrorRate: [rollback, switch-back, logs]',
      'AzoraHighErrorRate: [rollback, logs, logs]',
      'alerts.runbooks.AzoraHighErrorRate: each runbook action at most once',
    ],
    [
      '      requests: { cpu: 250m, memory: 256Mi }\n      limits: { cpu: 500m, memory: 512Mi }\n  staging:',
      '      requests: { cpu: 250m, memory: 1Gi }\n      limits: { cpu: 500m, memory: 512Mi }\n  staging:',
      'backups.production.resources.requests.memory: the memory request (1Gi) is over its limit (512Mi); the API server would refuse the Job',
    ],
    [
      'limits: { cpu: 500m, memory: 512Mi }\n  staging:',
      'limits: { cpu: half, memory: 512Mi }\n  staging:',
      'backups.production.resources.limits.cpu: expected a Kubernetes quantity such as 250m, 0.5, 512Mi or 1Gi',
    ],
    [
      'staging: { replicas: { min: 0, max: 2 } }',
      'qa: { replicas: { min: 0, max: 2 } }',
      "services.postgres-replica.environments.qa: unknown environment 'qa'",
    ],
  ])('names the field when %s becomes %s', (from, to, message) => {
    expect(shipped).toContain(from);
    expect(configError(() => parsePolicy(shipped.replace(from, to), 'p.yaml'))).toBe(
      `policy p.yaml: ${message}`,
    );
  });

  it('takes runbook hosts in any case, as URLs give them lower-case', () => {
    const policy = parsePolicy(
      shipped.replace(
        '  # runbookHosts: [runbooks.azora.example]',
        '  runbookHosts: [Runbooks.Azora.Example]',
      ),
      'p.yaml',
    );
    expect(policy.alerts.runbookHosts).toEqual(['runbooks.azora.example']);
    expect(safeRunbookUrl('https://RUNBOOKS.azora.example/db', policy.alerts.runbookHosts)).toBe(
      'https://runbooks.azora.example/db',
    );
  });

  it('loads a policy of only the keys operators and tests rely on, as DESIGN.md shows them', () => {
    const policy = parsePolicy(
      [
        'environments:',
        '  staging:    { namespace: azora-staging,    strategy: rolling,    approval: none }',
        '  production: { namespace: azora-production, strategy: blue-green, approval: required,',
        '                approvers: [U0APPROVER1, S0SREGROUP],    # Slack user or user-group ids',
        '                context: gke-azora-prod }                # optional kubeconfig context',
        'services:',
        '  api-gateway: { deployment: azora-api-gateway, port: 3000, health: /api/health,',
        '                 replicas: { min: 3, max: 10 } }',
      ].join('\n'),
      'minimal.yaml',
    );
    expect(policy.environments.production).toMatchObject({
      approvers: ['U0APPROVER1', 'S0SREGROUP'],
      context: 'gke-azora-prod',
    });
    expect(policy.services['api-gateway']).toMatchObject({
      health: '/api/health',
      replicas: { min: 3, max: 10 },
    });
    // No channels named: the shipped policy's, so that alerts and notices still have a home.
    expect(policy.channels).toEqual(loadPolicy(defaultPolicyPath()).channels);
    expect(policy.guards.approvalTtl).toBe(900_000);
  });

  it('warns of channel roles a policy leaves to the shipped ids, and of nothing in the shipped policy', () => {
    const warnings: string[] = [];
    const yaml = [
      'environments:',
      '  staging: { namespace: azora-staging, strategy: rolling, approval: none }',
      '  production: { namespace: azora-production, strategy: blue-green, approval: required, approvers: [U0APPROVER1] }',
      'channels: { ops: C0MYOPS, alerts: C0MYALERTS }',
      'services:',
      '  api-gateway: { deployment: azora-api-gateway, port: 3000, health: /api/health, replicas: { min: 1, max: 3 } }',
    ].join('\n');
    const policy = parsePolicy(yaml, 'mine.yaml', (text) => warnings.push(text));
    expect(policy.channels.ops).toBe('C0MYOPS');
    expect(warnings).toEqual([
      "policy mine.yaml: no channel named for incidents, announcements; posting to the shipped policy's " +
        'incidents C0INCIDENTS, announcements C0ANNOUNCE, which only the sandbox has: name your workspace’s ' +
        'channel ids under `channels`',
    ]);
    loadPolicy(defaultPolicyPath(), (text) => warnings.push(text));
    expect(warnings).toHaveLength(1);
  });

  it('says when the file is not YAML', () => {
    expect(configError(() => parsePolicy('environments: [', 'p.yaml'))).toMatch(
      /^policy p\.yaml: not valid YAML: /,
    );
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it.each(['', '15', 'm', '1.5h', '-1m', '15 m'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
