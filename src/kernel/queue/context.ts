import type { Services } from '../../deps';

/** What a processor gets: the bot's services, and which attempt of which job this is. */
export type JobContext = Services & {
  job: { id: string; attemptsMade: number; attempts: number };
};
