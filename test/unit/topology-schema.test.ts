// The published JSON schema: it compiles in strict ajv, documents every property,
// and every example lab (and every full lab in the README) validates.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import schema from '../../schema/lab.schema.json' with { type: 'json' };
import { parseLab } from '../../src/planner/load.ts';

const labsDir = new URL('../../labs/', import.meta.url);
const exampleLabs = readdirSync(labsDir).filter((f) => f.endsWith('.yaml'));

/** Every property schema in the document, with its JSON path. */
function* propertySchemas(node: unknown, path: string): Generator<[string, Record<string, unknown>]> {
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'properties' || key === '$defs') && typeof value === 'object' && value !== null) {
      for (const [name, sub] of Object.entries(value)) yield [`${path}/${key}/${name}`, sub as Record<string, unknown>];
    }
    yield* propertySchemas(value, `${path}/${key}`);
  }
}

describe('lab.schema.json', () => {
  it('compiles in ajv strict mode', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    assert.equal(typeof ajv.compile(schema), 'function');
  });

  it('has a description on every property and definition (editors show them)', () => {
    const defs = schema.$defs as Record<string, { description?: string }>;
    // A bare $ref shows the referenced definition's description.
    const described = (s: Record<string, unknown>) =>
      typeof s['description'] === 'string' || (typeof s['$ref'] === 'string' && typeof defs[s['$ref'].replace('#/$defs/', '')]?.description === 'string');
    const missing = [...propertySchemas(schema, '#')].filter(([, s]) => !described(s)).map(([p]) => p);
    assert.deepEqual(missing, []);
  });

  it('has the example labs', () => {
    for (const name of ['two-hosts.yaml', 'router.yaml', 'proxy-arp.yaml', 'hub.yaml', 'firewall.yaml', 'all-kinds.yaml'])
      assert.ok(exampleLabs.includes(name), name);
  });

  for (const name of exampleLabs) {
    it(`labs/${name} validates and points editors at the schema`, () => {
      const text = readFileSync(new URL(name, labsDir), 'utf8');
      const result = parseLab(text, `labs/${name}`);
      assert.ok('lab' in result, 'errors' in result ? JSON.stringify(result.errors, null, 2) : '');
      assert.equal(result.lab.name, name.replace(/\.yaml$/, ''));
      const lines = text.split('\n');
      assert.equal(lines[0], '# yaml-language-server: $schema=../schema/lab.schema.json');
      assert.match(lines[1]!, /^# \S/, 'a comment describing the lab');
    });
  }

  it('all-kinds.yaml uses every segment kind', () => {
    const result = parseLab(readFileSync(new URL('all-kinds.yaml', labsDir), 'utf8'), 'all-kinds.yaml');
    assert.ok('lab' in result);
    assert.deepEqual(new Set(result.lab.segments.map((s) => s.kind)), new Set(['switch', 'hub', 'mcast', 'tap', 'slirp']));
    assert.ok(
      result.lab.vms.some((v) => v.interfaces.some((i) => i.connect?.includes('.'))),
      'a point-to-point link',
    );
  });

  it("every complete lab in the README's format reference validates", () => {
    const doc = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^name:/m.test(b));
    assert.ok(blocks.length >= 5, `found ${blocks.length} complete labs`);
    for (const block of blocks) {
      const result = parseLab(block, 'README.md');
      assert.ok('lab' in result, `${block}\n${'errors' in result ? JSON.stringify(result.errors, null, 2) : ''}`);
    }
  });
});
