import { num, isoSeconds, rec, str, type JsonRecord, type KubeObject } from '../types';
import { specReplicas } from '../workload';
import { DEPLOYMENTS, HPAS, REPLICASETS, STATEFULSETS, type ControllerContext } from './context';

/** HorizontalPodAutoscaler: no metrics, so it only keeps the target inside [min, max]. */
export class HpaController {
  constructor(private readonly ctx: ControllerContext) {}

  reconcile(): void {
    for (const hpa of this.ctx.store.scan(HPAS)) this.reconcileOne(hpa);
  }

  private reconcileOne(hpa: KubeObject): void {
    const { ctx } = this;
    const spec = rec(hpa.spec);
    const ref = rec(spec.scaleTargetRef);
    const targetRes = [DEPLOYMENTS, STATEFULSETS, REPLICASETS].find((r) => r.kind === ref.kind);
    const target = targetRes
      ? ctx.store.peek(targetRes, hpa.metadata.namespace, str(ref.name) ?? '')
      : undefined;
    const min = num(spec.minReplicas) ?? 1;
    const max = num(spec.maxReplicas) ?? min;
    const old = rec(hpa.status);
    let status: JsonRecord;
    if (!target || !targetRes) {
      status = {
        ...old,
        desiredReplicas: num(old.desiredReplicas) ?? 0,
        conditions: ctx.conditions(old.conditions, [
          {
            type: 'AbleToScale',
            status: 'False',
            reason: 'FailedGetScale',
            message: `the HPA controller was unable to get the target's current scale: ${targetRes ? `${targetRes.plural}.${targetRes.group}` : 'unknown kind'} "${str(ref.name) ?? ''}" not found`,
          },
        ]),
      };
    } else {
      const current = specReplicas(target);
      // Like the real HPA: a target scaled to zero has autoscaling switched off.
      const desired = current === 0 ? 0 : Math.min(max, Math.max(min, current));
      let lastScaleTime = old.lastScaleTime;
      if (desired !== current) {
        ctx.setReplicas(targetRes, target, desired);
        lastScaleTime = isoSeconds(ctx.now());
        ctx.logger.debug({ hpa: hpa.metadata.name, from: current, to: desired }, 'HPA clamped replicas');
      }
      const limited =
        current === 0
          ? {
              status: 'False',
              reason: 'DesiredWithinRange',
              message: 'the desired count is within the acceptable range',
            }
          : current < min
            ? {
                status: 'True',
                reason: 'TooFewReplicas',
                message: 'the desired replica count is less than the minimum replica count',
              }
            : current > max
              ? {
                  status: 'True',
                  reason: 'TooManyReplicas',
                  message: 'the desired replica count is more than the maximum replica count',
                }
              : {
                  status: 'False',
                  reason: 'DesiredWithinRange',
                  message: 'the desired count is within the acceptable range',
                };
      status = {
        ...(lastScaleTime !== undefined ? { lastScaleTime } : {}),
        currentReplicas: num(rec(target.status).replicas) ?? 0,
        desiredReplicas: desired,
        conditions: ctx.conditions(old.conditions, [
          {
            type: 'AbleToScale',
            status: 'True',
            reason: desired !== current ? 'SucceededRescale' : 'ReadyForNewScale',
            message:
              desired !== current
                ? `the HPA controller was able to update the target scale to ${desired}`
                : 'recommended size matches current size',
          },
          current === 0
            ? {
                type: 'ScalingActive',
                status: 'False',
                reason: 'ScalingDisabled',
                message: 'scaling is disabled since the replica count of the target is zero',
              }
            : {
                type: 'ScalingActive',
                status: 'True',
                reason: 'ValidMetricFound',
                message: 'the HPA was able to successfully calculate a replica count',
              },
          { type: 'ScalingLimited', ...limited },
        ]),
      };
    }
    ctx.setStatus(HPAS, hpa, status);
  }
}
