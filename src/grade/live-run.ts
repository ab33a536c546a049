// The running part of grading one submission: boot its lab under a unique name, wait out the
// spec's convergence time, run its live checks (each retried until its deadline), take the lab
// down. Whatever happens (a lab that never starts, a timeout, Ctrl-C) the lab is taken down.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckResult } from '../checks/evaluate.ts';
import { labCheckEnv } from '../checks/lab-env.ts';
import { LabClient } from '../client/lab-client.ts';
import { planContext } from '../runtime/host.ts';
import { downLab, listLabs, upLab } from '../runtime/lab.ts';
import { runDirFor, runFiles } from '../runtime/paths.ts';
import { compile } from '../planner/compile.ts';
import type { Lab, LabTest } from '../topology/model.ts';
import type { LabPlan } from '../topology/plan.ts';
import type { Judge } from './klc-judge.ts';
import { runLiveChecks } from './live-checks.ts';
import { slug } from './submissions.ts';

export type LivePhase = { phase: 'booting' } | { phase: 'converging'; seconds: number } | { phase: 'checking'; done: number; total: number };

export interface LiveRunOptions {
  home: string;
  /** Seconds the whole submission may take, boot included. */
  timeoutSeconds: number;
  /** Seconds after the lab is up before the checks begin (the spec's convergence time). */
  convergenceSeconds: number;
  signal: AbortSignal;
  onPhase: (p: LivePhase) => void;
  /** Command checks whose output umlab judges (by check name), run by runJudged instead of the command's exit and output match. */
  judges?: ReadonlyMap<string, Judge>;
}

export interface LiveRun {
  /** Results of the checks that finished, by name, with the seconds from "lab up" to the result (convergence included). */
  results: Map<string, { result: CheckResult; atSeconds: number }>;
  /** Why checks did not run or finish: the lab did not start, the timeout, an interruption. */
  stopped?: { status: 'failed-to-start' | 'timeout' | 'interrupted'; reason: string };
  /** The kept captures and console logs of the lab, once it is down. */
  archive: string | null;
  labName: string;
}

/** A lab name no other grading run uses at the same time: g-<student>-<random>. */
export function uniqueLabName(student: string): string {
  return `g-${slug(student).slice(0, 12).replace(/-+$/, '')}-${randomBytes(3).toString('hex')}`;
}

/** Runs `tests` in `lab` (renamed to a unique name here). */
export async function runLive(lab: Lab, tests: LabTest[], opts: LiveRunOptions): Promise<LiveRun> {
  const started = Date.now();
  const deadlineAt = started + opts.timeoutSeconds * 1000;
  lab.name = uniqueLabName(lab.name);
  lab.tests = tests;
  const run: LiveRun = { results: new Map(), archive: null, labName: lab.name };
  const plan = compile(lab, planContext(runDirFor(opts.home, lab.name)));
  const interrupted = new Promise<'interrupted'>((resolve) => {
    if (opts.signal.aborted) resolve('interrupted');
    opts.signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
  });
  let timer: NodeJS.Timeout | undefined;
  // Ends the convergence wait of a run that was interrupted or timed out.
  const over = new AbortController();
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, deadlineAt - Date.now()))));
  try {
    opts.onPhase({ phase: 'booting' });
    const bootSeconds = Math.max(1, Math.floor((deadlineAt - Date.now()) / 1000));
    const up = upLab(plan, { home: opts.home, env: { ...process.env, UMLAB_BOOT_TIMEOUT: String(bootSeconds) } });
    const booted = await Promise.race([
      up.then(
        () => 'up' as const,
        (e: unknown) => e as Error,
      ),
      interrupted,
      timedOut,
    ]);
    if (booted !== 'up') {
      // Down before the boot is waited for: an interrupted or hung `up` rolls back once its supervisor is gone.
      if (typeof booted === 'string') run.archive = await takeDown(opts.home, lab.name);
      await up.catch(() => {});
      run.stopped = stopReason(booted, opts.timeoutSeconds);
      return run;
    }
    const finished = await Promise.race([checkAll(plan, lab, tests, run, opts, over.signal), interrupted, timedOut]);
    if (finished !== 'done') run.stopped = stopReason(finished, opts.timeoutSeconds);
    return run;
  } finally {
    clearTimeout(timer);
    over.abort();
    run.archive = (await takeDown(opts.home, lab.name)) ?? run.archive;
  }
}

function stopReason(why: 'interrupted' | 'timeout' | Error, timeoutSeconds: number): NonNullable<LiveRun['stopped']> {
  if (why === 'interrupted') return { status: 'interrupted', reason: 'grading was interrupted (Ctrl-C) before this check finished' };
  if (why === 'timeout') return { status: 'timeout', reason: `the submission did not finish within its timeout of ${timeoutSeconds} s` };
  return {
    status: 'failed-to-start',
    reason: `the lab did not start: ${why.message}${(why as { hint?: string }).hint ? `\n${(why as { hint?: string }).hint}` : ''}`,
  };
}

async function checkAll(plan: LabPlan, lab: Lab, tests: LabTest[], run: LiveRun, opts: LiveRunOptions, over: AbortSignal): Promise<'done'> {
  const readyAt = Date.now();
  const client = new LabClient(runFiles(plan.runDir).control);
  const env = labCheckEnv(lab, plan, (vm, command, timeoutMs) => client.execText(vm, command, timeoutMs), readyAt * 1000);
  if (opts.convergenceSeconds > 0) {
    opts.onPhase({ phase: 'converging', seconds: opts.convergenceSeconds });
    await sleep(opts.convergenceSeconds * 1000, undefined, { signal: over });
  }
  opts.onPhase({ phase: 'checking', done: 0, total: tests.length });
  const onResult = (result: CheckResult) => {
    run.results.set(result.name, { result, atSeconds: (Date.now() - readyAt) / 1000 });
    opts.onPhase({ phase: 'checking', done: run.results.size, total: tests.length });
  };
  await runLiveChecks(tests, opts.judges ?? new Map(), env, onResult);
  return 'done';
}

/** Takes the lab down if it (still) exists; returns where its captures were kept. */
async function takeDown(home: string, labName: string): Promise<string | null> {
  const record = listLabs(home).find((l) => l.lab === labName);
  if (!record) return null;
  try {
    return (await downLab(home, record)).archive;
  } catch {
    return null;
  }
}
