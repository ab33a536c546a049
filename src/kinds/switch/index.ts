// Switch: a learning Ethernet switch (`switches:`), on a Linux bridge or umlab's userspace engine.
import { DEFAULT_AGEING, type SwitchSegment } from './model.ts';
import type { KindPlan, SegmentKind } from '../types.ts';
import { addForwardingPort, bridgeCaptureCheck, forwardingSegment, type ForwardingOptions } from '../forwarding/plan.ts';

export type { SwitchSegment } from './model.ts';

export type SwitchPlan = KindPlan<'switch', ForwardingOptions & { ageing: number }>;

export const switchKind: SegmentKind<SwitchSegment, SwitchPlan> = {
  name: 'switch',
  section: 'switches',
  word: 'switch',
  fromRaw: (name, raw) => ({ kind: 'switch', name, ageing: (raw?.['ageing'] as number | undefined) ?? DEFAULT_AGEING }),
  plan: (segment, members, env) =>
    forwardingSegment(members, env, 'switch', `a learning switch (ageing ${segment.ageing ? `${segment.ageing} s` : 'never'})`, { ageing: segment.ageing }),
  engineName: 'switch',
  engine: () => import('../forwarding/engine.ts'),
  hostCheck: bridgeCaptureCheck,
  web: {
    node: 'switch',
    style: { shape: 'rectangle', color: '#5b6b7a', label: 'switch', width: 70, height: 26 },
    detail: () => 'learning switch',
    cable: true,
  },
  linkConditions: true,
  vlans: true,
  live: { addPort: addForwardingPort },
};
