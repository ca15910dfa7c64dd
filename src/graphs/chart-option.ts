import type { EChartsOption, LineSeriesOption } from 'echarts';
import type { GraphModel } from './domain/graph';

/**
 * The look of an alert graph. A white card with near-black text reads the same in Slack's
 * light and dark themes. The first two series (blue, orange) stay apart for colour-blind
 * readers, and no series takes the threshold's red or the markers' aubergine.
 */
export const GRAPH_STYLE = {
  background: '#ffffff',
  border: '#d0d0d4',
  text: '#1d1c1d',
  muted: '#5e5d60',
  grid: '#e8e8ea',
  series: ['#1264a3', '#e8912d', '#2bac76', '#36c5f0', '#8d6e63'],
  threshold: '#e01e5a',
  firing: 'rgba(224, 30, 90, 0.10)',
  marker: '#4a154b',
  font: 'Arimo',
} as const;

export interface ChartSize {
  width: number;
  height: number;
}

const TITLE_TOP = 10;
/** Title and subtitle, then two rows of marker labels above the plot. */
const GRID_TOP = 104;
const GRID_LEFT = 64;
// Room right of the plot for the axis name, "UTC", after the last time label.
const GRID_RIGHT = 60;
/** Marker labels closer than this (px) go on the second row; a third would cover the subtitle. */
const LABEL_GAP = 120;
/** Arimo at 13 px averages about this much per character. */
const CHAR_PX = 7;

// Made on the first graph, not when the worker loads this module: the first Intl object
// maps about 8 MB of ICU data into the process, which a worker that draws no graph never needs.
let compact: Intl.NumberFormat | undefined;
const compactFormat = () =>
  (compact ??= new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 4 }));
const axisValue = (value: number): string =>
  Math.abs(value) >= 10_000 ? compactFormat().format(value) : String(+value.toPrecision(4));

/** How many rows the legend takes, so the plot ends above it. */
function legendRows(labels: readonly string[], width: number): number {
  let rows = 1;
  let used = 0;
  for (const label of labels) {
    const item = label.length * CHAR_PX + 44;
    if (used > 0 && used + item > width - 32) {
      rows += 1;
      used = 0;
    }
    used += item;
  }
  return Math.min(rows, 3);
}

/** Where the plot of a model sits in the chart, in px at scale 1: it ends above the legend. */
export function plotRect(
  model: GraphModel,
  size: ChartSize,
): { left: number; top: number; right: number; bottom: number } {
  const rows = legendRows(
    model.lines.map((l) => l.label),
    size.width,
  );
  return {
    left: GRID_LEFT,
    top: GRID_TOP,
    right: size.width - GRID_RIGHT,
    bottom: size.height - 40 - rows * 22,
  };
}

/** Marker labels stagger over two rows where they would overlap: the row each one takes. */
function labelRows(xs: readonly number[]): number[] {
  const lastOnRow = [-Infinity, -Infinity];
  return xs.map((x) => {
    const row = x - lastOnRow[0]! >= LABEL_GAP ? 0 : x - lastOnRow[1]! >= LABEL_GAP ? 1 : 0;
    lastOnRow[row] = x;
    return row;
  });
}

/** The ECharts option of a graph: lines on a UTC time axis, threshold, firing period and change markers. */
export function chartOption(model: GraphModel, size: ChartSize): EChartsOption {
  const { window } = model;
  const times = model.lines[0]!.values.map((_, i) => window.start + i * window.step);
  const plot = plotRect(model, size);
  const xOf = (at: number) =>
    plot.left + ((at - window.start) / (window.end - window.start)) * (plot.right - plot.left);
  const rows = labelRows(model.markers.map((m) => xOf(m.at)));
  const dataMax = Math.max(...model.lines.flatMap((l) => l.values.filter((v): v is number => v !== null)));
  const threshold = model.threshold;
  const textStyle = { fontFamily: GRAPH_STYLE.font, color: GRAPH_STYLE.text, fontSize: 13 };

  const marks: LineSeriesOption = {
    markLine: {
      symbol: 'none',
      silent: true,
      animation: false,
      data: [
        ...(threshold
          ? [
              {
                yAxis: threshold.value,
                lineStyle: { color: GRAPH_STYLE.threshold, type: 'dashed' as const, width: 2 },
                label: {
                  formatter: `${threshold.op} ${threshold.value}`,
                  position: 'insideEndTop' as const,
                  color: GRAPH_STYLE.threshold,
                  fontFamily: GRAPH_STYLE.font,
                  fontSize: 13,
                  fontWeight: 'bold' as const,
                },
              },
            ]
          : []),
        ...model.markers.map((marker, i) => ({
          xAxis: marker.at,
          lineStyle: { color: GRAPH_STYLE.marker, type: 'solid' as const, width: 2 },
          label: {
            formatter: marker.label,
            position: 'end' as const,
            distance: rows[i] === 0 ? 4 : 22,
            color: GRAPH_STYLE.marker,
            fontFamily: GRAPH_STYLE.font,
            fontSize: 13,
          },
        })),
      ],
    },
    ...(model.firing
      ? {
          markArea: {
            silent: true,
            itemStyle: { color: GRAPH_STYLE.firing },
            label: {
              position: 'insideTopLeft' as const,
              color: GRAPH_STYLE.threshold,
              fontFamily: GRAPH_STYLE.font,
              fontSize: 12,
            },
            data: [[{ xAxis: model.firing.from, name: 'firing' }, { xAxis: model.firing.to }]],
          },
        }
      : {}),
  };

  return {
    animation: false,
    useUTC: true,
    backgroundColor: GRAPH_STYLE.background,
    textStyle,
    color: [...GRAPH_STYLE.series],
    title: {
      text: model.title,
      subtext: model.subtitle,
      left: 16,
      top: TITLE_TOP,
      itemGap: 6,
      textStyle: {
        ...textStyle,
        fontSize: 17,
        fontWeight: 'bold',
        width: size.width - 32,
        overflow: 'truncate',
      },
      subtextStyle: {
        fontFamily: GRAPH_STYLE.font,
        color: GRAPH_STYLE.muted,
        fontSize: 12,
        width: size.width - 32,
        overflow: 'truncate',
      },
    },
    // The plot keeps the rect given: ECharts 6 would otherwise shrink it to keep the last
    // time label inside, and move every marker with it.
    grid: {
      left: plot.left,
      right: size.width - plot.right,
      top: plot.top,
      bottom: size.height - plot.bottom,
      outerBoundsMode: 'none',
    },
    legend: {
      bottom: 8,
      left: 16,
      right: 16,
      itemWidth: 22,
      itemHeight: 4,
      icon: 'rect',
      textStyle,
      data: model.lines.map((l) => l.label),
    },
    xAxis: {
      type: 'time',
      min: window.start,
      max: window.end,
      name: 'UTC',
      nameLocation: 'end',
      nameGap: 6,
      nameTextStyle: { ...textStyle, color: GRAPH_STYLE.muted, verticalAlign: 'top', padding: [10, 0, 0, 0] },
      axisLine: { lineStyle: { color: GRAPH_STYLE.muted } },
      axisLabel: { ...textStyle, formatter: '{HH}:{mm}', hideOverlap: true },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      axisLabel: { ...textStyle, formatter: axisValue },
      splitLine: { lineStyle: { color: GRAPH_STYLE.grid } },
      // A threshold above every value still shows, with room for its label.
      ...(threshold && threshold.value > dataMax ? { max: +(threshold.value * 1.25).toPrecision(3) } : {}),
    },
    graphic: [
      {
        type: 'rect',
        shape: { x: 0.5, y: 0.5, width: size.width - 1, height: size.height - 1 },
        style: { fill: 'none', stroke: GRAPH_STYLE.border, lineWidth: 1 },
        silent: true,
      },
      ...(model.hidden > 0
        ? [
            {
              type: 'text' as const,
              right: 16,
              bottom: 10,
              style: {
                text: `+${model.hidden} more series`,
                fill: GRAPH_STYLE.muted,
                fontFamily: GRAPH_STYLE.font,
                fontSize: 12,
              },
              silent: true,
            },
          ]
        : []),
    ],
    series: model.lines.map((line, i) => ({
      type: 'line',
      name: line.label,
      data: line.values.map((v, k) => [times[k]!, v]),
      showSymbol: false,
      connectNulls: false,
      lineStyle: { width: 2.5 },
      emphasis: { disabled: true },
      ...(i === 0 ? marks : {}),
    })),
  };
}
