/** A step's live state matches neither its plan's start nor its end: someone else changed it. */
export class StalePlan extends Error {}
