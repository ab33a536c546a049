// Points from verdicts: a check is worth its points when it passes; a group's points
// scale with the share (by points) of its checks that pass. Pure.
import type { CheckOutcome } from './result.ts';
import type { GradingSpec } from './spec.ts';

/** Max points of every check, with groups spread over their members by points (equal shares when all are 0). */
export function maxPointsByCheck(spec: Pick<GradingSpec, 'checks' | 'groupPoints'>): Map<string, number> {
  const out = new Map<string, number>();
  const groups = new Map<string, { name: string; points: number }[]>();
  for (const c of spec.checks) {
    if (c.group === undefined) out.set(c.name, c.points);
    else groups.set(c.group, [...(groups.get(c.group) ?? []), { name: c.name, points: c.points }]);
  }
  for (const [group, members] of groups) {
    const weight = members.reduce((s, m) => s + m.points, 0);
    const total = spec.groupPoints[group] ?? weight;
    for (const m of members) out.set(m.name, weight > 0 ? (total * m.points) / weight : total / members.length);
  }
  return out;
}

/** Fills in each outcome's points and returns the totals, rounded to hundredths. */
export function score(spec: Pick<GradingSpec, 'checks' | 'groupPoints'>, outcomes: CheckOutcome[]): { points: number; maxPoints: number } {
  const max = maxPointsByCheck(spec);
  let points = 0;
  let maxPoints = 0;
  for (const o of outcomes) {
    o.maxPoints = round(max.get(o.name) ?? 0);
    o.points = o.verdict === 'pass' ? o.maxPoints : 0;
    points += max.get(o.name) ?? 0;
    if (o.verdict !== 'pass') points -= max.get(o.name) ?? 0;
    maxPoints += max.get(o.name) ?? 0;
  }
  return { points: round(points), maxPoints: round(maxPoints) };
}

const round = (n: number) => Math.round(n * 100) / 100;
