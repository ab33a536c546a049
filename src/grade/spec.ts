// The teacher's grading spec, whichever form it was written in (umlab's own or a
// kathara-lab-checker configuration): plain data, read by the grader and the reports.
import type { LabTest } from '../topology/model.ts';
import type { Judge } from './klc-judge.ts';

/** A check judged from the submission's files, before anything boots (kathara-lab-checker's structure checks). */
export type StaticCheck =
  | { what: 'device'; device: string }
  | { what: 'collision-domain'; device: string; iface: number; domain: string }
  | { what: 'startup'; device: string }
  /** kathara-lab-checker's ipv6_enabled: the device has Kathará's ipv6=true (in umlab: IPv6 forwarding on). */
  | { what: 'ipv6'; device: string };

interface GradedBase {
  /** Unique in the spec: the name reports and `after:` use. */
  name: string;
  /** What the check verifies, in the spec's words (kathara-lab-checker's "description"). */
  description: string;
  points: number;
  /** Not in the lab the students get: their own `umlab test` does not run it. */
  hidden: boolean;
  /** Partial credit: a group's points scale with the share of its checks that pass. */
  group?: string;
}

/** A check run in the running lab (a `tests:` check), retried until its deadline. */
export interface LiveCheck extends GradedBase {
  kind: 'live';
  test: LabTest;
  /** kathara-lab-checker's protocols, applications and bridges: umlab judges the output of the test's command. */
  judge?: Judge;
}

export interface FileCheck extends GradedBase {
  kind: 'static';
  check: StaticCheck;
}

/** A check of a family umlab cannot run: reported as "not supported", never as passed. */
export interface UnsupportedCheck extends GradedBase {
  kind: 'unsupported';
  reason: string;
}

export type GradedCheck = LiveCheck | FileCheck | UnsupportedCheck;

export interface GradingSpec {
  file: string;
  /** Which form the spec was written in. */
  form: 'umlab' | 'kathara-lab-checker';
  /** Seconds each live check may take to pass, counted from the lab being up (kathara-lab-checker's convergence_time). */
  deadlineSeconds: number;
  checks: GradedCheck[];
  /** Declared group totals; a group not named here is worth the sum of its checks' points. */
  groupPoints: Record<string, number>;
  /** Where kathara-lab-checker finds the submissions (`labs_path`), relative to the spec; used when none are given. */
  labsPath?: string;
  /** kathara-lab-checker's default_image: devices without `[image]` run it. */
  defaultImage?: string;
}

/** Deadline of a live check when the spec gives none. */
export const DEFAULT_DEADLINE_S = 30;

export const liveChecks = (spec: GradingSpec): LiveCheck[] => spec.checks.filter((c): c is LiveCheck => c.kind === 'live');
