/** What other use cases use of backups: running the Jobs, and how sizes read. */
export { backupPolicyOf, DATABASE_LOCK, runDatabaseJob, saltOf, takeBackup, type JobRun } from './run';
export { formatBytes } from './views';
