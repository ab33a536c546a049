// Source positions of lab paths in one parsed YAML document, with aliases resolved in one
// pass: how a diagnostic about the model finds its file:line:col.
import { isAlias, isMap, isScalar, isSeq, visit, type Alias, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';
import type { NodePart, PathSegment } from './lab-path.ts';

/** Finds source positions of lab paths in one parsed YAML document. */
export class SourceMap {
  /** Each alias's anchored node, found in one pass (yaml's own resolve walks the document per alias). */
  private readonly aliases: Map<Alias, Node | undefined>;
  /** Each map's entries by key, built on first use: lookups stay O(1) in labs with many entries. */
  private readonly entries = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {
    this.aliases = aliasTargets(doc);
  }

  get aliasCount(): number {
    return this.aliases.size;
  }

  /** Offset of the n-th alias (from 0) in document order. */
  aliasOffset(n: number): number {
    let i = 0;
    for (const alias of this.aliases.keys()) if (i++ === n) return alias.range?.[0] ?? 0;
    return 0;
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? this.aliases.get(node) : node;
  }

  private pair(map: YAMLMap, key: PathSegment): Pair | undefined {
    let index = this.entries.get(map);
    if (!index) {
      index = new Map();
      // The first of duplicate keys, as Array.find gave (the parser refuses duplicates anyway).
      for (const p of map.items) {
        const k = keyText(p.key);
        if (k !== undefined && !index.has(k)) index.set(k, p);
      }
      this.entries.set(map, index);
    }
    return index.get(String(key));
  }

  /** True when the document has a node at `path` (e.g. whether a VM sets `memory` itself). */
  has(path: PathSegment[]): boolean {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      node = this.resolve(node);
      if (isMap(node)) {
        const pair = this.pair(node, seg);
        if (!pair) return false;
        node = pair.value;
      } else if (isSeq(node)) {
        if (typeof seg !== 'number' || seg >= node.items.length) return false;
        node = node.items[seg];
      } else {
        return false;
      }
    }
    return true;
  }

  /** 1-based line/col of the key or value node at `path`; the deepest existing node when the path goes further. */
  position(path: PathSegment[], part: NodePart): { line: number; col: number } {
    const offset = this.offset(path, part);
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  private offset(path: PathSegment[], part: NodePart): number {
    let node: unknown = this.doc.contents;
    let best = firstOffset(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      node = this.resolve(node);
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = this.pair(node, path[i]);
        if (!pair) return best;
        const keyOffset = firstOffset(pair.key);
        if (last && part === 'key') return keyOffset ?? best;
        // An empty value (`sw0:`) has no node of its own: use the key.
        best = firstOffset(pair.value) ?? keyOffset ?? best;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(path[i])];
        const itemOffset = firstOffset(item);
        if (itemOffset === undefined) return best;
        best = itemOffset;
        node = item;
      } else {
        return best;
      }
    }
    return best;
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function firstOffset(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

/** Every alias's node: the last node before it with its anchor, as yaml resolves it, in one pass. */
function aliasTargets(doc: Document): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/** Offset of the first alias with no anchor, else of the first alias: where toJS failed. */
export function aliasOffset(doc: Document): number {
  let first: number | undefined;
  let unresolved: number | undefined;
  for (const [alias, target] of aliasTargets(doc)) {
    first ??= alias.range?.[0];
    if (unresolved === undefined && target === undefined) unresolved = alias.range?.[0];
  }
  return unresolved ?? first ?? 0;
}
