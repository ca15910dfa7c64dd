#!/usr/bin/env node
import { runMain } from '../src/cli';
import { startSandbox } from '.';

/**
 * `npm start`: the bot with a simulated Slack workspace, Kubernetes cluster and PagerDuty
 * (and its own redis-server when no REDIS_URL answers). With Slack credentials set it
 * runs the bot as the image does.
 */
runMain(process.argv.slice(2), async ({ config, policy, logger }) => {
  if (config.slack) return { config, slack: config.slack, policy };
  const sandbox = await startSandbox({ config, policy, logger, env: process.env });
  return {
    config: sandbox.config,
    slack: sandbox.slack,
    policy: sandbox.policy,
    loadKubeConfig: sandbox.loadKubeConfig,
    extraRoutes: sandbox.routes,
    banner: (port) => {
      sandbox.listening(port);
      return sandbox.banner(port);
    },
    closeStreams: () => sandbox.closeStreams(),
    stop: () => sandbox.stop(),
  };
});
