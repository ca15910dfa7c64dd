export { alertGraphJob, alertGraphJobId } from './contracts';
export { AuditStreamWindow, type AuditWindow, type RequestLookup } from './changes';
export { GraphClaims } from './claims';
export { createGraphDeps } from './deps';
export { drawAlertGraph, ThreadNotYet, type DrawDeps, type DrawOutcome, type GraphDeps } from './draw';
export { queueGraph } from './queue';
export { redrawTooSoon } from './views';
