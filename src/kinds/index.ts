// The one registry of segment kinds, asked by loader, rules, compile, runtime, rewiring and web view (pure: engines load lazily).
import { LabRuntimeError, UmlabError } from '../errors.ts';
import { listing } from '../util/text.ts';
import type { PathSegment } from '../topology/lab-path.ts';
import type { RuleKinds } from '../topology/rules/context.ts';
import type { Segment } from '../topology/model.ts';
import type { SegmentPlan } from '../topology/plan.ts';
import type { RunningSegment } from './running.ts';
import { hubKind } from './hub/index.ts';
import { mcastKind } from './mcast/index.ts';
import { p2pKind, type P2pSegment } from './p2p/index.ts';
import { slirpKind } from './slirp/index.ts';
import { switchKind } from './switch/index.ts';
import { tapKind } from './tap/index.ts';
import type { EngineOptions, Member, PlanEnv, SegmentKind } from './types.ts';

export type { Member, PlanEnv, SegmentKind } from './types.ts';
export type { SegmentAddress } from '../topology/rules/context.ts';
export { p2pKind, type P2pSegment } from './p2p/index.ts';

/** The built-in kinds, in the order "supported kinds are ..." names them: adding a kind is one line here. */
const BUILT_IN = [switchKind, hubKind, p2pKind, mcastKind, slirpKind, tapKind] as const;

/** Every declared segment a lab can hold: the union of the kinds' own model types (each in its folder). */
export type KindSegment = Exclude<ModelOf<(typeof BUILT_IN)[number]>, P2pSegment>;
type ModelOf<K> = K extends SegmentKind<infer M, infer _P> ? M : never;

// `any`: each kind has its own segment and options types; the registry holds them side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKind = SegmentKind<any, any>;

/** Every kind, built-in ones first; registerKind adds to it (and to the lists below, kept in step). */
export const KINDS: readonly AnyKind[] = [...BUILT_IN];

export const SUPPORTED_KINDS: string[] = KINDS.map((k) => k.name);

/** Kinds declared in a section of the lab file (all but p2p), in registry order. */
export const DECLARED_KINDS = KINDS.filter((k) => k.section !== undefined);

/** Every word that names a kind or its engine (the architecture lint refuses them in comparisons outside src/kinds/). */
export const kindWords = () => [...new Set(KINDS.flatMap((k) => [k.name, k.engineName]))];

/** Adds a kind after the built-in ones (a plugin or a test's fixture kind): the run-time twin of a line in BUILT_IN; names and sections stay unique. */
export function registerKind(kind: AnyKind): void {
  const clash = KINDS.find((k) => k.name === kind.name || (kind.section !== undefined && k.section === kind.section));
  if (clash) throw new UmlabError(`segment kind "${kind.name}" clashes with the registered kind "${clash.name}" (same name or lab-file section)`);
  (KINDS as AnyKind[]).push(kind);
  SUPPORTED_KINDS.push(kind.name);
  if (kind.section !== undefined) DECLARED_KINDS.push(kind);
  if (kind.live !== undefined) (LIVE_KINDS as AnyKind[]).push(kind);
}

/** The kind of a name; unknown names fail with "supported kinds are ...". */
export function kindOf(name: string): SegmentKind<{ kind: string; name: string }, SegmentPlan> {
  const kind = KINDS.find((k) => k.name === name);
  if (!kind) throw new UmlabError(`unknown segment kind "${name}": supported kinds are ${SUPPORTED_KINDS.join(', ')}`);
  return kind;
}

/** The kind declared under a lab-file section, if any. */
export const kindOfSection = (section: string) => DECLARED_KINDS.find((k) => k.section === section);

/** Path of a declared segment in the lab file: [section, name, ...rest]. */
export const segmentPath = (segment: Segment, ...rest: PathSegment[]): PathSegment[] => [kindOf(segment.kind).section!, segment.name, ...rest];

/** Plans one segment with its kind (pure). */
export function planSegment(segment: Segment | P2pSegment, members: Member[], env: PlanEnv): SegmentPlan & { umlArgs: string[]; vector: boolean } {
  const kind = kindOf(segment.kind);
  const planned = kind.plan(segment, members, env);
  return {
    name: segment.name,
    kind: segment.kind,
    engine: kind.engineName,
    ports: planned.ports,
    options: planned.options,
    needs: planned.needs,
    umlArgs: planned.umlArgs,
    vector: planned.vector ?? false,
  };
}

/** Starts the engine of a segment (imported now, on first use). */
export async function startSegment(plan: SegmentPlan, options: EngineOptions): Promise<RunningSegment> {
  const kind = KINDS.find((k) => k.name === plan.kind && k.engineName === plan.engine);
  if (!kind)
    throw new LabRuntimeError(
      `segment ${plan.name}: the ${plan.kind} kind cannot run (engine "${plan.engine}"); supported kinds are ${SUPPORTED_KINDS.join(', ')}`,
    );
  return (await kind.engine()).start(plan, options);
}

/** "switches, hubs and point-to-point links": the kinds with a capability, for messages. */
export const kindsThat = (flag: 'linkConditions' | 'vlans') =>
  KINDS.filter((k) => k[flag])
    .map((k) => k.section ?? `${k.word}s`)
    .join(', ')
    .replace(/, ([^,]*)$/, ' and $1');

/** The registry as the shared rules ask it (topology/rules/context.ts): handed to them by the loader. */
export const RULE_KINDS: RuleKinds = {
  kindOf,
  pointToPoint: p2pKind,
  sections: () => DECLARED_KINDS.map((k) => k.section!),
  kindsThat,
};

/** Kinds whose running segments take new links (`umlab link add`). */
export const LIVE_KINDS: readonly AnyKind[] = KINDS.filter((k) => k.live !== undefined);

/** "switch or hub": one of the kinds that take links live, for help texts. */
export const liveKindWords = () =>
  listing(
    LIVE_KINDS.map((k) => k.word),
    'or',
  );

/** "switches and hubs": the sections of the kinds that take links live, for messages. */
export const liveKindsText = () => {
  const names = LIVE_KINDS.map((k) => k.section ?? k.word);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? 'none');
};
