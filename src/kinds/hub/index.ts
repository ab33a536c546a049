// Hub (`hubs:`): repeats every frame to every other port (a bridge with ageing 0, or the userspace engine).
import type { KindPlan, SegmentKind } from '../types.ts';
import { addForwardingPort, bridgeCaptureCheck, forwardingSegment, type ForwardingOptions } from '../forwarding/plan.ts';

export interface HubSegment {
  kind: 'hub';
  name: string;
}

export type HubPlan = KindPlan<'hub', ForwardingOptions>;

export const hubKind: SegmentKind<HubSegment, HubPlan> = {
  name: 'hub',
  section: 'hubs',
  word: 'hub',
  fromRaw: (name) => ({ kind: 'hub', name }),
  plan: (_segment, members, env) => forwardingSegment(members, env, 'hub', 'a hub (ageing 0: every frame is flooded)', {}),
  engineName: 'hub',
  engine: () => import('../forwarding/engine.ts'),
  hostCheck: bridgeCaptureCheck,
  web: { node: 'hub', style: { shape: 'hexagon', color: '#8a6d3b', label: 'hub' }, detail: () => 'hub (every frame to every port)', cable: true },
  linkConditions: true,
  live: { addPort: addForwardingPort },
};
