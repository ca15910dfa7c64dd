import { testPolicy } from './policy';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/env';
import type { Policy } from '../../src/config/policy';
import type { Deps } from '../../src/deps';
import { createLogger } from '../../src/kernel/log';
import { startBot, type Bot, type Role } from '../../src/runtime';
import { SimulatedSlack, type SimulatedSlackOptions } from '../../sandbox/slack-api';
import type { TestCluster } from './cluster';
import { dropPrefix, TEST_REDIS_URL, uniquePrefix } from './redis';
import { SlackSocketServer } from './slack-socket';

export interface TestBot {
  bot: Bot;
  slack: SimulatedSlack;
  url: string;
  secret: string;
  prefix: string;
  policy: Policy;
  config: Config;
  /** In Socket Mode: Slack's side of the socket, in front of `slack`. */
  socket?: SlackSocketServer;
  /** Stops the bot; its Redis keys go too, unless another bot of the test takes over. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** The real bot in this process, wired to simulated Slack and the real Redis under a prefix of its own. */
export async function startTestBot(
  options: {
    role?: Role;
    env?: NodeJS.ProcessEnv;
    slack?: SimulatedSlackOptions;
    policy?: Policy;
    cluster?: TestCluster;
    prefix?: string;
    /**
     * Socket Mode (SLACK_APP_TOKEN, no signing secret): `true` starts a Socket Mode server of
     * the bot's own; a running one (with its SimulatedSlack upstream) is shared, and left
     * running when the bot stops, so several bots can connect to one app.
     */
    socketMode?: true | SlackSocketServer;
    /** The jobs' waits and the long steps' redraws, for a test that needs them shorter. */
    timing?: Partial<Deps['timing']>;
  } = {},
): Promise<TestBot> {
  const shared = options.socketMode instanceof SlackSocketServer ? options.socketMode : undefined;
  const slack = shared?.upstream ?? (await new SimulatedSlack(options.slack).start());
  const socket =
    shared ?? (options.socketMode ? await new SlackSocketServer({ upstream: slack }).start() : undefined);
  const secret = randomBytes(16).toString('hex');
  const prefix = options.prefix ?? uniquePrefix();
  const config = loadConfig({
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    PORT: '0',
    SLACK_BOT_TOKEN: slack.botToken,
    ...(socket
      ? { SLACK_APP_TOKEN: socket.appToken, SLACK_API_URL: socket.apiUrl }
      : { SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl }),
    ...options.env,
  });
  const policy = options.policy ?? options.cluster?.policy ?? testPolicy();
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const bot = await startBot({
    role: options.role ?? 'all',
    config,
    slack: config.slack!,
    policy,
    logger,
    ...(options.cluster ? { loadKubeConfig: options.cluster.load } : {}),
    timing: { rolloutDeadlineMs: 10_000, endpointsDeadlineMs: 5_000, ...options.timing },
  });
  return {
    bot,
    slack,
    url: bot.web?.url ?? '',
    secret,
    prefix,
    policy,
    config,
    ...(socket ? { socket } : {}),
    async stop({ keepData = false } = {}) {
      await bot.stop(5_000);
      if (!shared) {
        await socket?.stop();
        await slack.stop();
      }
      if (!keepData) await dropPrefix(prefix);
    },
  };
}
