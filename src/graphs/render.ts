import path from 'node:path';
import { chartOption, GRAPH_STYLE, type ChartSize } from './chart-option';
import type { GraphModel } from './domain/graph';

export interface RenderSize extends ChartSize {
  /** Pixels per unit: 2 keeps text sharp on high-density screens and when Slack scales it down. */
  scale: number;
}

/** Slack shows an image in a thread about 360 px high: 800×400 at twice the density stays legible there. */
export const GRAPH_SIZE: Readonly<RenderSize> = { width: 800, height: 400, scale: 2 };

/**
 * The font comes from an npm package, not the machine: the image has no fonts, and a
 * graph drawn on a laptop, in CI and in the pod is the same picture. Arimo has Arial's
 * widths, which is what ECharts assumes when it lays text out without a browser, so
 * legends and labels are spaced for the glyphs resvg then draws.
 */
const FONT_DIR = path.dirname(require.resolve('@expo-google-fonts/arimo/package.json'));
const FONT_FILES = ['400Regular/Arimo_400Regular.ttf', '700Bold/Arimo_700Bold.ttf'].map((file) =>
  path.join(FONT_DIR, file),
);

/**
 * ECharts' server-side SVG, turned into pixels by resvg (its native binary comes from an
 * npm package for the platform). resvg draws on libuv's thread pool, so the worker's event
 * loop (lock renewals, other jobs) goes on meanwhile.
 */
export async function renderGraph(model: GraphModel, size: RenderSize = GRAPH_SIZE): Promise<Buffer> {
  const svg = await renderSvg(model, size);
  const { renderAsync } = await import('@resvg/resvg-js');
  const image = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: size.scale },
    background: GRAPH_STYLE.background,
    font: {
      loadSystemFonts: false,
      fontFiles: FONT_FILES,
      defaultFontFamily: GRAPH_STYLE.font,
      sansSerifFamily: GRAPH_STYLE.font,
    },
    logLevel: 'off',
  });
  return image.asPng();
}

/** The chart as SVG. ECharts is loaded on the first graph: a process that draws none never holds it. */
export async function renderSvg(model: GraphModel, size: ChartSize = GRAPH_SIZE): Promise<string> {
  const echarts = await import('echarts');
  const chart = echarts.init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: size.width,
    height: size.height,
  });
  try {
    chart.setOption(chartOption(model, size));
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
