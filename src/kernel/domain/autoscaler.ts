/** An autoscaler's replica bounds. */
export interface Bounds {
  min: number;
  max: number;
}

/**
 * The bounds that make an HPA settle on `replicas` instead of fighting the change: going
 * up, its minimum rises to them (it may still scale further up); going down, its maximum
 * comes down to them, so it cannot scale back up above them until someone raises it.
 */
export function boundsForScale(current: Bounds, before: number, replicas: number): Bounds {
  return replicas >= before
    ? { min: replicas, max: Math.max(current.max, replicas) }
    : { min: Math.min(current.min, replicas), max: replicas };
}
