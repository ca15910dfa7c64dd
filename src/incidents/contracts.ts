import { z } from 'zod';
import { INCIDENT_SEVERITIES } from '../config/policy';
import { defineContract } from '../kernel/queue/define';
import { slackChannel, slackUser } from '../kernel/queue/payloads';

export const incidentCommand = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('declare'),
    severity: z.enum(INCIDENT_SEVERITIES),
    title: z.string().min(1).max(200),
    /** Declared from an alert thread: the group (declaring twice gives the first incident). */
    alertGroup: z.string().max(64).optional(),
  }),
  z.object({ action: z.literal('note'), text: z.string().min(1).max(2_000) }),
  z.object({ action: z.literal('status'), status: z.enum(['investigating', 'identified', 'monitoring']) }),
  z.object({ action: z.literal('commander'), user: slackUser }),
  z.object({ action: z.literal('severity'), severity: z.enum(INCIDENT_SEVERITIES) }),
  z.object({ action: z.literal('resolve'), summary: z.string().min(1).max(2_000) }),
  z.object({ action: z.literal('list') }),
  z.object({ action: z.literal('timeline') }),
]);

/** `/azora incident …`: declared, run and resolved by one job per command, told where it was asked and in the incident's channel. */
export const incidentCommandJob = defineContract({
  queue: 'notify',
  name: 'incident-command',
  payload: z.object({
    command: incidentCommand,
    requester: slackUser,
    channel: slackChannel,
    responseUrl: z.url(),
    /** Fixes a declaration's id, so a retried job finds the incident it made. */
    seed: z.string().min(1).max(200),
  }),
  options: { attempts: 2, backoff: { type: 'exponential', delay: 2_000 } },
});

/** Looks whether the incident's commander is due a nudge for a status update; queued for when it will be. */
export const incidentNudgeJob = defineContract({
  queue: 'notify',
  name: 'incident-nudge',
  payload: z.object({ incidentId: z.string().regex(/^i[0-9a-f]{8}$/) }),
  options: { attempts: 2 },
});

/**
 * Adds the incident channel's link as a note on its PagerDuty incident. PagerDuty makes an
 * incident after it accepted the event, so the job tries again, backing off, until it has.
 */
export const incidentPagerDutyNoteJob = defineContract({
  queue: 'notify',
  name: 'incident-pagerduty-note',
  payload: z.object({ incidentId: z.string().regex(/^i[0-9a-f]{8}$/) }),
  options: { attempts: 6, backoff: { type: 'exponential', delay: 2_000 } },
});
