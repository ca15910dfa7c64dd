import { Writable } from 'node:stream';
import { createLogger } from '../../src/kernel/log';
import { slackLogger } from '../../src/kernel/slack/logger';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: slackLogger(createLogger(level, sink)) };
}

/** A payload that counts how often it is serialised. */
const payload = () => ({
  serialised: 0,
  toJSON() {
    this.serialised += 1;
    return { text: 'status production' };
  },
});

describe('the logger Bolt and the Web API client write through', () => {
  it('does not even format what is below the level', async () => {
    const { lines, logger } = capture('warn');
    const body = payload();
    logger.debug('Received an event', body);
    logger.info('Listening', body);
    await new Promise((r) => setImmediate(r));
    expect(body.serialised).toBe(0);
    expect(lines).toEqual([]);
  });

  it('writes what is at or above the level as one pino line, objects as JSON', async () => {
    const { lines, logger } = capture('debug');
    logger.debug('Received an event', payload());
    logger.error('failed');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.level, l.component, l.msg])).toEqual([
      ['debug', 'slack', 'Received an event {"text":"status production"}'],
      ['error', 'slack', 'failed'],
    ]);
  });

  it('redacts tokens in what Bolt and the Web API client write', async () => {
    const { lines, logger } = capture('debug');
    const token = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp';
    logger.debug('ack() call begins (body:', { token, channel: 'C1', text: 'status' }, ')');
    logger.debug(`Initializing with token ${token}`);
    logger.warn('http request headers:', { Authorization: `Bearer ${token}` });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual([
      'ack() call begins (body: {"token":"[redacted]","channel":"C1","text":"status"} )',
      'Initializing with token [redacted-slack-token]',
      'http request headers: {"Authorization":"Bearer [redacted]"}',
    ]);
    expect(JSON.stringify(lines)).not.toContain('xoxb-1234567890');
  });
});
