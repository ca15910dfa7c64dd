import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification } from '../../src/alerts/domain/payload';
import { waitFor } from '../kit/wait';

export interface Delivery {
  authorization: string | undefined;
  body: Notification;
}

/**
 * An HTTP server in the test that takes Alertmanager's webhook notifications at
 * POST /alertmanager and records them; with `forwardTo`, it passes each one on to that
 * bot's own /alertmanager, answers what the bot answered, and records those the bot took.
 */
export class RecordingWebhook {
  readonly received: Delivery[] = [];
  private readonly server: Server;

  constructor(private readonly forwardTo?: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/alertmanager`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The notifications of one alert group (by its alertname), in the order they came. */
  of(alertname: string): Notification[] {
    return this.received.map((d) => d.body).filter((n) => n.groupLabels.alertname === alertname);
  }

  /** Waits until `count` notifications of the group have come; resolves to all of them. */
  until(alertname: string, count: number): Promise<Notification[]> {
    return waitFor(
      () => this.of(alertname),
      (seen) => seen.length >= count,
      { what: `${count} notification(s) of ${alertname} at the webhook` },
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/alertmanager') {
      res.writeHead(404);
      return void res.end();
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const delivery = { authorization: req.headers.authorization, body: JSON.parse(raw) as Notification };
    if (!this.forwardTo) {
      this.received.push(delivery);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{}');
    }
    try {
      const answer = await fetch(`${this.forwardTo}/alertmanager`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        },
        body: raw,
      });
      const text = await answer.text();
      // Kept once the bot took it: a refused one comes again.
      if (answer.ok) this.received.push(delivery);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(text);
    } catch (err) {
      // The bot closing an idle keep-alive connection as it is reused, say: Alertmanager sends again.
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    }
  }
}
