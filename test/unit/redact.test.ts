import {
  MAX_PEM_LINES,
  createRedactor,
  keyComponents,
  passesLuhn,
  redactLines,
  redactSecrets,
} from '../../src/kernel/domain/redact';

/** [line, redacted line, a part of the secret that must be gone]. */
const SECRETS: Array<[string, string, string]> = [
  // Key = value, with = : => and JSON quoting.
  ['db connect password=hunter2 host=pg', 'db connect password=[redacted] host=pg', 'hunter2'],
  ['{"token":"abc123def","user":"u1"}', '{"token":"[redacted]","user":"u1"}', 'abc123def'],
  ['api_key: "k-123"', 'api_key: "[redacted]"', 'k-123'],
  ['DB_PASSWORD=hunter2', 'DB_PASSWORD=[redacted]', 'hunter2'],
  ['env POSTGRES_PASSWORD=pg-Secret-99 set', 'env POSTGRES_PASSWORD=[redacted] set', 'pg-Secret-99'],
  [
    'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'AWS_SECRET_ACCESS_KEY=[redacted]',
    'wJalrXUtnFEMI',
  ],
  ['{"db_password": "correct horse battery"}', '{"db_password": "[redacted]"}', 'correct horse'],
  ['X-Api-Key: 5f2b9c1e7d4a', 'X-Api-Key: [redacted]', '5f2b9c1e7d4a'],
  ['Cookie: session=abc123; theme=dark', 'Cookie: [redacted]', 'abc123'],
  ['set-cookie: sid=s%3Aq1w2e3.r4t5; Path=/; HttpOnly', 'set-cookie: [redacted]', 'q1w2e3'],
  ['login password="my secret pass" user=jane', 'login password="[redacted]" user=jane', 'my secret pass'],
  ["clientSecret='9d8c7b6a' retry=1", "clientSecret='[redacted]' retry=1", '9d8c7b6a'],
  ['spring.datasource.password=pa55word!', 'spring.datasource.password=[redacted]', 'pa55word'],
  ['MYSQL_ROOT_PASSWORD: "root pw 1"', 'MYSQL_ROOT_PASSWORD: "[redacted]"', 'root pw 1'],
  ['--db-password=hunter2 --verbose', '--db-password=[redacted] --verbose', 'hunter2'],
  ['DB_PASSWORD=Tr0ub4dor&3 next', 'DB_PASSWORD=[redacted] next', 'Tr0ub4dor&3'],
  ['Uid=sa;Pwd=S3cret!;Server=db', 'Uid=sa;Pwd=[redacted];Server=db', 'S3cret'],
  ['x-auth-token: t0k3n-value', 'x-auth-token: [redacted]', 't0k3n-value'],
  ['creds=admin:admin123', 'creds=[redacted]', 'admin123'],
  ['msg={\\"password\\":\\"x1y2z3\\"}', 'msg={\\"password\\":\\"[redacted]\\"}', 'x1y2z3'],
  [
    '{"credentials":{"user":"svc","secret":"p@ss-w0rd"},"ok":true}',
    '{"credentials":[redacted],"ok":true}',
    'p@ss-w0rd',
  ],
  ['"api_keys": ["k1-abc", "k2-def"]', '"api_keys": [redacted]', 'k1-abc'],
  ['GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345', 'GITHUB_TOKEN=[redacted]', 'ghp_0123'],
  ['params {:password => "sekrit"}', 'params {:password => "[redacted]"}', 'sekrit'],
  ['pass: letmein', 'pass: [redacted]', 'letmein'],
  // URLs with credentials and query parameters.
  [
    'DATABASE_URL=postgres://azora:s3cr3t@postgres:5432/azora',
    'DATABASE_URL=postgres://azora:[redacted]@postgres:5432/azora',
    's3cr3t',
  ],
  [
    'connecting to redis://:redisPw9@redis:6379/0',
    'connecting to redis://:[redacted]@redis:6379/0',
    'redisPw9',
  ],
  [
    'git fetch https://deploy:gh0stPass@git.azora.io/repo.git',
    'git fetch https://deploy:[redacted]@git.azora.io/repo.git',
    'gh0stPass',
  ],
  ['amqp://guest:gu3st@rabbit:5672/%2f', 'amqp://guest:[redacted]@rabbit:5672/%2f', 'gu3st'],
  [
    // Socket Mode's single-use WebSocket URL, which the SDK logs at debug: its ticket opens a connection.
    'connecting to wss://wss-primary.slack.com/link/?ticket=5f2c9a1e-77aa-4c1d&app_id=A0AZORA',
    'connecting to wss://wss-primary.slack.com/link/?ticket=[redacted]&app_id=A0AZORA',
    '5f2c9a1e',
  ],
  [
    'GET /oauth/callback?access_token=ya29.a0AfB&x=1 200',
    'GET /oauth/callback?access_token=[redacted]&x=1 200',
    'ya29',
  ],
  [
    'GET /v1/charges?limit=10&api_key=abcd1234 200',
    'GET /v1/charges?limit=10&api_key=[redacted] 200',
    'abcd1234',
  ],
  [
    'POST /token client_id=chatops&client_secret=s3cr3tv4lue&grant_type=client_credentials',
    'POST /token client_id=chatops&client_secret=[redacted]&grant_type=client_credentials',
    's3cr3tv4lue',
  ],
  // Bearer and basic auth, JWTs.
  ['Authorization: Bearer eyJhbGciOi.abc', 'Authorization: Bearer [redacted]', 'eyJhbGciOi'],
  ['calling with bearer 0123456789abcdef', 'calling with bearer [redacted]', '0123456789abcdef'],
  ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic [redacted]', 'dXNlcjpwYXNz'],
  ['Authorization: Bearer "q1w2e3r4" sent', 'Authorization: Bearer "[redacted]" sent', 'q1w2e3r4'],
  [
    'Proxy-Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l',
    'Proxy-Authorization: Basic [redacted]',
    'YWxhZGRp',
  ],
  ['upstream sent Basic dXNlcjpwYXNz back', 'upstream sent Basic [redacted] back', 'dXNlcjpwYXNz'],
  ['retrying with Bearer abc.def', 'retrying with Bearer [redacted]', 'abc.def'],
  ['"authorization":"Bearer sk-abc"', '"authorization":"Bearer [redacted]"', 'sk-abc'],
  [
    'session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl ok',
    'session [redacted-jwt] ok',
    'eyJzdWIi',
  ],
  // Private keys on one line.
  [
    'tls -----BEGIN RSA PRIVATE KEY-----MIIEowIBAAKCAQEA7b-----END RSA PRIVATE KEY----- loaded',
    'tls [redacted-private-key] loaded',
    'MIIEowIBAAKCAQEA7b',
  ],
  [
    '{"pem":"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIBkg\\n-----END EC PRIVATE KEY-----\\n"}',
    '{"pem":"[redacted-private-key]\\n"}',
    'MHcCAQEEIBkg',
  ],
  ['key=-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk', 'key=[redacted-private-key]', 'b3BlbnNz'],
  // Well-known token prefixes.
  ['slack xoxb-1234567890-abcdef leaked', 'slack [redacted-slack-token] leaked', 'xoxb-1234567890'],
  ['token xoxp-2222-3333-4444-abcdef0123 in url', 'token [redacted-slack-token] in url', 'xoxp-2222'],
  ['socket xapp-1-A0123ABC-456789-abcdef0123456789', 'socket [redacted-slack-token]', 'xapp-1'],
  ['refresh xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4 rotated', 'refresh [redacted-slack-token] rotated', 'Mi0yLTEy'],
  [
    'posting to https://hooks.slack.com/services/T0AZORA01/B0AZORA02/xYzAbC123dEf456gHi789',
    'posting to https://hooks.slack.com/services/[redacted-slack-webhook]',
    'xYzAbC123',
  ],
  ['cloned with ghp_0123456789abcdefghijABCDEFGHIJ012345', 'cloned with [redacted-github-token]', 'ghp_0123'],
  [
    'github_pat_11AZORA0000000000000000_abcdefghijklmnopqrstuvwxyz0123456789 expired',
    '[redacted-github-token] expired',
    'github_pat_11',
  ],
  ['git using ghs_abcdefghijklmnopqrstuvwxyz0123456789', 'git using [redacted-github-token]', 'ghs_abc'],
  [
    'charge failed for sk_live_FAKEazoraTESTkey0001',
    'charge failed for [redacted-stripe-key]',
    'sk_live_FAKE',
  ],
  ['rk_test_FAKEazoraRestricted01 ok', '[redacted-stripe-key] ok', 'rk_test_FAKE'],
  ['webhook whsec_FAKEazoraWebhookSecret01', 'webhook [redacted-stripe-key]', 'whsec_FAKE'],
  ['key AKIAABCDEFGHIJKLMNOP used', 'key [redacted-aws-key] used', 'AKIAABCDEFGHIJKLMNOP'],
  ['assumed ASIAABCDEFGHIJKLMNOP', 'assumed [redacted-aws-key]', 'ASIAABCDEFGHIJKLMNOP'],
  ['aws_access_key_id=AKIAABCDEFGHIJKLMNOP', 'aws_access_key_id=[redacted-aws-key]', 'AKIAABCDEFGHIJKLMNOP'],
  ['maps AIzaSyFAKEazora0123456789abcdefghijklmn', 'maps [redacted-google-key]', 'AIzaSyFAKE'],
  // Card numbers passing the Luhn check.
  ['card 4111 1111 1111 1111 charged', 'card [redacted-card] charged', '4111 1111 1111 1111'],
  ['pan=5555-5555-5555-4444', 'pan=[redacted-card]', '5555-5555'],
  ['amex 378282246310005 declined', 'amex [redacted-card] declined', '378282246310005'],
  ['{"number":"6011111111111117"}', '{"number":"[redacted-card]"}', '6011111111111117'],
];

/** Lines that look like they could hold a secret and do not. */
const HARMLESS = [
  'GET /api/pay/health 200 3ms',
  'GET /api/pay/health 200 3ms tokens_used=0? no: "status ok"',
  'tokens_used=42',
  'keyboard layout=us',
  'monkey=banana',
  'donkey=3 turkey=4 hockey=5',
  'author=jane',
  'authors: jane, joe',
  'password_reset_requested user=42',
  'the token expired',
  'the key to a fast cache is locality',
  'sk_live keys are refused in staging',
  'publishable pk_live_FAKEazoraPublic01 loaded',
  'configure the xoxb- token first',
  'GitHub tokens start with ghp_',
  'AKIA123 is too short to be a key',
  'eyJ is how a JWT starts',
  'missing Bearer token in request',
  'Basic auth is disabled for /metrics',
  '{"token_type":"Bearer","expires_in":3600}',
  'order 1234567890123 shipped',
  'payment 4111 1111 1111 1112 rejected: invalid number',
  'elapsed since 1732615200123 ms',
  'call +1 415 555 0100 from on-call',
  'card ending 4242 declined',
  'amount=12.50 currency=EUR',
  '2026-11-26T10:00:03.123Z request done',
  'request_id=550e8400-e29b-41d4-a716-446655440000',
  'image=registry.azora.io/payment@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  'commit 3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39',
  'version=1.2.3 build=20261126.4',
  'DATABASE_URL=postgres://postgres:5432/db',
  'connecting to redis://redis:6379',
  'git clone https://git@github.com/azora/chatops.git',
  'https://azora.io/docs?page=2&sort=asc',
  'auth_service=http://auth:8080/health timeout',
  'dial tcp auth:8080: connect: connection refused',
  'TLS handshake with auth.azora.svc.cluster.local:8443 ok',
  'maxTokens: 100',
  'prompt_tokens=12 completion_tokens=30 total_tokens=42',
  'keys=3 secrets=2',
  'secrets synced: 3',
  'tokenizer=bpe vocabulary=50257',
  'passthrough=true bypass=cache',
  'compass heading=270',
  'auth_enabled=true',
  '{"token": null, "retry": 1}',
  'password= reason=empty',
  'password="" reason=empty',
  'password=[redacted] already',
  'token=*** masked',
  'DB_PASSWORD=${DB_PASSWORD}',
  'POSTGRES_PASSWORD_FILE=/run/secrets/postgres',
  'secret_name=payment-db-credentials',
  'token_expires_at=2026-11-26T10:00:00Z',
  'key_size=2048 alg=RSA key_id=7f3a2b',
  'public_key=ssh-ed25519',
  'cache_key=users:42 hit=true',
  'idempotency_key=req-9f8e7d',
  'cookie_domain=.azora.io cookie_secure=true',
  'x-request-id: 4f9c2b7e',
  'loaded -----BEGIN CERTIFICATE----- from the bundle',
];

describe('secret redaction in log lines', () => {
  it(`has at least 40 secret-bearing lines and 40 look-alikes (${SECRETS.length}, ${HARMLESS.length})`, () => {
    expect(SECRETS.length).toBeGreaterThanOrEqual(40);
    expect(HARMLESS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(SECRETS)('hides the secret of %s', (line, expected, secret) => {
    expect(line).toContain(secret);
    const out = redactSecrets(line);
    expect(out).not.toContain(secret);
    expect(out).toBe(expected);
  });

  it.each(HARMLESS)('leaves %s alone', (line) => {
    expect(redactSecrets(line)).toBe(line);
  });

  it('gives the same line when run twice', () => {
    for (const [, expected] of SECRETS) expect(redactSecrets(expected)).toBe(expected);
  });

  it('splits key names into the components the rule looks at', () => {
    expect(keyComponents('AWS_SECRET_ACCESS_KEY')).toEqual(['aws', 'secret', 'access', 'key']);
    expect(keyComponents('XApiKey')).toEqual(['x', 'api', 'key']);
    expect(keyComponents('maxTokens')).toEqual(['max', 'tokens']);
    expect(keyComponents('spring.datasource.password')).toEqual(['spring', 'datasource', 'password']);
    expect(keyComponents('s3Key2')).toEqual(['s', '3', 'key', '2']);
  });
});

describe('Luhn check', () => {
  it('accepts card numbers and rejects their neighbours', () => {
    for (const card of [
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '6011111111111117',
      '79927398713',
    ])
      expect(passesLuhn(card)).toBe(true);
    for (const other of ['4111111111111112', '1234567890123', '79927398710', '', '4111-1111'])
      expect(passesLuhn(other)).toBe(false);
  });
});

const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'Proc-Type: 4,ENCRYPTED',
  'DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF',
  'MIIEowIBAAKCAQEA7bqQk3gq1T2lJ8mE4JqZ0dWlq+9kq2w8Qp5r1m3XyZaB0cD1',
  'eF2gH3iJ4kL5mN6oP7qR8sT9uV0wX1yZ2aB3cD4eF5gH6iJ7kL8mN9oP0qR1s==',
  '-----END RSA PRIVATE KEY-----',
];
const HIDDEN = '[redacted-private-key]';

describe('private keys across lines', () => {
  const lines = ['loading key for payment', ...PEM, 'key loaded password=x'];
  const expected = ['loading key for payment', ...PEM.map(() => HIDDEN), 'key loaded password=[redacted]'];

  it('hides a whole PEM block in a batch, one line out for each line in', () => {
    const out = redactLines(lines);
    expect(out).toEqual(expected);
    expect(out.join('\n')).not.toMatch(/MIIE|eF2g|DEK-Info/);
  });

  it('hides it line by line as a stream, remembering that it is inside the block', () => {
    const redact = createRedactor();
    expect(lines.map((line) => redact(line))).toEqual(expected);
    // A new redactor starts outside any block.
    expect(createRedactor()('MIIEowIBAAKCAQEA7bqQk3gq1T2lJ8mE4JqZ0dWlq')).toBe(
      'MIIEowIBAAKCAQEA7bqQk3gq1T2lJ8mE4JqZ0dWlq',
    );
  });

  it('keeps what comes before the BEGIN and after the END on their lines', () => {
    const redact = createRedactor();
    expect(redact('private_key: -----BEGIN PRIVATE KEY-----')).toBe(`private_key: ${HIDDEN}`);
    expect(redact('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe(HIDDEN);
    expect(redact('-----END PRIVATE KEY----- token=abc123')).toBe(`${HIDDEN} token=[redacted]`);
    expect(redact('after the key')).toBe('after the key');
  });

  it('hides a block in a message with line breaks in it', () => {
    expect(redactSecrets(`key:\n${PEM.join('\n')}\ndone`)).toBe(`key:\n${HIDDEN}\ndone`);
    expect(redactSecrets(`key:\n${PEM.slice(0, 3).join('\n')}`)).toBe(`key:\n${HIDDEN}`);
  });

  it('hides the body above an END whose BEGIN a tail cut off', () => {
    const tail = ['GET /health 200', ...PEM.slice(3), 'next line'];
    expect(redactLines(tail)).toEqual(['GET /health 200', HIDDEN, HIDDEN, HIDDEN, 'next line']);
  });

  it('leaves certificates and public keys alone', () => {
    const cert = [
      '-----BEGIN CERTIFICATE-----',
      'MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa',
      '-----END CERTIFICATE-----',
    ];
    expect(redactLines(cert)).toEqual(cert);
  });

  it(`stops hiding after ${MAX_PEM_LINES} lines of a block that never ends`, () => {
    const redact = createRedactor();
    expect(redact('-----BEGIN PRIVATE KEY-----')).toBe(HIDDEN);
    for (let i = 0; i < MAX_PEM_LINES; i += 1) expect(redact('QUJDREVGR0hJSktMTU5PUA==')).toBe(HIDDEN);
    expect(redact('GET /health 200')).toBe('GET /health 200');
  });
});
