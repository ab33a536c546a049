// What grading one submission produced: every check's verdict with its evidence, and the
// submission's totals. Plain data: results.json is exactly this.

export type Verdict = 'pass' | 'fail' | 'error' | 'not-supported';

export interface CheckOutcome {
  name: string;
  description: string;
  verdict: Verdict;
  /** One line: why it passed or what was expected and seen. */
  reason: string;
  /** Points this check earned (a group's share, for grouped checks). */
  points: number;
  maxPoints: number;
  hidden: boolean;
  group?: string;
  /** Seconds from the lab being up to the check's first pass. */
  secondsToPass?: number;
  tries?: number;
  /** Commands run, as "vm: command", to repeat with `umlab exec`. */
  commands: string[];
  /** Longer evidence: the command's output, the routes seen. */
  detail?: string;
  /** Links (vm.ethN) whose captures show what this check was about. */
  links?: string[];
}

export type SubmissionStatus = 'graded' | 'invalid' | 'failed-to-start' | 'timeout' | 'interrupted';

export interface SubmissionResult {
  student: string;
  /** The lab directory or file graded. */
  source: string;
  status: SubmissionStatus;
  /** Why the lab did not load or start, when it did not. */
  problem?: string;
  /** Wall-clock seconds from the start of the submission's boot to its teardown. */
  seconds: number;
  points: number;
  maxPoints: number;
  checks: CheckOutcome[];
  /** Content hash of the submission's files (for --rerun). */
  hash: string;
  /** Where its captures and console logs were kept, relative to the report folder. */
  captures?: string;
  warnings: string[];
}

export const passedCount = (r: Pick<SubmissionResult, 'checks'>) => r.checks.filter((c) => c.verdict === 'pass').length;
