import type { Colour } from '../../kernel/domain/environment';
import type { PlanStep } from './types';

/** A blue/green service whose traffic a plan moves from one colour to the other. */
export interface TrafficMove {
  service: string;
  from: Colour;
  to: Colour;
  /** What each colour ran at planning, when the plan knew. */
  fromImage?: string;
  toImage?: string;
}

/**
 * Every traffic move of a plan: its switches, and the switch that ends a blue/green
 * deploy. What the bake window watches and what a switch back undoes.
 */
export function trafficMoves(plan: readonly PlanStep[]): TrafficMove[] {
  return plan.flatMap((step): TrafficMove[] => {
    if (step.kind === 'switch') {
      const { service, from, to, fromImage, toImage } = step;
      return [{ service, from, to, ...(fromImage ? { fromImage } : {}), ...(toImage ? { toImage } : {}) }];
    }
    if (step.kind === 'deploy' && step.blueGreen) {
      const { live, idle, liveImage } = step.blueGreen;
      return [{ service: step.service, from: live, to: idle, fromImage: liveImage, toImage: step.toImage }];
    }
    return [];
  });
}
