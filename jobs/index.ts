import type { JobDefinition } from '../src/queue/define';
import { postMessageJob } from './post-message';

/** Every job the worker role runs. */
export const JOBS: readonly JobDefinition[] = [postMessageJob];
