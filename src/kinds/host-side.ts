// Runs every kind's host-side hooks for `umlab up`/`down`: check, before boot, after ready, undo.
import { existsSync } from 'node:fs';
import type { LabPlan, SegmentPlan } from '../topology/plan.ts';
import { KINDS } from './index.ts';
import type { HostProbe } from './types.ts';

/** Segments of the given kinds that have ports, in plan order. */
const segmentsOf = (plan: LabPlan, names: string[]): SegmentPlan[] => plan.segments.filter((s) => names.includes(s.kind) && s.ports.length > 0);

/** Refuses, before anything starts, a lab whose host side this machine or user cannot provide.
 *  Kinds that share one check (switch, hub and wire: tcpdump) run it once over all their segments. */
export function checkHostSide(plan: LabPlan, findCommand: (name: string) => string | null): void {
  const host: HostProbe = { findCommand, isRoot: process.getuid?.() === 0, exists: existsSync };
  const checks = new Map<NonNullable<(typeof KINDS)[number]['hostCheck']>, string[]>();
  for (const kind of KINDS) if (kind.hostCheck) checks.set(kind.hostCheck, [...(checks.get(kind.hostCheck) ?? []), kind.name]);
  for (const [check, names] of checks) check(segmentsOf(plan, names), plan, host);
}

/** Runs one stage of every kind's host side that has segments in the lab, kind by kind. */
export async function runHostSide(stage: 'beforeBoot' | 'afterReady', plan: LabPlan, ctx: { labNetns: string }): Promise<void> {
  for (const kind of KINDS) {
    const segments = segmentsOf(plan, [kind.name]);
    if (!kind.hostSide || segments.length === 0) continue;
    const hooks = await kind.hostSide();
    if (stage === 'beforeBoot') await hooks.beforeBoot?.(segments, plan);
    else await hooks.afterReady?.(segments, plan, ctx);
  }
}

/** Reverts what the host sides did to the caller's namespace, from the run directory alone. */
export async function undoHostSide(runDir: string): Promise<void> {
  for (const kind of KINDS) if (kind.hostSide) await (await kind.hostSide()).undo?.(runDir);
}
