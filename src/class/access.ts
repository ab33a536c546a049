// Who may do what in a class, as one pure function: every API request is decided here, and every
// refusal is what the server logs as an event. A student acts on their own labs only; the teacher
// sees and acts on every lab.

export type Principal = { role: 'teacher' } | { role: 'student'; id: string };

export type Action =
  /** The student's own page and /api/me. */
  | { kind: 'own-page' }
  /** The teacher's table of every student's labs. */
  | { kind: 'class-table' }
  /** Read one student's lab (its state, or the lab itself in the browser), start, stop or reset it;
   *  type into its consoles; take one of its consoles over (the teacher typing, the student told);
   *  submit it; run its checks; jump it to a stage of the assignment. */
  | { kind: 'lab'; op: 'view' | 'start' | 'stop' | 'reset' | 'type' | 'takeover' | 'submit' | 'checks' | 'stage'; student: string; assignment: string };

export type Decision = { allow: true } | { allow: false; status: 403 | 404; reason: string };

export interface ClassFacts {
  students: ReadonlySet<string>;
  assignments: ReadonlySet<string>;
}

export const principalName = (p: Principal): string => (p.role === 'teacher' ? 'teacher' : `student ${p.id}`);

/** Whether `who` may do `action`. Unknown students or assignments are 404 for the teacher; for a
 *  student, anything of another student is 403 whether it exists or not (nothing to probe). */
export function decide(who: Principal, action: Action, facts: ClassFacts): Decision {
  switch (action.kind) {
    case 'own-page':
      return who.role === 'student' ? { allow: true } : { allow: false, status: 404, reason: 'the teacher has no student page' };
    case 'class-table':
      return who.role === 'teacher' ? { allow: true } : { allow: false, status: 403, reason: 'only the teacher sees the class' };
    case 'lab': {
      if (who.role === 'student' && action.student !== who.id)
        return { allow: false, status: 403, reason: `student ${who.id} asked for a lab of ${action.student}` };
      if (!facts.students.has(action.student)) return { allow: false, status: 404, reason: `no student ${action.student}` };
      if (!facts.assignments.has(action.assignment)) return { allow: false, status: 404, reason: `no assignment ${action.assignment}` };
      // Taking over is the teacher's only way to type into a student's console, and the student
      // sees it; a student types into their own consoles anyway.
      if (action.op === 'takeover')
        return who.role === 'teacher' ? { allow: true } : { allow: false, status: 403, reason: 'only the teacher takes over a console' };
      // The teacher watches a student's consoles without typing into them unless taking over
      // (which the student sees), and does not hand in work for a student: both would be the
      // teacher's work under the student's name.
      if (who.role === 'teacher' && (action.op === 'type' || action.op === 'submit'))
        return { allow: false, status: 403, reason: `the teacher may not ${action.op === 'type' ? 'type into' : 'submit'} a student's lab` };
      return { allow: true };
    }
  }
}
