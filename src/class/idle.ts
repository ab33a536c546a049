// Idle labs: a running lab with no terminal input and no traffic on its links for the class's
// `limits.idle_after` is paused (its VMs frozen, their memory kept) or stopped, and a paused lab
// resumes on its student's next visit. What counts as idle is decided here, purely, from the last
// activity the service saw; the service (service.ts) keeps those times and acts on the answer.
import type { LabState } from './store.ts';

export interface IdlePolicy {
  /** ms without activity before a lab is idle; null: never. */
  afterMs: number | null;
  action: 'pause' | 'stop';
}

export interface LabActivity {
  lab: string;
  state: LabState;
  /** ms since the epoch of its last input, traffic, visit or start. */
  lastActive: number;
}

/** The labs to pause or stop now: running ones idle for the policy's time. */
export function idleLabs(labs: LabActivity[], now: number, policy: IdlePolicy): { lab: string; action: 'pause' | 'stop'; idleMs: number }[] {
  if (policy.afterMs === null) return [];
  const afterMs = policy.afterMs;
  return labs
    .filter((l) => l.state === 'running' && now - l.lastActive >= afterMs)
    .map((l) => ({ lab: l.lab, action: policy.action, idleMs: now - l.lastActive }));
}

/** How often the service looks: a tenth of the idle time, between 1 s and 30 s. */
export const idleCheckEveryMs = (afterMs: number): number => Math.min(30_000, Math.max(1000, Math.floor(afterMs / 10)));

/** "3s", "2m", "1h 5m" style text for an event's detail. */
export function durationText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
