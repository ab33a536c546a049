// The schema's two link-condition blocks (an interface's `link:` and $defs/linkConditions for
// egress/ingress) spell exactly what src/topology/link-conditions.ts's one table says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import schema from '../../schema/lab.schema.json' with { type: 'json' };
import { CONDITION_KEYS, CONDITIONS, conditionSchema, readImpairment } from '../../src/topology/link-conditions.ts';

type Block = { additionalProperties: boolean; properties: Record<string, unknown> };
const defs = schema.$defs as unknown as Record<string, { properties: Record<string, Block> }>;
const interfaceLink = Object.values(defs).find((d) => (d.properties?.link as Block | undefined)?.properties?.delay)?.properties.link;
const directions = defs.linkConditions as unknown as Block;

describe('link conditions: one table, two schema blocks', () => {
  it('an interface block and a direction block exist', () => {
    assert.ok(interfaceLink, 'no $defs entry with a link: block found');
    assert.ok(directions);
  });

  it('the direction block has exactly the conditions, each as the table says', () => {
    assert.equal(directions.additionalProperties, false);
    assert.deepEqual(Object.keys(directions.properties).sort(), [...CONDITION_KEYS].sort());
    for (const key of CONDITION_KEYS) assert.deepEqual(directions.properties[key], conditionSchema(key), key);
  });

  it("an interface's link: block has the conditions plus egress and ingress", () => {
    assert.equal(interfaceLink!.additionalProperties, false);
    assert.deepEqual(Object.keys(interfaceLink!.properties).sort(), [...CONDITION_KEYS, 'egress', 'ingress'].sort());
    for (const key of CONDITION_KEYS) assert.deepEqual(interfaceLink!.properties[key], conditionSchema(key), key);
  });

  it("each condition's example is accepted by its own pattern and reader", () => {
    for (const key of CONDITION_KEYS) {
      assert.match(CONDITIONS[key].example, CONDITIONS[key].pattern, key);
      const { problems } = readImpairment({ delay: '20ms', [key]: CONDITIONS[key].example });
      assert.deepEqual(problems, [], key);
    }
  });
});
