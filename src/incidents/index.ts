/** What other use cases and the composition root use of incidents: the timeline's feed. */
export { alertActionEvent, feed, fromAlertGroup, fromAudit, type BotEvent } from './feed';
