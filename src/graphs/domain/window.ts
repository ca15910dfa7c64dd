import type { GraphSettings } from '../../config/policy';

/** The range a graph covers, on Prometheus' grid: samples at `start + k × step` up to `end`. */
export interface GraphWindow {
  start: number;
  end: number;
  step: number;
}

/** Prometheus takes steps in seconds; a step of whole seconds keeps the grid exact. */
const SECOND = 1_000;

/**
 * The window of a graph drawn at `now`: the policy's window, widened (up to `maxWindow`)
 * when the group has fired for most of it, so the start of the trouble shows with some
 * time before it. The step is the policy's, widened so that no series has more than
 * `maxPoints` samples; start and end sit on multiples of the step, so two graphs of one
 * moment ask the same query.
 */
export function graphWindow(
  now: number,
  firingSince: number | undefined,
  settings: Pick<GraphSettings, 'window' | 'maxWindow' | 'step' | 'maxPoints'>,
): GraphWindow {
  let span = settings.window;
  if (firingSince !== undefined && now - firingSince > span * 0.75) {
    span = Math.min(Math.max(settings.maxWindow, settings.window), Math.ceil(((now - firingSince) * 4) / 3));
  }
  const intervals = Math.max(1, settings.maxPoints - 1);
  const step = Math.ceil(Math.max(settings.step, span / intervals, SECOND) / SECOND) * SECOND;
  const end = Math.floor(now / step) * step;
  const start = end - Math.floor(span / step) * step;
  return { start, end, step };
}

/** How many samples each series of the window has at most. */
export const pointsOf = (window: GraphWindow): number =>
  Math.floor((window.end - window.start) / window.step) + 1;
