import { typedText } from '../../../src/kernel/slack/typed-text';
import { escapedCommandText } from '../../../sandbox/slack-requests';

// Slack escapes a slash command's text; the grammar reads what the person typed.
describe("a slash command's text as typed", () => {
  it('undoes the HTML entities Slack sends for &, < and >', () => {
    expect(typedText('grep a&amp;b &lt;nil&gt; &amp;lt;')).toBe('grep a&b <nil> &lt;');
  });

  it('gives links back as they were typed, channels as #name, people as the mention the bot reads', () => {
    // Slack links what looks like an address, labelled with what was typed.
    expect(typedText('grep <http://x.io|x.io> and <https://status.azora.example/x?a=1&amp;b=2>')).toBe(
      'grep x.io and https://status.azora.example/x?a=1&b=2',
    );
    expect(typedText('note mail <mailto:sre@azora.example|sre@azora.example>')).toBe(
      'note mail sre@azora.example',
    );
    expect(typedText('commander <@U0ONCALL|oncall> in <#C0OPS|ops> <@U0BARE> <!here>')).toBe(
      'commander <@U0ONCALL> in #ops <@U0BARE> <!here>',
    );
  });

  it('reads back what the simulated Slack sends, as Slack sends it', () => {
    const people = [{ id: 'U0ONCALL', handle: 'oncall' }];
    const typed = 'incident note cache & DB <slow> since https://grafana.example/d?x=1&y=2';
    const sent = escapedCommandText(typed, people);
    expect(sent).toBe(
      'incident note cache &amp; DB &lt;slow&gt; since <https://grafana.example/d?x=1&amp;y=2>',
    );
    expect(typedText(sent)).toBe(typed);
    expect(escapedCommandText('incident commander @oncall', people)).toBe(
      'incident commander <@U0ONCALL|oncall>',
    );
    expect(typedText(escapedCommandText('incident commander @oncall', people))).toBe(
      'incident commander <@U0ONCALL>',
    );
    expect(escapedCommandText('mail me@oncall and @nobody', people)).toBe('mail me@oncall and @nobody');
  });
});
