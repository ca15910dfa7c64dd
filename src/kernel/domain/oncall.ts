/** One on-call entry: who, on which escalation policy and level, until when. */
export interface OnCall {
  user: string;
  email?: string;
  schedule?: string;
  escalationPolicy: string;
  /** The escalation policy's id, as a policy names it (`incidents.escalationPolicies`). */
  escalationPolicyId: string;
  level: number;
  /** End of this shift (ISO 8601); absent for a permanent assignment. */
  until?: string;
}
