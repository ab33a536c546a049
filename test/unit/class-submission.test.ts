// A student's hand-in (src/class/submission.ts, submit.ts): what a VM's answer is read as (its
// names are hostile until checked), where each file lands, and the submission on disk in the form
// `umlab grade` reads, whatever names the VM sends.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { collectCommand, collectDirs, parseCollected, plainGuestPath, targetIn } from '../../src/class/submission.ts';
import { csvCell } from '../../src/class/class-csv.ts';
import { writeSubmission } from '../../src/class/submit.ts';
import { findSubmissions } from '../../src/grade/submissions.ts';

const line = (path: string, data: string) => `${Buffer.from(path).toString('base64')} ${Buffer.from(data).toString('base64')}`;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'umlab-submission-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every file under `dir`, relative. */
function tree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

describe('what a student hands in', () => {
  it("looks in /etc, the directories the assignment puts files in and a Kathará lab's /shared: not logs, caches or nested twice", () => {
    const web = {
      files: {
        '/var/www/html/index.html': 'x',
        '/etc/apache2/sites-enabled/000.conf': 'x',
        '/etc/umlab-kathara/run': 'x',
        '/var/log/app/seed.log': 'x',
        '/top': 'x',
        '/root/notes': 'x',
      },
      shares: [
        { mountPoint: '/shared', rw: true },
        { mountPoint: '/opt/ro', rw: false },
      ],
    };
    assert.deepEqual(collectDirs(web, true), ['/etc', '/root', '/shared', '/var/www/html']);
    assert.deepEqual(collectDirs(web, false), ['/etc', '/root', '/var/www/html'], 'a YAML lab has no /shared of its own');
    assert.deepEqual(collectDirs({ files: {}, shares: [] }, false), ['/etc']);
  });

  it('reads the files a VM lists, and leaves out logs, caches and editor leftovers', () => {
    const out = [
      line('/etc/network/interfaces', 'auto eth0\n'),
      line('/etc/frr/frr.conf', 'router ospf\n'),
      line('/etc/app.log', 'x'),
      line('/etc/cache/thing', 'x'),
      line('/etc/hosts~', 'x'),
      line('/etc/.hosts.swp', 'x'),
      line('/shared/notes.txt', 'hi'),
      line('/root/.bash_history', 'ls'),
    ].join('\n');
    const got = parseCollected('r1', out, ['/etc', '/shared', '/root']);
    assert.deepEqual(
      got.files.map((f) => `${f.device}:${f.path}=${f.data.toString()}`),
      ['r1:/etc/network/interfaces=auto eth0\n', 'r1:/etc/frr/frr.conf=router ospf\n', 'r1:/shared/notes.txt=hi'],
    );
    assert.deepEqual(got.skipped, []);
  });

  it('refuses hostile names a VM may send: .., outside the directories, control characters, a second field', () => {
    const hostile = ['/etc/../../../home/x', '/etc/./x', '/etc//x', '/root/.ssh/authorized_keys', 'etc/x', '/etc/a\nb', '/etc/a\\b', '/etcx/y', '/etc'];
    const out = [...hostile.map((p) => line(p, 'x')), `${line('/etc/ok', 'x')} extra`].join('\n');
    const got = parseCollected('h1', out, ['/etc']);
    assert.deepEqual(got.files, []);
    assert.equal(got.skipped.length, hostile.length + 1);
    assert.ok(
      got.skipped.every((s) => !s.includes('\n')),
      'what is shown is printable',
    );
    for (const p of hostile) assert.equal(plainGuestPath(p) && p.startsWith('/etc/'), false, p);
  });

  it('keeps to the limits: a file too large, too many files', () => {
    const out = [line('/etc/big', 'x'.repeat(11)), line('/etc/a', '1'), line('/etc/b', '2'), line('/etc/c', '3')].join('\n');
    const got = parseCollected('h1', out, ['/etc'], { fileBytes: 10, files: 2 });
    assert.deepEqual(
      got.files.map((f) => f.path),
      ['/etc/a', '/etc/b'],
    );
    assert.match(got.skipped.join('\n'), /\/etc\/big \(larger than 10 bytes\)[\s\S]*\/etc\/c \(more than 2 files\)/);
  });

  it('puts a file at <device>/<path> or shared/<path>, and never outside the submission', () => {
    const root = '/x/sub';
    assert.equal(targetIn(root, 'r1', '/etc/frr/frr.conf'), '/x/sub/r1/etc/frr/frr.conf');
    assert.equal(targetIn(root, 'r1', '/shared/a/b'), '/x/sub/shared/a/b');
    for (const [device, path] of [
      ['r1', '/etc/../../../x'],
      ['..', '/etc/x'],
      ['../r1', '/etc/x'],
      ['r1/..', '/etc/x'],
      ['', '/etc/x'],
      ['r1', '/shared/../../x'],
      ['r1', '/shared'],
      ['r1', '../etc/x'],
    ])
      assert.equal(targetIn(root, device, path), null, `${device} ${path}`);
  });

  it('lists with find from the given directories only, each name quoted', () => {
    const cmd = collectCommand(['/etc', "/it's"]);
    assert.match(cmd, /for d in '\/etc' '\/it'\\''s'; do/);
    assert.match(cmd, /-xdev -type f/);
  });

  it('writes a Kathará assignment as a Kathará lab directory that `umlab grade` finds, files in place', () => {
    const assignment = tmp();
    writeFileSync(join(assignment, 'lab.conf'), 'r1[0]=A\n');
    mkdirSync(join(assignment, 'r1', 'etc'), { recursive: true });
    writeFileSync(join(assignment, 'r1', 'etc', 'old'), 'old\n');
    const root = tmp();
    const changed = [
      { device: 'r1', path: '/etc/frr/frr.conf', data: Buffer.from('router ospf\n') },
      { device: 'r1', path: '/shared/s.txt', data: Buffer.from('s') },
      // As if a VM's name got past parseCollected: still nowhere outside.
      { device: 'r1', path: '/etc/../../../escaped', data: Buffer.from('x') },
    ];
    const skipped: string[] = [];
    const written = writeSubmission(root, 's1', assignment, changed, Date.UTC(2026, 11, 7, 5), skipped);
    assert.equal(written.dir, join(root, '2026-12-07T05-00-00-000Z', 's1'));
    assert.deepEqual(tree(written.dir).sort(), ['lab.conf', 'r1/etc/frr/frr.conf', 'r1/etc/old', 'shared/s.txt']);
    assert.deepEqual(written.files, ['r1:/etc/frr/frr.conf', 'r1:/shared/s.txt']);
    assert.match(skipped.join(), /escaped.*outside the submission/);
    assert.equal(existsSync(join(root, 'escaped')), false);
    assert.deepEqual(findSubmissions([written.dir]), [{ student: 's1', path: written.dir, kind: 'kathara' }]);
  });

  it("writes a YAML assignment as its lab file with the files in each VM's files:, which `umlab grade` finds", () => {
    const assignment = join(tmp(), 'two-hosts.yaml');
    writeFileSync(assignment, '# the lab\nname: two-hosts\nvms:\n  h1: {}\n  h2:\n    files: { /etc/motd: hi }\n');
    const changed = [
      { device: 'h1', path: '/etc/umlab-note', data: Buffer.from('hello\n') },
      { device: 'h2', path: '/etc/bin', data: Buffer.from([0xff, 0xfe]) },
    ];
    const skipped: string[] = [];
    const written = writeSubmission(tmp(), 's1', assignment, changed, 0, skipped);
    assert.deepEqual(tree(written.dir), ['two-hosts.yaml']);
    const lab = parse(readFileSync(join(written.dir, 'two-hosts.yaml'), 'utf8')) as { vms: Record<string, { files?: Record<string, string> }> };
    assert.deepEqual(lab.vms.h1.files, { '/etc/umlab-note': 'hello\n' });
    assert.deepEqual(lab.vms.h2.files, { '/etc/motd': 'hi' });
    assert.match(skipped.join(), /h2:\/etc\/bin \(not text/);
    assert.deepEqual(findSubmissions([written.dir]), [{ student: 's1', path: join(written.dir, 'two-hosts.yaml'), kind: 'yaml' }]);
  });
});

describe("the teacher's CSV", () => {
  it('quotes what must be, and disarms cells a spreadsheet would run as formulas', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    for (const s of ['+1', '-1', '@SUM(A1)']) assert.equal(csvCell(s), `'${s}`);
    assert.equal(csvCell(3), '3');
  });
});
