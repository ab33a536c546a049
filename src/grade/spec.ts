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
  /** Seconds after the lab is up before any live check is judged: the network must have converged
   *  by then (kathara-lab-checker's convergence_time). A check that passes earlier may have seen a
   *  passing moment of a network still converging, so none is judged before. */
  convergenceSeconds: number;
  /** Seconds each live check is retried until it passes, counted from the convergence time. */
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
/** A kathara-lab-checker configuration's checks are judged once its convergence_time is over, each
 *  retried this long (the checker runs each once; a first ping may need its ARP answer). */
export const KLC_RETRY_S = 10;

export const liveChecks = (spec: GradingSpec): LiveCheck[] => spec.checks.filter((c): c is LiveCheck => c.kind === 'live');
