import type { z } from 'zod';

/** A configuration mistake an operator can fix; main prints its message alone, without a stack. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `environments.production.approvers: approval: required needs at least one approver` */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join('.');
  return where ? `${where}: ${issue.message}` : issue.message;
}
