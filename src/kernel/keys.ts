/**
 * Every Redis key the bot writes, under one prefix. The prefix carries a hash tag
 * (`{azora}`), so on Redis Cluster all keys share a slot and scripts may touch several.
 */
export function keys(prefix: string) {
  return {
    request: (id: string) => `${prefix}:request:${id}`,
    requestsOf: (env: string) => `${prefix}:requests:${env}`,
    requestOfJob: (jobId: string) => `${prefix}:request-of-job:${jobId}`,
    lock: (env: string, service: string) => `${prefix}:lock:${env}:${service}`,
    lastScale: (env: string, service: string) => `${prefix}:last-scale:${env}:${service}`,
    audit: () => `${prefix}:audit`,
    seen: (digest: string) => `${prefix}:seen:${digest}`,
    rate: (limit: string, user: string) => `${prefix}:rate:${limit}:${user}`,
    follows: (user: string) => `${prefix}:follows:${user}`,
    runbookOf: (group: string, episode: number) => `${prefix}:runbook:${group}:${episode}`,
    releases: (env: string, service: string) => `${prefix}:releases:${env}:${service}`,
    baking: (env: string, service: string) => `${prefix}:baking:${env}:${service}`,
    autoSwitchBack: (release: string, service: string) => `${prefix}:auto-switch-back:${release}:${service}`,
    releaseTold: (release: string, note: string) => `${prefix}:release-told:${release}:${note}`,
    backups: (env: string) => `${prefix}:backups:${env}`,
    incident: (id: string) => `${prefix}:incident:${id}`,
    incidentTimeline: (id: string) => `${prefix}:incident-timeline:${id}`,
    incidents: () => `${prefix}:incidents`,
    openIncidents: () => `${prefix}:incidents-open`,
    incidentOfChannel: (channel: string) => `${prefix}:incident-of-channel:${channel}`,
    incidentOfGroup: (group: string) => `${prefix}:incident-of-group:${group}`,
  };
}

export type Keys = ReturnType<typeof keys>;
