import Ajv, { type ValidateFunction } from 'ajv';
import { defaultValues, mergeValues, readChartFile, readChartYaml, type Values } from './chart';

/** values.schema.json is what Helm checks every install against: it must take ours and refuse typos. */

let validate: ValidateFunction;

beforeAll(() => {
  // strict: a keyword misspelt in the schema itself is an error too, not a silently ignored check.
  const ajv = new Ajv({ allErrors: true, strict: true });
  validate = ajv.compile(JSON.parse(readChartFile('values.schema.json')) as object);
});

const errorsOf = (values: Values) => {
  validate(values);
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
};

/** values.yaml with one change at a dotted path. */
function withChange(pathText: string, value: unknown): Values {
  const keys = pathText.split('.');
  const override: Values = {};
  let cursor = override;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) cursor[key] = value;
    else cursor = (cursor[key] = {}) as Values;
  });
  return mergeValues(defaultValues(), override);
}

describe('values.schema.json', () => {
  it('is a draft-07 schema that closes the top level against unknown keys', () => {
    const schema = readChartYaml<{ $schema: string; additionalProperties: boolean }>('values.schema.json');
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
  });

  it('accepts the chart default values.yaml', () => {
    expect(errorsOf(defaultValues())).toEqual([]);
  });

  it('accepts the production example as Helm merges it onto values.yaml', () => {
    const production = readChartYaml<Values>('ci', 'production-values.yaml');
    expect(errorsOf(mergeValues(defaultValues(), production))).toEqual([]);
  });

  it("accepts Prometheus for the alert graphs: a URL with a path, a user, and the Secret's keys", () => {
    for (const [key, value] of [
      ['prometheus.url', 'https://prometheus.azora.world/prometheus'],
      ['prometheus.username', 'azora-chatops'],
      ['sealedSecret.encryptedData.PROMETHEUS_BEARER_TOKEN', 'AgB…'],
      ['sealedSecret.encryptedData.PROMETHEUS_PASSWORD', 'AgB…'],
    ] as const) {
      expect(errorsOf(withChange(key, value))).toEqual([]);
    }
  });

  it('accepts the Socket Mode example as Helm merges it onto values.yaml', () => {
    const socketMode = readChartYaml<Values>('ci', 'socket-mode-values.yaml');
    expect(errorsOf(mergeValues(defaultValues(), socketMode))).toEqual([]);
    expect(errorsOf(withChange('sealedSecret.encryptedData.SLACK_APP_TOKEN', 'AgB…'))).toEqual([]);
  });

  it.each([
    ['a misspelt top-level key', 'ingres', { enabled: true }, 'additionalProperties'],
    ['a misspelt nested key', 'web.autoscalling', { enabled: false }, 'additionalProperties'],
    ['a misspelt resource key', 'worker.resources.limit', { cpu: '1' }, 'additionalProperties'],
    ['an unknown secret key', 'sealedSecret.encryptedData.SLACK_BOT_TOKNE', 'AgB…', 'additionalProperties'],
    ['replicas as a string', 'worker.replicas', '3', 'type'],
    ['a boolean as a string', 'networkPolicy.enabled', 'yes', 'type'],
    ['one namespace instead of a list', 'rbac.namespaces', 'azora-staging', 'type'],
    ['no namespace at all', 'rbac.namespaces', [], 'minItems'],
    ['a namespace that is not a DNS label', 'rbac.namespaces', ['Azora_Production'], 'pattern'],
    ['an unknown log level', 'config.logLevel', 'verbose', 'enum'],
    [
      'the Alertmanager URL as a plain value (it may hold credentials: the Secret key ALERTMANAGER_URL)',
      'config.alertmanagerUrl',
      'http://user:password@alertmanager:9093',
      'additionalProperties',
    ],
    ['the Redis CA switch as a string', 'config.redisTlsCa', 'true', 'type'],
    ['a PDB that lets no pod go (every drain would block)', 'worker.pdb.maxUnavailable', 0, 'oneOf'],
    ['the Socket Mode switch as a string', 'slack.socketMode', 'true', 'type'],
    [
      'the app token as a plain value (it is the Secret key SLACK_APP_TOKEN)',
      'slack.appToken',
      'xapp-1',
      'additionalProperties',
    ],
    ['an empty sealed Redis password', 'sealedSecret.encryptedData.REDIS_PASSWORD', '', 'minLength'],
    ['a CPU quantity with a unit typo', 'web.resources.limits.cpu', '500mc', 'pattern'],
    ['a scrape interval without a unit', 'serviceMonitor.interval', '15', 'pattern'],
    ['an empty Secret name', 'existingSecret', '', 'minLength'],
    ['a CIDR without a prefix length', 'networkPolicy.apiServer.cidrs', ['10.0.0.1'], 'pattern'],
    [
      "Prometheus' password in its URL (it is the Secret key PROMETHEUS_PASSWORD)",
      'prometheus.url',
      'http://azora:secret@prometheus:9090',
      'pattern',
    ],
    [
      "Prometheus' URL without a scheme",
      'prometheus.url',
      'prometheus-operated.monitoring.svc:9090',
      'pattern',
    ],
    [
      "Prometheus' token as a plain value (it is the Secret key PROMETHEUS_BEARER_TOKEN)",
      'prometheus.bearerToken',
      'token',
      'additionalProperties',
    ],
    ["Prometheus' port as a string", 'networkPolicy.prometheus.port', '9090', 'type'],
  ])('rejects %s', (_what, pathText, value, keyword) => {
    const values = withChange(pathText, value);
    expect(validate(values)).toBe(false);
    expect(validate.errors?.map((e) => e.keyword)).toContain(keyword);
  });

  it('names the offending key, so the operator can find the typo', () => {
    expect(errorsOf(withChange('web.autoscalling', {})).join('\n')).toMatch(
      /\/web must NOT have additional properties.*"additionalProperty":"autoscalling"/,
    );
  });
});
