// The teacher's table shows each lab's latest hand-in, in a column the assignment's heading spans.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { teacherPage } from '../../src/class/pages.ts';
import type { LabView } from '../../src/class/service.ts';

const lab = (submitted?: { at: number; files: number } | null): LabView & { submitted?: { at: number; files: number } | null } => ({
  assignment: 'two-hosts',
  title: 'Two hosts',
  lab: 's1-two-hosts',
  state: 'running',
  error: null,
  queue: null,
  vms: [{ name: 'h1', state: 'ready' }],
  updated: 0,
  ...(submitted === undefined ? {} : { submitted }),
});

const view = (...labs: ReturnType<typeof lab>[]) => ({
  name: 'net101',
  assignments: [{ id: 'two-hosts', title: 'Two hosts' }],
  students: labs.map((l, i) => ({ id: `s${i + 1}`, name: `Student ${i + 1}`, lastActivity: null, labs: [l] })),
  usedMiB: 256,
  budgetMiB: 1024,
  queued: 0,
});

describe("the teacher's table", () => {
  it("shows each lab's latest hand-in, linked to the student's hand-ins, or 'not yet'", () => {
    const html = teacherPage(view(lab({ at: Date.UTC(2026, 11, 7, 8, 30, 5), files: 3 }), lab(null)));
    assert.match(html, /<th colspan="4">Two hosts/);
    assert.match(html, /<a href="\/api\/students\/s1\/labs\/two-hosts\/submit">2026-12-07 08:30:05 UTC \(3 files\)<\/a>/);
    assert.match(html, /<tr data-student="s2">.*<td class="submitted">not yet<\/td>/);
  });

  it('has no hand-in column when the class takes no hand-ins', () => {
    const html = teacherPage(view(lab()));
    assert.match(html, /<th colspan="3">Two hosts/);
    assert.doesNotMatch(html, /class="submitted"/);
  });
});
