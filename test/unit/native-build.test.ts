// The native helpers' build cache (src/util/native-build.ts): an artifact is rebuilt (a new file: a new inode) when its
// source or flags change, whatever the files' times say, and reused otherwise. Builds a tiny C
// program with the machine's cc.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildNative } from '../../src/util/native-build.ts';

describe('buildNative', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-native-test-'));
  const name = `test-native-${process.pid}`;
  const source = join(dir, 'hello.c');
  const env = { ...process.env, UMLAB_HOME: dir };
  const built: string[] = [];
  after(() => {
    for (const file of built) for (const f of [file, `${file}.source-sha256`]) rmSync(f, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const program = (word: string) => `#include <stdio.h>\nint main(void) { puts("${word}"); return 0; }\n`;
  const run = (file: string) => execFileSync(file, { encoding: 'utf8' }).trim();

  it('builds once, then reuses the artifact while the source is the same', () => {
    writeFileSync(source, program('one'));
    const first = buildNative(name, [], env, source);
    built.push(first);
    assert.equal(run(first), 'one');
    const inode = statSync(first).ino;
    assert.equal(buildNative(name, [], env, source), first);
    assert.equal(statSync(first).ino, inode, 'not rebuilt');
  });

  it('rebuilds a changed source even when its time is older than the artifact (a copied tree)', () => {
    writeFileSync(source, program('two'));
    utimesSync(source, new Date(2001, 0, 1), new Date(2001, 0, 1));
    const file = buildNative(name, [], env, source);
    assert.equal(run(file), 'two');
  });

  it('rebuilds when the flags change', () => {
    const file = buildNative(name, ['-DUNUSED_FLAG'], env, source);
    const inode = statSync(file).ino;
    assert.equal(run(file), 'two');
    assert.equal(buildNative(name, ['-DUNUSED_FLAG'], env, source), file);
    assert.equal(statSync(file).ino, inode, 'the same flags reuse it');
    buildNative(name, [], env, source);
    assert.notEqual(statSync(file).ino, inode, 'other flags rebuild it');
  });
});
