/**
 * What the person asked for is not done, for a reason they can act on, and nothing was
 * changed: the one refusal of the bot. `input`: the command is malformed; `plan`: the
 * change cannot be planned against the live state; `guard`: a guard stopped it when it
 * was about to run (a lock, a cooldown, a colour not ready, the policy as it is now).
 */
export type RefusalKind = 'input' | 'plan' | 'guard';

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    reason: string,
  ) {
    super(reason);
  }

  get reason(): string {
    return this.message;
  }
}
