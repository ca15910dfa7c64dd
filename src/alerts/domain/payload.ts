import { z } from 'zod';

/**
 * Label and annotation sets: objects of strings. One check of the whole object, not a
 * schema run per key and per value as z.record makes: a notification of 20 alerts holds
 * about 200 of them, and this check is the webhook's hottest code.
 */
const labels = z.custom<Record<string, string>>(isStrings, { message: 'expected an object of strings' });

function isStrings(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const v of Object.values(value)) if (typeof v !== 'string') return false;
  return true;
}

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  // Alertmanager takes and sends alerts without an alertname: refusing one with a 4xx would
  // lose its whole group (a 4xx is never retried).
  labels,
  annotations: labels.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().default('0001-01-01T00:00:00Z'),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1),
});

/**
 * Alertmanager's webhook payload, version 4. Unknown fields are kept out of the way
 * rather than refused: Alertmanager adds fields without bumping the version.
 */
export const notificationSchema = z.object({
  version: z.literal('4', { message: "expected version '4'" }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().default(''),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(''),
  // No upper bound here: the body's size bounds it, and the webhook keeps what a group holds.
  alerts: z.array(alertSchema).min(1, 'a notification carries at least one alert'),
});

export type Alert = z.infer<typeof alertSchema>;
export type Notification = z.infer<typeof notificationSchema>;
