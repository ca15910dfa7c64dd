import { randomBytes } from 'node:crypto';
import type { Config, SlackCredentials } from '../config/env';
import { SimulatedSlack } from './slack-api';

export interface Sandbox {
  config: Config;
  slack: SlackCredentials;
  simulatedSlack: SimulatedSlack;
  stop(): Promise<void>;
}

/**
 * Without Slack credentials the bot runs against simulated outside systems, with a
 * signing secret made up for this run, so every request still takes the real path.
 */
export async function startSandbox(config: Config): Promise<Sandbox> {
  const simulatedSlack = await new SimulatedSlack().start();
  const slack = { botToken: simulatedSlack.botToken, signingSecret: randomBytes(24).toString('hex') };
  return {
    config: { ...config, slackApiUrl: simulatedSlack.apiUrl },
    slack,
    simulatedSlack,
    stop: () => simulatedSlack.stop(),
  };
}
