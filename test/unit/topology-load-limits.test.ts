// Hostile lab files: many aliases, huge maps, oversized files, FIFOs and devices. Work is
// bounded by counting it (alias look-ups that walk the document), not by wall-clock
// thresholds; the generous test timeouts only stop a regression from hanging the suite.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Alias } from 'yaml';
import { LabFileError } from '../../src/errors.ts';
import { parseLab } from '../../src/planner/load.ts';
import { loadLabFile, MAX_LAB_FILE_BYTES } from '../../src/runtime/lab-reader.ts';
import { MAX_ALIAS_COUNT } from '../../src/topology/yaml-parse.ts';

const tmp = mkdtempSync(join(tmpdir(), 'umlab-load-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Counts yaml's document-walking alias look-ups (resolve without toJS's cache) while fn runs. */
function countDocumentWalks<T>(fn: () => T): { result: T; walks: number } {
  const original = Alias.prototype.resolve;
  let walks = 0;
  Alias.prototype.resolve = function (this: Alias, ...args: Parameters<typeof original>) {
    if (!args[1]?.aliasResolveCache) walks++;
    return original.apply(this, args);
  } as typeof original;
  try {
    return { result: fn(), walks };
  } finally {
    Alias.prototype.resolve = original;
  }
}

const vmsByAlias = (n: number, extra = '') =>
  'name: aliases\ndefaults: &d { memory: 128M }\nvms:\n' + Array.from({ length: n }, (_, i) => `  h${i}: *d\n`).join('') + extra;

const loadError = async (path: string): Promise<string> => {
  try {
    await loadLabFile(path);
  } catch (e) {
    assert.ok(e instanceof LabFileError, `expected a LabFileError, got ${String(e)}`);
    return e.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n');
  }
  assert.fail(`${path} should not load`);
};

describe('validate on hostile input', () => {
  it('validates 3,000 aliases without walking the document per alias', { timeout: 60_000 }, () => {
    const { result, walks } = countDocumentWalks(() => parseLab(vmsByAlias(3000), 'aliases.yaml'));
    assert.ok('lab' in result, JSON.stringify('errors' in result && result.errors[0]));
    assert.equal(result.lab.vms.length, 3000);
    assert.ok(walks <= 1, `${walks} document walks`); // toJS's first look-up fills its cache
  });

  it('locates an error in a lab of 3,000 aliases without walking the document per alias', { timeout: 60_000 }, () => {
    const text = vmsByAlias(3000).replace('  h2999: *d\n', '  h2999: *d\n  x1: { memory: 12M }\n  x2: { interfaces: { eth0: { connect: nowhere } } }\n');
    const { result, walks } = countDocumentWalks(() => parseLab(text, 'aliases.yaml'));
    assert.ok('errors' in result);
    assert.deepEqual(
      result.errors.map((e) => `${e.line}:${e.col} ${e.path}`),
      ['3004:17 vms.x1.memory', '3005:40 vms.x2.interfaces.eth0.connect'],
    );
    assert.ok(walks <= 1, `${walks} document walks`); // toJS's first look-up fills its cache
  });

  it('refuses more aliases than the limit, at the first one beyond it', { timeout: 60_000 }, () => {
    const result = parseLab(vmsByAlias(MAX_ALIAS_COUNT + 100), 'many.yaml');
    assert.ok('errors' in result);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!.message, new RegExp(`more than ${MAX_ALIAS_COUNT} aliases`));
    assert.equal(result.errors[0]!.line, 4 + MAX_ALIAS_COUNT);
  });

  it('finds a duplicate key in a map of 50,000 entries', { timeout: 60_000 }, () => {
    const text = 'name: big\nvms:\n' + Array.from({ length: 50_000 }, (_, i) => `  h${i}: {}\n`).join('') + '  h7: {}\n';
    const result = parseLab(text, 'big.yaml');
    assert.ok('errors' in result);
    assert.deepEqual(
      result.errors.map((e) => `${e.line}:${e.col} ${e.message}`),
      ['50003:3 YAML: Map keys must be unique'],
    );
  });

  it('refuses a lab file over 1 MiB, naming its size and the limit', async () => {
    const file = join(tmp, 'huge.yaml');
    writeFileSync(file, 'name: huge\nvms: { h1: {} }\n' + '#'.repeat(MAX_LAB_FILE_BYTES));
    const message = await loadError(file);
    assert.match(message, new RegExp(`^1:1 the lab file is ${MAX_LAB_FILE_BYTES + 27} bytes, more than the ${MAX_LAB_FILE_BYTES} bytes \\(1 MiB\\)`));
  });

  it('refuses a FIFO without blocking', { timeout: 10_000 }, async () => {
    const fifo = join(tmp, 'lab.fifo');
    execFileSync('mkfifo', [fifo]);
    assert.match(await loadError(fifo), /the lab file is a FIFO, not a regular file/);
  });

  it('refuses a device and a directory', { timeout: 10_000 }, async () => {
    assert.match(await loadError('/dev/zero'), /the lab file is a device, not a regular file/);
    assert.match(await loadError(tmp), /the lab file is a directory/);
  });

  it('still loads an ordinary lab file', async () => {
    const file = join(tmp, 'ok.yaml');
    writeFileSync(file, 'name: ok\nvms: { h1: {} }\n');
    assert.equal((await loadLabFile(file)).name, 'ok');
  });
});
