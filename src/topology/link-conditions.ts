// Link conditions (delay, jitter, loss, rate, queue, duplicate, corrupt, reorder): the units
// of the lab file and of `umlab link set`, read into plain numbers. Pure.
import { parseDuration, parseRate } from './measures.ts';

/** What one direction of a link does to frames, as netem describes it; absent = not applied. */
export interface LinkConditions {
  delayMs?: number;
  /** +/- around delayMs, uniformly. */
  jitterMs?: number;
  lossPct?: number;
  /** Bits per second on the wire (Ethernet frames, as captured). */
  rateBps?: number;
  /** Frames waiting at most; more are dropped (netem's `limit`). */
  queue?: number;
  duplicatePct?: number;
  corruptPct?: number;
  /** Share of frames sent at once, ahead of delayed ones (needs a delay). */
  reorderPct?: number;
}

/** Both directions of a VM's interface: egress = what the VM sends, ingress = what it receives. */
export interface Impairment {
  egress: LinkConditions;
  ingress: LinkConditions;
}

/** The settings as a lab file or `umlab link set` gives them. */
export type RawConditions = Partial<Record<ConditionKey, string | number>>;
export interface RawImpairment extends RawConditions {
  egress?: RawConditions;
  ingress?: RawConditions;
}

export const CONDITION_KEYS = ['delay', 'jitter', 'loss', 'rate', 'queue', 'duplicate', 'corrupt', 'reorder'] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];

const TIME = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s)$/;
const PERCENT = /^([0-9]+(?:\.[0-9]+)?)%$/;
const RATE = /^([0-9]+(?:\.[0-9]+)?)(bit|kbit|mbit|gbit)$/;

/** One condition: its model field, the words it accepts (lab file and `umlab link set` alike), an example and the schema's description. */
interface ConditionSpec {
  field: keyof LinkConditions;
  pattern: RegExp;
  /** What a usage line writes for its value: T (a time), P% (a share), R (a rate), N (a count). */
  placeholder: string;
  example: string;
  description: string;
}

/** The one table of link conditions; schema/lab.schema.json's two blocks are checked against it (test/unit/link-conditions-schema.test.ts). */
export const CONDITIONS: Record<ConditionKey, ConditionSpec> = {
  delay: { field: 'delayMs', pattern: TIME, placeholder: 'T', example: '20ms', description: 'Added one-way delay, e.g. 20ms (us, ms or s).' },
  jitter: {
    field: 'jitterMs',
    pattern: TIME,
    placeholder: 'T',
    example: '5ms',
    description: 'Delay varies by up to this much either way (uniformly), e.g. 5ms; needs a delay. Frames can overtake each other, as with netem.',
  },
  loss: { field: 'lossPct', pattern: PERCENT, placeholder: 'P%', example: '1%', description: 'Share of frames dropped at random, e.g. 1%.' },
  rate: {
    field: 'rateBps',
    pattern: RATE,
    placeholder: 'R',
    example: '10mbit',
    description: 'Bandwidth of the link in bits per second of Ethernet frames, e.g. 10mbit (bit, kbit, mbit, gbit).',
  },
  queue: {
    field: 'queue',
    pattern: /^[1-9][0-9]*$/,
    placeholder: 'N',
    example: '100',
    description: 'Frames that may wait (for the delay or the rate) before more are dropped; default 1000, as netem.',
  },
  duplicate: { field: 'duplicatePct', pattern: PERCENT, placeholder: 'P%', example: '0.1%', description: 'Share of frames sent twice, e.g. 0.1%.' },
  corrupt: {
    field: 'corruptPct',
    pattern: PERCENT,
    placeholder: 'P%',
    example: '0.01%',
    description: 'Share of frames with one bit flipped after the Ethernet header, e.g. 0.01%.',
  },
  reorder: {
    field: 'reorderPct',
    pattern: PERCENT,
    placeholder: 'P%',
    example: '5%',
    description: 'Share of frames sent at once, overtaking delayed ones, e.g. 5%; needs a delay.',
  },
};

/** Schema patterns, so the lab file and the CLI accept exactly the same words. */
export const CONDITION_PATTERNS = Object.fromEntries(CONDITION_KEYS.map((k) => [k, CONDITIONS[k].pattern])) as Record<ConditionKey, RegExp>;

/** The JSON schema of one condition, as both blocks of schema/lab.schema.json must spell it (queue may be a bare number). */
export function conditionSchema(key: ConditionKey): Record<string, unknown> {
  const { description, pattern } = CONDITIONS[key];
  if (key === 'queue') return { description, type: ['integer', 'string'], pattern: pattern.source, minimum: 1 };
  return { description, type: 'string', pattern: pattern.source };
}

/** A problem with one setting: which key (under egress/ingress when there) and what is wrong. */
export interface ConditionProblem {
  path: string[];
  message: string;
}

/** One value in its unit; null when it does not parse. */
function parseValue(key: ConditionKey, value: string | number): number | null {
  const text = String(value).trim();
  const m = CONDITION_PATTERNS[key].exec(text);
  if (!m) return null;
  // The patterns above insist on a unit; the numbers come from the lab file's one reader of units.
  if (key === 'queue') return Number(text);
  if (key === 'delay' || key === 'jitter') return parseDuration(text)! * 1000;
  if (key === 'rate') return parseRate(text)!;
  return Number(m[1]);
}

/** One direction's settings -> numbers, with every problem (units, ranges, combinations netem refuses). */
function readConditions(raw: RawConditions, at: string[]): { conditions: LinkConditions; problems: ConditionProblem[] } {
  const conditions: LinkConditions = {};
  const problems: ConditionProblem[] = [];
  for (const key of CONDITION_KEYS) {
    const value = raw[key];
    if (value === undefined) continue;
    const n = parseValue(key, value);
    if (n === null) {
      problems.push({ path: [...at, key], message: `bad ${key} "${value}": write it like ${CONDITIONS[key].example}` });
      continue;
    }
    if (CONDITION_PATTERNS[key] === PERCENT && n > 100) problems.push({ path: [...at, key], message: `${key} ${value} is over 100%` });
    else if ((key === 'delay' || key === 'jitter') && n > 60_000) problems.push({ path: [...at, key], message: `${key} ${value} is over 60s` });
    else if (key === 'rate' && n < 8000) problems.push({ path: [...at, key], message: `rate ${value} is below 8kbit` });
    else if (key === 'queue' && n > 100_000) problems.push({ path: [...at, key], message: `queue ${value} is over 100000 frames` });
    else conditions[CONDITIONS[key].field] = n;
  }
  if (conditions.jitterMs !== undefined && !conditions.delayMs)
    problems.push({ path: [...at, 'jitter'], message: 'jitter needs a delay (it varies the delay), e.g. delay: 20ms, jitter: 5ms' });
  if (conditions.reorderPct !== undefined && !conditions.delayMs)
    problems.push({ path: [...at, 'reorder'], message: 'reorder needs a delay (reordered frames overtake delayed ones), e.g. delay: 20ms, reorder: 5%' });
  return { conditions, problems };
}

/** `link:` of an interface: the shared settings apply both ways, `egress:`/`ingress:` override them. */
export function readImpairment(raw: RawImpairment, at: string[] = []): { impairment: Impairment; problems: ConditionProblem[] } {
  const { egress: rawEgress, ingress: rawIngress, ...both } = raw;
  const egress = readConditions({ ...both, ...rawEgress }, at);
  const ingress = readConditions({ ...both, ...rawIngress }, at);
  // A shared setting's problem shows once; a direction's own under its key.
  const seen = new Set<string>();
  const problems = [
    ...egress.problems.map((p) => relocate(p, rawEgress, 'egress', at)),
    ...ingress.problems.map((p) => relocate(p, rawIngress, 'ingress', at)),
  ].filter((p) => {
    const key = p.path.join('.') + p.message;
    return !seen.has(key) && (seen.add(key), true);
  });
  return { impairment: { egress: egress.conditions, ingress: ingress.conditions }, problems };
}

/** A problem of a key the direction set itself belongs under that direction. */
function relocate(p: ConditionProblem, own: RawConditions | undefined, direction: string, at: string[]): ConditionProblem {
  const key = p.path.at(-1) as ConditionKey;
  return own?.[key] !== undefined ? { ...p, path: [...at, direction, key] } : p;
}

export const isUnimpaired = (c: LinkConditions) => Object.keys(c).length === 0;

/** "delay 20ms jitter 5ms loss 1% rate 10mbit", for status and messages. */
export function describeConditions(c: LinkConditions): string {
  const parts: string[] = [];
  if (c.delayMs !== undefined) parts.push(`delay ${formatMs(c.delayMs)}`);
  if (c.jitterMs !== undefined) parts.push(`jitter ${formatMs(c.jitterMs)}`);
  if (c.lossPct !== undefined) parts.push(`loss ${c.lossPct}%`);
  if (c.rateBps !== undefined) parts.push(`rate ${rateWord(c.rateBps)}`);
  if (c.queue !== undefined) parts.push(`queue ${c.queue}`);
  if (c.duplicatePct !== undefined) parts.push(`duplicate ${c.duplicatePct}%`);
  if (c.corruptPct !== undefined) parts.push(`corrupt ${c.corruptPct}%`);
  if (c.reorderPct !== undefined) parts.push(`reorder ${c.reorderPct}%`);
  return parts.join(' ');
}

/** Both directions in one line: "delay 50ms" when they agree, else "egress ... / ingress ...". */
export function describeImpairment(i: Impairment): string {
  const egress = describeConditions(i.egress);
  const ingress = describeConditions(i.ingress);
  if (egress === ingress) return egress;
  return [egress && `egress ${egress}`, ingress && `ingress ${ingress}`].filter(Boolean).join(' / ');
}

const formatMs = (ms: number) => (ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : ms < 1 ? `${Math.round(ms * 1000)}us` : `${ms}ms`);

/** 10e6 -> "10mbit": tc's word, as a lab file writes it. */
function rateWord(bps: number): string {
  for (const [unit, f] of [
    ['gbit', 1e9],
    ['mbit', 1e6],
    ['kbit', 1e3],
  ] as const)
    if (bps >= f) return `${+(bps / f).toFixed(3)}${unit}`;
  return `${bps}bit`;
}

/** What `status` says of a link's conditions: each VM end that has any, described. */
export function conditionFields<E extends { vm: string; iface: string; conditions?: Impairment }>(link: { endpoints: E[] }) {
  const ends = link.endpoints.filter((e) => e.conditions !== undefined);
  return ends.length ? { conditions: ends.map((e) => ({ ...e, conditions: e.conditions!, text: describeImpairment(e.conditions!) })) } : {};
}
