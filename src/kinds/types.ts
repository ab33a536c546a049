// SegmentKind: the one interface every segment kind (src/kinds/<kind>/index.ts) implements, and what it is given.
import type { Diagnostic } from '../errors.ts';
import type { LabAllocator } from '../topology/allocator.ts';
import type { Lab, PortVlans } from '../topology/model.ts';
import type { Impairment } from '../topology/link-conditions.ts';
import type { LabPlan, LinkPlan, PortPlan, SegmentPlan } from '../topology/plan.ts';
import type { RuleContext, SegmentAddress } from '../topology/rules/context.ts';
import type { RunningSegment } from './running.ts';

/** A SegmentPlan whose options are typed by its kind (plan.json is plain data; kinds read it through this). */
export type KindPlan<K extends string, O> = SegmentPlan & { kind: K; options: O & Readonly<Record<string, unknown>> };

/** One VM interface attached to a segment, as a kind's plan() sees it. */
export interface Member {
  vm: string;
  iface: string;
  mac: string;
  link: string;
  capture: string | null;
  /** The interface's link conditions, when it has any (forces the userspace engine). */
  impairment?: Impairment;
  /** The port's VLANs, when the interface gives them. */
  vlans?: PortVlans;
}

/** Lab-wide counters and names the kinds' planners share (compile.ts hands them out). */
export interface PlanEnv {
  runDir: string;
  /** See PlanContext.bridgeCaptures. */
  bridgeCaptures: boolean;
  /** UDP port pair for the next ucast port of the lab. */
  nextUcastPorts(): { vmPort: number; enginePort: number };
  /** veth device (in the lab's namespace) for the next VM port of a switch, hub or wire. */
  nextVmPortDevice(): string;
  /** Linux bridge (in the lab's namespace) for the next switch, hub or wire. */
  nextSegmentBridge(): string;
  /** Four hex digits of the lab's name, for names outside the lab's namespace (host devices) that two labs must not share. */
  labHash: string;
  /** 0, 1, 2, ... per counter name, lab-wide in compile order: a kind numbers its own devices with it. */
  next(counter: string): number;
}

/** What a kind's plan() returns; compile.ts adds name, kind and engine. */
export interface PlannedSegment<O> {
  ports: PortPlan[];
  /** The `ethN=` value of each member, in member order (what follows `vecN:` when `vector`). */
  umlArgs: string[];
  /** The members are UML vector devices (vecN) rather than eth devices. */
  vector?: boolean;
  options: O;
  needs: string[];
}

/** What an engine is started with besides its segment: the lab's links (its ports point to them by name) and a log. */
export interface EngineOptions {
  log: (msg: string) => void;
  links: ReadonlyMap<string, LinkPlan>;
}

export type EngineStarter<P extends SegmentPlan = SegmentPlan> = (plan: P, options: EngineOptions) => Promise<RunningSegment>;

/** What a host check may ask of the machine (injected, so checks stay pure and testable). */
export interface HostProbe {
  findCommand(name: string): string | null;
  isRoot: boolean;
  exists(path: string): boolean;
}

/** Host-side work in the caller's network namespace (where `umlab up` runs), loaded lazily. */
export interface HostSideHooks<P extends SegmentPlan = SegmentPlan> {
  /** Before the supervisor starts (e.g. passt for slirp gateways). */
  beforeBoot?(segments: P[], plan: LabPlan): Promise<void>;
  /** Once every VM is ready (e.g. moving taps to the host side). */
  afterReady?(segments: P[], plan: LabPlan, ctx: { labNetns: string }): Promise<void>;
  /** Reverts what the hooks did to the caller's namespace; from the run directory alone (also after a crash). */
  undo?(runDir: string): Promise<void>;
}

/** How the web view draws a segment node of this kind (web/app.js takes the style from /api/lab). */
export interface WebLook<P extends SegmentPlan = SegmentPlan> {
  /** Node kind in the graph payload (a slirp segment is a "gateway"). */
  node: string;
  style: { shape: string; color: string; label: string; width?: number; height?: number };
  /** One line for the tooltip/side panel. */
  detail(plan: P): string;
  /** With exactly two VM members it is one cable: the page draws it as a line between them. */
  cable?: boolean;
}

/** A port for a link added to a running segment (`umlab link add`). */
export interface LivePort {
  port: PortPlan;
  /** The new link's capture file, or null. */
  capture: string | null;
  umlArg: string;
  /** The VM reaches it as a vector device (vecN). */
  vector: boolean;
}

/** One segment kind. M: its model (the Lab's Segment), P: its typed plan. */
export interface SegmentKind<M extends { kind: string; name: string } = { kind: string; name: string }, P extends SegmentPlan = SegmentPlan> {
  /** As in the Lab model and SegmentPlan.kind. */
  name: M['kind'];
  /** Top-level key of the lab file it is declared under; none for kinds that are not declared (p2p). */
  section?: string;
  /** What messages call one, e.g. "tap bridge". */
  word: string;
  /** Schema-valid entry of its section (null for `x:`) -> the model, defaults filled in; n counts this kind's segments. */
  fromRaw?(name: string, raw: Record<string, unknown> | null, n: number): M;
  /** Semantic rules on this kind's settings (run with the others, see topology/rules/index.ts). */
  rules?: ((ctx: RuleContext) => Diagnostic[])[];
  /** Addresses the segment holds itself. */
  addresses?(segment: M, lab: Lab): SegmentAddress[];
  /** Pure: the segment's ports, kernel arguments, typed options and host needs. */
  plan(segment: M, members: Member[], env: PlanEnv): PlannedSegment<P['options']>;
  /** SegmentPlan.engine of its plans. */
  engineName: string;
  /** The engine module, imported lazily (it does I/O). */
  engine(): Promise<{ start: EngineStarter<P> }>;
  /** Refuses, before anything starts, a lab this machine or user cannot run; segments: those with ports. Pure. */
  hostCheck?(segments: P[], plan: LabPlan, host: HostProbe): void;
  /** Host-side hooks, imported lazily. */
  hostSide?(): Promise<HostSideHooks<P>>;
  /** How the web view draws it: a node, or an edge between the two VMs of a wire. */
  web: WebLook<P> | 'edge';
  /** Its engine can delay, drop, rate-limit... a link's frames (`link:` of an interface, `umlab link set`). */
  linkConditions?: true;
  /** Its ports can be in VLANs (`vlan:`, `vlans:` of an interface). */
  vlans?: true;
  /** Present when links can be added to a running segment of this kind. */
  live?: { addPort(segment: P, member: Member, plan: LabPlan, ports: LabAllocator): LivePort };
}
