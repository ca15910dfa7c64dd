import { parseCommand } from '../../src/commands/domain/parse';
import type { Vocabulary } from '../../src/commands/domain/types';
import { nextFirstSundays, parseStart } from '../../src/maintenance/domain/time';
import { noticesFor, overlapping, type MaintenanceWindow } from '../../src/maintenance/domain/window';
import { windowListMessage } from '../../src/maintenance/views';
import { checkMessage } from '../../sandbox/slack-blocks';

// Thursday 26 November 2026, 10:00 UTC.
const NOW = Date.UTC(2026, 10, 26, 10, 0);
const vocabulary: Vocabulary = { environments: ['staging', 'production'], services: ['auth'] };
const parse = (text: string) => parseCommand(text, vocabulary, NOW);

describe('maintenance start times', () => {
  it.each([
    [['2026-12-06T02:00Z'], Date.UTC(2026, 11, 6, 2, 0), 1],
    [['2026-12-06T02:00:00Z'], Date.UTC(2026, 11, 6, 2, 0), 1],
    [['2026-12-06', '02:00'], Date.UTC(2026, 11, 6, 2, 0), 2],
    [['sun', '02:00'], Date.UTC(2026, 10, 29, 2, 0), 2],
    [['thu', '09:00'], Date.UTC(2026, 11, 3, 9, 0), 2],
    [['thu', '11:00'], Date.UTC(2026, 10, 26, 11, 0), 2],
  ])('%j', (words, at, consumed) => {
    expect(parseStart(words, NOW)).toEqual({ ok: true, at, consumed });
  });

  it.each([
    [['2026-11-01T02:00Z'], '2026-11-01T02:00:00.000Z is in the past'],
    [
      ['2026-12-06T02:00'],
      "'2026-12-06T02:00' has no time zone; write it in UTC with a Z, e.g. 2026-12-06T02:00Z",
    ],
    [['2026-02-31T02:00Z'], "'2026-02-31T02:00Z' is not a real date"],
    [
      ['tomorrow'],
      "cannot read the start 'tomorrow'; write 2026-12-06T02:00Z, 2026-12-06 02:00 or sun 02:00 (UTC)",
    ],
    [['2028-01-01T00:00Z'], 'the start is more than a year away'],
  ])('refuses %j', (words, error) => {
    expect(parseStart(words, NOW)).toEqual({ ok: false, error });
  });

  it('finds the first Sundays of the coming months', () => {
    expect(nextFirstSundays(NOW, '02:00', 2).map((t) => new Date(t).toISOString())).toEqual([
      '2026-12-06T02:00:00.000Z',
      '2027-01-03T02:00:00.000Z',
    ]);
  });
});

describe('the maintenance command', () => {
  it('takes a quoted reason whole, even when it ends in a word that names an environment', () => {
    expect(parse('maintenance schedule sun 02:00 2h "failover test"')).toMatchObject({
      ok: true,
      command: { reason: 'failover test', environment: 'production' },
    });
    expect(parse('maintenance schedule sun 02:00 2h “move traffic to staging”')).toMatchObject({
      ok: true,
      command: { reason: 'move traffic to staging', environment: 'production' },
    });
  });

  it('reads a schedule with a multi-word start, a reason and an environment', () => {
    expect(parse('maintenance schedule 2026-12-06 02:00 2h PostgreSQL 15.9 upgrade stg')).toEqual({
      ok: true,
      command: {
        verb: 'maintenance',
        action: 'schedule',
        start: Date.UTC(2026, 11, 6, 2, 0),
        durationMs: 7_200_000,
        reason: 'PostgreSQL 15.9 upgrade',
        environment: 'staging',
      },
    });
    expect(parse('maintenance now 30m failover of postgres-0')).toMatchObject({
      ok: true,
      command: { action: 'now', environment: 'production', durationMs: 1_800_000 },
    });
    expect(parse('maintenance cancel m1a2b3')).toEqual({
      ok: true,
      command: { verb: 'maintenance', action: 'cancel', id: 'm1a2b3' },
    });
  });

  it.each([
    ['maintenance schedule 2026-11-01T02:00Z 2h upgrade', '2026-11-01T02:00:00.000Z is in the past'],
    ['maintenance schedule sun 02:00 0m upgrade', 'the duration needs a duration such as 30s, 15m or 2h'],
    ['maintenance schedule sun 02:00 30s upgrade', 'a maintenance window lasts at least 1m'],
    ['maintenance schedule sun 02:00 25h upgrade', 'the duration is at most 24h'],
    [`maintenance schedule sun 02:00 2h ${'x'.repeat(501)}`, 'the reason is at most 500 characters'],
    ['maintenance schedule sun 02:00 2h', 'say why: the reason is announced to everyone'],
    [
      'maintenance schedule sun 02:00 2h upgrade qa',
      "unknown environment 'qa': use staging or production (to end the reason with that word, put the reason in quotes)",
    ],
    [
      'maintenance schedule someday 2h upgrade',
      "cannot read the start 'someday 2h'; write 2026-12-06T02:00Z, 2026-12-06 02:00 or sun 02:00 (UTC)",
    ],
    ['maintenance reboot', 'maintenance schedule, now, move, list or cancel?'],
  ])('refuses %s', (text, error) => {
    const result = parse(text);
    expect(result.ok ? result.command : result.error).toBe(error);
  });
});

describe('announcements of a window', () => {
  const window: MaintenanceWindow = {
    id: 'm1',
    environment: 'production',
    start: NOW + 10 * 86_400_000,
    end: NOW + 10 * 86_400_000 + 7_200_000,
    reason: 'upgrade',
    requester: 'U0ENGINEER',
    status: 'scheduled',
    recurring: false,
    createdAt: NOW,
  };
  const leads = [604_800_000, 86_400_000, 3_600_000];

  it('comes 7 days, 24 hours and 1 hour ahead, at the start and at the end, in order', () => {
    expect(noticesFor(window, leads, NOW).map((n) => n.name)).toEqual([
      'before-604800000',
      'before-86400000',
      'before-3600000',
      'start',
      'end',
    ]);
  });

  it('skips what is already past when a window is scheduled at short notice', () => {
    const soon = { ...window, start: NOW + 7_200_000, end: NOW + 10_800_000 };
    expect(noticesFor(soon, leads, NOW).map((n) => n.name)).toEqual(['before-3600000', 'start', 'end']);
  });

  it('starts at once a window planned after its start (its job waited), and plans nothing for one over', () => {
    const late = { ...window, start: NOW - 1_500, end: NOW + 3_600_000 };
    expect(noticesFor(late, leads, NOW)).toEqual([
      { name: 'start', at: NOW },
      { name: 'end', at: NOW + 3_600_000 },
    ]);
    expect(noticesFor({ ...late, end: NOW }, leads, NOW)).toEqual([]);
  });

  it('lists every window, however long their reasons, in sections Slack takes', () => {
    const windows = Array.from({ length: 40 }, (_, i) => ({
      ...window,
      id: `m${i}x`,
      reason: 'r'.repeat(300),
    }));
    const list = windowListMessage(windows);
    expect(checkMessage({ ...list })).toBeUndefined();
    expect(list.text.startsWith('*Maintenance windows*\n• *production* from')).toBe(true);
    const shown = JSON.stringify(list.blocks);
    for (let i = 0; i < 40; i++) expect(shown).toContain(`\`m${i}x\``);
  });
});

describe('overlapping windows', () => {
  const at = (
    id: string,
    start: number,
    end: number,
    over: Partial<MaintenanceWindow> = {},
  ): MaintenanceWindow => ({
    id,
    environment: 'production',
    start,
    end,
    reason: 'r',
    requester: 'U0ENGINEER',
    status: 'scheduled',
    recurring: false,
    createdAt: 0,
    ...over,
  });

  it('finds the live windows of the same environment whose time meets its own, not those that only touch it', () => {
    const window = at('m1', 100, 200);
    const others = [
      window,
      at('m2', 150, 250),
      at('m3', 200, 300),
      at('m4', 0, 100),
      at('m5', 120, 130, { environment: 'staging' }),
      at('m6', 90, 110, { status: 'cancelled' }),
      at('m7', 50, 500, { status: 'active' }),
    ];
    expect(overlapping(window, others).map((w) => w.id)).toEqual(['m2', 'm7']);
  });
});
