// What checks run against, for a running lab: its VMs through `exec`, names resolved against its
// plan, and each link's frames read from the link's capture file, counted from `sinceMicros` (the
// check run's start). `umlab test`, `umlab grade` and the class's checks on demand all use it.
import { readCapture, type DecodedFrame } from '../capture/decode.ts';
import type { Lab } from '../topology/model.ts';
import type { LabPlan } from '../topology/plan.ts';
import type { CheckEnv } from './evaluate.ts';
import type { ExecFn } from './probes.ts';
import { Resolver } from './resolve.ts';

/** Frames reach the pcap file within the writer's flush delay (50 ms); wait a little longer. */
const CAPTURE_SETTLE_MS = 300;

export function labCheckEnv(lab: Lab, plan: LabPlan, exec: ExecFn, sinceMicros: number): CheckEnv {
  const framesOf = async (linkName: string): Promise<DecodedFrame[]> => {
    await new Promise((r) => setTimeout(r, CAPTURE_SETTLE_MS));
    const link = plan.links.find((l) => l.name === linkName);
    if (!link?.capture) throw new Error(`no capture for link ${linkName}`);
    return (await readCapture(link.capture)).filter((f) => f.time >= sinceMicros);
  };
  return { exec, resolver: new Resolver(lab, plan), framesOf };
}
