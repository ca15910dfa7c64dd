import type { z } from 'zod';
import type { JobDefinition } from '../src/kernel/queue/define';
import type { JobContext } from '../src/deps';
import { alertActionProcessor } from './alert-action';
import { alertGraphProcessor } from './alert-graph';
import { legacyAlertNotificationProcessor } from './alert-notification';
import { pagerDutyEventProcessor } from './pagerduty-event';
import { endBakeProcessor } from './end-bake';
import { executeRequestProcessor } from './execute-request';
import { expireRequestProcessor } from './expire-request';
import { logsProcessor } from './logs';
import { maintenanceCommandProcessor } from './maintenance-command';
import { maintenanceNoticeProcessor } from './maintenance-notice';
import { maintenanceRecurringProcessor } from './maintenance-recurring';
import { oncallProcessor } from './oncall';
import { planRequestProcessor } from './plan-request';
import { postMessageProcessor } from './post-message';
import { releasesProcessor } from './releases';
import { backupProcessor } from './backup';
import { backupsListProcessor } from './backups';
import { scheduledBackupProcessor } from './scheduled-backup';
import { incidentCommandProcessor } from './incident-command';
import { incidentNudgeProcessor } from './incident-nudge';
import { incidentPagerDutyNoteProcessor } from './incident-pagerduty-note';
import { pinEntryProcessor } from './pin-entry';
import { statusProcessor } from './status';

/** What the alert inbox's drain runs for each notification. */
export { alertNotificationProcessor } from './alert-notification';

/** Every BullMQ job the worker role runs. */
export const JOBS: readonly JobDefinition<z.ZodType, JobContext>[] = [
  postMessageProcessor,
  planRequestProcessor,
  executeRequestProcessor,
  expireRequestProcessor,
  endBakeProcessor,
  statusProcessor,
  releasesProcessor,
  backupProcessor,
  backupsListProcessor,
  scheduledBackupProcessor,
  incidentCommandProcessor,
  incidentNudgeProcessor,
  incidentPagerDutyNoteProcessor,
  pinEntryProcessor,
  logsProcessor,
  legacyAlertNotificationProcessor,
  alertActionProcessor,
  alertGraphProcessor,
  pagerDutyEventProcessor,
  oncallProcessor,
  maintenanceCommandProcessor,
  maintenanceNoticeProcessor,
  maintenanceRecurringProcessor,
];
