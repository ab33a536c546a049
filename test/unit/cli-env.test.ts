// Values from the environment and lab-file text that reach the terminal: UMLAB_BOOT_TIMEOUT
// is checked before a lab starts; compile prints no raw escape sequences from `description`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { bootTimeoutSeconds, printable } from '../../src/cli/env.ts';

const root = new URL('../..', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'umlab-cli-env-'));
after(() => rmSync(home, { recursive: true, force: true }));
const umlab = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, UMLAB_HOME: home, ...env },
    encoding: 'utf8',
  });

describe('UMLAB_BOOT_TIMEOUT', () => {
  it('takes seconds in (0, 3600], defaulting to 120', () => {
    assert.equal(bootTimeoutSeconds({}), 120);
    assert.equal(bootTimeoutSeconds({ UMLAB_BOOT_TIMEOUT: '300' }), 300);
    assert.equal(bootTimeoutSeconds({ UMLAB_BOOT_TIMEOUT: '0.5' }), 0.5);
  });

  for (const bad of ['abc', '-5', '0', '1e9', '3601', 'NaN', 'Infinity'])
    it(`refuses ${bad} naming the variable and the range`, () => {
      assert.throws(
        () => bootTimeoutSeconds({ UMLAB_BOOT_TIMEOUT: bad }),
        (e: unknown) => e instanceof UsageError && e.message.startsWith(`UMLAB_BOOT_TIMEOUT="${bad}" is not a number of seconds between 1 and 3600`),
      );
    });

  it('umlab up exits 2 on a bad value before starting anything', { timeout: 60_000 }, () => {
    const r = umlab(['up', 'labs/two-hosts.yaml'], { UMLAB_BOOT_TIMEOUT: 'abc' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^umlab: UMLAB_BOOT_TIMEOUT="abc" is not a number of seconds between 1 and 3600\n/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });
});

describe('terminal-safe text', () => {
  it('escapes control characters, keeping newlines unless asked', () => {
    assert.equal(printable('a\x1b[2Jb\rc\x07\n\x9bd'), 'a\\x1b[2Jb\\x0dc\\x07\n\\x9bd');
    assert.equal(printable('a\nb', true), 'a\\x0ab');
  });

  it('umlab compile prints no raw escape from description', { timeout: 60_000 }, () => {
    const file = join(home, 'esc.yaml');
    writeFileSync(file, 'name: esc\ndescription: "evil \\e]2;pwned\\a \\e[2J end\\r"\nvms: { h1: {} }\n');
    const r = umlab(['compile', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f]/);
    assert.match(r.stdout, /^lab esc — evil \\x1b\]2;pwned\\x07 \\x1b\[2J end\\x0d\n/);
  });

  it('umlab validate shows NUL bytes and escapes from a bad lab file escaped, in every message', { timeout: 60_000 }, () => {
    const file = join(home, 'nul.yaml');
    writeFileSync(file, Buffer.from('name: ok\nvms:\n  h\x001: {}\n  "h\\e[2J": {}\n'));
    const r = umlab(['validate', file]);
    assert.equal(r.status, 3, r.stderr);
    assert.doesNotMatch(r.stderr, /[\x00-\x09\x0b-\x1f\x7f]/);
    assert.match(r.stderr, /invalid name "h\\x001"/);
    assert.match(r.stderr, /invalid name "h\\x1b\[2J"/);
  });
});
