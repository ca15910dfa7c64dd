import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/kernel/log';
import { systemClock } from '../../src/kernel/clock';
import { workerAdapters } from '../../src/worker-adapters';
import { testPolicy } from '../kit/policy';

/** The worker's clients as the composition root makes them, and what it says about their settings. */
describe('the worker adapters', () => {
  const warningsWith = (env: NodeJS.ProcessEnv): string[] => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('warn', sink);
    // A kubeconfig of its own: the adapters are made, not used.
    workerAdapters(testPolicy(), loadConfig(env), logger, systemClock, (c) =>
      c.loadFromOptions({
        clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      }),
    );
    return lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  };

  it('warns at start of a PagerDuty API token without the From address its notes need', () => {
    expect(warningsWith({ PAGERDUTY_API_TOKEN: 'u+token' })).toEqual([
      'PAGERDUTY_API_TOKEN is set without PAGERDUTY_FROM_EMAIL: notes on PagerDuty incidents will fail',
    ]);
    expect(warningsWith({ PAGERDUTY_API_TOKEN: 'u+token', PAGERDUTY_FROM_EMAIL: 'sre@azora.world' })).toEqual(
      [],
    );
  });
});
