// The compiled-schema cache (src/util/schema-validator.ts): the first use compiles and keeps the
// code, the next loads it, and both judge alike.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import schema from '../../schema/lab.schema.json' with { type: 'json' };
import { cachedValidator } from '../../src/util/schema-validator.ts';

const OPTIONS = { allErrors: true, verbose: true, allowUnionTypes: true, strict: true };
const BAD = { name: 'x', vms: { h1: { interfaces: { eth0: { connect: 1 } } } }, colour: 2 };

describe('compiled schema cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-schema-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the compiled validator and loads it back, with the same verdicts and errors', () => {
    const compiled = cachedValidator('lab', schema, OPTIONS, dir);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^lab-[0-9a-f]{16}\.cjs$/);
    const loaded = cachedValidator('lab', schema, OPTIONS, dir);
    assert.equal(compiled(BAD), false);
    assert.equal(loaded(BAD), false);
    assert.deepEqual(loaded.errors, compiled.errors);
    assert.ok(loaded.errors!.some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'colour'));
    assert.equal(loaded({ name: 'ok', vms: { h1: {} } }), true);
  });

  it('the next use runs what the file holds, without compiling', () => {
    const [file] = readdirSync(dir);
    const kept = readFileSync(join(dir, file!), 'utf8');
    writeFileSync(join(dir, file!), 'module.exports.default = function v() { v.errors = null; return "from the file"; };');
    assert.equal(cachedValidator('lab', schema, OPTIONS, dir)(BAD), 'from the file');
    writeFileSync(join(dir, file!), kept);
  });

  it('compiles again when the kept file is damaged, and replaces it', () => {
    const [file] = readdirSync(dir);
    writeFileSync(join(dir, file!), 'module.exports = 42;');
    const validate = cachedValidator('lab', schema, OPTIONS, dir);
    assert.equal(validate(BAD), false);
    assert.equal(cachedValidator('lab', schema, OPTIONS, dir)(BAD), false, 'the file holds a validator again');
  });

  it('another schema or other options are another file', () => {
    cachedValidator('lab', schema, { ...OPTIONS, allErrors: false }, dir);
    assert.equal(readdirSync(dir).length, 2);
  });
});
