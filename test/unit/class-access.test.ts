// Who may do what in a class (src/class/access.ts): students their own labs only, the teacher everything.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type Action, type Principal } from '../../src/class/access.ts';

const facts = { students: new Set(['s1', 's2']), assignments: new Set(['two-hosts']) };
const s1: Principal = { role: 'student', id: 's1' };
const teacher: Principal = { role: 'teacher' };
const OPS = ['view', 'start', 'stop', 'reset', 'type', 'submit', 'checks', 'stage'] as const;
const lab = (op: (typeof OPS)[number] | 'takeover', student: string, assignment = 'two-hosts'): Action => ({ kind: 'lab', op, student, assignment });
const status = (who: Principal, action: Action) => {
  const d = decide(who, action, facts);
  return d.allow ? 200 : d.status;
};

describe('class access', () => {
  it('lets a student act on their own labs, every operation', () => {
    for (const op of OPS) assert.equal(status(s1, lab(op, 's1')), 200, op);
  });

  it("refuses a student anything of another student's, existing or not, with 403", () => {
    for (const op of OPS) {
      assert.equal(status(s1, lab(op, 's2')), 403, op);
      assert.equal(status(s1, lab(op, 's9')), 403, `${op} of a student who does not exist: nothing to probe`);
      assert.equal(status(s1, lab(op, 's2', 'nope')), 403);
    }
    const d = decide(s1, lab('stop', 's2'), facts);
    assert.ok(!d.allow && /s1 asked for a lab of s2/.test(d.reason));
  });

  it('gives the class table to the teacher only, the student page to students only', () => {
    assert.equal(status(teacher, { kind: 'class-table' }), 200);
    assert.equal(status(s1, { kind: 'class-table' }), 403);
    assert.equal(status(s1, { kind: 'own-page' }), 200);
    assert.equal(status(teacher, { kind: 'own-page' }), 404);
  });

  it("lets the teacher act on every student's lab; unknown students and assignments are 404", () => {
    for (const op of ['view', 'start', 'stop', 'reset'] as const) {
      assert.equal(status(teacher, lab(op, 's1')), 200);
      assert.equal(status(teacher, lab(op, 's2')), 200);
    }
    assert.equal(status(teacher, lab('stop', 's9')), 404);
    assert.equal(status(teacher, lab('stop', 's1', 'nope')), 404);
    assert.equal(status(s1, lab('start', 's1', 'nope')), 404, 'an assignment that does not exist, of their own');
  });

  it("lets the teacher watch a student's consoles and run the checks, but not type or submit", () => {
    assert.equal(status(teacher, lab('checks', 's1')), 200);
    assert.equal(status(teacher, lab('type', 's1')), 403, 'read-only consoles');
    assert.equal(status(teacher, lab('submit', 's1')), 403, "a submission is the student's own");
  });

  it("lets the teacher jump any student's lab to a stage; a student only their own", () => {
    assert.equal(status(teacher, lab('stage', 's1')), 200);
    assert.equal(status(teacher, lab('stage', 's2')), 200);
    assert.equal(status(s1, lab('stage', 's1')), 200);
    const d = decide(s1, lab('stage', 's2'), facts);
    assert.ok(!d.allow && d.status === 403 && /s1 asked for a lab of s2/.test(d.reason), JSON.stringify(d));
    assert.equal(status(teacher, lab('stage', 's9')), 404);
  });

  it("lets the teacher take over a student's console; no student takes over one, their own or another's", () => {
    assert.equal(status(teacher, lab('takeover', 's1')), 200);
    assert.equal(status(teacher, lab('takeover', 's2')), 200);
    assert.equal(status(teacher, lab('takeover', 's9')), 404, 'a student who does not exist');
    assert.equal(status(teacher, lab('takeover', 's1', 'nope')), 404);
    assert.equal(status(s1, lab('takeover', 's2')), 403, "another student's console");
    assert.equal(status(s1, lab('takeover', 's9')), 403, 'nothing to probe');
    const own = decide(s1, lab('takeover', 's1'), facts);
    assert.ok(!own.allow && own.status === 403 && /only the teacher/.test(own.reason), 'a student types into their own consoles without it');
    assert.equal(status(teacher, lab('type', 's1')), 403, 'without taking over, the consoles stay read-only');
  });
});
