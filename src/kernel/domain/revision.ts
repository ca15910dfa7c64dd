/** A `kubectl rollout undo` target, pinned by ReplicaSet: revision numbers move on rollback, names do not. */
export interface RevisionTarget {
  deployment: string;
  replicaSet: string;
  fromRevision: number;
  toRevision: number;
  fromImage: string;
  toImage: string;
}
