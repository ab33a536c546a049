// The class database: only hashes of tokens and session ids are stored, re-issuing or revoking
// ends the old token and its sessions, sessions survive a reopen, files are owner-only.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { classPaths, ensureClassDir } from '../../src/class/paths.ts';
import { ClassStore } from '../../src/class/store.ts';
import { labNameFor, looksLikeSecret, secretHash } from '../../src/class/tokens.ts';
import { checkLabName } from '../../src/cli/args.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function freshStore(): { store: ClassStore; root: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'umlab-class-store-'));
  dirs.push(dir);
  const paths = classPaths(join(dir, 'CLASS.yaml'), 'net101');
  ensureClassDir(paths);
  const store = new ClassStore(paths.db);
  store.syncRoster([
    { id: 's1', name: 'One' },
    { id: 's2', name: 'Two' },
  ]);
  return { store, root: paths.root, db: paths.db };
}
/** Every byte of the class directory, database and WAL included. */
const allBytes = (root: string) =>
  readdirSync(root, { recursive: true })
    .map((f) => join(root, String(f)))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f).toString('latin1'))
    .join('');

describe('class store', () => {
  it('keeps only the hash of a token and of a session id, in owner-only files', () => {
    const { store, root } = freshStore();
    const token = store.issueToken({ role: 'student', id: 's1' });
    assert.ok(looksLikeSecret(token));
    const session = store.createSession({ role: 'student', id: 's1' });
    const bytes = allBytes(root);
    assert.ok(!bytes.includes(token), 'the token itself is not stored');
    assert.ok(!bytes.includes(session), 'the session id itself is not stored');
    assert.ok(bytes.includes(secretHash(token)), 'its hash is (in the database or its WAL)');
    assert.equal(statSync(root).mode & 0o777, 0o700);
    for (const f of readdirSync(root).filter((f) => f.startsWith('class.db'))) assert.equal(statSync(join(root, f)).mode & 0o777, 0o600, f);
    assert.ok(readdirSync(root).includes('class.db-wal'), 'WAL mode');
    store.close();
  });

  it('finds the owner of a token and a session; unknown ones are nobody', () => {
    const { store } = freshStore();
    const s1 = store.issueToken({ role: 'student', id: 's1' });
    const teacher = store.issueToken({ role: 'teacher' });
    assert.deepEqual(store.principalOfToken(s1), { role: 'student', id: 's1' });
    assert.deepEqual(store.principalOfToken(teacher), { role: 'teacher' });
    assert.equal(store.principalOfToken('x'.repeat(43)), null);
    assert.equal(store.principalOfSession(s1), null, 'a token is not a session id');
    const session = store.createSession({ role: 'student', id: 's1' });
    assert.deepEqual(store.principalOfSession(session), { role: 'student', id: 's1' });
    store.close();
  });

  it('re-issuing revokes the old token and ends its sessions; revoking ends the new one', () => {
    const { store } = freshStore();
    const first = store.issueToken({ role: 'student', id: 's1' });
    const s2 = store.issueToken({ role: 'student', id: 's2' });
    const session = store.createSession({ role: 'student', id: 's1' });
    const s2session = store.createSession({ role: 'student', id: 's2' });
    const second = store.issueToken({ role: 'student', id: 's1' });
    assert.equal(store.principalOfToken(first), null);
    assert.equal(store.principalOfSession(session), null);
    assert.deepEqual(store.principalOfToken(second), { role: 'student', id: 's1' });
    assert.deepEqual(store.principalOfToken(s2), { role: 'student', id: 's2' }, "another student's token is untouched");
    assert.deepEqual(store.principalOfSession(s2session), { role: 'student', id: 's2' });
    assert.equal(store.revoke({ role: 'student', id: 's1' }), true);
    assert.equal(store.principalOfToken(second), null);
    assert.equal(store.revoke({ role: 'student', id: 's1' }), false, 'nothing left to revoke');
    store.close();
  });

  it('keeps sessions, labs and events across a reopen', () => {
    const { store, db } = freshStore();
    const session = store.createSession({ role: 'teacher' });
    const row = store.lab('s1', 'two-hosts');
    store.setLabState('s1', 'two-hosts', 'running');
    store.event({ actor: 'student s2', action: 'lab start', target: 's1/two-hosts', outcome: 'refused', detail: 'not theirs' });
    store.close();
    const again = new ClassStore(db);
    assert.deepEqual(again.principalOfSession(session), { role: 'teacher' });
    assert.equal(again.lab('s1', 'two-hosts').lab, row.lab, 'the lab name is made once and kept');
    assert.equal(again.labs()[0].state, 'running');
    assert.equal(again.events()[0].outcome, 'refused');
    again.close();
  });

  it('drops the tokens and sessions of a student who left the roster', () => {
    const { store } = freshStore();
    const token = store.issueToken({ role: 'student', id: 's2' });
    const session = store.createSession({ role: 'student', id: 's2' });
    store.syncRoster([{ id: 's1', name: 'One' }]);
    assert.deepEqual(
      store.students().map((s) => s.id),
      ['s1'],
    );
    assert.equal(store.principalOfToken(token), null);
    assert.equal(store.principalOfSession(session), null);
    store.close();
  });

  it('derives distinct valid lab names from (student, assignment)', () => {
    const names = new Set<string>();
    for (const [s, a] of [
      ['s1', 'two-hosts'],
      ['s2', 'two-hosts'],
      ['s1', 'router'],
      ['a_very_long_student_id_indeed', 'an-assignment-with-a-long-name'],
      ['s1-two', 'hosts'],
    ]) {
      const name = labNameFor(s, a);
      assert.equal(checkLabName(name), name);
      names.add(name);
    }
    assert.equal(names.size, 5);
  });
});
