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
