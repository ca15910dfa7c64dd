/**
 * The one place the bot reads the time. Everything else is handed a clock, so guards,
 * expiry, cooldowns, maintenance times and waits are testable without sleeping; the lint
 * refuses `Date.now()` elsewhere in the product.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
