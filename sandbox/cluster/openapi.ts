import type { IncomingMessage, ServerResponse } from 'node:http';
import { SERVER_VERSION } from './discovery';
import { sendJson } from './http';
import { pathNotFound } from './status';

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * The OpenAPI documents kubectl asks for before it validates a manifest (`apply -f`,
 * `create -f`, `replace`, `edit`). The simulator describes no schema: an OpenAPI v2
 * document without definitions, which kubectl reads as "this server publishes no schema
 * for the kind" and so sends the object unvalidated, as it does for a kind the server
 * does not describe. In protobuf (what kubectl asks for) that document is zero bytes.
 * There is no v3 document: kubectl 1.27+ asks for it first and falls back to v2 on 404.
 */
export function sendOpenApi(req: IncomingMessage, res: ServerResponse, version: 'v2' | 'v3'): void {
  if (version === 'v3') throw pathNotFound();
  if ((req.headers.accept ?? '').includes(PROTOBUF_V2)) {
    // As the API server answers it: Go's mime parser, which kubectl runs on the answer, refuses the '@' of the type asked for.
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '0' });
    res.end();
    return;
  }
  sendJson(res, 200, {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
    paths: {},
    definitions: {},
  });
}
