// The worker role's floor for `npm run bench`: a BullMQ worker alone, as a process of its
// own with the bot's worker options for the alerts queue (concurrency 8, the stall
// settings), whose processor does nothing but say, for a `ping` job, that it started.
// Tells its parent `ready` over IPC once it waits for jobs; stops when the parent goes.
const { Worker } = require('bullmq');
const { Redis } = require('ioredis');

const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const worker = new Worker(
  process.env.QUEUE,
  async (job) => {
    if (job.name === 'ping') process.send({ type: 'started', id: job.id });
  },
  {
    connection,
    prefix: process.env.REDIS_PREFIX,
    concurrency: 8,
    lockDuration: 30_000,
    stalledInterval: 30_000,
  },
);
worker.waitUntilReady().then(() => process.send({ type: 'ready' }));
process.on('disconnect', () =>
  worker
    .close()
    .then(() => connection.quit())
    .then(() => process.exit(0)),
);
