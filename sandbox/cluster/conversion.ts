import { byKind, type ResourceDef } from './resources';
import { arr, clone, num, rec, type JsonRecord, type KubeObject } from './types';

/**
 * A resource served at a version other than the one its objects are stored at: how a
 * stored object reads at that version (`out`), and how one written at it is stored
 * (`into`; `stored` is the object it replaces, which keeps what this version cannot say).
 */
export interface Conversion {
  storage: ResourceDef;
  out(stored: KubeObject): KubeObject;
  into(given: KubeObject, stored?: KubeObject): KubeObject;
}

const HPA_V2 = byKind('HorizontalPodAutoscaler');

const isCpuUtilization = (metric: JsonRecord): boolean => {
  const resource = rec(metric.resource);
  return metric.type === 'Resource' && resource.name === 'cpu' && rec(resource.target).type === 'Utilization';
};

const cpuUtilization = (averageUtilization: number): JsonRecord => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } },
});

/** What autoscaling/v2 defaults an HPA without metrics to, and v1 one without a CPU target. */
const DEFAULT_CPU_UTILIZATION = 80;

/**
 * autoscaling/v1 HorizontalPodAutoscalers: a CPU utilization target where v2 has metrics.
 * As the API server converts: v1's target is v2's CPU utilization metric, and the other
 * metrics and the behaviour a v2 client set survive a write through v1.
 */
const hpaV1: Conversion = {
  storage: HPA_V2,
  out(stored) {
    const obj = clone(stored);
    const spec = rec(obj.spec);
    const cpu = arr(spec.metrics).map(rec).find(isCpuUtilization);
    const target = cpu ? num(rec(rec(cpu.resource).target).averageUtilization) : undefined;
    obj.apiVersion = 'autoscaling/v1';
    obj.spec = {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(target !== undefined ? { targetCPUUtilizationPercentage: target } : {}),
    };
    if (obj.status !== undefined) {
      const status = rec(obj.status);
      const current = arr(status.currentMetrics)
        .map(rec)
        .find((m) => m.type === 'Resource' && rec(m.resource).name === 'cpu');
      const utilization = num(rec(rec(current?.resource).current).averageUtilization);
      obj.status = {
        ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
        ...(status.lastScaleTime !== undefined ? { lastScaleTime: status.lastScaleTime } : {}),
        currentReplicas: num(status.currentReplicas) ?? 0,
        desiredReplicas: num(status.desiredReplicas) ?? 0,
        ...(utilization !== undefined ? { currentCPUUtilizationPercentage: utilization } : {}),
      };
    }
    return obj;
  },
  into(given, stored) {
    const obj = clone(given);
    const spec = rec(obj.spec);
    const before = rec(stored?.spec);
    const others = arr(before.metrics)
      .map(rec)
      .filter((m) => !isCpuUtilization(m));
    const target = num(spec.targetCPUUtilizationPercentage);
    const cpu =
      target !== undefined
        ? [cpuUtilization(target)]
        : others.length === 0
          ? [cpuUtilization(DEFAULT_CPU_UTILIZATION)]
          : [];
    obj.apiVersion = 'autoscaling/v2';
    obj.spec = {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      metrics: [...cpu, ...others],
      ...(before.behavior !== undefined ? { behavior: before.behavior } : {}),
    };
    return obj;
  },
};

/** The conversion a resource's version needs, or none when it is the stored version. */
export function conversionOf(def: ResourceDef): Conversion | undefined {
  return def.kind === 'HorizontalPodAutoscaler' && def.version === 'v1' ? hpaV1 : undefined;
}
