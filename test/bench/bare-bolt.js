// The framework's floor for `npm run bench`: Bolt's own HTTPReceiver, as a process of its
// own like the bot's web role, answering /azora at once and taking an Alertmanager
// notification by parsing it and answering 202. Prints `ready` once it listens.
//
// With REDIS_URL it is the floor of what DESIGN.md asks of the bot instead: the same app,
// but each answer waits for one Redis command first, as the bot's own must (a webhook is
// answered only once its notification is stored; a command is answered once its delivery
// is marked, so a replay changes nothing). One plain command each, no script, no checks.
const { App, HTTPReceiver, LogLevel } = require('@slack/bolt');
const { Redis } = require('ioredis');

const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
const prefix = `bare-${process.pid}`;
const stored = (body) =>
  redis ? redis.xadd(`${prefix}:inbox`, 'MAXLEN', '~', 1000, '*', 'n', body) : Promise.resolve();
const marked = (trigger) =>
  redis ? redis.set(`${prefix}:seen:${trigger}`, '1', 'PX', 60_000, 'NX') : Promise.resolve();

const alertmanager = {
  path: '/alertmanager',
  method: 'POST',
  handler: (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', async () => {
      try {
        JSON.parse(body);
        await stored(body);
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"status":"accepted"}');
      } catch (err) {
        // Answered, so the load generator counts a failure rather than waiting for ever.
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
      }
    });
  },
};
const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  logLevel: LogLevel.ERROR,
  customRoutes: [alertmanager],
});
const app = new App({
  token: 'xoxb-bench',
  botId: 'B0',
  botUserId: 'U0',
  receiver,
  logLevel: LogLevel.ERROR,
});
app.command('/azora', async ({ ack, command }) => {
  await marked(command.trigger_id);
  await ack({ response_type: 'ephemeral', text: 'ok' });
});
const ready = redis ? redis.ping() : Promise.resolve();
ready.then(() => app.start(Number(process.env.PORT))).then(() => process.stdout.write('ready\n'));
process.once('SIGTERM', () =>
  app
    .stop()
    .then(() => redis?.quit())
    .then(() => process.exit(0)),
);
