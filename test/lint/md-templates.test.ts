import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Prettier formats a template tagged `md` as Markdown unless told not to
 * (`embeddedLanguageFormatting: off` in .prettierrc.json): it once turned `` md`*Open*` ``
 * into a blank line, an italic heading and a line of spaces in what Slack showed. No
 * message template of the product may start on a new line.
 */
const ROOT = path.join(__dirname, '../..');
const sources = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });

describe('mrkdwn templates', () => {
  it('never start on a new line, as Prettier’s Markdown formatting leaves them', () => {
    const files = ['src', 'handlers', 'jobs'].flatMap(sources);
    expect(files.length).toBeGreaterThan(50);
    const broken = files.filter((file) => /\bmd`\s*\n/.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(broken).toEqual([]);
  });

  it('are left alone by Prettier', () => {
    const config = JSON.parse(readFileSync(path.join(ROOT, '.prettierrc.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config.embeddedLanguageFormatting).toBe('off');
  });
});
