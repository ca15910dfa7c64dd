/** A step's live state matches neither its plan's start nor its end: someone else changed it. */
export class StalePlan extends Error {}

/** A step ran and did not succeed; what it says is where it stopped and why. */
export class StepFailed extends Error {}
