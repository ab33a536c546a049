// Stages in the class file: parsed, their files read and their checks read as a lab's tests,
// every problem located as file:line:col; and the shell commands a jump sends, run here by sh.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseClassText } from '../../src/class/class-file.ts';
import { loadClassFile } from '../../src/class/load-class.ts';
import { startupCommand, stagesUpTo, writeFilesCommand } from '../../src/class/stage-jump.ts';
import type { Stage } from '../../src/class/stages.ts';
import { ClassFileError, type Diagnostic } from '../../src/errors.ts';

const LAB = readFileSync(new URL('../../labs/two-hosts.yaml', import.meta.url), 'utf8');
const HEAD = `name: net101
roster:
  - { id: s1, name: Student One }
assignments:
  - id: two-hosts
    lab: labs/two-hosts.yaml
    stages:
`;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function classDir(stages: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-stages-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries({ 'CLASS.yaml': HEAD + stages, 'labs/two-hosts.yaml': LAB, ...files })) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
const where = (d: Diagnostic) => `${d.line}:${d.col} ${d.path}`;
function loadErrors(dir: string): Diagnostic[] {
  try {
    loadClassFile(join(dir, 'CLASS.yaml'));
  } catch (e) {
    assert.ok(e instanceof ClassFileError, String(e));
    return e.diagnostics;
  }
  assert.fail('expected the class file to be refused');
}

describe('stages in the class file', () => {
  it('parses stages: ids, titles (the id unless given), files and checks', () => {
    const r = parseClassText(
      HEAD +
        `      - { id: addressed, title: Addressed, files: stages/a, checks: [ { name: c, reach: { from: h1, to: h2 } } ] }
      - { id: bare }
`,
      'c.yaml',
    );
    assert.ok('spec' in r, JSON.stringify(r));
    assert.deepEqual(r.spec.assignments[0].stages, [
      { id: 'addressed', title: 'Addressed', files: 'stages/a', checks: [{ name: 'c', reach: { from: 'h1', to: 'h2' } }] },
      { id: 'bare', title: 'bare', files: null, checks: [] },
    ]);
  });

  it('locates schema errors and a duplicate stage id', () => {
    const r = parseClassText(
      HEAD +
        `      - { title: no id }
      - { id: a, file: x }
      - { id: b, checks: { name: c } }
`,
      'c.yaml',
    );
    assert.ok('errors' in r);
    assert.deepEqual(r.errors.map(where), ['8:9 assignments[0].stages[0]', '9:18 assignments[0].stages[1].file', '10:26 assignments[0].stages[2].checks']);
    assert.match(r.errors[0].message, /missing required property "id"/);
    assert.equal(r.errors[1].hint, 'did you mean "files"?');
    const twice = parseClassText(HEAD + '      - { id: a }\n      - { id: a }\n', 'c.yaml');
    assert.ok('errors' in twice);
    assert.deepEqual(twice.errors.map(where), ['9:15 assignments[0].stages[1].id']);
    assert.match(twice.errors[0].message, /stage id "a" is used twice/);
  });

  it('reads a stage directory: each device file with its path in the device, and the startup scripts', () => {
    const dir = classDir('      - { id: a, files: stages/a, checks: [ { name: up, state: { vm: h1, addresses: [ "eth0 10.0.0.11/24" ] } } ] }\n', {
      'stages/a/h1/etc/umlab-stage': 'one\n',
      'stages/a/h1/etc/network/deep': 'two\n',
      'stages/a/h2.startup': 'ip addr replace 10.0.0.12/24 dev eth0\n',
    });
    const loaded = loadClassFile(join(dir, 'CLASS.yaml'));
    const [stage] = loaded.stages.get('two-hosts')!;
    assert.equal(stage.id, 'a');
    assert.deepEqual(
      stage.files.map((f) => [f.device, f.path, f.data.toString()]),
      [
        ['h1', '/etc/network/deep', 'two\n'],
        ['h1', '/etc/umlab-stage', 'one\n'],
      ],
    );
    assert.deepEqual(stage.startups, [{ device: 'h2', script: 'ip addr replace 10.0.0.12/24 dev eth0\n' }]);
    assert.deepEqual(
      stage.checks.map((c) => [c.name, c.kind]),
      [['up', 'state']],
    );
  });

  it("refuses checks as a lab's tests would be refused, located in the class file", () => {
    // The schema's errors first, as for a lab file: an unknown kind, with its "did you mean".
    const typo = loadErrors(
      classDir(`      - id: a
        checks:
          - { name: ok, reach: { from: h1, to: h2 } }
          - { name: typo, comand: { vm: h1, run: "true" } }
`),
    );
    assert.deepEqual(typo.map(where), ['11:27 assignments[0].stages[0].checks[1].comand']);
    assert.equal(typo[0].hint, 'did you mean "command"?');
    // Then the lab's rules, which see the lab's VMs: a VM it lacks, two kinds in one check, a name twice.
    const dir = classDir(`      - id: a
        checks:
          - { name: to nowhere, reach: { from: h1, to: h9 } }
          - { name: two kinds, reach: { from: h1, to: h2 }, command: { vm: h1, run: "true" } }
          - { name: to nowhere, command: { vm: h2, run: "true" } }
`);
    const rules = loadErrors(dir);
    for (const d of rules) assert.equal(d.file, join(dir, 'CLASS.yaml'));
    assert.deepEqual(
      rules.map((d) => `${where(d)}: ${d.message}`),
      [
        '10:56 assignments[0].stages[0].checks[0].reach.to: no VM named "h9"',
        '11:13 assignments[0].stages[0].checks[1]: the check has 2 kinds (reach, command)',
        '12:21 assignments[0].stages[0].checks[2].name: check name "to nowhere" is already used (line 10)',
      ],
    );
  });

  it('refuses a stage directory that is missing, names a device the lab lacks, or holds a link', () => {
    assert.deepEqual(loadErrors(classDir('      - { id: a, files: stages/none }\n')).map(where), ['8:25 assignments[0].stages[0].files']);
    const dir = classDir('      - { id: a, files: stages/a }\n', {
      'stages/a/h9/etc/x': 'x\n',
      'stages/a/h9.startup': 'true\n',
      'stages/a/notes.txt': 'what is this\n',
      'stages/a/h1/etc/ok': 'ok\n',
    });
    symlinkSync('/etc/passwd', join(dir, 'stages/a/h1/etc/link'));
    const errors = loadErrors(dir);
    assert.ok(
      errors.every((d) => where(d) === '8:25 assignments[0].stages[0].files'),
      errors.map(where).join(', '),
    );
    assert.deepEqual(
      errors.map((d) => d.message.replace(dir, 'DIR')),
      [
        'DIR/stages/a/h1/etc/link is not a regular file (a link or a device)',
        'h9 in DIR/stages/a: the lab has no device h9',
        'h9.startup in DIR/stages/a: the lab has no device h9',
        "notes.txt in DIR/stages/a is neither a device's directory nor a <device>.startup file",
      ],
    );
    assert.match(errors[1].hint ?? '', /its devices: h1, h2/);
  });
  it("reads a Kathará assignment's stages against its devices", () => {
    const dir = mkdtempSync(join(tmpdir(), 'umlab-class-stages-'));
    dirs.push(dir);
    const files: Record<string, string> = {
      'CLASS.yaml': 'name: c\nroster: [ { id: s1, name: One } ]\nassignments:\n  - { id: k, lab: kathara, stages: [ { id: a, files: stages/a } ] }\n',
      'kathara/lab.conf': 'pc1[0]=A\npc2[0]=A\n',
      'stages/a/pc1/etc/x': 'x\n',
      'stages/a/pc2.startup': 'true\n',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const [stage] = loadClassFile(join(dir, 'CLASS.yaml')).stages.get('k')!;
    assert.deepEqual(
      stage.files.map((f) => `${f.device}:${f.path}`),
      ['pc1:/etc/x'],
    );
    assert.deepEqual(stage.startups, [{ device: 'pc2', script: 'true\n' }]);
    mkdirSync(join(dir, 'stages/a/pc9'));
    assert.deepEqual(
      loadErrors(dir).map((d) => d.message.replace(dir, 'DIR')),
      ['pc9 in DIR/stages/a: the lab has no device pc9'],
    );
  });
});

describe('jumping to a stage', () => {
  const stage = (id: string): Stage => ({ id, title: id, checks: [], files: [], startups: [] });

  it('applies every stage up to the one asked for, in order', () => {
    const all = ['one', 'two', 'three'].map(stage);
    assert.deepEqual(
      stagesUpTo(all, 'two')?.map((s) => s.id),
      ['one', 'two'],
    );
    assert.deepEqual(
      stagesUpTo(all, 'one')?.map((s) => s.id),
      ['one'],
    );
    assert.equal(stagesUpTo(all, 'four'), null);
  });

  it('writes files whole, in new directories, byte for byte, with quotes in their names (run by sh here)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'umlab-stage-write-'));
    dirs.push(dir);
    const binary = Buffer.from([0, 1, 2, 255, 10, 39, 34]);
    const files = [
      { device: 'h1', path: join(dir, "etc/new dir/it's"), data: Buffer.from('quoted\n') },
      { device: 'h1', path: join(dir, 'bin/blob'), data: binary },
    ];
    execFileSync('sh', ['-c', writeFilesCommand(files)]);
    assert.equal(readFileSync(join(dir, "etc/new dir/it's"), 'utf8'), 'quoted\n');
    assert.deepEqual(readFileSync(join(dir, 'bin/blob')), binary);
  });

  it('runs a startup script with sh, its output and exit code passed on', () => {
    const r = spawnSync('sh', ['-c', startupCommand('echo "from $(pwd)"\necho oops >&2\nexit 3\n')], { encoding: 'utf8' });
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'from /\noops\n');
  });
});
