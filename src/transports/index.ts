// The runtime side of segment kinds: which engine forwards a segment's frames.
// Engines are loaded lazily so the pure planning code never pulls in I/O.
import { LabRuntimeError } from '../errors.ts';
import { isBridged, type SegmentPlan } from '../topology/plan.ts';
import type { RunningSegment } from './engines/types.ts';

export type EngineStarter = (plan: SegmentPlan, options: { log: (msg: string) => void }) => Promise<RunningSegment>;

/** Switches, hubs and wires: on a Linux bridge when the plan names one, else in user space. */
const bridgeOrUcast: EngineStarter = async (plan, options) =>
  isBridged(plan)
    ? (await import('./engines/bridge.ts')).startBridgeSegment(plan, options)
    : (await import('./engines/ucast-engine.ts')).startUcastSegment(plan, options);

const mcast: EngineStarter = async (plan, options) =>
  (await import('./engines/mcast.ts')).startMcastSegment(plan, options);

const passt: EngineStarter = async (plan, options) =>
  (await import('./engines/passt.ts')).startPasstSegment(plan, options);

const tap: EngineStarter = async (plan) => (await import('./engines/tap.ts')).startTapSegment(plan);

/** Every engine the runtime can start, by SegmentPlan.engine. */
export const ENGINES: Partial<Record<SegmentPlan['engine'], EngineStarter>> = {
  switch: bridgeOrUcast,
  hub: bridgeOrUcast,
  wire: bridgeOrUcast,
  mcast,
  passt,
  tap,
};

export function startSegment(plan: SegmentPlan, options: { log: (msg: string) => void }): Promise<RunningSegment> {
  const start = ENGINES[plan.engine];
  if (!start)
    throw new LabRuntimeError(
      `segment ${plan.name}: the ${plan.kind} kind cannot run yet (engine "${plan.engine}"); engines available: ${Object.keys(ENGINES).join(', ')}`,
    );
  return start(plan, options);
}
