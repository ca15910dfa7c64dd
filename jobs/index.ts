import type { JobDefinition } from '../src/kernel/queue/define';
import { alertActionJob } from './alert-action';
import { alertNotificationJob } from './alert-notification';
import { pagerDutyEventJob } from './pagerduty-event';
import { endBakeJob } from './end-bake';
import { executeRequestJob } from './execute-request';
import { expireRequestJob } from './expire-request';
import { logsJob } from './logs';
import { maintenanceCommandJob } from './maintenance-command';
import { maintenanceNoticeJob } from './maintenance-notice';
import { maintenanceRecurringJob } from './maintenance-recurring';
import { oncallJob } from './oncall';
import { planRequestJob } from './plan-request';
import { postMessageJob } from './post-message';
import { statusJob } from './status';

/** Every job the worker role runs. */
export const JOBS: readonly JobDefinition[] = [
  postMessageJob,
  planRequestJob,
  executeRequestJob,
  expireRequestJob,
  endBakeJob,
  statusJob,
  logsJob,
  alertNotificationJob,
  alertActionJob,
  pagerDutyEventJob,
  oncallJob,
  maintenanceCommandJob,
  maintenanceNoticeJob,
  maintenanceRecurringJob,
];
