// Two students' labs of one assignment that shares a host directory read-write (as a Kathará
// lab's shared/ does): each lab writes into its own copy, never into the other's or the
// teacher's; a stop keeps the copy, a reset (stop with fresh) drops it. A hand-in looks where the
// assignment puts files (here /srv/site), not only in /etc. Real VMs, through the
// class's placement backend (src/class/local-placement.ts) as the class server drives it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalPlacement } from '../../src/class/local-placement.ts';
import { collectChanges } from '../../src/class/submit.ts';
import { LabClient } from '../../src/client/lab-client.ts';
import { runFiles } from '../../src/topology/layout.ts';
import { assertNothingLeft, cleanHome, makeHome } from './helpers.ts';

const dir = makeHome('umlab-class-shares-');
const home = join(dir, 'home');
after(() => cleanHome(dir));

const assignment = join(dir, 'assignment');
mkdirSync(join(assignment, 'shared'), { recursive: true });
writeFileSync(join(assignment, 'shared', 'readme.txt'), 'from the teacher\n');
const labFile = join(assignment, 'lab.yaml');
writeFileSync(
  labFile,
  `name: shares
switches: { sw0: {} }
vms:
  h1:
    shares: { /shared: { path: ./shared, rw: true } }
    files: { /srv/site/index.html: "the assignment's page\\n" }
    interfaces: { eth0: { connect: sw0, ip: 10.9.0.1/24 } }
`,
);

describe("a class's rw shares: a copy per student's lab", () => {
  const placement = new LocalPlacement(home);
  const labs = ['s1-shares', 's2-shares'];
  const sh = (lab: string, command: string) => new LabClient(runFiles(join(home, 'labs', lab)).control).execText('h1', command);
  after(async () => {
    for (const lab of labs) await placement.stop(lab, { fresh: true }).catch(() => {});
  });

  it("each lab writes its own copy; the other lab and the teacher's folder never see it", { timeout: 180_000 }, async () => {
    for (const name of labs) await placement.start({ name, source: labFile });
    assert.equal((await sh('s1-shares', 'cat /shared/readme.txt')).stdout, 'from the teacher\n', 'the copy starts as the assignment');
    assert.equal((await sh('s1-shares', 'echo s1 > /shared/mine && echo changed >> /shared/readme.txt')).exitCode, 0);
    assert.equal((await sh('s2-shares', 'ls /shared')).stdout, 'readme.txt\n', "s2's lab does not see s1's file");
    assert.equal((await sh('s2-shares', 'cat /shared/readme.txt')).stdout, 'from the teacher\n');
    assert.deepEqual(readdirSync(join(assignment, 'shared')), ['readme.txt'], "nothing written into the teacher's folder");
    assert.equal(readFileSync(join(assignment, 'shared', 'readme.txt'), 'utf8'), 'from the teacher\n');
  });

  it('a hand-in collects the files changed in the directories the assignment puts files in, not only /etc', { timeout: 60_000 }, async () => {
    assert.equal((await sh('s1-shares', 'echo "the student\'s page" > /srv/site/index.html && echo x > /etc/umlab-edited')).exitCode, 0);
    const { files } = await collectChanges(join(home, 'labs', 's1-shares'), false);
    const got = Object.fromEntries(files.map((f) => [`${f.device}:${f.path}`, f.data.toString()]));
    assert.equal(got['h1:/srv/site/index.html'], "the student's page\n");
    assert.equal(got['h1:/etc/umlab-edited'], 'x\n');
  });

  it('a stop keeps the copy, a reset drops it', { timeout: 180_000 }, async () => {
    await placement.stop('s1-shares');
    await assertNothingLeft(home, 's1-shares');
    await placement.start({ name: 's1-shares', source: labFile });
    assert.equal((await sh('s1-shares', 'cat /shared/mine')).stdout, 's1\n', 'kept across a stop');
    await placement.stop('s1-shares', { fresh: true });
    assert.equal(existsSync(join(home, 'shares', 's1-shares')), false, 'a reset drops the copy');
    await placement.start({ name: 's1-shares', source: labFile });
    assert.equal((await sh('s1-shares', 'ls /shared')).stdout, 'readme.txt\n', 'a fresh copy after a reset');
    for (const lab of labs) {
      await placement.stop(lab, { fresh: true });
      await assertNothingLeft(home, lab);
    }
  });
});
