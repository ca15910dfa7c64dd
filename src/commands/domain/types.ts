import type { Colour, EnvironmentName } from '../../kernel/domain/environment';

export type { Colour, EnvironmentName };
import type { IncidentSeverity } from '../../config/policy';
import type { IncidentStatus } from '../../incidents/domain/incident';

export type Command =
  | { verb: 'help'; topic?: string }
  | { verb: 'status'; environment: EnvironmentName }
  | { verb: 'oncall' }
  | {
      verb: 'maintenance';
      action: 'schedule';
      environment: EnvironmentName;
      start: number;
      durationMs: number;
      reason: string;
    }
  | { verb: 'maintenance'; action: 'now'; environment: EnvironmentName; durationMs: number; reason: string }
  | { verb: 'maintenance'; action: 'list' }
  | { verb: 'maintenance'; action: 'cancel'; id: string }
  | { verb: 'maintenance'; action: 'move'; id: string; start: number; durationMs: number }
  | { verb: 'scale'; environment: EnvironmentName; service: string; replicas: number; force: boolean }
  | { verb: 'switch'; environment: EnvironmentName; colour: Colour; service?: string }
  | { verb: 'rollback'; environment: EnvironmentName; service?: string; toRevision?: number }
  | { verb: 'deploy'; environment: EnvironmentName; service: string; version: string; force: boolean }
  | { verb: 'releases'; environment: EnvironmentName; service?: string }
  | { verb: 'backup'; environment: EnvironmentName }
  | { verb: 'backups'; environment: EnvironmentName }
  | { verb: 'restore'; environment: EnvironmentName; backup: string }
  | { verb: 'incident'; action: 'declare'; severity: IncidentSeverity; title: string }
  | { verb: 'incident'; action: 'note'; text: string }
  | { verb: 'incident'; action: 'status'; status: Exclude<IncidentStatus, 'resolved'> }
  | { verb: 'incident'; action: 'commander'; user: string }
  | { verb: 'incident'; action: 'severity'; severity: IncidentSeverity }
  | { verb: 'incident'; action: 'resolve'; summary: string }
  | { verb: 'incident'; action: 'list' | 'timeline' }
  | {
      verb: 'logs';
      environment: EnvironmentName;
      service: string;
      lines: number;
      sinceMs?: number;
      grep?: string;
      followMs?: number;
    };

export type Verb = Command['verb'];

/** What the parser needs to know of the platform; the policy provides it. */
export interface Vocabulary {
  environments: readonly EnvironmentName[];
  services: readonly string[];
}

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string; usage: string };
