#!/usr/bin/env node
import { runMain } from './cli';
import { ConfigError } from './config/errors';

/**
 * The product's entry point (the image's): a real Slack workspace or nothing. The
 * simulators are not part of the product; `npm start` in a checkout runs them.
 */
runMain(process.argv.slice(2), async ({ config, policy }) => {
  if (!config.slack) {
    throw new ConfigError(
      'SLACK_BOT_TOKEN is not set: set it and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) from the Slack app (see the README), or run the offline sandbox with `npm start` in a checkout',
    );
  }
  return { config, slack: config.slack, policy };
});
