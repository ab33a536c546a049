// The topology as the page draws it: nodes and edges in cytoscape's element format,
// computed from a LabPlan alone (pure), so the offline view and the live one agree.
import { KINDS, kindOf } from '../kinds/index.ts';
import type { WebLook } from '../kinds/types.ts';
import type { InterfacePlan, LabPlan, VmPlan } from '../topology/plan.ts';
import { describeImpairment } from '../topology/link-conditions.ts';
import { describeVlans } from '../kinds/forwarding/vlan.ts';
import { tiersOf } from './tiers.ts';

/** "h1.eth0: delay 50ms; h2.eth0: loss 1%": each VM end's conditions, for the page. */
export const conditionsText = (ends: { vm: string; iface: string; text: string }[] | undefined) =>
  (ends ?? []).map((c) => `${c.vm}.${c.iface}: ${c.text}`).join('; ');

/** What a node stands for: 'vm', or the web node of a segment kind (src/kinds/<kind>: switch, hub, mcast, tap, gateway). */
export type NodeKind = string;

export interface GraphNode {
  data: {
    id: string;
    label: string;
    kind: NodeKind;
    /** One line for the tooltip/side panel, e.g. "switch" or "slirp gateway 10.0.2.0/24". */
    detail: string;
  };
}

export interface GraphEdge {
  data: {
    /** The link name, also the key of its counters and capture. */
    id: string;
    source: string;
    target: string;
    link: string;
    segment: string;
    /** Interface and addresses at the source and target ends ("" at a segment). */
    sourceLabel: string;
    targetLabel: string;
    hasCapture: boolean;
    /** Link conditions at its VM ends as planned ('' when none). */
    conditions: string;
    /** A VLAN-aware switch port's VLANs, e.g. "trunk 10,20" ('' elsewhere). */
    vlans: string;
  };
}

/** A two-member switch or hub drawn as one line between its VMs: it stands for its node and
 *  its two edges (the page's default view; "every domain as a node" draws those instead). */
export interface GraphLine {
  data: GraphEdge['data'] & {
    /** Both links of the segment; `link` (the first) is the one whose frames a click opens. */
    links: string[];
  };
}

export interface Graph {
  /** Every VM and segment node, and one edge per link: the "every domain as a node" view. */
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Two-member segments as lines (the default view: these replace their node and edges). */
  lines: GraphLine[];
  /** Band per node of the default view (0 = top) when it has tiers, for a layered drawing; null: force layout. */
  tiers: Record<string, number> | null;
  /** Shape, colour and legend of each segment node kind, from the kinds (web/app.js draws with them). */
  styles: Record<NodeKind, WebLook['style']>;
}

/** Every kind drawn as a node: node kind -> style. */
const STYLES = Object.fromEntries(KINDS.flatMap((k) => (k.web === 'edge' ? [] : [[k.web.node, k.web.style]])));

/** Segment node ids are prefixed so a segment and a VM may share a name. */
export const segmentNodeId = (segment: string) => `segment:${segment}`;

export function graphFromPlan(plan: LabPlan): Graph {
  const nodes: GraphNode[] = plan.vms.map((vm) => ({
    data: { id: vm.name, label: vm.name, kind: 'vm', detail: vmDetail(vm) },
  }));
  /** Segments drawn as an edge between their two VMs (point-to-point wires). */
  const edgeSegments = new Set<string>();
  for (const seg of plan.segments) {
    const look = kindOf(seg.kind).web;
    if (look === 'edge') edgeSegments.add(seg.name);
    else nodes.push({ data: { id: segmentNodeId(seg.name), label: seg.name, kind: look.node, detail: look.detail(seg) } });
  }
  const edges = plan.links.flatMap((link) => edgeOf(plan, link, edgeSegments.has(link.segment)));
  const lines = cableLines(plan, edges);
  return { nodes, edges, lines, tiers: defaultViewTiers(plan, nodes, edges, lines), styles: STYLES };
}

type LinkPlan = LabPlan['links'][number];

function edgeOf(plan: LabPlan, link: LinkPlan, wire: boolean): GraphEdge[] {
  const [a, b] = link.endpoints;
  if (!a) return [];
  const port = plan.segments.flatMap((s) => s.ports).find((p) => p.link === link.name);
  const endLabel = (end: { vm: string; iface: string }) =>
    interfaceLabel(
      end.iface,
      findInterface(
        plan.vms.find((vm) => vm.name === end.vm),
        end.iface,
      ),
    );
  const p2p = wire && b !== undefined;
  return [
    {
      data: {
        id: link.name,
        source: a.vm,
        target: p2p ? b.vm : segmentNodeId(link.segment),
        link: link.name,
        segment: link.segment,
        sourceLabel: endLabel(a),
        targetLabel: p2p ? endLabel(b) : '',
        hasCapture: link.capture !== null,
        // What the plan says; live changes (`umlab link set`) come with the live state.
        conditions: conditionsText(link.endpoints.flatMap((e) => (e.conditions ? [{ ...e, text: describeImpairment(e.conditions) }] : []))),
        // "access 10", "trunk 10,20": a VLAN-aware switch port's VLANs ('' elsewhere).
        vlans: port?.vlans ? describeVlans(port.vlans) : '',
      },
    },
  ];
}

/** A switch or hub with exactly two links, from two different VMs and without VLANs, is one cable. */
function cableLines(plan: LabPlan, edges: GraphEdge[]): GraphLine[] {
  return plan.segments.flatMap((seg) => {
    const look = kindOf(seg.kind).web;
    const ends = edges.filter((e) => e.data.segment === seg.name);
    if (look === 'edge' || !look.cable || ends.length !== 2) return [];
    const [a, b] = ends as [GraphEdge, GraphEdge];
    if (a.data.source === b.data.source || a.data.vlans || b.data.vlans) return [];
    const data = {
      id: lineId(seg.name),
      source: a.data.source,
      target: b.data.source,
      link: a.data.link,
      links: [a.data.link, b.data.link],
      segment: seg.name,
      sourceLabel: a.data.sourceLabel,
      targetLabel: b.data.sourceLabel,
      hasCapture: a.data.hasCapture || b.data.hasCapture,
      conditions: [a.data.conditions, b.data.conditions].filter(Boolean).join('; '),
      vlans: '',
    };
    // The frames a click opens are those of a captured end.
    if (!a.data.hasCapture && b.data.hasCapture) data.link = b.data.link;
    return [{ data }];
  });
}

/** The cytoscape id of a segment drawn as a line. */
export const lineId = (segment: string) => `line:${segment}`;

/** The tiers of the default view: segments that became lines are not nodes there. */
function defaultViewTiers(plan: LabPlan, nodes: GraphNode[], edges: GraphEdge[], lines: GraphLine[]): Record<string, number> | null {
  const drawnAsLine = new Set(lines.map((l) => l.data.segment));
  const ids = nodes.map((n) => n.data.id).filter((id) => ![...drawnAsLine].some((seg) => segmentNodeId(seg) === id));
  const pairs = [...edges.filter((e) => !drawnAsLine.has(e.data.segment)), ...lines].map((e): [string, string] => [e.data.source, e.data.target]);
  return tiersOf(ids, pairs, plan.layout?.tiers);
}

function findInterface(vm: VmPlan | undefined, iface: string): InterfacePlan | undefined {
  return vm?.interfaces.find((i) => i.name === iface);
}

/** "eth0\n10.0.0.1/24" — one line per address; "dhcp" when the address comes from a gateway. */
export function interfaceLabel(iface: string, plan: InterfacePlan | undefined): string {
  const addresses = plan?.addresses.length ? plan.addresses : plan?.dhcp ? ['dhcp'] : [];
  return [iface, ...addresses].join('\n');
}

function vmDetail(vm: VmPlan): string {
  return `VM, ${vm.memory}, ${vm.interfaces.length} interface${vm.interfaces.length === 1 ? '' : 's'}`;
}
