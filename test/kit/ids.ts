/**
 * The Slack ids and namespaces the tests act with: those of the default policy
 * (src/config/default-policy.yaml), plus an engineer and a bystander it does not name.
 */
export const ENGINEER = 'U0ENGINEER';
export const APPROVER = 'U0APPROVER1';
export const SECOND_APPROVER = 'U0APPROVER2';
export const BYSTANDER = 'U0BYSTANDER';
/** Responds to alerts and presses runbook buttons in production (test/kit/policy.ts). */
export const ONCALL = 'U0ONCALL';

export const OPS = 'C0AZORAOPS';
export const ALERTS = 'C0ALERTS';
export const INCIDENTS = 'C0INCIDENTS';

export const STG = 'azora-staging';
export const PROD = 'azora-production';

/** The bearer token the tests give the bot and Alertmanager for the webhook. */
export const WEBHOOK_TOKEN = 'am-webhook-token';
