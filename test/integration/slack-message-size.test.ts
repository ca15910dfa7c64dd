import type { KnownBlock, WebClient } from '@slack/web-api';
import { postMessageProcessor } from '../../jobs/post-message';
import type { JobContext } from '../../src/deps';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { simulatedSlackClient } from '../kit/slack-client';

/**
 * Slack refuses a message of more than 50 blocks or a block past its limits
 * (`invalid_blocks`), more than 40,000 characters of text (`msg_too_long`), blocks of
 * more than about 12,000 characters of text in all (`msg_blocks_too_long`), or nothing to
 * show (`no_text`); the simulated Slack does too, so a path that posts without fitting
 * its message fails in the tests as it would in Slack.
 */

const blocks = (n: number): KnownBlock[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `line ${i}` } }));

describe('messages Slack cannot take', () => {
  let slack: SimulatedSlack;
  let client: WebClient;

  beforeAll(async () => {
    slack = await new SimulatedSlack().start();
    client = simulatedSlackClient(slack);
  });
  afterAll(() => slack.stop());

  it('are refused by the simulated Slack, posted and edited alike', async () => {
    const channel = 'C0AZORAOPS';
    await expect(client.chat.postMessage({ channel, text: 'x', blocks: blocks(51) })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    await expect(client.chat.postMessage({ channel, text: 'x'.repeat(40_001) })).rejects.toMatchObject({
      data: { error: 'msg_too_long' },
    });
    const posted = await client.chat.postMessage({ channel, text: 'x', blocks: blocks(50) });
    await expect(
      client.chat.update({ channel, ts: posted.ts!, text: 'y', blocks: blocks(51) }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    expect(slack.messages.filter((m) => m.channel === channel).map((m) => m.text)).toEqual(['x']);
  });

  it("are refused with Slack's line per block that breaks a limit", async () => {
    const tooLong: KnownBlock[] = [
      { type: 'section', text: { type: 'mrkdwn', text: 'z'.repeat(3001) } },
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b'.repeat(76) } }],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: '' }] },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: 'ok' },
        accessory: { type: 'button', action_id: 'c', text: { type: 'plain_text', text: 'd'.repeat(76) } },
      },
    ];
    await expect(
      client.chat.postMessage({ channel: 'C0AZORAOPS', text: 'x', blocks: tooLong }),
    ).rejects.toMatchObject({
      data: {
        error: 'invalid_blocks',
        response_metadata: {
          messages: [
            '[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
            '[ERROR] must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]',
            '[ERROR] must be a non-empty string [json-pointer:/blocks/2/elements/0/text]',
            '[ERROR] must be less than 76 characters [json-pointer:/blocks/3/accessory/text/text]',
          ],
        },
      },
    });
    await expect(client.chat.postMessage({ channel: 'C0AZORAOPS', text: ' ' })).rejects.toMatchObject({
      data: { error: 'no_text' },
    });
  });

  it('are cut to fit by the post-message job', async () => {
    const ctx = { slack: client } as unknown as JobContext;
    await postMessageProcessor.run(
      { channel: 'C0AZORAOPS', text: 'y'.repeat(50_000), blocks: blocks(60) },
      ctx,
    );
    const [message] = slack.messages.filter((m) => m.text.startsWith('y'));
    expect(message!.text.length).toBeLessThanOrEqual(40_000);
    expect(message!.blocks).toHaveLength(50);
    expect(JSON.stringify(message!.blocks.at(-1))).toContain('11 more');
  });

  it('are refused past about 12,000 characters of block text in all, and cut to fit by the job', async () => {
    const heavy: KnownBlock[] = Array.from({ length: 6 }, (_, i) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: `${i}${'w'.repeat(2_500)}` },
    }));
    await expect(
      client.chat.postMessage({ channel: 'C0AZORAOPS', text: 'x', blocks: heavy }),
    ).rejects.toMatchObject({ data: { error: 'msg_blocks_too_long' } });
    const ctx = { slack: client } as unknown as JobContext;
    await postMessageProcessor.run({ channel: 'C0AZORAOPS', text: 'heavy', blocks: heavy }, ctx);
    const [message] = slack.messages.filter((m) => m.text === 'heavy');
    expect(message!.blocks).toHaveLength(5);
    expect(JSON.stringify(message!.blocks.at(-1))).toContain('… and 2 more');
  });
});
