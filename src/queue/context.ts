import type { WebClient } from '@slack/web-api';
import type { Policy } from '../config/policy';
import type { Logger } from '../log';

/** What a processor may use: adapters and policy, never the HTTP layer. */
export interface JobContext {
  logger: Logger;
  policy: Policy;
  slack: WebClient;
  job: { id: string; attemptsMade: number; attempts: number };
}

export type JobServices = Omit<JobContext, 'job' | 'logger'> & { logger: Logger };
