import { Agent, request } from 'node:http';

export interface ClickSender {
  /** POSTs a signed body to the bot's Slack endpoint; resolves once the bot has answered 200. */
  send(body: string, headers: Record<string, string>): Promise<void>;
  close(): void;
}

/**
 * Slack's side of a button click, as lean as the load generator's requests: node:http on a
 * kept connection, the body built and signed beforehand. fetch (undici) spent 1–2 ms in
 * this process before the bot saw a byte, which the approval's figure counted as the bot's.
 */
export function clickSender(baseUrl: string): ClickSender {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL('/slack/events', baseUrl);
  return {
    send: (body, headers) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: url.pathname,
            headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200
                ? resolve()
                : reject(new Error(`the click was answered ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
