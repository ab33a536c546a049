// The registry of segment kinds (src/kinds/index.ts) agrees with the schema, and each kind is complete.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DECLARED_KINDS, KINDS, kindOf, kindOfSection, startSegment } from '../../src/kinds/index.ts';

const schema = JSON.parse(readFileSync(new URL('../../schema/lab.schema.json', import.meta.url), 'utf8')) as { properties: Record<string, unknown> };

describe('kind registry', () => {
  it('every declared kind has its section in the schema, with defaults, and sections are unique', () => {
    const sections = DECLARED_KINDS.map((k) => k.section!);
    assert.equal(new Set(sections).size, sections.length);
    for (const kind of DECLARED_KINDS) {
      assert.ok(kind.section! in schema.properties, `${kind.name}: section ${kind.section} is in the schema`);
      assert.equal(kindOfSection(kind.section!), kind);
      assert.equal(kind.fromRaw?.('x', null, 0).kind, kind.name, `${kind.name}: fromRaw fills in the defaults of \`x:\``);
    }
  });

  it('every kind drawn as a node has its own node kind and shape', () => {
    const looks = KINDS.flatMap((k) => (k.web === 'edge' ? [] : [k.web]));
    assert.equal(new Set(looks.map((l) => l.node)).size, looks.length);
    assert.equal(new Set(looks.map((l) => l.style.shape)).size, looks.length);
  });

  it('unknown kinds are refused, naming the supported ones', async () => {
    assert.throws(() => kindOf('vde'), /supported kinds are switch, hub, p2p, mcast, slirp, tap/);
    await assert.rejects(
      startSegment({ name: 'x', kind: 'vde', engine: 'vde', ports: [], options: {}, needs: [] }, { log: () => {}, links: new Map() }),
      /supported kinds are/,
    );
  });
});
