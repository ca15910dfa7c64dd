import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { defaultPolicyPath, loadPolicy } from '../../src/config/policy';
import { SimulatedSlack } from '../../sandbox/slack-api';
import { workspacePage } from '../../sandbox/workspace/page';
import { Workspace, type WorkspaceOptions } from '../../sandbox/workspace/workspace';

const PUBLIC = path.resolve(__dirname, '../../sandbox/workspace/public');

const options = (extra: Partial<WorkspaceOptions> = {}): WorkspaceOptions => ({
  slack: new SimulatedSlack(),
  signingSecret: 'secret',
  alertmanagerToken: 'token',
  policy: loadPolicy(defaultPolicyPath()),
  logger: pino({ level: 'silent' }),
  ...extra,
});

/** The workspace's GET routes on a port of their own, as Bolt would mount them. */
async function serve(workspace: Workspace): Promise<{ url: string; server: Server }> {
  const routes = workspace.routes().filter((r) => r.method === 'GET' && !r.path.includes(':'));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const route = routes.find((r) => r.path === req.url);
    if (!route) {
      res.writeHead(404);
      return void res.end();
    }
    void route.handler(req as Parameters<typeof route.handler>[0], res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("the workspace page's script and styles, run from the sources", () => {
  it('are files of their own that the page links, served with their content types', async () => {
    const page = workspacePage();
    expect(page).toContain('<link rel="stylesheet" href="/sandbox/assets/styles.css">');
    expect(page).toContain('<script type="module" src="/sandbox/assets/client.js"></script>');
    // Nothing of them is inlined any more.
    expect(page).not.toMatch(/<style>|<script>/);

    const workspace = new Workspace(options());
    const { url, server } = await serve(workspace);
    try {
      for (const [file, type] of [
        ['client.js', 'text/javascript; charset=utf-8'],
        ['styles.css', 'text/css; charset=utf-8'],
      ] as const) {
        const res = await fetch(`${url}/sandbox/assets/${file}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(type);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(await res.text()).toBe(readFileSync(path.join(PUBLIC, file), 'utf8'));
      }
    } finally {
      workspace.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('suggests a release to watch in the composer: deploys to staging and production, and a bad one', () => {
    const script = readFileSync(path.join(PUBLIC, 'client.js'), 'utf8');
    const examples = script.slice(script.indexOf('const EXAMPLES'), script.indexOf('const CHIPS'));
    for (const command of [
      '/azora deploy staging payment v1.6.0',
      '/azora deploy production payment v1.6.0',
      // Staging first: production takes a version only once it succeeded there.
      '/azora deploy staging payment v1.6.0-bad',
      '/azora deploy production payment v1.6.0-bad',
    ]) {
      expect(examples).toContain(`['${command}', `);
    }
  });

  it('has a place for modals: a dialog with a form, and Submit and Close buttons', () => {
    const page = workspacePage();
    expect(page).toContain('<div id="modal-layer" class="modal-layer" hidden>');
    expect(page).toContain('role="dialog" aria-modal="true" aria-labelledby="modal-title"');
    expect(page).toContain('<form id="modal-form"');
    expect(page).toContain('<button id="modal-submit" type="submit" form="modal-form"');
    expect(page).toContain('<button id="modal-close" type="button"');
    const script = readFileSync(path.join(PUBLIC, 'client.js'), 'utf8');
    expect(script).toContain("events.addEventListener('view', ");
    expect(script).toContain("api('/sandbox/api/view', ");
  });

  it('streams the modals the bot opens to the page, the open ones in the snapshot too', async () => {
    const slack = await new SimulatedSlack().start();
    const workspace = new Workspace(options({ slack }));
    const { url, server } = await serve(workspace);
    const opened = await fetch(`${slack.apiUrl}views.open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${slack.botToken}` },
      body: JSON.stringify({
        trigger_id: slack.issueTriggerId('U0APPROVER1'),
        view: { type: 'modal', title: { type: 'plain_text', text: 'First' }, blocks: [] },
      }),
    }).then((res) => res.json() as Promise<{ ok: boolean; view: { id: string } }>);
    expect(opened.ok).toBe(true);
    const stream = await fetch(`${url}/sandbox/api/events`);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    /** Reads the stream until the event named `name`, complete, is in; resolves with its data. */
    const nextEvent = async (name: string): Promise<unknown> => {
      for (;;) {
        const at = text.indexOf(`event: ${name}\n`);
        const end = at < 0 ? -1 : text.indexOf('\n\n', at);
        if (end >= 0) {
          const data = /^data: (.*)$/m.exec(text.slice(at, end))![1]!;
          text = text.slice(end + 2);
          return JSON.parse(data);
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before a ${name} event`);
        text += decoder.decode(value, { stream: true });
      }
    };
    try {
      const snapshot = (await nextEvent('snapshot')) as { views: unknown[] };
      expect(snapshot.views).toEqual([
        expect.objectContaining({ id: opened.view.id, user: 'U0APPROVER1', state: 'open' }),
      ]);

      slack.closeView(opened.view.id);
      expect(await nextEvent('view')).toMatchObject({
        id: opened.view.id,
        state: 'closed',
        closedBy: 'user',
      });
    } finally {
      await reader.cancel();
      workspace.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await slack.stop();
    }
  });

  it('refuses to start without them, saying where it looked', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'azora-assets-'));
    try {
      writeFileSync(path.join(dir, 'client.js'), '');
      expect(() => new Workspace(options({ assetsDir: dir }))).toThrow(
        `the sandbox workspace page needs styles.css in ${dir}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
