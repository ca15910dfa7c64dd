import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLarge, readBody } from '../../src/kernel/http/body';

/**
 * A real HTTP server whose handler reads each body with a 1 KiB limit, answers 413 to a
 * refused one, and reports what came of it. `read` is how this test's handler reads.
 */
describe('readBody', () => {
  const LIMIT = 1024;
  let server: Server;
  let port: number;
  let outcomes: Array<{ body?: string; error?: string; tooLarge?: boolean }>;
  let settled: () => void;
  let next: Promise<void>;
  /** Called as each request reaches the handler. */
  let arrived: () => void;
  let read: (req: IncomingMessage) => Promise<Buffer>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      arrived();
      read(req).then(
        (body) => {
          outcomes.push({ body: body.toString('utf8') });
          settled();
          res.end('read');
        },
        (err: Error) => {
          outcomes.push({ error: err.message, tooLarge: err instanceof BodyTooLarge });
          settled();
          if (!res.headersSent && !res.destroyed) res.writeHead(413).end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  beforeEach(() => {
    outcomes = [];
    arrived = () => undefined;
    read = (req) => readBody(req, LIMIT);
    next = new Promise<void>((resolve) => (settled = resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /**
   * Sends `chunks` one write each (chunked encoding unless `length` is declared); resolves
   * with the status, or the socket's error. `abort`: sends the first chunk only, and cuts
   * the connection once the server has the request.
   */
  function send(chunks: string[], options: { length?: number; abort?: boolean } = {}) {
    return new Promise<{ status?: number; error?: string }>((resolve) => {
      const req = request({
        port,
        method: 'POST',
        // A connection each: a refused body leaves its connection with bytes it never read.
        agent: false,
        headers: options.length !== undefined ? { 'content-length': String(options.length) } : {},
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode });
      });
      req.on('error', (err) => resolve({ error: err.message }));
      if (options.abort) {
        arrived = () => req.destroy();
        req.write(chunks[0]);
        return;
      }
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it('puts a body sent in several writes back together', async () => {
    const answer = await send(['{"a":', '"ü"', ',"b":[1,2]}']);
    expect(answer.status).toBe(200);
    expect(outcomes).toEqual([{ body: '{"a":"ü","b":[1,2]}' }]);
  });

  it('refuses a declared length over the limit before reading any of it', async () => {
    const answer = await send(['x'.repeat(10)], { length: LIMIT + 1 });
    expect(answer.status).toBe(413);
    expect(outcomes).toEqual([
      { error: `body of ${LIMIT + 1} bytes is over the ${LIMIT} byte limit`, tooLarge: true },
    ]);
  });

  it('stops keeping a chunked body once it passes the limit, and the sender still hears 413', async () => {
    const answer = await send(['x'.repeat(600), 'y'.repeat(600), 'z'.repeat(600)]);
    expect(answer.status).toBe(413);
    expect(outcomes).toEqual([{ error: `body is over the ${LIMIT} byte limit`, tooLarge: true }]);
  });

  it('fails, rather than waits for ever, when the sender goes away mid-body', async () => {
    void send(['{"half":'], { length: 100, abort: true });
    await next;
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.body).toBeUndefined();
    expect(outcomes[0]!.tooLarge).toBe(false);
  });

  it('reads a request that something paused before it', async () => {
    read = (req) => {
      req.pause();
      return readBody(req, LIMIT);
    };
    const answer = await send(['{"paused":true}']);
    expect(answer.status).toBe(200);
    expect(outcomes).toEqual([{ body: '{"paused":true}' }]);
  });

  it('answers an empty body for a request read to its end already', async () => {
    read = async (req) => {
      const first = await readBody(req, LIMIT);
      const again = await readBody(req, LIMIT);
      return Buffer.from(`${first.toString('utf8')}|${again.length}`);
    };
    const answer = await send(['{"once":1}']);
    expect(answer.status).toBe(200);
    expect(outcomes).toEqual([{ body: '{"once":1}|0' }]);
  });
});
