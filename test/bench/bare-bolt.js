// The framework's floor for `npm run bench`: Bolt's own HTTPReceiver, as a process of its
// own like the bot's web role, answering /azora at once and taking an Alertmanager
// notification by parsing it and answering 202. Prints `ready` once it listens.
const { App, HTTPReceiver, LogLevel } = require('@slack/bolt');

const alertmanager = {
  path: '/alertmanager',
  method: 'POST',
  handler: (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      JSON.parse(body);
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"status":"accepted"}');
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
app.command('/azora', async ({ ack }) => ack({ response_type: 'ephemeral', text: 'ok' }));
app.start(Number(process.env.PORT)).then(() => process.stdout.write('ready\n'));
process.once('SIGTERM', () => app.stop().then(() => process.exit(0)));
