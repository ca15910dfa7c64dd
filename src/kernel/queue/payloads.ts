import { z } from 'zod';

/** Pieces of job payload schemas that several jobs share. */
export const environmentName = z.enum(['staging', 'production']);
export const colour = z.enum(['blue', 'green']);
export const slackUser = z.string().regex(/^[UW][A-Z0-9]+$/);
export const slackChannel = z.string().regex(/^[CGD][A-Z0-9]+$/);

export const changeCommand = z.discriminatedUnion('verb', [
  z.object({
    verb: z.literal('scale'),
    environment: environmentName,
    service: z.string(),
    replicas: z.number().int().min(0),
    force: z.boolean(),
  }),
  z.object({
    verb: z.literal('switch'),
    environment: environmentName,
    colour,
    service: z.string().optional(),
  }),
  z.object({
    verb: z.literal('rollback'),
    environment: environmentName,
    service: z.string().optional(),
    toRevision: z.number().int().positive().optional(),
  }),
  z.object({
    verb: z.literal('deploy'),
    environment: environmentName,
    service: z.string(),
    version: z.string().min(1).max(300),
    force: z.boolean(),
  }),
  z.object({
    verb: z.literal('restore'),
    environment: environmentName,
    backup: z.string().regex(/^azora-backup-[a-z]+-\d{8}-\d{4}-[0-9a-f]{4}$/),
  }),
  z.object({
    verb: z.literal('maintenance'),
    /** now: from approval; schedule: at `start` on short notice; move or cancel the window `windowId`. */
    action: z.enum(['now', 'schedule', 'move', 'cancel']).default('now'),
    environment: environmentName,
    start: z.number().int().optional(),
    durationMs: z.number().int().positive(),
    reason: z.string().min(1).max(500),
    windowId: z
      .string()
      .regex(/^m[a-z0-9-]+$/)
      .optional(),
  }),
]);

export const requestRefId = z.string().regex(/^r[0-9a-f]{8}$/);
export const requestRef = z.object({ requestId: requestRefId });
