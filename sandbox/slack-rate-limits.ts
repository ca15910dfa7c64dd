/**
 * Slack's per-method rate limits, opt-in: a limited method answers `429 ratelimited` with a
 * Retry-After header once it has taken its calls in the window, as Slack does "per API method
 * per workspace per app". Tests give a method its documented tier, or a limit of their own
 * (a few calls a second) to see the bot pace itself without waiting a minute.
 *
 * chat.postMessage is of Slack's special tier (about one message a second per channel):
 * that is the simulated Slack's `minChannelGapMs`, not this.
 */

export type SlackTier = 1 | 2 | 3 | 4 | 'special';

/** Each method's tier, as its page in Slack's method reference (docs.slack.dev) gives it. */
export const METHOD_TIERS: Readonly<Record<string, SlackTier>> = {
  'auth.test': 'special',
  'chat.delete': 3,
  'chat.getPermalink': 'special',
  'chat.postEphemeral': 4,
  'chat.postMessage': 'special',
  'chat.update': 3,
  'conversations.archive': 2,
  'conversations.create': 2,
  'conversations.history': 3,
  'conversations.info': 3,
  'conversations.invite': 3,
  'conversations.members': 4,
  'conversations.replies': 3,
  'conversations.setTopic': 2,
  'files.completeUploadExternal': 4,
  'files.getUploadURLExternal': 4,
  'pins.add': 2,
  'pins.list': 2,
  'pins.remove': 2,
  'reactions.add': 3,
  'reactions.get': 3,
  'reactions.remove': 2,
  'usergroups.users.list': 2,
  'users.info': 4,
  'users.lookupByEmail': 3,
  'views.open': 4,
  'views.push': 4,
  'views.update': 4,
};

/** The calls a minute each tier allows at least ("20+ per minute"): docs.slack.dev/apis/web-api/rate-limits. */
export const TIER_CALLS_PER_MINUTE: Readonly<Record<Exclude<SlackTier, 'special'>, number>> = {
  1: 1,
  2: 20,
  3: 50,
  4: 100,
};

export interface RateLimit {
  /** Calls taken in any window of `windowMs`; the next one is refused. */
  calls: number;
  windowMs: number;
  /** Retry-After to answer; by default the seconds until the window has room again (at least 1). */
  retryAfterSeconds?: number;
}

/** The limit of a method's documented tier; undefined for the special tier and unknown methods. */
export function tierLimit(method: string): RateLimit | undefined {
  const tier = METHOD_TIERS[method];
  if (tier === undefined || tier === 'special') return undefined;
  return { calls: TIER_CALLS_PER_MINUTE[tier], windowMs: 60_000 };
}

/** A method's limit as given to the simulated Slack: its tier's, or one of the test's own. */
export type RateLimitSetting = RateLimit | 'tier';

export class RateLimiter {
  private readonly limits = new Map<string, RateLimit>();
  /** When each limited method's accepted calls came, oldest first. */
  private readonly taken = new Map<string, number[]>();

  constructor(settings: Readonly<Record<string, RateLimitSetting>> = {}) {
    for (const [method, setting] of Object.entries(settings)) this.set(method, setting);
  }

  /** Limits `method` (its tier's limit for 'tier'), or lifts its limit (undefined). */
  set(method: string, setting: RateLimitSetting | undefined): void {
    this.taken.delete(method);
    if (setting === undefined) {
      this.limits.delete(method);
      return;
    }
    const limit = setting === 'tier' ? tierLimit(method) : setting;
    if (!limit) throw new Error(`${method} has no documented tier limit to apply; give calls and windowMs`);
    if (!(limit.calls >= 1) || !(limit.windowMs > 0)) {
      throw new Error(`a rate limit takes at least one call in a positive window`);
    }
    this.limits.set(method, { ...limit });
  }

  get(method: string): RateLimit | undefined {
    return this.limits.get(method);
  }

  /**
   * Takes a call of `method` at `now`: undefined when it may go (and it counts), else the
   * Retry-After seconds to answer with its 429 (a refused call does not count).
   */
  take(method: string, now = Date.now()): number | undefined {
    const limit = this.limits.get(method);
    if (!limit) return undefined;
    const recent = (this.taken.get(method) ?? []).filter((at) => now - at < limit.windowMs);
    this.taken.set(method, recent);
    if (recent.length < limit.calls) {
      recent.push(now);
      return undefined;
    }
    if (limit.retryAfterSeconds !== undefined) return limit.retryAfterSeconds;
    const roomAt = recent[recent.length - limit.calls]! + limit.windowMs;
    return Math.max(1, Math.ceil((roomAt - now) / 1000));
  }
}
