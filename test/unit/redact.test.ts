import { redactSecrets } from '../../src/domain/redact';

describe('secret redaction in log lines', () => {
  it.each([
    ['db connect password=hunter2 host=pg', 'db connect password=[redacted] host=pg'],
    ['{"token":"abc123def","user":"u1"}', '{"token":"[redacted]","user":"u1"}'],
    ['Authorization: Bearer eyJhbGciOi.abc', 'Authorization: Bearer [redacted]'],
    ['calling with bearer 0123456789abcdef', 'calling with bearer [redacted]'],
    [
      'DATABASE_URL=postgres://azora:s3cr3t@postgres:5432/azora',
      'DATABASE_URL=postgres://azora:[redacted]@postgres:5432/azora',
    ],
    ['slack xoxb-1234567890-abcdef leaked', 'slack [redacted-slack-token] leaked'],
    ['key AKIAABCDEFGHIJKLMNOP used', 'key [redacted-aws-key] used'],
    ['api_key: "k-123"', 'api_key: "[redacted]"'],
  ])('%s', (line, expected) => {
    expect(redactSecrets(line)).toBe(expected);
  });

  it('leaves ordinary lines alone', () => {
    // Words next to secret-looking keys (tokens_used, "no:") are not secrets.
    for (const line of [
      'GET /api/pay/health 200 3ms',
      'GET /api/pay/health 200 3ms tokens_used=0? no: "status ok"',
    ]) {
      expect(redactSecrets(line)).toBe(line);
    }
  });
});
