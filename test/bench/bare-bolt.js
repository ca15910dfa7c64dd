// The framework's floor for `npm run bench`: Bolt's own HTTPReceiver, answering /azora at
// once, as a process of its own like the bot's web role. Prints `ready` once it listens.
const { App, HTTPReceiver, LogLevel } = require('@slack/bolt');

const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  logLevel: LogLevel.ERROR,
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
