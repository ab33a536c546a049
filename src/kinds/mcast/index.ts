// Multicast segment (`mcast:`): UML's mcast transport, the VMs share an IP multicast group; the engine only records.
import type { KindPlan, SegmentKind } from '../types.ts';
import type { McastSegment } from './model.ts';
import { mcastGroups } from './rules.ts';

export type { McastSegment } from './model.ts';

export type McastPlan = KindPlan<'mcast', { group: string; port: number; ttl: number }>;

export const mcastKind: SegmentKind<McastSegment, McastPlan> = {
  name: 'mcast',
  section: 'mcast',
  word: 'mcast segment',
  fromRaw(name, raw, n) {
    const m = raw as { group?: string; port?: number; ttl?: number } | null;
    // Default group/port differ per segment so two groups never merge (n < 256 by any sane lab).
    return { kind: 'mcast', name, group: m?.group ?? `239.192.${n % 256}.1`, port: m?.port ?? 1102 + n, ttl: m?.ttl ?? 1 };
  },
  rules: [mcastGroups],
  plan(segment, members) {
    const { group, port, ttl } = segment;
    return {
      ports: members.map((m) => ({ link: m.link, vm: m.vm, iface: m.iface, mac: m.mac })),
      umlArgs: members.map((m) => `mcast,${m.mac},${group},${port},${ttl}`),
      options: { group, port, ttl },
      // Without the lo route the kernel sends the group out of the default interface.
      needs: [`multicast group ${group} UDP ${port} (ttl ${ttl}) kept on lo of the lab's network namespace (route 224.0.0.0/4 dev lo)`],
    };
  },
  engineName: 'mcast',
  engine: () => import('./engine.ts'),
  web: {
    node: 'mcast',
    style: { shape: 'ellipse', color: '#7b4fa0', label: 'mcast group' },
    detail: ({ options }) => `multicast group ${String(options.group ?? '')}:${String(options.port ?? '')}`.trim(),
  },
};
