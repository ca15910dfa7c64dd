import { z } from 'zod';
import { COLOURS, type Colour } from './environment';

/**
 * A release as the cluster remembers it: what went live (or was tried), by whom, and what
 * served before. Kept as a JSON array, oldest first, in one annotation on the object the
 * bot changes (a blue/green service's Service, a rolling service's Deployment), so the
 * history survives the loss of Redis and is there for `kubectl get -o yaml` to read.
 */
export const RELEASES_ANNOTATION = 'chatops.azora.world/releases';

export const RELEASE_ACTIONS = ['deploy', 'switch', 'rollback', 'switch-back', 'auto-switch-back'] as const;
export type ReleaseAction = (typeof RELEASE_ACTIONS)[number];

export interface ReleaseRecord {
  /** The request that made it (r…), or another stable id. */
  id: string;
  action: ReleaseAction;
  /** Tag, or `sha256:` and the first 12 hex digits of a digest. */
  version: string;
  image: string;
  /** Blue/green: the colour serving traffic once it succeeded. */
  colour?: Colour;
  /** What served before: for blue/green, the colour that was live and its image. */
  previous?: { colour?: Colour; version: string; image: string };
  /** Slack user ids; `bot` for what the bot did on its own. */
  requester: string;
  approver?: string;
  start: number;
  end?: number;
  result: 'succeeded' | 'failed';
  /** Where a failed release stopped. */
  detail?: string;
}

const slackOrBot = z.string().regex(/^(bot|[UW][A-Z0-9]{2,})$/);
const imageText = z.string().min(1).max(512);
const versionText = z.string().min(1).max(140);
const time = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));

/** One record as stored: ISO times, so `kubectl get -o yaml` reads well. */
const stored = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  action: z.enum(RELEASE_ACTIONS),
  version: versionText,
  image: imageText,
  colour: z.enum(COLOURS).optional(),
  previous: z
    .object({ colour: z.enum(COLOURS).optional(), version: versionText, image: imageText })
    .optional(),
  requester: slackOrBot,
  approver: slackOrBot.optional(),
  start: time,
  end: time.optional(),
  result: z.enum(['succeeded', 'failed']),
  detail: z.string().max(300).optional(),
});

/** At most this many records per object, whatever the policy says: annotations are small. */
export const RELEASE_HISTORY_CAP = 50;

/**
 * The records in an annotation value, oldest first. The annotation is outside text (anyone
 * with write access to the object can edit it): records that do not parse are dropped, not
 * trusted, and a value that is not a JSON array gives none.
 */
export function parseReleases(value: string | undefined): ReleaseRecord[] {
  if (!value || value.length > 256 * 1024) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry) => {
    const parsed = stored.safeParse(entry);
    if (!parsed.success) return [];
    const { end, ...rest } = parsed.data;
    return [{ ...rest, ...(end !== undefined ? { end } : {}) } as ReleaseRecord];
  });
}

/** `history` with `record` added (or replacing the one with its id), the newest `limit` kept, as an annotation value. */
export function appendRelease(history: ReleaseRecord[], record: ReleaseRecord, limit: number): string {
  const kept = history.filter((r) => r.id !== record.id);
  kept.push({ ...record, ...(record.detail ? { detail: record.detail.slice(0, 300) } : {}) });
  return encodeReleases(kept, limit);
}

/** Records as an annotation value: the newest `limit` (never more than the cap), ISO times. */
export function encodeReleases(records: readonly ReleaseRecord[], limit: number): string {
  const newest = records.slice(-Math.max(1, Math.min(limit, RELEASE_HISTORY_CAP)));
  return JSON.stringify(
    newest.map((r) => ({
      ...r,
      start: new Date(r.start).toISOString(),
      ...(r.end !== undefined ? { end: new Date(r.end).toISOString() } : {}),
    })),
  );
}

/** The version an image reference names: its tag, or a short digest; `latest` when it names neither. */
export function versionOf(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) {
    const digest = image.slice(at + 1);
    return digest.startsWith('sha256:') ? digest.slice(0, 'sha256:'.length + 12) : digest;
  }
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > lastSlash ? image.slice(colon + 1) : 'latest';
}

/** The repository of an image reference: without tag or digest. */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * The image a deploy of `version` sets, from the service's repository in the policy: a
 * tag, a digest, or a whole reference into that same repository. Anything else (another
 * repository, a malformed tag) is a reason to refuse.
 */
export function imageFor(repository: string, version: string): { image: string } | { refused: string } {
  if (TAG.test(version)) return { image: `${repository}:${version}` };
  if (DIGEST.test(version)) return { image: `${repository}@${version}` };
  if (version.includes('/')) {
    const repo = repositoryOf(version);
    if (repo !== repository)
      return { refused: `images come from ${repository} only (the policy), not from ${repo}` };
    const rest = version.slice(repo.length + 1);
    if (TAG.test(rest) || DIGEST.test(rest)) return { image: version };
  }
  return {
    refused: `'${version}' is not a version: a tag (letters, digits, . _ -; up to 128) or a digest sha256:<64 hex>`,
  };
}

/**
 * The container a deploy sets the image of: the one the policy names, or else the only one
 * running the policy's repository. Sidecars (a proxy, a log shipper) are never guessed at.
 */
export function chooseContainer(
  containers: ReadonlyArray<{ name: string; image?: string }>,
  repository: string,
  named?: string,
): { name: string; image: string } | { refused: string } {
  const names = containers.map((c) => c.name).join(', ') || 'none';
  if (named) {
    const found = containers.find((c) => c.name === named);
    return found
      ? { name: found.name, image: found.image ?? '' }
      : { refused: `it has no container '${named}' (the policy's); its containers: ${names}` };
  }
  const running = containers.filter((c) => c.image !== undefined && repositoryOf(c.image) === repository);
  if (running.length === 1) return { name: running[0]!.name, image: running[0]!.image ?? '' };
  return {
    refused:
      running.length === 0
        ? `none of its containers (${names}) runs ${repository}; name the container in the policy (services.<name>.container)`
        : `several of its containers run ${repository} (${running.map((c) => c.name).join(', ')}); name one in the policy (services.<name>.container)`,
  };
}

/**
 * The image that stands for a pod template's version: its release container's (the
 * policy's `container`, or the one running the policy's repository), or, for a service
 * the bot does not deploy, every container's image. Records and plans compare these.
 */
export function releaseImage(
  containers: ReadonlyArray<{ name: string; image?: string }>,
  service: { image?: string | undefined; container?: string | undefined } | undefined,
): string {
  if (service?.image) {
    const chosen = chooseContainer(containers, service.image, service.container);
    if (!('refused' in chosen)) return chosen.image;
  }
  return containers.map((c) => c.image ?? '').join(', ');
}
