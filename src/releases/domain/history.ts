import type { Colour } from '../../kernel/domain/environment';
import { versionOf, type ReleaseRecord } from '../../kernel/domain/release';
import { otherColour } from '../../kernel/domain/topology';

/** Records that moved traffic (blue/green) and succeeded, oldest first. */
const liveChanges = (history: readonly ReleaseRecord[]) =>
  history.filter((r) => r.result === 'succeeded' && r.colour !== undefined);

export type PreviousLive =
  | { ok: true; colour: Colour; image: string; version: string; liveSince: number }
  | { ok: false; reason: string };

/**
 * Where a blue/green rollback goes: the colour that was live before the current one, and
 * only while it still holds the version it served then. When the records do not say, or
 * the idle colour holds something else, the answer is no, with why: a rollback must never
 * roll forward onto a version that was never live.
 */
export function previousLive(
  history: readonly ReleaseRecord[],
  live: Colour,
  idleImage: string,
): PreviousLive {
  const idle = otherColour(live);
  const changes = liveChanges(history);
  const current = changes.at(-1);
  if (!current) return { ok: false, reason: `nothing is recorded about what was live before ${live}` };
  if (current.colour !== live) {
    return {
      ok: false,
      reason: `the last recorded release sent traffic to ${current.colour}, but ${live} is live: it was switched outside the bot`,
    };
  }
  const before = current.previous;
  if (!before?.colour || before.colour === live)
    return { ok: false, reason: `nothing is recorded about what was live before ${live}` };
  if (before.image !== idleImage) {
    const wasLive = changes.some((r) => r.image === idleImage || r.previous?.image === idleImage);
    return {
      ok: false,
      reason: wasLive
        ? `${idle} holds ${versionOf(idleImage)} now, not ${before.version}, which was live before ${live}`
        : `${idle} holds ${versionOf(idleImage)}, which was never live`,
    };
  }
  return {
    ok: true,
    colour: idle,
    image: idleImage,
    version: versionOf(idleImage),
    liveSince: current.end ?? current.start,
  };
}

/**
 * Where `image` stands in an environment's history, for the promotion rule (staging
 * before production): released when its newest word is a succeeded deploy of it, rolled
 * back when a rollback took the environment off it since, never when it was not deployed.
 */
export function promotionOf(
  history: readonly ReleaseRecord[],
  image: string,
): 'released' | 'rolled-back' | 'never' {
  const last = [...history]
    .reverse()
    .find(
      (r) =>
        r.result === 'succeeded' &&
        ((r.action === 'deploy' && r.image === image) ||
          (r.action === 'rollback' && r.previous?.image === image)),
    );
  return !last ? 'never' : last.action === 'deploy' ? 'released' : 'rolled-back';
}
