// Point-to-point wire (`connect: vm.ethN`, not declared in a section): a segment of two ports, drawn as an edge.
import type { KindPlan, SegmentKind } from '../types.ts';
import { bridgeCaptureCheck, forwardingSegment, type ForwardingOptions } from '../forwarding/plan.ts';

/** A point-to-point link seen as a segment of two ports (compile.ts makes one per link). */
export interface P2pSegment {
  kind: 'p2p';
  name: string;
}

export type P2pPlan = KindPlan<'p2p', ForwardingOptions>;

export const p2pKind: SegmentKind<P2pSegment, P2pPlan> = {
  name: 'p2p',
  word: 'point-to-point link',
  plan: (_segment, members, env) => forwardingSegment(members, env, 'wire', 'a wire', {}),
  engineName: 'wire',
  engine: () => import('../forwarding/engine.ts'),
  hostCheck: bridgeCaptureCheck,
  linkConditions: true,
  web: 'edge',
};
