import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PNG } from 'pngjs';
import { GRAPH_STYLE, plotRect } from '../../src/graphs/chart-option';
import { splitThreshold } from '../../src/graphs/domain/expression';
import { graphModel, type GraphModel } from '../../src/graphs/domain/graph';
import { GRAPH_DEFAULTS } from '../../src/config/policy';
import { graphWindow } from '../../src/graphs/domain/window';
import { GRAPH_SIZE, renderGraph } from '../../src/graphs/render';
import { PrometheusClient, PrometheusError, type RangeQuery } from '../../src/kernel/prometheus';
import { startPrometheus, steppedSamples, type TestPrometheus } from '../kit/prometheus';

/**
 * The Prometheus adapter and the renderer against Debian's real Prometheus, filled by
 * promtool with an hour of error ratios that step up half-way (a bad deploy), read back
 * over its HTTP API; the PNG is decoded and its pixels looked at.
 */

const MIN = 60_000;
const EVERY = 30_000;
// Ten minutes in the past, on the sample grid: promtool's blocks hold only past samples.
const END = Math.floor((Date.now() - 10 * MIN) / EVERY) * EVERY;
const START = END - 60 * MIN;
const STEP_AT = END - 30 * MIN;
const NAME = 'azora_http_error_ratio';
const prod = { namespace: 'azora-production' };

const range = (query: string, over: Partial<RangeQuery> = {}): RangeQuery => ({
  query,
  start: START,
  end: END,
  step: EVERY,
  ...over,
});

/** The PrometheusError a query fails with. */
async function failure(query: Promise<unknown>): Promise<PrometheusError> {
  try {
    await query;
  } catch (err) {
    if (err instanceof PrometheusError) return err;
    throw err;
  }
  throw new Error('the query succeeded');
}

/** An HTTP server that answers every request with `answer`, and keeps the headers it got. */
async function stubServer(
  answer: (res: import('node:http').ServerResponse) => void,
): Promise<{ url: string; headers: IncomingHttpHeaders[]; server: Server }> {
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    headers.push(req.headers);
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, headers, server };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('Prometheus range queries and the rendered graph', () => {
  let prometheus: TestPrometheus;
  let client: PrometheusClient;
  const servers: Server[] = [];

  beforeAll(async () => {
    prometheus = await startPrometheus([
      {
        name: NAME,
        help: 'Share of requests answered 5xx.',
        series: [
          {
            labels: { ...prod, service: 'payment', pod: 'payment-green-1' },
            samples: steppedSamples(START, END, EVERY, STEP_AT, 0.01, 0.12),
          },
          {
            labels: { ...prod, service: 'payment', pod: 'payment-green-2' },
            samples: steppedSamples(START, END, EVERY, STEP_AT, 0.008, 0.07),
          },
          {
            labels: { ...prod, service: 'checkout', pod: 'checkout-blue-1' },
            samples: steppedSamples(START, END, EVERY, STEP_AT, 0.02, 0.02),
          },
        ],
      },
    ]);
    client = new PrometheusClient({ url: prometheus.url });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(servers.map(close));
  });

  it('answers a range query with every series, sample by sample', async () => {
    const series = await client.queryRange(range(`${NAME}{service="payment"}`));
    expect(series.map((s) => s.labels.pod).sort()).toEqual(['payment-green-1', 'payment-green-2']);
    const first = series.find((s) => s.labels.pod === 'payment-green-1')!;
    expect(first.labels).toEqual({ __name__: NAME, ...prod, service: 'payment', pod: 'payment-green-1' });
    expect(first.points).toHaveLength(121);
    expect(first.points[0]).toEqual([START, 0.01]);
    expect(first.points.find(([at]) => at === STEP_AT - EVERY)).toEqual([STEP_AT - EVERY, 0.01]);
    expect(first.points.find(([at]) => at === STEP_AT)).toEqual([STEP_AT, 0.12]);
    expect(first.points.at(-1)).toEqual([END, 0.12]);
  });

  it('queries the rule’s expression less its threshold, and a wider step gives fewer samples', async () => {
    const { vector, threshold } = splitThreshold(`max by (service) (${NAME}) > 0.05`);
    expect(threshold).toEqual({ op: '>', value: 0.05 });
    const series = await client.queryRange(range(vector, { step: 5 * MIN }));
    expect(series.map((s) => s.labels).sort((a, b) => a.service!.localeCompare(b.service!))).toEqual([
      { service: 'checkout' },
      { service: 'payment' },
    ]);
    expect(series[0]!.points).toHaveLength(13);
  });

  it.each([
    ['a parse error', `${NAME}{`, 'query', /^query error: .*parse error.* \(bad_data\)$/],
    ['a range vector', `${NAME}[5m]`, 'not-vector', /^not a range vector \(range vector\)$/],
    ['a string', '"text"', 'not-vector', /^not a range vector \(string\)$/],
    ['a metric that does not exist', 'azora_nothing_here', 'no-data', /^no data$/],
  ])('refuses %s in one short line', async (_, query, kind, message) => {
    const err = await failure(client.queryRange(range(query)));
    expect(err.kind).toBe(kind);
    expect(err.message).toMatch(message);
  });

  it('says what a proxy in front of Prometheus answered', async () => {
    const stub = await stubServer((res) =>
      res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream down'),
    );
    servers.push(stub.server);
    const err = await failure(new PrometheusClient({ url: stub.url }).queryRange(range('up')));
    expect([err.kind, err.message]).toEqual(['http', 'Prometheus answered 503']);
  });

  it('gives up at its deadline on a Prometheus that never answers', async () => {
    const stub = await stubServer(() => undefined);
    servers.push(stub.server);
    const err = await failure(
      new PrometheusClient({ url: stub.url, timeoutMs: 300 }).queryRange(range('up')),
    );
    expect([err.kind, err.message]).toEqual(['timeout', 'Prometheus did not answer within 0.3 s']);
  });

  it('refuses an answer too large to be a few series', async () => {
    const err = await failure(
      new PrometheusClient({ url: prometheus.url, maxBytes: 2_000 }).queryRange(range(NAME)),
    );
    expect(err.kind).toBe('too-large');
  });

  it.each([
    ['a bearer token', { bearerToken: 's3cret' }, 'Bearer s3cret'],
    [
      'a user and password',
      { username: 'azora', password: 'pa:ss' },
      `Basic ${Buffer.from('azora:pa:ss').toString('base64')}`,
    ],
    [
      'credentials in the URL',
      { inUrl: 'azora:p%40ss@' },
      `Basic ${Buffer.from('azora:p@ss').toString('base64')}`,
    ],
  ])('sends %s', async (_, auth, expected) => {
    const empty = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } });
    const stub = await stubServer((res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(empty),
    );
    servers.push(stub.server);
    const { inUrl, ...options } = { inUrl: '', ...auth };
    const url = stub.url.replace('http://', `http://${inUrl}`);
    await failure(new PrometheusClient({ url, ...options }).queryRange(range('up')));
    expect(stub.headers[0]!.authorization).toBe(expected);
    expect(stub.headers[0]!['content-type']).toBe('application/x-www-form-urlencoded');
  });

  describe('the PNG of the queried series', () => {
    let model: GraphModel;
    let png: PNG;
    /** The plot in pixels: its rows from its top edge (where the highest value is) to just above the time axis. */
    let columns: { left: number; right: number };
    let rows: { from: number; to: number };
    const { scale } = GRAPH_SIZE;
    const deployAt = STEP_AT - MIN;

    beforeAll(async () => {
      const expression = splitThreshold(`${NAME} > 0.05`);
      const window = graphWindow(END, STEP_AT + 2 * MIN, GRAPH_DEFAULTS);
      model = graphModel({
        alertname: 'AzoraHighErrorRate',
        environment: 'production',
        service: 'payment',
        expression,
        window,
        series: await client.queryRange(range(expression.vector, window)),
        groupAlerts: [],
        maxSeries: 5,
        firing: { from: STEP_AT + 2 * MIN, to: END },
        markers: [{ at: deployAt, kind: 'deploy', label: 'deploy v1.6.0', actor: 'U0ENGINEER' }],
      });
      png = PNG.sync.read(await renderGraph(model));
      const plot = plotRect(model, GRAPH_SIZE);
      columns = { left: plot.left * scale, right: plot.right * scale };
      rows = { from: plot.top * scale - 2, to: plot.bottom * scale - 4 };
    });

    /** The pixel column of a time. */
    const xOf = (at: number) => {
      const { start, end } = model.window;
      return Math.round(columns.left + ((at - start) / (end - start)) * (columns.right - columns.left));
    };
    const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const near = (x: number, y: number, colour: number[], tolerance = 24) => {
      const i = (y * png.width + x) * 4;
      return colour.every((c, k) => Math.abs(png.data[i + k]! - c) <= tolerance);
    };
    const countInColumn = (x: number, colour: number[], tolerance?: number) => {
      let n = 0;
      for (let y = rows.from; y < rows.to; y++) if (near(x, y, colour, tolerance)) n += 1;
      return n;
    };
    /** The highest row (smallest y) of the plot band in which `colour` shows, in columns [from, to). */
    const topmost = (from: number, to: number, colour: number[]) => {
      for (let y = rows.from; y < rows.to; y++)
        for (let x = from; x < to; x++) if (near(x, y, colour)) return y;
      return Infinity;
    };

    it('is an 800×400 chart at twice the density', () => {
      expect([png.width, png.height]).toEqual([1600, 800]);
      // The card's corner is the white background, whatever the Slack theme around it.
      expect(near(4, 4, [255, 255, 255], 0)).toBe(true);
    });

    it('draws the top series high right of the step and low left of it', () => {
      const colour = rgb(GRAPH_STYLE.series[0]);
      const step = xOf(STEP_AT);
      const left = topmost(xOf(model.window.start) + 10, step - 20, colour);
      const right = topmost(step + 20, xOf(model.window.end) - 10, colour);
      expect(right).toBeLessThan(Infinity);
      expect(left).toBeLessThan(Infinity);
      // 0.12 against 0.01 on an axis from 0: far apart.
      expect(left - right).toBeGreaterThan((rows.to - rows.from) * 0.4);
    });

    it('draws the deploy as a vertical line at its time, and nowhere else', () => {
      const colour = rgb(GRAPH_STYLE.marker);
      const x = xOf(deployAt);
      const best = Math.max(...[-2, -1, 0, 1, 2].map((dx) => countInColumn(x + dx, colour)));
      expect(best).toBeGreaterThan((rows.to - rows.from) * 0.9);
      expect(countInColumn(xOf(START + 10 * MIN), colour)).toBe(0);
      expect(countInColumn(xOf(END - 5 * MIN), colour)).toBe(0);
    });

    it('shades the firing period, and only that', () => {
      // White under GRAPH_STYLE.firing (10% of #e01e5a); white itself is 22 away, so the tolerance is small.
      const shade = [252, 233, 239];
      expect(countInColumn(xOf(END - 10 * MIN), shade, 4)).toBeGreaterThan((rows.to - rows.from) * 0.5);
      expect(countInColumn(xOf(STEP_AT - 10 * MIN), shade, 4)).toBe(0);
    });

    it('draws the threshold dashed in its own colour', () => {
      const colour = rgb(GRAPH_STYLE.threshold);
      const band = Array.from({ length: 200 }, (_, i) => xOf(START + 5 * MIN) + i);
      const hits = band.filter((x) => countInColumn(x, colour) > 0).length;
      // Dashes: some columns have the line, some the gaps between dashes.
      expect(hits).toBeGreaterThan(40);
      expect(hits).toBeLessThan(200);
    });
  });

  it('reports a stopped Prometheus as unreachable', async () => {
    await prometheus.stop();
    const err = await failure(client.queryRange(range(NAME)));
    expect([err.kind, err.message]).toEqual(['unreachable', 'Prometheus is unreachable (ECONNREFUSED)']);
  });
});
