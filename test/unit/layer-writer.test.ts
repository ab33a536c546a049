// The VM file layer writer against hostile paths: lab-file keys with "..", and symlinks in
// the layer (absolute, relative, to directories and to files) must never lead it outside.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LabRuntimeError } from '../../src/errors.ts';
import { writeLayer, writeLayerInto } from '../../src/vm/layer-writer.ts';

let tmp: string;
let layer: string;
let outside: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'umlab-layer-'));
  layer = join(tmp, 'run', 'vms', 'h1', 'layer');
  outside = join(tmp, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'untouched');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const refused = (fn: () => void) => assert.throws(fn, (e: unknown) => e instanceof LabRuntimeError && /cannot write/.test((e as Error).message));

describe('writeLayer', () => {
  it('writes files, symlinks and parents inside the layer, with the modes the VM needs', () => {
    const old = process.umask(0o077);
    try {
      writeLayer(layer, {
        '/etc/motd': { content: 'hi\n' },
        '/srv/www/index.html': { content: 'x' },
        '/usr/local/sbin/iptables': { symlink: '/usr/sbin/iptables-legacy' },
      });
    } finally {
      process.umask(old);
    }
    assert.equal(readFileSync(join(layer, 'etc/motd'), 'utf8'), 'hi\n');
    assert.equal(statSync(join(layer, 'etc/motd')).mode & 0o777, 0o644);
    assert.equal(statSync(join(layer, 'srv/www')).mode & 0o777, 0o755);
    assert.ok(lstatSync(join(layer, 'usr/local/sbin/iptables')).isSymbolicLink());
  });

  it('refuses ".." and writes nothing outside the layer', () => {
    refused(() => writeLayer(layer, { '/../../../../../outside/pwned': { content: 'x' } }));
    refused(() => writeLayer(layer, { '/etc/../../../../../outside/pwned': { content: 'x' } }));
    refused(() => writeLayer(layer, { '/': { content: 'x' } }));
    refused(() => writeLayer(layer, { '/etc/x\0y': { content: 'x' } }));
    assert.equal(existsSync(join(outside, 'pwned')), false);
  });

  it('does not follow a symlinked directory made by an earlier entry (absolute or relative)', () => {
    refused(() => writeLayer(layer, { '/a': { symlink: outside }, '/a/pwned': { content: 'x' } }));
    refused(() => writeLayer(layer, { '/b': { symlink: '../../../../outside' }, '/b/pwned': { content: 'x' } }));
    refused(() => writeLayer(layer, { '/c': { symlink: outside }, '/c/deeper/pwned': { content: 'x' } }));
    assert.deepEqual(execFileSync('ls', [outside], { encoding: 'utf8' }), 'secret\n');
  });

  it('does not follow a symlink planted in the layer at a directory or at the file itself', () => {
    mkdirSync(join(layer, 'etc'), { recursive: true });
    symlinkSync(join(outside, 'secret'), join(layer, 'etc', 'motd'));
    symlinkSync(outside, join(layer, 'srv'));
    refused(() => writeLayerInto(layer, { '/etc/motd': { content: 'overwritten' } }));
    refused(() => writeLayerInto(layer, { '/srv/pwned': { content: 'x' } }));
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'untouched');
    assert.equal(existsSync(join(outside, 'pwned')), false);
  });

  it('does not block on a FIFO planted at a file path', { timeout: 10_000 }, () => {
    mkdirSync(join(layer, 'etc'), { recursive: true });
    execFileSync('mkfifo', [join(layer, 'etc', 'motd')]);
    refused(() => writeLayerInto(layer, { '/etc/motd': { content: 'x' } }));
  });

  it('does not follow a symlink planted above the layer root', () => {
    // The layer directory itself may be reached through a symlink: it is resolved once, then trusted.
    const real = join(tmp, 'real-layer');
    mkdirSync(real);
    symlinkSync(real, join(tmp, 'linked-layer'));
    writeLayerInto(join(tmp, 'linked-layer'), { '/etc/motd': { content: 'ok' } });
    assert.equal(readFileSync(join(real, 'etc/motd'), 'utf8'), 'ok');
  });
});
