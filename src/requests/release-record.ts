import type { Colour } from '../kernel/domain/environment';
import { versionOf, type ReleaseAction, type ReleaseRecord } from '../kernel/domain/release';
import type { OpsRequest } from './domain/types';

/** One side of a release: the image, and for blue/green the colour serving it. */
export interface ReleaseSide {
  image: string;
  colour?: Colour;
}

/**
 * The release record a request leaves when its step succeeded: what went live (`to`) and
 * what served before (`from`), who asked and approved, and when. Deploys and switches
 * both write one.
 */
export function releaseRecord(
  request: OpsRequest,
  action: ReleaseAction,
  to: ReleaseSide,
  from: ReleaseSide,
  now: number,
): ReleaseRecord {
  return {
    id: request.id,
    action,
    version: versionOf(to.image),
    image: to.image,
    ...(to.colour ? { colour: to.colour } : {}),
    previous: {
      ...(from.colour ? { colour: from.colour } : {}),
      version: versionOf(from.image),
      image: from.image,
    },
    requester: request.requester,
    ...(request.approvedBy ? { approver: request.approvedBy.user } : {}),
    start: request.startedAt ?? now,
    end: now,
    result: 'succeeded',
  };
}
