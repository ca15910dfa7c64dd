import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, statusBody } from './status';

/** Small HTTP helpers shared by the API handlers. */

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, err.code, statusBody(err));
}

const BODY_LIMIT = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBytes(req)).toString('utf8');
}

export async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > BODY_LIMIT) throw new ApiError(413, 'RequestEntityTooLarge', 'request entity too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw badRequest(`the request body is not valid JSON: ${reason}`);
  }
}

/** The media type without parameters, lower-cased: `application/merge-patch+json`. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Long-lived responses (watches, followed logs). stop() must end them, or a client keeps
 * its socket and Jest never exits.
 */
export class StreamRegistry {
  private readonly closers = new Set<() => void>();

  add(close: () => void): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  get size(): number {
    return this.closers.size;
  }

  closeAll(): void {
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }
}

/** Starts a chunked streaming response and returns a writer that ignores writes after close. */
export function openStream(
  res: ServerResponse,
  registry: StreamRegistry,
  contentType: string,
  onClose: () => void,
): { write(text: string): void; end(): void; closed(): boolean } {
  let closed = false;
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unregister();
    onClose();
    if (!res.writableEnded) res.end();
  };
  const unregister = registry.add(finish);
  // The response's close (not the request's, which fires once its body is read) tells that the client left.
  res.on('close', finish);
  return {
    write(text: string): void {
      if (!closed && text.length > 0) res.write(text);
    },
    end: finish,
    closed: () => closed,
  };
}
