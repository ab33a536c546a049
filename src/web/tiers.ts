// Which band of a layered drawing each node of the graph goes in (0 = top), or null when the
// lab has no tiers and the force layout suits it better. Pure: from node ids, edges and the
// lab file's `layout: tiers:` hint.

/** One glob-like pattern (`*` is any run of characters) as a whole-name regular expression. */
const patternRegExp = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

function neighbours(nodes: string[], edges: [string, string][]): Map<string, Set<string>> {
  const next = new Map(nodes.map((n) => [n, new Set<string>()]));
  for (const [a, b] of edges) {
    if (a === b) continue;
    next.get(a)?.add(b);
    next.get(b)?.add(a);
  }
  return next;
}

/** Steps from each node to the nearest of `from` (breadth first); unreachable nodes are absent. */
function distances(next: Map<string, Set<string>>, from: string[]): Map<string, number> {
  const dist = new Map(from.map((n) => [n, 0]));
  let frontier = from;
  while (frontier.length) {
    const ahead: string[] = [];
    for (const n of frontier)
      for (const m of next.get(n) ?? []) {
        if (dist.has(m)) continue;
        dist.set(m, dist.get(n)! + 1);
        ahead.push(m);
      }
    frontier = ahead;
  }
  return dist;
}

/** Tiers from the hint: each node in the first tier that names it; the others one below a
 *  neighbour that has a tier (nearest first), the rest at the bottom. */
export function hintedTiers(nodes: string[], edges: [string, string][], hint: string[][]): Record<string, number> {
  const patterns = hint.map((tier) => tier.map(patternRegExp));
  const tier = new Map<string, number>();
  for (const n of nodes) {
    const at = patterns.findIndex((tier) => tier.some((re) => re.test(n)));
    if (at >= 0) tier.set(n, at);
  }
  const next = neighbours(nodes, edges);
  let frontier = [...tier.keys()];
  while (frontier.length) {
    const ahead: string[] = [];
    for (const n of frontier)
      for (const m of next.get(n) ?? []) {
        if (tier.has(m)) continue;
        tier.set(m, tier.get(n)! + 1);
        ahead.push(m);
      }
    frontier = ahead;
  }
  const bottom = Math.max(hint.length - 1, ...tier.values());
  return Object.fromEntries(nodes.map((n) => [n, tier.get(n) ?? bottom]));
}

/** Whether the nodes and edges have a cycle (more distinct edges than a forest of them holds). */
function hasCycle(nodes: string[], edges: [string, string][]): boolean {
  const keep = new Set(nodes);
  const pairs = new Set(edges.filter(([a, b]) => a !== b && keep.has(a) && keep.has(b)).map(([a, b]) => [a, b].sort().join('\0')));
  const parent = new Map(nodes.map((n) => [n, n]));
  const root = (n: string): string => (parent.get(n) === n ? n : root(parent.get(n)!));
  for (const pair of pairs) {
    const [a, b] = pair.split('\0').map(root) as [string, string];
    if (a === b) return true;
    parent.set(a, b);
  }
  return false;
}

/** Tiers found in the graph itself: the devices at the edge (one link) at the bottom, every
 *  other one by its distance from them, the farthest on top. Only when that makes a fabric:
 *  at least three tiers, two or more devices in each but the top, every link between devices
 *  of neighbouring tiers, and several paths between them (a tree or a chain is drawn better
 *  by the force layout). */
export function foundTiers(nodes: string[], edges: [string, string][]): Record<string, number> | null {
  const next = neighbours(nodes, edges);
  const leaves = nodes.filter((n) => next.get(n)!.size === 1);
  if (!leaves.length) return null;
  const dist = distances(next, leaves);
  if (nodes.some((n) => !dist.has(n))) return null;
  const top = Math.max(...dist.values());
  if (top < 2) return null;
  const inner = nodes.filter((n) => !leaves.includes(n));
  const steep = edges.some(([a, b]) => !leaves.includes(a) && !leaves.includes(b) && Math.abs(dist.get(a)! - dist.get(b)!) > 1);
  if (steep || !hasCycle(inner, edges)) return null;
  // A tier of one below the top is a router in the middle of a small lab, not a fabric.
  const counts = new Map<number, number>();
  for (const d of dist.values()) counts.set(d, (counts.get(d) ?? 0) + 1);
  if ([...counts].some(([d, count]) => d < top && count < 2)) return null;
  return Object.fromEntries(nodes.map((n) => [n, top - dist.get(n)!]));
}

/** The hint's tiers when the lab file gives some, else those found in the graph (or null). */
export function tiersOf(nodes: string[], edges: [string, string][], hint: string[][] | undefined): Record<string, number> | null {
  return hint?.length ? hintedTiers(nodes, edges, hint) : foundTiers(nodes, edges);
}
