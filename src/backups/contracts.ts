import { z } from 'zod';
import { defineContract } from '../kernel/queue/define';
import { environmentName, slackChannel, slackUser } from '../kernel/queue/payloads';

/** `/azora backup <env>`: a backup Job now, its result in a thread where it was asked. */
export const backupJob = defineContract({
  queue: 'ops',
  name: 'backup',
  payload: z.object({
    environment: environmentName,
    requester: slackUser,
    channel: slackChannel,
    responseUrl: z.url().optional(),
    /** When it was asked for, and what names it: a retried job finds the same Job. */
    at: z.number().int(),
    seed: z.string().min(1).max(200),
  }),
  // One attempt: failures are told as a failed run. A worker taking it over after a crash
  // goes on in the same thread (the outbox's key is the backup's).
  options: { attempts: 1 },
});

/** `/azora backups <env>`: the backups kept, answered to the person who asked. */
export const backupsListJob = defineContract({
  queue: 'ops',
  name: 'backups',
  payload: z.object({ environment: environmentName, responseUrl: z.url() }),
  options: { attempts: 1 },
});

/** The daily backup of one environment, from a BullMQ job scheduler: once per day across every worker. */
export const scheduledBackupJob = defineContract({
  queue: 'ops',
  name: 'scheduled-backup',
  payload: z.object({
    environment: environmentName,
    /** A run put off while the database was busy: what the scheduler's run was, and how many tries so far. */
    postponed: z
      .object({
        seed: z.string().min(1).max(200),
        due: z.number().int(),
        tries: z.number().int().min(1).max(100),
      })
      .optional(),
  }),
  options: { attempts: 1 },
});
