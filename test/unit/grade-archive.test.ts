// Safe unpacking of students' archives: a clean .tar.gz and .zip unpack to their lab; an
// absolute path, "..", a link leading out, a device file, too many files or too many
// bytes are refused before anything is written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_ARCHIVE_FILES, unpackArchive } from '../../src/grade/archive.ts';
import { LabFileError } from '../../src/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'umlab-grade-archive-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const dir = join(root, `out${n++}`);
  mkdirSync(dir);
  return dir;
};

/** A tar header block (ustar) for one entry, then its data padded to 512 bytes. */
function tarEntry(name: string, type: '0' | '2' | '3' | '5', data = '', link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(Buffer.byteLength(data).toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(link, 157, 100);
  h.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(data) / 512) * 512);
  body.write(data);
  return Buffer.concat([h, body]);
}
const tarGz = (file: string, entries: Buffer[]) => {
  const path = join(root, file);
  writeFileSync(path, gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)])));
  return path;
};
const refused = (path: string, why: RegExp) => {
  const into = fresh();
  assert.throws(
    () => unpackArchive(path, into),
    (e: unknown) => e instanceof LabFileError && why.test(e.message),
  );
  assert.deepEqual(readdirSync(into), [], 'nothing was written');
};

describe('unpacking submissions', () => {
  it('a .tar.gz made by tar unpacks to the lab folder inside it', () => {
    const src = join(root, 'src', 'alice');
    mkdirSync(join(src, 'r1', 'etc'), { recursive: true });
    writeFileSync(join(src, 'lab.conf'), 'r1[0]=a\n');
    writeFileSync(join(src, 'r1', 'etc', 'x'), 'hello\n');
    const archive = join(root, 'alice.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', join(root, 'src'), 'alice']);
    const lab = unpackArchive(archive, fresh());
    assert.ok(lab.endsWith('/alice'));
    assert.equal(readFileSync(join(lab, 'r1', 'etc', 'x'), 'utf8'), 'hello\n');
  });

  it('a .zip with a link inside the archive unpacks', () => {
    const archive = join(root, 'bob.zip');
    const script = [
      'import zipfile,sys',
      'z=zipfile.ZipFile(sys.argv[1],"w",zipfile.ZIP_DEFLATED)',
      'z.writestr("lab.yaml","name: x\\n")',
      'i=zipfile.ZipInfo("copy.yaml")',
      'i.external_attr=(0o120777<<16)',
      'z.writestr(i,"lab.yaml")',
      'z.close()',
    ].join('\n');
    execFileSync('python3', ['-c', script, archive]);
    const into = fresh();
    unpackArchive(archive, into);
    assert.equal(readFileSync(join(into, 'copy.yaml'), 'utf8'), 'name: x\n');
  });

  it('refuses "..", absolute paths, links out, device files', () => {
    refused(tarGz('dots.tar.gz', [tarEntry('lab.conf', '0', 'x'), tarEntry('../evil', '0', 'owned')]), /a path with "\.\."/);
    assert.ok(!existsSync(join(root, 'evil')));
    refused(tarGz('abs.tar.gz', [tarEntry('/tmp/evil', '0', 'owned')]), /absolute/);
    refused(tarGz('link.tar.gz', [tarEntry('lab.conf', '0', 'x'), tarEntry('r1', '2', '', '../../etc')]), /a link leading out/);
    refused(tarGz('abslink.tar.gz', [tarEntry('r1', '2', '', '/etc/shadow')]), /a link leading out/);
    refused(tarGz('dev.tar.gz', [tarEntry('tty', '3')]), /not a file, folder or symbolic link/);
  });

  it('refuses too many files and not an archive at all', () => {
    const many = Array.from({ length: MAX_ARCHIVE_FILES + 1 }, (_, i) => tarEntry(`f${i}`, '0', ''));
    refused(tarGz('many.tar.gz', many), /more than 2000 entries/);
    const junk = join(root, 'junk.tar.gz');
    writeFileSync(junk, 'not gzip');
    refused(junk, /not a gzip file/);
  });

  it('refuses a gzip bomb by its unpacked size', () => {
    const path = join(root, 'bomb.tar.gz');
    writeFileSync(path, gzipSync(Buffer.alloc(65 * 1024 * 1024)));
    refused(path, /unpacks to more than/);
  });
});
